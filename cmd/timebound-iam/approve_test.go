package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// TestGrantApprovalOnTerminal runs grant and exec under a real
// pseudo-terminal (util-linux script), with the default approval = full,
// and answers the approval prompt.
func TestGrantApprovalOnTerminal(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("util-linux script is not installed; it provides the pseudo-terminal")
	}
	dir := t.TempDir()
	bin := goBuild(t, filepath.Join(dir, "timebound-iam"), ".")
	stand, err := granttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stand.Close()
	summary := []string{
		"timebound-iam: this grant needs your approval:",
		"  account:   123456789012\n",
		"  role:      broker\n",
		"  access:    s3 full\n",
		`  reason:    "fix the upload job"` + "\n",
		`  client:    "cli"` + "\n",
		"  policy:    ",
		"Approve? [y/N, or a shorter ttl such as 15m] ",
	}
	tests := []struct {
		name     string
		args     string
		input    string
		wantFail bool
		want     []string
		// duration is the DurationSeconds STS is asked for; empty: no call.
		duration string
	}{
		{name: "y approves", args: "grant -s s3:full -t 30m --reason 'fix the upload job'", input: "y\n",
			want: append(summary, "  ttl:       30m\n", "granted tb-", " (30m0s)"), duration: "1800"},
		{name: "a shorter ttl approves a shorter grant", args: "grant -s s3:full -t 1h --reason 'fix the upload job'", input: "20m\n",
			want: append(summary, "  ttl:       1h\n", "granted tb-", " (20m0s)"), duration: "1200"},
		{name: "n declines", args: "grant -s s3:full -t 30m --reason 'fix the upload job'", input: "n\n", wantFail: true,
			want: append(summary, `timebound-iam: error: not approved (answer "n"); no grant was made`)},
		{name: "enter declines", args: "grant -s s3:full -t 30m --reason 'fix the upload job'", input: "\n", wantFail: true,
			want: []string{`timebound-iam: error: not approved (answer ""); no grant was made`}},
		{name: "a longer ttl is refused", args: "grant -s s3:full -t 30m", input: "2h\n", wantFail: true,
			want: []string{"timebound-iam: error: the approved ttl 2h is longer than the 30m asked for: an approval may shorten a grant, never lengthen it"}},
		{name: "exec asks, then runs the command", args: "exec -s s3:full -t 15m --reason 'fix the upload job' -- sh -c 'echo command-ran as $AWS_PROFILE'", input: "y\n",
			want: append(summary, "command-ran as tb-"), duration: "900"},
		{name: "exec declined runs nothing", args: "exec -s s3:full -t 15m -- sh -c 'echo command-ran'", input: "no\n", wantFail: true,
			want: []string{`not approved (answer "no"); no grant was made`}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := filepath.Join(dir, "state", string(rune('a'+i)))
			before := len(stand.Issued())
			cmd := exec.Command("script", "-qfec", bin+" "+tt.args, "/dev/null")
			cmd.Env = []string{
				"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TERM=dumb",
				"TIMEBOUND_IAM_HOME=" + home,
				"TIMEBOUND_IAM_ROLE_ARN=arn:aws:iam::123456789012:role/broker",
				"TIMEBOUND_IAM_STS_ENDPOINT=" + stand.URL,
				"TIMEBOUND_IAM_KEYRING_BACKEND=file",
				"TIMEBOUND_IAM_FILE_PASSPHRASE=pty-test",
				"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
				"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
				"AWS_EC2_METADATA_DISABLED=true",
				"AWS_CONFIG_FILE=" + filepath.Join(dir, "no-aws-config"),
				"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "no-aws-credentials"),
			}
			cmd.Stdin = strings.NewReader(tt.input)
			out, err := cmd.CombinedOutput()
			screen := strings.ReplaceAll(string(out), "\r\n", "\n")
			if (err != nil) != tt.wantFail {
				t.Fatalf("%s under a pty: %v, want failure %v\n%s", tt.args, err, tt.wantFail, screen)
			}
			for _, want := range tt.want {
				if !strings.Contains(screen, want) {
					t.Errorf("screen lacks %q:\n%s", want, screen)
				}
			}
			if tt.wantFail && strings.Contains(screen, "command-ran") {
				t.Errorf("the command ran:\n%s", screen)
			}
			issued := stand.Issued()[before:]
			switch {
			case tt.duration == "" && len(issued) != 0:
				t.Errorf("STS issued %d credentials, want none", len(issued))
			case tt.duration != "" && (len(issued) != 1 || issued[0].Form.Get("DurationSeconds") != tt.duration):
				t.Errorf("STS issued %d credentials; want one for DurationSeconds %s", len(issued), tt.duration)
			}
		})
	}
}
