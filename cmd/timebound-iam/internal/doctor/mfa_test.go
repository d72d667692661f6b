package doctor

import "testing"

func TestMFA(t *testing.T) {
	const serial, mfaRole = "arn:aws:iam::123456789012:mfa/alice", "arn:aws:iam::123456789012:role/broker-mfa"
	tests := []struct {
		name         string
		serial, role string
		status       Status
		detail, hint string
	}{
		{name: "off", status: OK, detail: "off: approvals are asked by this tool alone; timebound-iam setup aws --mfa-serial ARN makes AWS require your MFA device"},
		{name: "on", serial: serial, role: mfaRole, status: OK,
			detail: "grants that need approval (approval = full) assume " + mfaRole + " with a code from " + serial},
		{name: "no MFA role", serial: serial, status: Fail,
			detail: "mfa_serial is set in ", hint: "timebound-iam setup aws --mfa-serial " + serial + " creates the MFA role"},
		{name: "the MFA role is the broker", serial: serial, role: broker, status: Fail,
			detail: "mfa_role_arn is role_arn (" + broker + "): the MFA role must be a second role", hint: "setup aws --mfa-serial"},
		{name: "a role without a device", role: mfaRole, status: Warn,
			detail: "mfa_role_arn " + mfaRole + " is set without mfa_serial", hint: "or remove mfa_role_arn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := healthy(t)
			d.Config.MFASerial, d.Config.MFARoleARN = tt.serial, tt.role
			want(t, run(t, d, MFACheck), tt.status, tt.detail, tt.hint)
		})
	}
}
