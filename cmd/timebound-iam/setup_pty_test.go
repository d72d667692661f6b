package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSetupAWSInteractive runs setup aws under a real pseudo-terminal
// (util-linux script) and answers its prompts: a search, the services, the
// default role name, and a maximum session duration.
func TestSetupAWSInteractive(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("util-linux script is not installed; it provides the pseudo-terminal")
	}
	dir := t.TempDir()
	bin := goBuild(t, filepath.Join(dir, "timebound-iam"), ".")
	home := filepath.Join(dir, "state")
	cmd := exec.Command("script", "-qfec", bin+" setup aws --principal arn:aws:iam::123456789012:user/alice", "/dev/null")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TIMEBOUND_IAM_HOME=" + home, "TERM=dumb"}
	cmd.Stdin = strings.NewReader("?lambd\ns3,lambda:full\n\n6h\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("setup aws under a pty: %v\n%s", err, out)
	}
	screen := string(out)
	for _, want := range []string{
		"Services the broker may reach (e.g. s3,logs,lambda:full; ?text searches): ",
		"lambda                   AWS Lambda",
		"Role name [timebound-iam-broker]: ",
		"Maximum session duration (1h to 12h) [12h]: ",
		`"lambda:*"`,
		"--role-name timebound-iam-broker --max-session-duration 21600",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(home, "config"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"role_arn = arn:aws:iam::123456789012:role/timebound-iam-broker\n", "services = s3, lambda\n", "max_ttl = 6h\n"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
}
