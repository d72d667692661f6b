package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSetupAWSInteractive runs setup aws under a real pseudo-terminal
// (util-linux script) and answers its prompts.
func TestSetupAWSInteractive(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("util-linux script is not installed; it provides the pseudo-terminal")
	}
	dir := t.TempDir()
	bin := goBuild(t, filepath.Join(dir, "timebound-iam"), ".")
	const principal = " --principal arn:aws:iam::123456789012:user/alice"
	tests := []struct {
		name string
		// before runs setup aws without a terminal first, with these flags.
		before     string
		args       string
		input      string
		wantFail   bool
		wantScreen []string
		dontWant   []string
		wantConfig []string
	}{
		{
			name:  "fresh: a search, the services, the default role name, a duration",
			input: "?lambd\ns3,lambda:full\n\n6h\n",
			wantScreen: []string{
				"Services the broker may reach (e.g. s3,logs,lambda:full; ?text searches): ",
				"lambda                   AWS Lambda",
				"Role name [timebound-iam-broker]: ",
				"Maximum session duration (1h to 12h) [12h]: ",
				`"lambda:*"`,
				"--role-name timebound-iam-broker --max-session-duration 21600",
			},
			wantConfig: []string{"role_arn = arn:aws:iam::123456789012:role/timebound-iam-broker\n", "services = s3, lambda\n", "max_ttl = 6h\n"},
		},
		{
			name:   "the defaults are what an earlier run set",
			before: "-s s3,lambda:full --role-name agents-broker --max-session-duration 4h",
			input:  "\n\n\n",
			wantScreen: []string{
				"Services the broker may reach (e.g. s3,logs,lambda:full; ?text searches) [s3, lambda:full]: ",
				"Role name [agents-broker]: ",
				"Maximum session duration (1h to 12h) [4h]: ",
				`"lambda:*"`,
				"--role-name agents-broker --max-session-duration 14400",
				"max_ttl = 4h (unchanged)",
			},
			wantConfig: []string{"role_arn = arn:aws:iam::123456789012:role/agents-broker\n", "services = s3, lambda\n", "max_ttl = 4h\n"},
		},
		{
			name:       "a bad level in -s is refused, not dropped",
			args:       " -s s3:write",
			input:      "s3\n\n\n",
			wantFail:   true,
			wantScreen: []string{`timebound-iam: error: --service s3 level "write" is not allowed: use "view_only", "read_only" or "full"`},
			dontWant:   []string{"Services the broker may reach"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := filepath.Join(dir, "state", string(rune('a'+i)))
			env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TIMEBOUND_IAM_HOME=" + home, "TERM=dumb"}
			if tt.before != "" {
				cmd := exec.Command(bin, append([]string{"setup", "aws", "--principal", "arn:aws:iam::123456789012:user/alice"}, strings.Fields(tt.before)...)...)
				cmd.Env = env
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("setup aws %s: %v\n%s", tt.before, err, out)
				}
			}
			cmd := exec.Command("script", "-qfec", bin+" setup aws"+principal+tt.args, "/dev/null")
			cmd.Env = env
			cmd.Stdin = strings.NewReader(tt.input)
			out, err := cmd.CombinedOutput()
			if (err != nil) != tt.wantFail {
				t.Fatalf("setup aws under a pty: %v, want failure %v\n%s", err, tt.wantFail, out)
			}
			screen := strings.ReplaceAll(string(out), "\r\n", "\n")
			for _, want := range tt.wantScreen {
				if !strings.Contains(screen, want) {
					t.Errorf("screen lacks %q:\n%s", want, screen)
				}
			}
			for _, bad := range tt.dontWant {
				if strings.Contains(screen, bad) {
					t.Errorf("screen has %q:\n%s", bad, screen)
				}
			}
			if tt.wantConfig == nil {
				return
			}
			cfg, err := os.ReadFile(filepath.Join(home, "config"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.wantConfig {
				if !strings.Contains(string(cfg), want) {
					t.Errorf("config lacks %q:\n%s", want, cfg)
				}
			}
		})
	}
}
