package config

import (
	"fmt"
	"strings"

	"github.com/timebound-iam/timebound-iam/grant/policy"
)

// The MFA keys: mfa_serial names the person's MFA device, and mfa_role_arn
// the second broker role, whose trust policy requires MFA and which holds
// the full-level ceiling. Neither has an environment variable: the
// environment is the agent's to set, and these keys decide where a grant
// that needs a person goes.

// Examples shown in the keys' errors.
const (
	exampleMFASerial  = "arn:aws:iam::123456789012:mfa/alice"
	exampleMFARoleARN = "arn:aws:iam::123456789012:role/timebound-iam-broker-mfa"
)

// loadMFA reads the mfa_serial and mfa_role_arn keys. It runs after
// loadApproval: with approval = never no grant would ever reach the MFA
// role, and full grants would get the base role that setup caps at
// read_only.
func (c *Config) loadMFA(values map[string]string) error {
	c.MFASerial = strings.TrimSpace(values["mfa_serial"])
	c.MFARoleARN = strings.TrimSpace(values["mfa_role_arn"])
	if c.MFASerial != "" {
		if err := CheckMFASerial("mfa_serial", c.MFASerial); err != nil {
			return err
		}
		if c.STSDialect == policy.DialectMinIO {
			return fmt.Errorf("mfa_serial is set but sts_dialect is %q: MinIO's STS takes no MFA code; remove mfa_serial, or use sts_dialect %q", policy.DialectMinIO, policy.DialectAWS)
		}
		if c.Approval == ApprovalNever {
			return fmt.Errorf("mfa_serial is set but approval is %q: no grant would go to the MFA role, and full grants would get the read_only base role; set approval to %q or %q, or remove mfa_serial", ApprovalNever, ApprovalFull, ApprovalAlways)
		}
	}
	if c.MFARoleARN != "" {
		if err := checkRoleARN("mfa_role_arn", c.MFARoleARN, "timebound-iam-broker-mfa"); err != nil {
			return err
		}
	}
	return nil
}

// CheckMFASerial refuses a value of key (mfa_serial, or a flag that sets it)
// that is not the ARN of an IAM MFA device:
// arn:<partition>:iam::<12-digit account>:mfa/<name>, the name optionally
// under a path. Like [IAMNameChars] it is written out rather than a regexp.
func CheckMFASerial(key, serial string) error {
	bad := fmt.Errorf("%s %q is not an MFA device ARN: use arn:<partition>:iam::<12-digit account>:mfa/<name>, such as %s", key, serial, exampleMFASerial)
	parts := strings.SplitN(serial, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[3] != "" {
		return bad
	}
	if parts[1] == "" || strings.Trim(parts[1], "abcdefghijklmnopqrstuvwxyz-") != "" {
		return bad
	}
	if len(parts[4]) != 12 || strings.Trim(parts[4], "0123456789") != "" {
		return bad
	}
	name, ok := strings.CutPrefix(parts[5], "mfa/")
	if !ok {
		return bad
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || !IAMNameChars(seg) {
			return bad
		}
	}
	return nil
}

// checkRoleARN refuses a value of key that is not a role ARN; example is a
// role name for the message. A role ARN holds IAM name characters, the
// colons of the ARN and the slashes of the role's path; nothing else, since
// it is also written into every grant's profile.
func checkRoleARN(key, arn, example string) error {
	arnChars := strings.NewReplacer(":", "", "/", "").Replace(arn)
	if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":role/") || !IAMNameChars(arnChars) {
		return fmt.Errorf("%s %q is not a role ARN such as arn:aws:iam::123456789012:role/%s", key, arn, example)
	}
	return nil
}

// CheckMFA reports an MFA setup that grants cannot use, when mfa_serial is
// set: no mfa_role_arn, or one that is role_arn itself. Grants check it
// before anyone is asked to approve them.
func (c Config) CheckMFA() error {
	if c.MFASerial == "" {
		return nil
	}
	if c.MFARoleARN == "" {
		return fmt.Errorf("mfa_serial is set in %s but mfa_role_arn is not: grants that need approval go to the MFA role, and none is configured; timebound-iam setup aws --mfa-serial %s creates it and writes both keys", c.ConfigFile(), c.MFASerial)
	}
	if err := checkRoleARN("mfa_role_arn", c.MFARoleARN, "timebound-iam-broker-mfa"); err != nil {
		return err
	}
	if c.MFARoleARN == c.RoleARN {
		return fmt.Errorf("mfa_role_arn is role_arn (%s): the MFA role must be a second role, whose trust policy requires MFA, such as %s; timebound-iam setup aws --mfa-serial %s creates it", c.RoleARN, exampleMFARoleARN, c.MFASerial)
	}
	return nil
}

// RoleFor is the broker role a grant of access assumes, and the MFA device
// whose code it needs: with mfa_serial set, a grant that needs a person's
// approval ([Config.NeedsApproval]) goes to mfa_role_arn with a code from
// mfa_serial; every other grant goes to role_arn with none ("").
func (c Config) RoleFor(access []policy.Access) (role, mfaSerial string) {
	if c.MFASerial != "" && c.NeedsApproval(access) {
		return c.MFARoleARN, c.MFASerial
	}
	return c.RoleARN, ""
}
