//go:build linux

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/mcpserver"
	"github.com/timebound-iam/timebound-iam/keychain"
	"golang.org/x/sys/unix"
)

// agentBox is an agent's side of a contained setup: the project that
// `setup agent claude-code --write` configured, and Anthropic's sandbox
// runtime (srt, the runtime under Claude Code's sandbox) running commands
// with the sandbox settings setup wrote there.
type agentBox struct {
	w       *world
	srt     string
	project string
	// settings is the srt settings file made from the project's
	// .claude/settings.json.
	settings string
	// env is the environment the agent's commands start from: the person's,
	// base keys included, plus the "env" of Claude Code's settings.
	env []string
}

// claudeSettings is the part of .claude/settings.json the sandbox takes.
type claudeSettings struct {
	Env     map[string]string `json:"env"`
	Sandbox struct {
		Enabled                  bool `json:"enabled"`
		FailIfUnavailable        bool `json:"failIfUnavailable"`
		AllowUnsandboxedCommands bool `json:"allowUnsandboxedCommands"`
		Filesystem               struct {
			DenyRead  []string `json:"denyRead"`
			DenyWrite []string `json:"denyWrite"`
		} `json:"filesystem"`
		Network struct {
			AllowedDomains []string `json:"allowedDomains"`
		} `json:"network"`
		Credentials struct {
			EnvVars []map[string]string `json:"envVars"`
		} `json:"credentials"`
	} `json:"sandbox"`
}

