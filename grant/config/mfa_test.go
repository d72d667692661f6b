package config

import (
	"strings"
	"testing"

	"github.com/timebound-iam/timebound-iam/grant/policy"
)

const (
	testSerial  = "arn:aws:iam::123456789012:mfa/alice"
	testRole    = "arn:aws:iam::123456789012:role/broker"
	testMFARole = "arn:aws:iam::123456789012:role/broker-mfa"
)

func TestLoadConfigMFA(t *testing.T) {
	tests := []struct {
		name, file       string
		env              map[string]string
		wantSerial       string
		wantRole         string
		wantErr          string
		wantCheckMFA     string // CheckMFA's error, at grant time
		wantNoCheckError bool
	}{
		{name: "off", wantNoCheckError: true},
		{name: "both", file: "mfa_serial = " + testSerial + "\nmfa_role_arn = " + testMFARole + "\n", wantSerial: testSerial, wantRole: testMFARole, wantNoCheckError: true},
		{name: "a device under a path, in another partition", file: "mfa_serial = arn:aws-us-gov:iam::123456789012:mfa/team/alice@example.com\nmfa_role_arn = " + testMFARole + "\n",
			wantSerial: "arn:aws-us-gov:iam::123456789012:mfa/team/alice@example.com", wantRole: testMFARole, wantNoCheckError: true},
		{name: "serial without its role", file: "mfa_serial = " + testSerial + "\n", wantSerial: testSerial,
			wantCheckMFA: "mfa_serial is set in "},
		{name: "the role alone is harmless", file: "mfa_role_arn = " + testMFARole + "\n", wantRole: testMFARole, wantNoCheckError: true},
		{name: "a user ARN is not a device", file: "mfa_serial = arn:aws:iam::123456789012:user/alice\n",
			wantErr: `mfa_serial "arn:aws:iam::123456789012:user/alice" is not an MFA device ARN: use arn:<partition>:iam::<12-digit account>:mfa/<name>, such as arn:aws:iam::123456789012:mfa/alice`},
		{name: "a hardware serial is not an ARN", file: "mfa_serial = GAHT12345678\n", wantErr: `mfa_serial "GAHT12345678" is not an MFA device ARN`},
		{name: "short account", file: "mfa_serial = arn:aws:iam::12345:mfa/alice\n", wantErr: `mfa_serial "arn:aws:iam::12345:mfa/alice" is not an MFA device ARN`},
		{name: "no name", file: "mfa_serial = arn:aws:iam::123456789012:mfa/\n", wantErr: "is not an MFA device ARN"},
		{name: "a space in the name", file: "mfa_serial = arn:aws:iam::123456789012:mfa/alice smith\n", wantErr: "is not an MFA device ARN"},
		{name: "a region", file: "mfa_serial = arn:aws:iam:us-east-1:123456789012:mfa/alice\n", wantErr: "is not an MFA device ARN"},
		{name: "a bad role", file: "mfa_role_arn = arn:aws:iam::123456789012:user/alice\n",
			wantErr: `mfa_role_arn "arn:aws:iam::123456789012:user/alice" is not a role ARN such as arn:aws:iam::123456789012:role/timebound-iam-broker-mfa`},
		{name: "with approval never", file: "approval = never\nmfa_serial = " + testSerial + "\nmfa_role_arn = " + testMFARole + "\n",
			wantErr: `mfa_serial is set but approval is "never": no grant would go to the MFA role, and full grants would get the read_only base role; set approval to "full" or "always", or remove mfa_serial`},
		{name: "with MinIO", file: "sts_dialect = minio\nmfa_serial = " + testSerial + "\n",
			wantErr: `mfa_serial is set but sts_dialect is "minio": MinIO's STS takes no MFA code; remove mfa_serial, or use sts_dialect "aws"`},
		{name: "the MFA role is the base role", file: "mfa_serial = " + testSerial + "\nmfa_role_arn = " + testRole + "\n", wantSerial: testSerial, wantRole: testRole,
			wantCheckMFA: "mfa_role_arn is role_arn (" + testRole + "): the MFA role must be a second role"},
		// The environment is the agent's: it cannot set or unset these keys.
		{name: "no environment variable", env: map[string]string{"TIMEBOUND_IAM_MFA_SERIAL": "x", "TIMEBOUND_IAM_MFA_ROLE_ARN": "y"}, wantNoCheckError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			writeConfig(t, home, "role_arn = "+testRole+"\n"+tt.file)
			cfg, err := Load(home, env(tt.env), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MFASerial != tt.wantSerial || cfg.MFARoleARN != tt.wantRole {
				t.Errorf("mfa_serial %q mfa_role_arn %q, want %q %q", cfg.MFASerial, cfg.MFARoleARN, tt.wantSerial, tt.wantRole)
			}
			err = cfg.CheckMFA()
			switch {
			case tt.wantNoCheckError && err != nil:
				t.Errorf("CheckMFA = %v, want nil", err)
			case tt.wantCheckMFA != "" && (err == nil || !strings.Contains(err.Error(), tt.wantCheckMFA)):
				t.Errorf("CheckMFA = %v, want %q", err, tt.wantCheckMFA)
			}
		})
	}
}

func TestCheckMFANamesBothKeys(t *testing.T) {
	cfg := Config{Home: "/h", RoleARN: testRole, MFASerial: testSerial}
	want := "mfa_serial is set in /h/config but mfa_role_arn is not: grants that need approval go to the MFA role, and none is configured; timebound-iam setup aws --mfa-serial " + testSerial + " creates it and writes both keys"
	if err := cfg.CheckMFA(); err == nil || err.Error() != want {
		t.Errorf("CheckMFA = %v\nwant %s", err, want)
	}
}

func TestRoleFor(t *testing.T) {
	read := []policy.Access{{Service: "s3", Level: policy.ReadOnly}}
	full := []policy.Access{{Service: "s3", Level: policy.ReadOnly}, {Service: "logs", Level: policy.Full}}
	iam := []policy.Access{{Service: "iam", Level: policy.ViewOnly}}
	mfa := Config{RoleARN: testRole, Approval: ApprovalFull, ApprovalServices: []string{"iam"}, MFASerial: testSerial, MFARoleARN: testMFARole}
	noMFA := mfa
	noMFA.MFASerial = ""
	tests := []struct {
		name      string
		cfg       Config
		access    []policy.Access
		role, mfa string
	}{
		{"read_only needs no approval: the base role", mfa, read, testRole, ""},
		{"full needs approval: the MFA role", mfa, full, testMFARole, testSerial},
		{"approval_services: the MFA role", mfa, iam, testMFARole, testSerial},
		{"without mfa_serial, full stays on the base role", noMFA, full, testRole, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			role, serial := tt.cfg.RoleFor(tt.access)
			if role != tt.role || serial != tt.mfa {
				t.Errorf("RoleFor = %q, %q; want %q, %q", role, serial, tt.role, tt.mfa)
			}
		})
	}
}
