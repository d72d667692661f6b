package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/mcpserver"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// buildBinary builds this command into a temporary directory. TestMain hands
// the test binary to testscript, so a real subprocess needs its own build.

// TestServeOverStdio runs `timebound-iam serve` as an MCP client would: a
// subprocess speaking JSON-RPC on stdin/stdout, with a bare environment, the
// file keyring and the STS stand-in. Every step goes through the go-sdk
// client, which stops reading at the first stdout line that is not JSON-RPC,
// so a stray write to stdout fails the next call.
func TestServeOverStdio(t *testing.T) {
	bin := goBuild(t, filepath.Join(t.TempDir(), "timebound-iam"), ".")
	stand, err := granttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stand.Close()
	// Every file under t.TempDir but the keyring, serve's stderr and every
	// result: none may hold a secret, nor a full access key id.
	scan := granttest.ScanSecrets(t)
	scan.From(stand.Secrets)
	scan.From(stand.KeyIDs)

	work := t.TempDir()
	home := filepath.Join(work, "state")
	const passphrase = "serve-test-passphrase"
	cmd := exec.Command(bin, "serve")
	cmd.Dir = work
	cmd.Env = []string{
		"HOME=" + work,
		"TIMEBOUND_IAM_HOME=" + home,
		"TIMEBOUND_IAM_ROLE_ARN=arn:aws:iam::123456789012:role/broker",
		"TIMEBOUND_IAM_STS_ENDPOINT=" + stand.URL,
		"TIMEBOUND_IAM_KEYRING_BACKEND=file",
		"TIMEBOUND_IAM_FILE_PASSPHRASE=" + passphrase,
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(work, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(work, "no-aws-credentials"),
	}
	var stderr bytes.Buffer // read only after the process has exited
	cmd.Stderr = scan.Writer("serve's stderr", &stderr)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const client = "serve-test-agent"
	cs, err := mcp.NewClient(&mcp.Implementation{Name: client, Version: "1.0.0"}, nil).
		Connect(ctx, &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	closed := false
	closeServer := func() error {
		closed = true
		return cs.Close() // closes stdin, waits for exit; SIGTERM, then SIGKILL, if it hangs
	}
	t.Cleanup(func() {
		if !closed {
			closeServer()
			t.Logf("server stderr:\n%s", stderr.String())
		}
	})

	call := func(name string, args map[string]any, out any) {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		data, _ := json.Marshal(res)
		scan.Result("the result of "+name, data)
		if res.IsError {
			t.Fatalf("%s: tool error %s", name, data)
		}
		raw, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: structured content %s: %v", name, raw, err)
		}
	}

	if info := cs.InitializeResult().ServerInfo; info == nil || info.Name != "timebound-iam" {
		t.Errorf("server info %+v, want timebound-iam", info)
	}
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	if want := []string{"grant_access", "list_active_sessions", "list_services", "revoke_access"}; !slices.Equal(names, want) {
		t.Errorf("tools %v, want %v", names, want)
	}

	var g grant.GrantOutput
	call("grant_access", map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": "15m", "reason": "serve test"}, &g)
	if g.Profile != "tb-"+g.SessionID || g.Level != "read_only" || !slices.Equal(g.Services, []string{"s3"}) {
		t.Errorf("grant_access output %+v", g)
	}
	if want := filepath.Join(home, "aws-config"); g.ConfigFile != want || !strings.Contains(g.Usage, "--profile "+g.Profile) {
		t.Errorf("config_file %q, usage %q; want %s and --profile %s", g.ConfigFile, g.Usage, want, g.Profile)
	}
	issued := stand.Issued()
	if len(issued) != 1 {
		t.Fatalf("STS issued %d credentials, want 1", len(issued))
	}
	if got := issued[0].Form.Get("RoleSessionName"); got != "timebound-iam-"+g.SessionID {
		t.Errorf("RoleSessionName %q, want timebound-iam-%s", got, g.SessionID)
	}
	if got := issued[0].Form.Get("DurationSeconds"); got != "900" {
		t.Errorf("DurationSeconds %q, want 900", got)
	}

	var live grant.SessionsOutput
	call("list_active_sessions", map[string]any{}, &live)
	if len(live.Sessions) != 1 || live.Sessions[0].SessionID != g.SessionID || live.Sessions[0].ExpiresAt != g.ExpiresAt {
		t.Errorf("list_active_sessions %+v, want only %s", live.Sessions, g.Profile)
	}

	var r mcpserver.RevokeOutput
	call("revoke_access", map[string]any{"session_id": g.Profile}, &r)
	if r != (mcpserver.RevokeOutput{SessionID: g.SessionID, Profile: g.Profile, Revoked: true, Status: "revoked"}) {
		t.Errorf("revoke_access %+v", r)
	}
	call("list_active_sessions", map[string]any{}, &live)
	if len(live.Sessions) != 0 {
		t.Errorf("list_active_sessions after revoke: %+v", live.Sessions)
	}

	if err := closeServer(); err != nil {
		t.Errorf("server exit: %v\nstderr:\n%s", err, stderr.String())
	}
	if ps := cmd.ProcessState; ps == nil || !ps.Exited() || ps.ExitCode() != 0 {
		t.Errorf("server process state %v, want exited with status 0", ps)
	}

	// The keychain item is gone and the profile is a tombstone.
	keys, err := keychain.Open(keychain.Options{Backend: keychain.File, Dir: home, Passphrase: passphrase})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Get(g.SessionID); !errors.Is(err, keychain.ErrNotFound) {
		t.Errorf("keychain item after revoke: err = %v, want ErrNotFound", err)
	}
	set, err := (&profiles.File{Path: g.ConfigFile, Home: home}).Read()
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := set.Get(g.SessionID); !ok || e.Status != profiles.Revoked {
		t.Errorf("profile %s after revoke: %+v, %v; want status revoked", g.Profile, e, ok)
	}

	log := stderr.String()
	for _, want := range []string{
		"msg=granted session=" + g.Profile + " ",
		"client=" + client,
		`reason="serve test"`,
		"msg=revoked session=" + g.Profile,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("stderr lacks %q:\n%s", want, log)
		}
	}
}