// srtSettings turns Claude Code's sandbox settings into srt's: the same
// lists, plus what Claude Code adds itself, write access to the project
// and to the temporary directory.
func srtSettings(t *testing.T, s claudeSettings, project, tmp string) []byte {
	t.Helper()
	v := map[string]any{
		"filesystem": map[string]any{
			"denyRead":   nonNil(s.Sandbox.Filesystem.DenyRead),
			"allowWrite": []string{project, tmp},
			"denyWrite":  nonNil(s.Sandbox.Filesystem.DenyWrite),
		},
		"network": map[string]any{
			"allowedDomains": nonNil(s.Sandbox.Network.AllowedDomains),
			"deniedDomains":  []string{},
		},
	}
	if len(s.Sandbox.Credentials.EnvVars) > 0 {
		v["credentials"] = map[string]any{"envVars": s.Sandbox.Credentials.EnvVars}
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// newAgentBox sets up the person's side as a real user would have it, then
// the agent's project with setup agent, and the sandbox from its settings.
//
//	HOME/.aws/credentials            the person's base keys (WriterBroker)
//	HOME/.config/timebound-iam/      the state directory, default place
//	project/                         setup agent claude-code --write
func newAgentBox(t *testing.T, w *world) *agentBox {
	t.Helper()
	srt := filepath.Join(w.rig.NodeModules(), ".bin", "srt")
	if _, err := os.Stat(srt); err != nil {
		t.Skipf("needs Anthropic's sandbox runtime (srt) from the rig: sh .ci/rig: %v", err)
	}
	for _, bin := range []string{"bwrap", "socat", "rg"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("srt needs %s (the rig installs it: sh .ci/rig): %v", bin, err)
		}
	}
	b := &agentBox{w: w, srt: srt, project: filepath.Join(w.root, "project")}
	if err := os.MkdirAll(b.project, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(w.home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	creds := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", w.base.AccessKeyID, w.base.SecretAccessKey)
	if err := os.WriteFile(filepath.Join(w.home, ".aws", "credentials"), []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	// The config a person writes for MinIO; approval stays at its default,
	// so that full needs a person.
	configText := fmt.Sprintf("role_arn = arn:aws:iam::123456789012:role/timebound-iam-broker\nregion = us-east-1\nsts_endpoint = %s\nsts_dialect = minio\n", w.m.URL)
	if err := os.MkdirAll(w.state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.state, config.FileName), []byte(configText), 0o600); err != nil {
		t.Fatal(err)
	}

	r := w.run(b.person(), w.bin, "setup", "agent", "claude-code", "--write", "--project", b.project)
	mustSucceed(t, r)
	data, err := os.ReadFile(filepath.Join(b.project, ".claude", "settings.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s claudeSettings
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf(".claude/settings.json: %v\n%s", err, data)
	}
	if !s.Sandbox.Enabled || !s.Sandbox.FailIfUnavailable || s.Sandbox.AllowUnsandboxedCommands {
		t.Errorf("setup agent wrote sandbox enabled=%v failIfUnavailable=%v allowUnsandboxedCommands=%v; want true, true, false",
			s.Sandbox.Enabled, s.Sandbox.FailIfUnavailable, s.Sandbox.AllowUnsandboxedCommands)
	}
	b.settings = filepath.Join(w.work, "srt-settings.json")
	if err := os.WriteFile(b.settings, srtSettings(t, s, b.project, w.tmp), 0o600); err != nil {
		t.Fatal(err)
	}
	b.env = b.person()
	for k, v := range s.Env {
		b.env = append(b.env, k+"="+v)
	}
	return b
}

// person is the environment of the person's shell, which starts the agent
// and its MCP server: base keys exported, and the state directory in its
// default place under HOME.
func (b *agentBox) person() []string {
	w := b.w
	return []string{
		"PATH=" + filepath.Dir(w.bin) + ":" + os.Getenv("PATH"),
		"HOME=" + w.home,
		"TMPDIR=" + w.tmp,
		"AWS_ACCESS_KEY_ID=" + w.base.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + w.base.SecretAccessKey,
		"AWS_PAGER=",
	}
}

// sh runs script with bash inside the sandbox, as the agent's Bash tool
// does, and captures its output for the secret scan unless scan is false.
func (b *agentBox) sh(script string, scan bool) result {
	cmd := exec.Command(b.srt, "--settings", b.settings, "bash", "-c", script)
	cmd.Env = b.env
	cmd.Dir = b.project
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.Bytes(), stderr: errb.Bytes(), err: err}
	if scan {
		b.w.capture("stdout in the sandbox of "+script, r.stdout)
		b.w.capture("stderr in the sandbox of "+script, r.stderr)
	}
	return r
}

// viaProxy prefixes a command that must reach MinIO on the host's loopback:
// inside the sandbox 127.0.0.1 is the sandbox's own, and the host is
// reached only through srt's proxy, which no_proxy would bypass.
func (b *agentBox) viaProxy(cmd string) string {
	return "env -u no_proxy -u NO_PROXY " + cmd
}

// awsIn is the agent's command for profile, as grant_access's usage gives it.
func (b *agentBox) awsIn(profile, args string) string {
	return b.viaProxy(fmt.Sprintf("/usr/bin/aws --profile %s --endpoint-url %s --region us-east-1 %s", profile, b.w.m.URL, args))
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(data))
}

// TestContainmentClaudeCode is the escape suite. The person's MCP server runs
// outside the sandbox and makes a grant against MinIO; the agent's commands
// run inside srt with the sandbox settings setup agent claude-code wrote.
// The legitimate path must work there (the AWS CLI v2 and boto3 through the
// tb profile, stopped by a revoke), and every escape an agent with a shell
// has tried must fail, judged from outside: an object written, a file
// changed, a secret printed.
func TestContainmentClaudeCode(t *testing.T) {
	w := newWorld(t, func(s granttest.Scenario) granttest.User { return s.WriterBroker })
	// The person's state directory, in its default place.
	w.state = filepath.Join(w.home, ".config", "timebound-iam")
	w.configFile = filepath.Join(w.state, "aws-config")
	b := newAgentBox(t, w)

	// A secret of the person's that is not a grant, in the user keyring as
	// another tool (aws-vault's keyctl backend) keeps it: the base secret
	// itself, with the kernel's default permissions.
	foreign, err := unix.AddKey("user", "aws-vault-base", []byte(w.base.SecretAccessKey), unix.KEY_SPEC_USER_KEYRING)
	if err != nil {
		t.Fatalf("adding a foreign keyctl key: %v", err)
	}
	t.Cleanup(func() { _, _ = unix.KeyctlInt(unix.KEYCTL_UNLINK, foreign, unix.KEY_SPEC_USER_KEYRING, 0, 0) })

	// The MCP server, started by the agent's client outside the sandbox.
	var serveErr bytes.Buffer
	t.Cleanup(func() { w.capture("serve's stderr", serveErr.Bytes()) })
	c, err := w.rig.StartMCPClient(w.work, "claude-code", b.person(), &serveErr, w.bin, "serve")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	var g grant.GrantOutput
	w.call(t, c, "grant_access", map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": "30m", "reason": "escape suite"}, &g)
	w.checkGrant(t, g)
	t.Cleanup(func() { w.tbEnv(b.person(), "revoke", "--all") })
	rememberDefault(t, w, g.SessionID)

	// The legitimate path, inside the sandbox.
	t.Run("aws cli lists the granted bucket", func(t *testing.T) {
		mustSucceed(t, b.sh(b.awsIn(g.Profile, "s3 ls s3://"+w.s.Writable), true))
	})
	t.Run("boto3 lists the granted bucket", func(t *testing.T) {
		script := fmt.Sprintf(`import boto3
from botocore.config import Config
s3 = boto3.Session(profile_name=%q).client("s3", endpoint_url=%q, region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
print(len(s3.list_objects_v2(Bucket=%q).get("Contents", [])), "objects")`, g.Profile, w.m.URL, w.s.Writable)
		mustSucceed(t, b.sh(b.viaProxy("/usr/bin/python3 -c "+shellQuote(script)), true))
	})

	// The attempts are real: outside the sandbox, the same ones succeed.
	escapes := b.escapes(t, g)
	t.Run("controls outside the sandbox", func(t *testing.T) {
		for _, e := range escapes[:2] {
			if r := w.run(b.env, "bash", "-c", e.script); e.escaped(e.before(), r) == "" {
				t.Errorf("%s: outside the sandbox it achieved nothing, so inside it proves nothing\nstdout: %s\nstderr: %s", e.name, r.stdout, r.stderr)
			}
		}
		cp, written := b.escapeObject("control-default-chain")
		r := w.run(b.env, "bash", "-c", "env -u AWS_CONFIG_FILE -u AWS_SHARED_CREDENTIALS_FILE "+cp)
		if !written() {
			t.Errorf("the base keys outside the sandbox wrote nothing, so inside it proves nothing\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
	})
	tried, succeeded := 0, 0
	for _, e := range escapes {
		t.Run("escape/"+e.name, func(t *testing.T) {
			tried++
			before := e.before()
			r := b.sh(e.script, !e.readsGrants)
			if !e.readsGrants {
				t.Logf("held: %s", lastLines(r.stdout, r.stderr, 3))
			}
			if why := e.escaped(before, r); why != "" {
				succeeded++
				t.Errorf("escape succeeded: %s\nscript: %s\nstdout: %s\nstderr: %s", why, e.script, r.stdout, r.stderr)
			}
		})
	}
	t.Logf("%d escapes tried, %d succeeded", tried, succeeded)
	if succeeded > 0 {
		t.Errorf("%d escapes tried, %d succeeded", tried, succeeded)
	}

	// A revoke, made outside, stops the same command inside.
	t.Run("revoke stops the profile", func(t *testing.T) {
		var rev mcpserver.RevokeOutput
		w.call(t, c, "revoke_access", map[string]any{"session_id": g.SessionID}, &rev)
		mustFail(t, b.sh(b.awsIn(g.Profile, "s3 ls s3://"+w.s.Writable), true), "was revoked at")
	})
	w.scanSecrets(t)
}

// rememberDefault tells the secret scan grant id's secrets, read from the
// default keychain, where the MCP server kept them.
func rememberDefault(t *testing.T, w *world, id string) {
	t.Helper()
	k, err := keychain.Open(keychain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := k.Get(id)
	if err != nil {
		t.Fatalf("keychain item of fresh grant tb-%s: %v", id, err)
	}
	w.scan.Add(granttest.CredentialSecrets("tb-"+id, cr.SecretAccessKey, cr.SessionToken)...)
}

// tbEnv runs the binary with env.
func (w *world) tbEnv(env []string, args ...string) result { return w.run(env, w.bin, args...) }

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// lastLines is the last n lines of a command's output, for the log.
func lastLines(stdout, stderr []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(stdout)+"\n"+string(stderr)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
