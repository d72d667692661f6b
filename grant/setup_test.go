package grant

import (
	"errors"
	"strings"
	"testing"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
)

func TestTrustPrincipal(t *testing.T) {
	withPath := func(name string) (string, error) {
		return "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/" + name, nil
	}
	noLookup := func(string) (string, error) { return "", errors.New("denied") }
	tests := []struct {
		name, arn   string
		lookup      func(string) (string, error)
		want        string
		wantChained bool
		wantErr     string
	}{
		{"user", "arn:aws:iam::123456789012:user/dev/alice", nil, "arn:aws:iam::123456789012:user/dev/alice", false, ""},
		{"user reported under sts", "arn:aws:sts::123456789012:user/moto", nil, "arn:aws:iam::123456789012:user/moto", false, ""},
		{"sso session with path lookup", "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Dev_abc/alice@example.com", withPath, "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Dev_abc", true, ""},
		{"role session, lookup denied", "arn:aws:sts::123456789012:assumed-role/ci/run-42", noLookup, "arn:aws:iam::123456789012:role/ci", true, ""},
		{"gov partition", "arn:aws-us-gov:sts::123456789012:assumed-role/ci/x", nil, "arn:aws-us-gov:iam::123456789012:role/ci", true, ""},
		{"root", "arn:aws:iam::123456789012:root", nil, "", false, "root user"},
		{"federated user", "arn:aws:sts::123456789012:federated-user/bob", nil, "", false, "neither an IAM user nor a role session"},
		{"garbage", "alice", nil, "", false, "is not an ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, chained, err := TrustPrincipal(tt.arn, tt.lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || chained != tt.wantChained {
				t.Errorf("TrustPrincipal = %q, %v, %v; want %q, %v", got, chained, err, tt.want, tt.wantChained)
			}
		})
	}
}

func TestPermissionPolicy(t *testing.T) {
	p, err := PermissionPolicy([]Access{{"s3", ReadOnly}, {"lambda", Full}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"s3:DescribeJob"`, `"s3:Get*"`, `"lambda:*"`, `"Effect": "Deny"`, `"iam:CreateAccessKey"`, `"sts:AssumeRole"`} {
		if !strings.Contains(p, want) {
			t.Errorf("policy lacks %s", want)
		}
	}
	var all []Access
	for _, s := range catalog.All() {
		all = append(all, Access{s.Prefix, ReadOnly})
	}
	if _, err := PermissionPolicy(all); err == nil || !strings.Contains(err.Error(), "IAM allows 10240") {
		t.Errorf("read_only ceiling for the whole catalog: err = %v, want the size limit", err)
	}
	if _, err := PermissionPolicy([]Access{{"nope", ReadOnly}}); err == nil || !strings.Contains(err.Error(), `"nope" is not an AWS service prefix`) {
		t.Errorf("unknown service: err = %v", err)
	}
}

func TestRoleARN(t *testing.T) {
	got, err := RoleARN("arn:aws:iam::123456789012:user/alice", "timebound-iam-broker")
	if err != nil || got != "arn:aws:iam::123456789012:role/timebound-iam-broker" {
		t.Errorf("RoleARN = %q, %v", got, err)
	}
}
