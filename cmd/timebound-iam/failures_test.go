//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/timebound-iam/timebound-iam/credproc"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// TestFailureStateDirNotWritable: a grant into a state directory its user
// cannot write fails before STS is called, says which directory and what to
// do, and leaves nothing behind. It runs as a throwaway user: root writes
// whatever the mode.
func TestFailureStateDirNotWritable(t *testing.T) {
	alice := throwawayUser(t, "w")
	r := newUserRig(t)
	state := filepath.Join(r.work, "read-only-state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	alice.chown(t, state)
	// Private, so nothing to fix, but read-only for its owner.
	if err := os.Chmod(state, 0o500); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := r.run(alice, state, "grant", "-s", "s3", "-t", "15m")
	if err == nil {
		t.Fatalf("grant into a read-only state directory succeeded:\n%s", stdout)
	}
	want := "timebound-iam: error: state directory " + state + " is not writable (permission denied): make it writable by you (chmod 0700 " + state + "), or set TIMEBOUND_IAM_HOME to a directory you can write\n"
	if stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
	}
	if stdout != "" {
		t.Errorf("stdout: %q", stdout)
	}
	if n := r.sts.Calls(); n != 0 {
		t.Errorf("%d STS calls; the grant should stop before STS", n)
	}
	if left, _ := os.ReadDir(state); len(left) != 0 {
		t.Errorf("left in the state directory: %v", left)
	}
}

// TestFailureClockAhead: once the system clock passes a grant's expiry, the
// credential_process helper refuses it, with what to do, and prints nothing
// on stdout, whether or not the keychain item is still there. The clock is
// a fake moved past the expiry STS really issued.
func TestFailureClockAhead(t *testing.T) {
	stand, err := granttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stand.Close()
	scan := granttest.ScanSecrets(t)
	scan.From(stand.Secrets)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	home := t.TempDir()
	cfg, err := config.Load(home, func(string) string { return "" }, map[string]string{
		"role_arn": "arn:aws:iam::123456789012:role/broker", "sts_endpoint": stand.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	client, err := grant.NewSTS(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	keys := keychain.New(keyring.NewArrayKeyring(nil), "array")
	m := &grant.Manager{Config: cfg, STS: client, Keys: keys, Exe: "/usr/local/bin/timebound-iam", Now: time.Now,
		Profiles: &profiles.File{Path: cfg.AWSConfigFile(), Home: home}}
	s, err := m.Grant(context.Background(), grant.Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	open := func() (credproc.Getter, error) { return keys, nil }
	req := credproc.Request{ID: s.ID, Expires: s.Expires}

	var out bytes.Buffer
	if err := credproc.Run(&out, open, req, s.Expires.Add(-time.Second)); err != nil || out.Len() == 0 {
		t.Fatalf("a second before expiry: %v, stdout %d bytes", err, out.Len())
	}
	for _, ahead := range []time.Duration{0, time.Second, 24 * time.Hour} {
		out.Reset()
		err := credproc.Run(&out, open, req, s.Expires.Add(ahead))
		var refusal *credproc.Refusal
		if err != nil {
			scan.Capture("the refusal on stderr", []byte(err.Error()))
		}
		want := "grant tb-" + s.ID + " expired at " + s.Expires.UTC().Format(time.RFC3339) + "; call grant_access again"
		if !errors.As(err, &refusal) || !strings.Contains(err.Error(), want) {
			t.Errorf("clock %s past expiry: err = %v, want a refusal with %q", ahead, err, want)
		}
		if out.Len() != 0 {
			t.Errorf("clock %s past expiry: stdout %q", ahead, out.String())
		}
	}
}
