package mcpserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/99designs/keyring"
	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/mcpserver"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

const clientName = "timebound-iam-test-agent"

// The MCP tests drive NewServer through the go-sdk client over in-memory
// transports, the way an agent does, with a fake STS, the array keyring, a
// profiles file in a temporary directory and a clock the test moves.

// syncBuffer is the log sink, written by handlers and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// failingSet is a keyring whose Set fails, as a locked or full keychain does.
type failingSet struct{ keyring.Keyring }

func (failingSet) Set(keyring.Item) error { return errors.New("keychain is locked") }

// harness is one server and its connected client.
type harness struct {
	t     *testing.T
	m     *grant.Manager
	ring  keyring.Keyring // what m.Keys wraps
	array *keyring.ArrayKeyring
	sts   *granttest.FakeSTS
	clock *granttest.Clock
	log   *syncBuffer
	cs    *mcp.ClientSession
	// server is the server cs is connected to; clientOpts and sessionOpts,
	// set by an option, shape the client.
	server      *mcp.Server
	clientOpts  *mcp.ClientOptions
	sessionOpts *mcp.ClientSessionOptions
	// scan looks for every credential the fake STS issued in every tool
	// result, the log and the test's directories; shared by the copies
	// [harness.in] makes.
	scan *granttest.SecretScan
	// results counts the tool results captured for the scan.
	results *int
}

// in returns h reporting to t, for use inside t.Run: a subtest must not fail
// its parent with FailNow.
func (h *harness) in(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}

// newHarness connects a client to NewServer over a fresh manager. Each option
// may change the manager or wrap h.ring before the server starts.
func newHarness(t *testing.T, opts ...func(*harness)) *harness {
	t.Helper()
	home := t.TempDir()
	cfg, err := config.Load(home, func(string) string { return "" }, map[string]string{"role_arn": granttest.Role, "approval": config.ApprovalNever})
	if err != nil {
		t.Fatal(err)
	}
	clk := granttest.NewClock(granttest.T0)
	scan := granttest.ScanSecrets(t)
	h := &harness{t: t, clock: clk, sts: &granttest.FakeSTS{Clock: clk}, log: &syncBuffer{}, array: keyring.NewArrayKeyring(nil), scan: scan, results: new(int)}
	scan.From(h.sts.IssuedSecrets)
	h.ring = h.array
	h.m = &grant.Manager{
		Config:   cfg,
		STS:      h.sts,
		Profiles: &profiles.File{Path: filepath.Join(home, config.AWSConfigName), Home: home},
		Exe:      granttest.Exe,
		Now:      clk.Now,
		Log:      slog.New(scan.Handler("the log", slog.NewTextHandler(h.log, nil))),
		Audit:    audit.Open(filepath.Join(home, audit.FileName)),
	}
	for _, o := range opts {
		o(h)
	}
	h.m.Keys = keychain.NewIn(h.ring, "array", home)

	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	h.server = mcpserver.NewServer(h.m, "test")
	ss, err := h.server.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.cs, err = mcp.NewClient(&mcp.Implementation{Name: clientName, Version: "1.0.0"}, h.clientOpts).Connect(ctx, ct, h.sessionOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.cs.Close()
		ss.Wait()
	})
	return h
}

// call runs a tool and fails the test on a protocol error: every failure a
// tool reports must be a tool error the agent can read.
func (h *harness) call(name string, args any) *mcp.CallToolResult {
	h.t.Helper()
	res, err := h.cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		h.t.Fatalf("%s(%v): protocol error %v; want a result", name, args, err)
	}
	*h.results++
	h.scan.Result(fmt.Sprintf("tool result %d (%s)", *h.results, name), res)
	return res
}

// ok runs a tool that must succeed and decodes its structured output into
// out; the text content must carry the same JSON.
func (h *harness) ok(name string, args, out any) {
	h.t.Helper()
	res := h.call(name, args)
	if res.IsError {
		h.t.Fatalf("%s(%v): tool error %q", name, args, text(res))
	}
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		h.t.Fatalf("%s: structured content %s: %v", name, raw, err)
	}
	if !json.Valid([]byte(text(res))) || !jsonEqual(text(res), string(raw)) {
		h.t.Errorf("%s: text content %s differs from structured content %s", name, text(res), raw)
	}
}

// toolErr runs a tool that must fail with a tool error and returns its text.
func (h *harness) toolErr(name string, args any) string {
	h.t.Helper()
	res := h.call(name, args)
	if !res.IsError {
		h.t.Fatalf("%s(%v) succeeded with %s; want a tool error", name, args, text(res))
	}
	return text(res)
}

func (h *harness) grant(services []string, level, ttl string) grant.GrantOutput {
	h.t.Helper()
	var out grant.GrantOutput
	h.ok("grant_access", map[string]any{"services": services, "level": level, "ttl": ttl}, &out)
	return out
}

func (h *harness) sessions() []grant.SessionOutput {
	h.t.Helper()
	var out grant.SessionsOutput
	h.ok("list_active_sessions", map[string]any{}, &out)
	return out.Sessions
}

