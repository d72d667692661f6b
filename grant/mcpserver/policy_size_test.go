package mcpserver_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// packedSTS is the fake STS answering with a PackedPolicySize, as AWS does.
type packedSTS struct {
	*granttest.FakeSTS
	size int32
}

func (p packedSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, opt ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	out, err := p.FakeSTS.AssumeRole(ctx, in, opt...)
	if err == nil {
		//lint:ignore SA1019 STS still sends it; see Manager.Grant
		out.PackedPolicySize = aws.Int32(p.size)
	}
	return out, err
}

// TestMCPGrantAccessPolicySize: grant_access's result carries the session
// policy's length and STS's PackedPolicySize, and leaves the latter out when
// STS sends none.
func TestMCPGrantAccessPolicySize(t *testing.T) {
	h := newHarness(t, func(h *harness) { h.m.STS = packedSTS{h.sts, 37} })
	out := h.grant([]string{"s3", "ec2"}, "read_only", "15m")
	policy := aws.ToString(h.sts.Calls()[0].Policy)
	if out.PolicyChars != len(policy) || out.PackedPolicySize == nil || *out.PackedPolicySize != 37 {
		t.Errorf("policy_chars %d, packed_policy_size %v; want %d and 37", out.PolicyChars, out.PackedPolicySize, len(policy))
	}

	h = newHarness(t)
	out = h.grant([]string{"s3"}, "read_only", "15m")
	raw, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if out.PolicyChars != len(aws.ToString(h.sts.Calls()[0].Policy)) || strings.Contains(string(raw), "packed_policy_size") {
		t.Errorf("without STS's PackedPolicySize: %s", raw)
	}
}
