//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// policyRig is a [userRig] whose binary reads its managed policy from a
// root-owned directory of the test's instead of /etc/timebound-iam, set at
// link time as a packager would.
func policyRig(t *testing.T) (r *userRig, policyPath string) {
	t.Helper()
	etc, err := os.MkdirTemp("", "timebound-iam-etc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(etc) })
	if err := os.Chmod(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	policyPath = filepath.Join(etc, "timebound-iam", "policy")
	r = newUserRig(t, "-ldflags=-X github.com/timebound-iam/timebound-iam/grant/config.managedPolicyPath="+policyPath)
	return r, policyPath
}

// asRoot runs the rig's binary as root, as an administrator with sudo would.
func (r *userRig) asRoot(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(r.bin, args...)
	cmd.Env = []string{"HOME=" + r.work, "PATH=" + os.Getenv("PATH")}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("as root: timebound-iam %s: %v\n%s", strings.Join(args, " "), err, e.String())
	}
	return o.String(), e.String()
}

// TestManagedPolicyAsAnotherUser: an administrator installs a managed policy
// with setup policy; an unprivileged user (the agent's side: same user as
// the person, a shell, its own state directory whose config says approval =
// never, max_ttl = 12h and more services) tries every way around it. Each
// refusal is checked from outside: the STS stand-in got no request and no
// profile was written. The policy file itself cannot be changed.
func TestManagedPolicyAsAnotherUser(t *testing.T) {
	agent := throwawayUser(t, "p")
	r, policyPath := policyRig(t)

	stdout, _ := r.asRoot(t, "setup", "policy", "-s", "s3,logs:read_only", "--max-ttl", "1h", "--max-grants", "2", "--approval", "full", "--role-arn", granttest.Role, "--allow-escalation", "none", "--write")
	installed, err := os.ReadFile(policyPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(installed) != stdout {
		t.Fatalf("setup policy printed\n%s\nbut wrote\n%s", stdout, installed)
	}
	for _, line := range []string{"services = s3, logs:read_only\n", "max_ttl = 1h\n", "max_grants = 2\n", "approval = full\n", "role_arn = " + granttest.Role + "\n", "allow_escalation = none\n"} {
		if !strings.Contains(stdout, line) {
			t.Errorf("policy lacks %q:\n%s", line, stdout)
		}
	}
	checkRootOnly(t, policyPath, 0o644)
	checkRootOnly(t, filepath.Dir(policyPath), 0o755)

	// The agent's own state directory, with a config that loosens all it can.
	state := filepath.Join(r.work, "agent-home")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, config.FileName), []byte("approval = never\nmax_ttl = 12h\nmax_grants = 50\nservices = s3, logs, ec2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	agent.chown(t, state)
	agent.chown(t, filepath.Join(state, config.FileName))

	profilesIn := func() int {
		data, _ := os.ReadFile(filepath.Join(state, config.AWSConfigName))
		return strings.Count(string(data), "[profile tb-")
	}
	granted := func(args ...string) {
		t.Helper()
		calls, before := r.sts.Calls(), profilesIn()
		if _, stderr, err := r.run(agent, state, append([]string{"grant"}, args...)...); err != nil {
			t.Fatalf("grant %v as %s: %v\n%s", args, agent.name, err, stderr)
		}
		if r.sts.Calls() != calls+1 || profilesIn() != before+1 {
			t.Fatalf("grant %v: %d STS calls and %d profiles, want one more of each", args, r.sts.Calls()-calls, profilesIn()-before)
		}
	}
	refused := func(name string, env []string, args []string, want string) {
		t.Helper()
		calls, before := r.sts.Calls(), profilesIn()
		_, stderr, err := r.runEnv(agent, state, env, args...)
		if err == nil || !strings.Contains(stderr, want) {
			t.Errorf("%s: err %v; want a refusal saying %q:\n%s", name, err, want, stderr)
		}
		if r.sts.Calls() != calls || profilesIn() != before {
			t.Errorf("%s: STS got %d requests and %d profiles were written; want none", name, r.sts.Calls()-calls, profilesIn()-before)
		}
	}

	// Control: a grant inside the policy is made, as the agent, from its own home.
	granted("-s", "s3", "-t", "30m")
	if form := r.sts.Issued()[0].Form; form.Get("RoleArn") != granttest.Role || form.Get("DurationSeconds") != "1800" {
		t.Errorf("AssumeRole went to %s for %s s", form.Get("RoleArn"), form.Get("DurationSeconds"))
	}

	refused("full without approval, though the own config says approval = never", nil,
		[]string{"grant", "-s", "s3:full", "-t", "30m"}, "needs approval, and stdin is not a terminal")
	refused("max_ttl raised by the own config", nil,
		[]string{"grant", "-s", "s3", "-t", "2h"}, "max_ttl is capped by the managed policy "+policyPath)
	refused("a service outside the policy", nil,
		[]string{"grant", "-s", "ec2"}, "-s ec2 is not allowed here; allowed: s3, logs:read_only (services is capped by the managed policy "+policyPath)
	refused("a level over the policy's", nil,
		[]string{"grant", "-s", "logs:full"}, "logs is allowed up to read_only (services, from "+filepath.Join(state, config.FileName)+", capped by managed policy "+policyPath+")")
	refused("another broker role from the environment", []string{"TIMEBOUND_IAM_ROLE_ARN=arn:aws:iam::123456789012:role/admin"},
		[]string{"grant", "-s", "s3"}, "is not the role the managed policy "+policyPath+" pins")
	refused("another broker role from a flag", nil,
		[]string{"grant", "-s", "s3", "--role-arn", "arn:aws:iam::123456789012:role/admin"}, "is not the role the managed policy")
	refused("a second, fresh home", []string{"TIMEBOUND_IAM_HOME=" + filepath.Join(state, "other")},
		[]string{"grant", "-s", "s3:full"}, "needs approval")
	granted("-s", "logs", "-t", "15m")
	refused("max_grants raised by the own config", nil,
		[]string{"grant", "-s", "s3"}, "max_grants is 2 and 2 grants are live; revoke one (timebound-iam revoke) or wait for one to expire (max_grants is capped by the managed policy")

	// services --json shows the limits and their source.
	out, stderr, err := r.run(agent, state, "services", "--json")
	if err != nil {
		t.Fatalf("services: %v\n%s", err, stderr)
	}
	var listed struct {
		Limits []config.Limit `json:"limits"`
	}
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed.Limits) != len(config.PolicyKeys) {
		t.Errorf("limits %v; want one for each of %v", listed.Limits, config.PolicyKeys)
	}
	for _, l := range listed.Limits {
		if capped := strings.HasSuffix(l.Source, "managed policy "+policyPath); capped == (l.Key == "approval_services") {
			t.Errorf("limit %s = %s from %q; want the managed policy for every limit it sets", l.Key, l.Value, l.Source)
		}
	}

	// The policy cannot be written, replaced or removed by the agent.
	dir := filepath.Dir(policyPath)
	for _, attack := range []string{
		"echo 'approval = never' >> " + policyPath,
		"printf 'max_ttl = 12h\\n' > " + policyPath,
		"rm -f " + policyPath,
		"mv " + policyPath + " " + policyPath + ".old",
		"chmod 0666 " + policyPath,
		"ln -sf /dev/null " + policyPath,
		"touch " + filepath.Join(dir, "policy.new") + " && mv " + filepath.Join(dir, "policy.new") + " " + policyPath,
	} {
		if out, err := agent.as(exec.Command("sh", "-c", attack)).CombinedOutput(); err == nil {
			t.Errorf("as %s, %q succeeded:\n%s", agent.name, attack, out)
		}
	}
	if _, stderr, err := r.run(agent, state, "setup", "policy", "--max-ttl", "12h", "--write"); err == nil || !strings.Contains(stderr, "needs root") {
		t.Errorf("setup policy --write as %s: %v\n%s", agent.name, err, stderr)
	}
	if now, err := os.ReadFile(policyPath); err != nil || !bytes.Equal(now, installed) {
		t.Errorf("the policy changed under the agent's attacks: %v\n%s", err, now)
	}
	checkRootOnly(t, policyPath, 0o644)

	// A policy the agent could rewrite is refused, never ignored.
	agent.chown(t, policyPath)
	refused("a policy the user owns", nil, []string{"grant", "-s", "s3"}, "is owned by uid")
	refused("a policy the user owns, read by services", nil, []string{"services"}, "not root")
	if err := os.Chown(policyPath, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(policyPath, 0o664); err != nil {
		t.Fatal(err)
	}
	refused("a group-writable policy", nil, []string{"grant", "-s", "s3"}, "has mode 0664: group or others can write it")
}

// checkRootOnly fails unless path is root's with mode want.
func checkRootOnly(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 0 || st.Mode().Perm() != want {
		t.Errorf("%s: uid %d, mode %04o; want root's, %04o", path, sys.Uid, st.Mode().Perm(), want)
	}
}

// TestWritePolicyFailsWhole: a policy that cannot be put in place (here a
// directory stands where the file goes) is an error, and no partial or
// temporary file is left beside it.
func TestWritePolicyFailsWhole(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("writing a managed policy needs root")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "policy")
	if err := os.MkdirAll(filepath.Join(path, "in-the-way"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writePolicy(path, "max_ttl = 1h\n"); err == nil {
		t.Fatal("writePolicy over a directory succeeded")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "policy" || !entries[0].IsDir() {
		t.Errorf("left in %s: %v; want only the directory that was in the way", dir, entries)
	}
	if _, err := config.ReadPolicy(path); err == nil || !strings.Contains(err.Error(), "is not a regular file") {
		t.Errorf("ReadPolicy of a directory: %v", err)
	}
}
