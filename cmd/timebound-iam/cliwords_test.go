package main

import "testing"

// TestCLIWords: the grant use cases' errors name MCP tools and fields; the
// CLI says the same in its own commands and flags.
func TestCLIWords(t *testing.T) {
	tests := []struct{ in, want string }{
		{`services[1] "nope" is not an AWS service prefix in the catalog; list_services shows the allowed names (e.g. "s3", "ec2", "lambda")`,
			`-s nope is not an AWS service prefix in the catalog; timebound-iam services lists them (e.g. "s3", "ec2", "lambda")`},
		{`services[0] "ec2" at read_only is over this config's limit: ec2 is allowed up to view_only (services, from /x/config)`,
			`-s ec2 at read_only is over this config's limit: ec2 is allowed up to view_only (services, from /x/config)`},
		{`services[12]: s3 level "admin" is not one of view_only, read_only, full`, `-s: s3 level "admin" is not one of view_only, read_only, full`},
		{`session_id tb-k3f9ab2c: no such grant; list_active_sessions shows the live ones`, `grant tb-k3f9ab2c: no such grant; timebound-iam sessions lists the live ones`},
		{`max_grants is 2 and 2 grants are live; revoke one (revoke_access, or timebound-iam revoke) or wait for one to expire`,
			`max_grants is 2 and 2 grants are live; revoke one (timebound-iam revoke) or wait for one to expire`},
		{`grant tb-k3f9ab2c expired at 2026-11-25T12:59:00Z; call grant_access again (or run timebound-iam grant)`, `grant tb-k3f9ab2c expired at 2026-11-25T12:59:00Z; run timebound-iam grant again`},
		{`session_id "../etc" is not a grant id such as tb-k3f9ab2c; list_active_sessions shows them`, `"../etc" is not a grant id such as tb-k3f9ab2c; timebound-iam sessions shows them`},
		// Not a field: left as it is.
		{`services[x] and services[ are text`, `services[x] and services[ are text`},
		{`services: "s4" is not an AWS service prefix`, `services: "s4" is not an AWS service prefix`},
	}
	for _, tt := range tests {
		if got := cliWords(tt.in); got != tt.want {
			t.Errorf("cliWords(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
}
