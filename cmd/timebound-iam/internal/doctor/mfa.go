package doctor

import (
	"fmt"
)

// checkMFA reports how approvals are enforced: by this tool alone, or by
// AWS through the MFA role's trust policy. It reads only the config.
func (d *Doctor) checkMFA() Check {
	cfg := d.Config
	if cfg.MFASerial == "" {
		if cfg.MFARoleARN != "" {
			return warn(MFACheck, fmt.Sprintf("mfa_role_arn %s is set without mfa_serial: no grant goes to the MFA role", cfg.MFARoleARN),
				fmt.Sprintf("set mfa_serial to your MFA device's ARN in %s (timebound-iam setup aws --mfa-serial ARN), or remove mfa_role_arn", cfg.ConfigFile()))
		}
		return ok(MFACheck, "off: approvals are asked by this tool alone; timebound-iam setup aws --mfa-serial ARN makes AWS require your MFA device for them")
	}
	if err := cfg.CheckMFA(); err != nil {
		return fail(MFACheck, err.Error(), "timebound-iam setup aws --mfa-serial "+cfg.MFASerial+" creates the MFA role and writes mfa_role_arn")
	}
	return ok(MFACheck, fmt.Sprintf("grants that need approval (approval = %s) assume %s with a code from %s",
		cfg.ApprovalSetting(), cfg.MFARoleARN, cfg.MFASerial))
}
