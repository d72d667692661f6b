package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// TestCodexSandbox writes a project's Codex config with setup agent, then runs
// commands under the real Codex CLI's Linux sandbox with the permission
// profile it names (`codex sandbox -P`, no login and no model), and checks
// from outside what they could read and write.
func TestCodexSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Codex CLI from the rig; skipped with -short")
	}
	rig, err := granttest.FindRig()
	if err != nil {
		t.Skip(err)
	}
	codex := filepath.Join(rig.NodeModules(), ".bin", "codex")
	if _, err := os.Stat(codex); err != nil {
		t.Skipf("the rig has no Codex CLI (%s): add @openai/codex 0.169.0 to .ci/npm/package.json and run sh .ci/rig", codex)
	}
	// Codex will not create its helpers under /tmp, where t.TempDir is.
	base, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.MkdirTemp(base, "timebound-iam-codex-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	home := filepath.Join(root, "home")
	state := filepath.Join(home, "state")
	project := filepath.Join(root, "project")
	codexHome := filepath.Join(home, ".codex")
	const secret = "tb-codex-sandbox-secret-7f3a"
	files := map[string]string{
		filepath.Join(home, ".aws", "credentials"): "[default]\naws_secret_access_key = " + secret + "\n",
		filepath.Join(state, "keyring", "item"):    secret + "\n",
		filepath.Join(state, "aws-config"):         "[profile tb-x]\n",
		filepath.Join(project, "AGENTS.md"):        "# Agents\n",
		// Codex reads a project's .codex/config.toml only in a trusted project.
		filepath.Join(codexHome, "config.toml"): "[projects." + quoteTOML(project) + "]\ntrust_level = \"trusted\"\n",
	}
	for path, content := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "HOME="+home, "TIMEBOUND_IAM_HOME="+state, "CODEX_HOME="+codexHome,
		"AWS_CONFIG_FILE=", "AWS_SHARED_CREDENTIALS_FILE=", "RUST_BACKTRACE=0")

	bin := goBuild(t, filepath.Join(root, "timebound-iam"), ".")
	setup := exec.Command(bin, "setup", "agent", "codex", "--write", "--project", project)
	setup.Env = env
	if out, err := setup.CombinedOutput(); err != nil {
		t.Fatalf("setup agent codex --write: %v\n%s", err, out)
	}

	// A grant, made outside as the MCP server would make it, against the STS
	// stand-in, into the default keychain (keyctl on Linux).
	stand, err := granttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stand.Close() })
	person := append(env, "TIMEBOUND_IAM_ROLE_ARN=arn:aws:iam::123456789012:role/broker", "TIMEBOUND_IAM_STS_ENDPOINT="+stand.URL,
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(root, "no-credentials"))
	grantCmd := exec.Command(bin, "grant", "-s", "s3", "-t", "15m", "--json")
	grantCmd.Env = person
	var stderr strings.Builder
	grantCmd.Stderr = &stderr
	out, err := grantCmd.Output()
	if err != nil {
		t.Fatalf("grant: %v\n%s%s", err, out, stderr.String())
	}
	var g struct {
		Profile string `json:"profile"`
	}
	if err := json.Unmarshal(out, &g); err != nil || g.Profile == "" {
		t.Fatalf("grant --json: %v: %s", err, out)
	}
	t.Cleanup(func() {
		revoke := exec.Command(bin, "revoke", "--all")
		revoke.Env = person
		_ = revoke.Run()
	})
	issued := stand.Issued()[0].AccessKeyID

	run := func(script string, extraEnv ...string) string {
		cmd := exec.Command(codex, "sandbox", "-P", "timebound-iam", "-C", project, "--", "sh", "-c", script)
		cmd.Env = append(env, extraEnv...)
		out, _ := cmd.CombinedOutput()
		t.Logf("$ %s\n%s", script, out)
		return string(out)
	}
	exists := func(path string) bool { _, err := os.Stat(path); return err == nil }

	tests := []struct {
		name   string
		script string
		env    []string
		check  func(out string) bool
	}{
		// Controls: the sandbox runs, reads the dedicated config file, and
		// writes in the project.
		{"reads the dedicated config", "cat " + filepath.Join(state, "aws-config"), nil,
			func(out string) bool { return strings.Contains(out, "[profile tb-x]") }},
		{"writes in the project", "echo x > " + filepath.Join(project, "ok"), nil,
			func(string) bool { return exists(filepath.Join(project, "ok")) }},
		// The helper finds the grant inside Codex's sandbox too (no network
		// is needed to print the credentials).
		{"the tb profile's helper works", "/usr/bin/aws configure export-credentials --profile " + g.Profile + " --format env-no-export", nil,
			func(out string) bool { return strings.Contains(out, "AWS_ACCESS_KEY_ID="+issued) }},

		{"cannot read ~/.aws", "cat " + filepath.Join(home, ".aws", "credentials"), nil,
			func(out string) bool { return !strings.Contains(out, secret) }},
		{"cannot read the file keyring", "cat " + filepath.Join(state, "keyring", "item"), nil,
			func(out string) bool { return !strings.Contains(out, secret) }},
		{"cannot write the state directory", "echo x > " + filepath.Join(state, "probe"), nil,
			func(string) bool { return !exists(filepath.Join(state, "probe")) }},
		{"cannot write .codex", "echo x > " + filepath.Join(project, ".codex", "probe"), nil,
			func(string) bool { return !exists(filepath.Join(project, ".codex", "probe")) }},
		{"cannot write ~/.codex", "echo x > " + filepath.Join(codexHome, "probe"), nil,
			func(string) bool { return !exists(filepath.Join(codexHome, "probe")) }},
		{"cannot write AGENTS.md", "echo x >> " + filepath.Join(project, "AGENTS.md"), nil,
			func(string) bool {
				b, _ := os.ReadFile(filepath.Join(project, "AGENTS.md"))
				return strings.HasPrefix(string(b), "# Agents\n") && !strings.Contains(string(b), "\nx\n")
			}},
		{"credential variables are dropped", "env | grep ^AWS_", []string{"AWS_ACCESS_KEY_ID=AKIATBCODEXPROBE", "AWS_PROFILE=base"},
			func(out string) bool {
				return !strings.Contains(out, "AKIATBCODEXPROBE") && !strings.Contains(out, "AWS_PROFILE=") &&
					strings.Contains(out, "AWS_CONFIG_FILE="+filepath.Join(state, "aws-config"))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out := run(tt.script, tt.env...); !tt.check(out) {
				t.Errorf("sh -c %q under Codex's sandbox:\n%s", tt.script, out)
			}
		})
	}
}

// quoteTOML writes s as a TOML basic string.
func quoteTOML(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
