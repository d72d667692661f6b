package grant

import (
	"testing"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/policy"
)

func TestApprovalPromptQuotes(t *testing.T) {
	p := ApprovalPrompt{Account: "123456789012", Role: "ops/broker", Access: []policy.Access{{Service: "s3", Level: policy.Full}},
		TTL: 90 * time.Minute, Client: "evil\naccess:    s3 read_only", PolicySize: 42}
	got := p.String()
	want := "account:   123456789012\nrole:      ops/broker\naccess:    s3 full\nttl:       1h30m\nreason:    (none given)\n" +
		`client:    "evil\naccess:    s3 read_only"` + "\npolicy:    42 of 2048 characters\n"
	if got != want {
		t.Errorf("prompt:\n%s\nwant:\n%s", got, want)
	}
	if a, r := roleParts("arn:aws:iam::123456789012:role/ops/broker"); a != "123456789012" || r != "ops/broker" {
		t.Errorf("roleParts = %q %q", a, r)
	}
}
