package granttest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// TestStandInMFA: the stand-in answers MFA parameters as AWS does, through
// aws-sdk-go-v2's real client.
func TestStandInMFA(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	client := sts.New(sts.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(s.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "secret", ""),
	})
	const serial = "arn:aws:iam::123456789012:mfa/alice"
	s.SetMFA(serial, "481516")
	call := func(role, serial, code string) error {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("mfa-test")}
		if serial != "" {
			in.SerialNumber = aws.String(serial)
		}
		if code != "" {
			in.TokenCode = aws.String(code)
		}
		_, err := client.AssumeRole(context.Background(), in)
		return err
	}
	const base, mfaRole = "arn:aws:iam::123456789012:role/broker", "arn:aws:iam::123456789012:role/broker-mfa"
	tests := []struct {
		name, role, serial, code string
		wantCode, wantMsg        string
	}{
		{"the base role needs no MFA", base, "", "", "", ""},
		{"the -mfa role refuses a request without MFA", mfaRole, "", "", "AccessDenied", "is not authorized to perform: sts:AssumeRole on resource: " + mfaRole},
		{"a wrong code", mfaRole, serial, "000000", "AccessDenied", MFAInvalidCode},
		{"another device", mfaRole, "arn:aws:iam::123456789012:mfa/bob", "481516", "AccessDenied", MFAUnknownDevice},
		{"a malformed code", mfaRole, serial, "48151", "ValidationError", "tokenCode"},
		{"the right code", mfaRole, serial, "481516", "", ""},
		{"the right code again", mfaRole, serial, "481516", "AccessDenied", MFAInvalidCode},
	}
	for _, tt := range tests {
		err := call(tt.role, tt.serial, tt.code)
		var api smithy.APIError
		switch {
		case tt.wantCode == "" && err != nil:
			t.Errorf("%s: %v, want credentials", tt.name, err)
		case tt.wantCode != "" && (!errors.As(err, &api) || api.ErrorCode() != tt.wantCode || !strings.Contains(api.ErrorMessage(), tt.wantMsg)):
			t.Errorf("%s: %v, want %s %q", tt.name, err, tt.wantCode, tt.wantMsg)
		}
	}
	if got := len(s.Issued()); got != 2 {
		t.Errorf("%d credentials issued, want 2", got)
	}
	if got := len(s.TokenCodes()); got != 5 {
		t.Errorf("%d TokenCodes recorded, want 5", got)
	}
}