// keychainKeys lists the items in the keychain, sorted.
func (h *harness) keychainKeys() []string {
	h.t.Helper()
	keys, err := h.array.Keys()
	if err != nil {
		h.t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// profilesText is the profiles file; a missing file is empty.
func (h *harness) profilesText() string {
	h.t.Helper()
	data, err := os.ReadFile(h.m.Profiles.Path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		h.t.Fatal(err)
	}
	return string(data)
}

func (h *harness) entry(id string) (profiles.Entry, bool) {
	h.t.Helper()
	set, err := h.m.Profiles.Read()
	if err != nil {
		h.t.Fatal(err)
	}
	return set.Get(id)
}

// credentialProcess is the credential_process line of profile tb-<id>.
func (h *harness) credentialProcess(id string) string {
	h.t.Helper()
	header := "[profile tb-" + id + "]\n"
	text := h.profilesText()
	i := strings.Index(text, header)
	if i < 0 {
		h.t.Fatalf("no section %q in\n%s", header, text)
	}
	for _, line := range strings.Split(text[i+len(header):], "\n") {
		if v, ok := strings.CutPrefix(line, "credential_process = "); ok {
			return v
		}
	}
	h.t.Fatalf("section tb-%s has no credential_process line", id)
	return ""
}

// checkNothingLeft asserts a failed grant left no keychain item and no
// profile section behind.
func (h *harness) checkNothingLeft() {
	h.t.Helper()
	if keys := h.keychainKeys(); len(keys) != 0 {
		h.t.Errorf("keychain items left after a failed grant: %v", keys)
	}
	if text := h.profilesText(); strings.Contains(text, "[profile tb-") {
		h.t.Errorf("profile left after a failed grant:\n%s", text)
	}
}

func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return cmp.Equal(x, y)
}

func TestMCPListTools(t *testing.T) {
	h := newHarness(t)
	res, err := h.cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tools := map[string]*mcp.Tool{}
	for _, tool := range res.Tools {
		tools[tool.Name] = tool
	}
	var names []string
	for name := range tools {
		names = append(names, name)
	}
	slices.Sort(names)
	if diff := cmp.Diff([]string{"grant_access", "list_active_sessions", "list_services", "revoke_access"}, names); diff != "" {
		t.Fatalf("tools (-want +got):\n%s", diff)
	}

	tests := []struct {
		name                  string
		readOnly, destructive bool
		required              []string // inputs the schema must require
	}{
		{"grant_access", false, false, []string{"services"}},
		{"list_active_sessions", true, false, nil},
		{"list_services", true, false, nil},
		{"revoke_access", false, true, []string{"session_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tool := tools[tt.name]
			in := schema(t, tool.InputSchema)
			if in["type"] != "object" {
				t.Errorf("input schema type %v, want object", in["type"])
			}
			var required []string
			for _, r := range asSlice(in["required"]) {
				required = append(required, r.(string))
			}
			for _, r := range tt.required {
				if !slices.Contains(required, r) {
					t.Errorf("input %s is not required; required: %v", r, required)
				}
			}
			out := schema(t, tool.OutputSchema)
			if out["type"] != "object" || len(asMap(out["properties"])) == 0 {
				t.Errorf("output schema %v: want an object with properties", out)
			}
			a := tool.Annotations
			if a == nil {
				t.Fatal("no annotations")
			}
			if a.ReadOnlyHint != tt.readOnly {
				t.Errorf("readOnlyHint %v, want %v", a.ReadOnlyHint, tt.readOnly)
			}
			if !tt.readOnly {
				if a.DestructiveHint == nil || *a.DestructiveHint != tt.destructive {
					t.Errorf("destructiveHint %v, want %v", a.DestructiveHint, tt.destructive)
				}
			}
			if tool.Description == "" || a.Title == "" {
				t.Errorf("description %q, title %q: want both", tool.Description, a.Title)
			}
		})
	}

	t.Run("grant_access input properties", func(t *testing.T) {
		props := asMap(schema(t, tools["grant_access"].InputSchema)["properties"])
		for _, p := range []string{"services", "level", "ttl", "reason"} {
			if d, _ := asMap(props[p])["description"].(string); d == "" {
				t.Errorf("input %s has no description", p)
			}
		}
		if d := asMap(props["level"])["description"].(string); !strings.Contains(d, "read_only") || !strings.Contains(d, "full") {
			t.Errorf("level's description %q does not name read_only and full", d)
		}
		outProps := asMap(schema(t, tools["grant_access"].OutputSchema)["properties"])
		for _, p := range []string{"session_id", "profile", "services", "level", "levels", "expires_at", "config_file", "usage"} {
			if _, ok := outProps[p]; !ok {
				t.Errorf("output schema lacks %s", p)
			}
		}
	})

	t.Run("profile advice", func(t *testing.T) {
		for what, s := range map[string]string{
			"grant_access description": tools["grant_access"].Description,
			"server instructions":      h.cs.InitializeResult().Instructions,
		} {
			if !strings.Contains(s, "--profile") || !strings.Contains(s, "AWS_PROFILE") {
				t.Errorf("%s does not tell the agent to use --profile rather than AWS_PROFILE:\n%s", what, s)
			}
			if !regexp.MustCompile(`(?i)(never|not)[^.;]*AWS_PROFILE|AWS_PROFILE[^.;]*\bnot\b`).MatchString(s) {
				t.Errorf("%s mentions AWS_PROFILE without warning against it:\n%s", what, s)
			}
		}
	})
}

func schema(t *testing.T, s any) map[string]any {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		t.Fatalf("schema %s is not an object", data)
	}
	return m
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }
func asSlice(v any) []any        { s, _ := v.([]any); return s }
