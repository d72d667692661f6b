package grant_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// The MCP tests drive NewServer through the go-sdk client over in-memory
// transports, the way an agent does, with a fake STS, the array keyring, a
// profiles file in a temporary directory and a clock the test moves.

const (
	testExe    = "/usr/local/bin/timebound-iam"
	testRole   = "arn:aws:iam::123456789012:role/broker"
	clientName = "timebound-iam-test-agent"
)

// t0 is a whole second so that profile times (RFC 3339, seconds) round-trip.
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// clock is a time source the test moves; handlers read it on the server's
// goroutines.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeSTS records every AssumeRole input and answers with fresh random
// credentials that expire DurationSeconds after the clock's now, or with err.
type fakeSTS struct {
	clock *clock

	mu     sync.Mutex
	err    error
	inputs []*sts.AssumeRoleInput
	issued []aws.Credentials
}

func (f *fakeSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputs = append(f.inputs, in)
	if f.err != nil {
		return nil, f.err
	}
	c := aws.Credentials{
		AccessKeyID:     "ASIA" + strings.ToUpper(randomHex(8)),
		SecretAccessKey: randomHex(20),
		SessionToken:    "IQoJb3JpZ2luX2VjE" + randomHex(90),
		Expires:         f.clock.Now().Add(time.Duration(aws.ToInt32(in.DurationSeconds)) * time.Second),
	}
	f.issued = append(f.issued, c)
	return &sts.AssumeRoleOutput{Credentials: &types.Credentials{
		AccessKeyId:     aws.String(c.AccessKeyID),
		SecretAccessKey: aws.String(c.SecretAccessKey),
		SessionToken:    aws.String(c.SessionToken),
		Expiration:      aws.Time(c.Expires),
	}}, nil
}

func (f *fakeSTS) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeSTS) calls() []*sts.AssumeRoleInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.inputs)
}

func (f *fakeSTS) secrets() []aws.Credentials {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.issued)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

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
	sts   *fakeSTS
	clock *clock
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
	cfg, err := config.Load(home, func(string) string { return "" }, map[string]string{"role_arn": testRole, "approval": config.ApprovalNever})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: t0}
	scan := granttest.ScanSecrets(t)
	h := &harness{t: t, clock: clk, sts: &fakeSTS{clock: clk}, log: &syncBuffer{}, array: keyring.NewArrayKeyring(nil), scan: scan, results: new(int)}
	scan.From(h.sts.scanSecrets)
	h.ring = h.array
	h.m = &grant.Manager{
		Config:   cfg,
		STS:      h.sts,
		Profiles: &profiles.File{Path: filepath.Join(home, config.AWSConfigName), Home: home},
		Exe:      testExe,
		Now:      clk.Now,
		Log:      slog.New(scan.Handler("the log", slog.NewTextHandler(h.log, nil))),
		Audit:    audit.Open(filepath.Join(home, audit.FileName)),
	}
	for _, o := range opts {
		o(h)
	}
	h.m.Keys = keychain.New(h.ring, "array")

	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	h.server = grant.NewServer(h.m, "test")
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

// scanSecrets is what the scan looks for: every credential issued, the full
// access key id included (results and logs show it masked, ****WXYZ).
func (f *fakeSTS) scanSecrets() []granttest.Secret {
	var out []granttest.Secret
	for i, c := range f.secrets() {
		whose := fmt.Sprintf("issued credentials %d", i+1)
		out = append(out, granttest.CredentialSecrets(whose, c.SecretAccessKey, c.SessionToken)...)
		out = append(out, granttest.Secret{What: "the AccessKeyId of " + whose, Value: c.AccessKeyID})
	}
	return out
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

func TestMCPGrantAccess(t *testing.T) {
	h := newHarness(t)
	reason := "list the report bucket"
	var out grant.GrantOutput
	h.ok("grant_access", map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": "15m", "reason": reason}, &out)

	id := out.SessionID
	if !profiles.ValidID(id) {
		t.Fatalf("session_id %q is not a grant id", id)
	}
	configFile := filepath.Join(h.m.Config.Home, "aws-config")
	want := grant.GrantOutput{
		SessionID:  id,
		Profile:    "tb-" + id,
		Services:   []string{"s3"},
		Level:      "read_only",
		Levels:     map[string]string{"s3": "read_only"},
		ExpiresAt:  "2026-11-25T12:15:00Z",
		ConfigFile: configFile,
		Usage:      out.Usage,
		// The fake STS sends no PackedPolicySize.
		PolicyChars: len(aws.ToString(h.sts.calls()[0].Policy)),
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("grant_access output (-want +got):\n%s", diff)
	}
	if !strings.Contains(out.Usage, "--profile tb-"+id) || !strings.Contains(out.Usage, configFile) {
		t.Errorf("usage %q: want --profile tb-%s and %s", out.Usage, id, configFile)
	}
	if strings.Contains(out.Usage, "AWS_PROFILE") {
		t.Errorf("usage %q suggests AWS_PROFILE", out.Usage)
	}

	t.Run("STS input", func(t *testing.T) {
		calls := h.sts.calls()
		if len(calls) != 1 {
			t.Fatalf("%d AssumeRole calls, want 1", len(calls))
		}
		policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:DescribeJob","s3:Get*","s3:List*"],"Resource":"*"}]}`
		// No source_identity is configured, so none is sent; the client tag
		// is the name the client gave in initialize.
		wantIn := &sts.AssumeRoleInput{
			RoleArn:         aws.String(testRole),
			RoleSessionName: aws.String("timebound-iam-" + id),
			DurationSeconds: aws.Int32(900),
			Policy:          aws.String(policy),
			Tags:            tags("tb-"+id, "read_only", clientName),
		}
		if diff := cmp.Diff(wantIn, calls[0], cmpopts.IgnoreUnexported(sts.AssumeRoleInput{}, types.Tag{})); diff != "" {
			t.Errorf("AssumeRole input (-want +got):\n%s", diff)
		}
		// The literal above must be what the catalog calls s3's read-only
		// slice, so that a catalog change shows up here rather than in AWS.
		var doc struct {
			Version   string
			Statement []struct{ Action []string }
		}
		if err := json.Unmarshal([]byte(aws.ToString(calls[0].Policy)), &doc); err != nil {
			t.Fatal(err)
		}
		s3, _ := catalog.Lookup("s3")
		if doc.Version != "2012-10-17" || len(doc.Statement) != 1 || !cmp.Equal(doc.Statement[0].Action, s3.ReadOnly) {
			t.Errorf("policy %s: want version 2012-10-17 and actions %v", aws.ToString(calls[0].Policy), s3.ReadOnly)
		}
	})

	t.Run("profile", func(t *testing.T) {
		h := h.in(t)
		e, ok := h.entry(id)
		if !ok {
			t.Fatalf("no profile tb-%s in\n%s", id, h.profilesText())
		}
		wantEntry := profiles.Entry{
			ID: id, Region: "us-east-1", Access: []profiles.Access{{Service: "s3", Level: "read_only"}},
			Helper:  profiles.Helper{Exe: testExe, Home: h.m.Config.Home, Backend: "array"},
			Status:  profiles.Active,
			Created: t0, Expires: t0.Add(15 * time.Minute),
			Role: testRole,
		}
		if diff := cmp.Diff(wantEntry, e); diff != "" {
			t.Errorf("profile (-want +got):\n%s", diff)
		}
		wantLine := "'" + testExe + "' credential-process --session " + id + " --home '" + h.m.Config.Home + "' --backend array --expires 2026-11-25T12:15:00Z"
		if line := h.credentialProcess(id); line != wantLine {
			t.Errorf("credential_process\n got %s\nwant %s", line, wantLine)
		}
		if strings.Contains(h.profilesText(), reason) {
			t.Errorf("the reason reached the AWS config file:\n%s", h.profilesText())
		}
	})

	t.Run("keychain", func(t *testing.T) {
		h := h.in(t)
		if diff := cmp.Diff([]string{"tb-" + id}, h.keychainKeys()); diff != "" {
			t.Errorf("keychain items (-want +got):\n%s", diff)
		}
		got, err := h.m.Keys.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		issued := h.sts.secrets()[0]
		if got.AccessKeyID != issued.AccessKeyID || got.SecretAccessKey != issued.SecretAccessKey ||
			got.SessionToken != issued.SessionToken || !got.Expires.Equal(issued.Expires) {
			t.Error("the keychain item does not hold the issued credentials")
		}
	})

	t.Run("log", func(t *testing.T) {
		h := h.in(t)
		var line string
		for _, l := range strings.Split(h.log.String(), "\n") {
			if strings.Contains(l, "msg=granted") {
				line = l
			}
		}
		issued := h.sts.secrets()[0]
		for _, want := range []string{
			"session=tb-" + id, "client=" + clientName, `reason="` + reason + `"`,
			"services=s3:read_only", "ttl=15m", "access_key=****" + issued.AccessKeyID[len(issued.AccessKeyID)-4:],
		} {
			if !strings.Contains(line, want) {
				t.Errorf("granted log line %q lacks %s", line, want)
			}
		}
	})
}

// TestMCPResultsCarryNoSecret walks every tool, successes and failures, and
// then checks every result's JSON (text and structured content), the log and
// the profiles file against every credential STS issued.
// tags are the session tags of a grant, in the order Grant sends them; an
// empty client is left out.
func tags(session, level, client string) []types.Tag {
	out := []types.Tag{
		{Key: aws.String("timebound-iam:session"), Value: aws.String(session)},
		{Key: aws.String("timebound-iam:level"), Value: aws.String(level)},
	}
	if client != "" {
		out = append(out, types.Tag{Key: aws.String("timebound-iam:client"), Value: aws.String(client)})
	}
	return out
}

// TestGrantAssumeRoleInput pins the whole AssumeRole input for the ways a
// grant is asked for: the CLI's request (Client "cli"), mixed levels, the
// configured source_identity, and client names that break STS's tag rules,
// which must be made to fit rather than fail the grant.
func TestGrantAssumeRoleInput(t *testing.T) {
	long := strings.Repeat("é", 300)
	tests := []struct {
		name           string
		sourceIdentity string
		access         []policy.Access
		client         string
		wantLevel      string
		wantClient     string
	}{
		{"cli, with source_identity", "alice@build-07", []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, "cli", "read_only", "cli"},
		{"mixed levels", "", []policy.Access{{Service: "s3", Level: policy.Full}, {Service: "logs", Level: policy.ReadOnly}}, "cli", "mixed", "cli"},
		{"full", "", []policy.Access{{Service: "s3", Level: policy.Full}}, "Kiro CLI", "full", "Kiro CLI"},
		{"allowed punctuation kept", "", []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, "@scope/agent_v1.2:beta=+-", "read_only", "@scope/agent_v1.2:beta=+-"},
		{"other characters become _", "", []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, " Claude Code (VS Code) ✓\n\"x\" ", "read_only", "Claude Code _VS Code_ ___x_"},
		{"unicode letters kept", "", []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, "Zoë's agent", "read_only", "Zoë_s agent"},
		{"cut to 256 characters", "", []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, long, "read_only", long[:2*256]},
		{"no client", "", []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, "", "read_only", ""},
		{"nothing left of the client", "", []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, "   ", "read_only", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(h *harness) { h.m.Config.SourceIdentity = tt.sourceIdentity })
			s, err := h.m.Grant(context.Background(), grant.Request{Access: tt.access, TTL: 30 * time.Minute, Client: tt.client})
			if err != nil {
				t.Fatal(err)
			}
			policy, err := policy.Build(tt.access, policy.DialectAWS)
			if err != nil {
				t.Fatal(err)
			}
			want := &sts.AssumeRoleInput{
				RoleArn:         aws.String(testRole),
				RoleSessionName: aws.String("timebound-iam-" + s.ID),
				DurationSeconds: aws.Int32(1800),
				Policy:          aws.String(policy),
				Tags:            tags("tb-"+s.ID, tt.wantLevel, tt.wantClient),
			}
			if tt.sourceIdentity != "" {
				want.SourceIdentity = aws.String(tt.sourceIdentity)
			}
			calls := h.sts.calls()
			if len(calls) != 1 {
				t.Fatalf("%d AssumeRole calls, want 1", len(calls))
			}
			if diff := cmp.Diff(want, calls[0], cmpopts.IgnoreUnexported(sts.AssumeRoleInput{}, types.Tag{})); diff != "" {
				t.Errorf("AssumeRole input (-want +got):\n%s", diff)
			}
		})
	}
}

// startStandIn starts the STS stand-in for the rest of t, with base
// credentials in the environment and no AWS config files to read.
func startStandIn(t *testing.T) *granttest.STS {
	t.Helper()
	stand, err := granttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stand.Close() })
	granttest.ScanSecrets(t).From(stand.Secrets)
	setBaseCredentials(t)
	return stand
}

// TestGrantAttributionOnTheWire sends a CLI grant through aws-sdk-go-v2's
// real STS client to the stand-in, which refuses a SourceIdentity or tags
// that STS would refuse, and checks the parameters that reached it.
func TestGrantAttributionOnTheWire(t *testing.T) {
	stand := startStandIn(t)
	home := t.TempDir()
	getenv := func(k string) string {
		return map[string]string{"TIMEBOUND_IAM_SOURCE_IDENTITY": "alice@build-07"}[k]
	}
	cfg, err := config.Load(home, getenv, map[string]string{"role_arn": testRole, "sts_endpoint": stand.URL})
	if err != nil {
		t.Fatal(err)
	}
	client, err := grant.NewSTS(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := &grant.Manager{
		Config: cfg, STS: client, Keys: keychain.New(keyring.NewArrayKeyring(nil), "array"),
		Profiles: &profiles.File{Path: cfg.AWSConfigFile(), Home: home}, Exe: testExe, Now: time.Now,
	}
	access := []policy.Access{{Service: "s3", Level: policy.ReadOnly}, {Service: "logs", Level: policy.Full}}
	// logs at full needs a person under the default approval: as if one
	// approved it on the terminal.
	s, err := m.Grant(context.Background(), grant.Request{Access: access, TTL: 15 * time.Minute, Client: "cli", Approver: grant.ApproverTerminal})
	if err != nil {
		t.Fatal(err)
	}
	issued := stand.Issued()
	if len(issued) != 1 {
		t.Fatalf("the stand-in issued %d credentials, want 1", len(issued))
	}
	policy, err := policy.Build(access, policy.DialectAWS)
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"Action":              {"AssumeRole"},
		"Version":             {"2011-06-15"},
		"RoleArn":             {testRole},
		"RoleSessionName":     {"timebound-iam-" + s.ID},
		"DurationSeconds":     {"900"},
		"Policy":              {policy},
		"SourceIdentity":      {"alice@build-07"},
		"Tags.member.1.Key":   {"timebound-iam:session"},
		"Tags.member.1.Value": {"tb-" + s.ID},
		"Tags.member.2.Key":   {"timebound-iam:level"},
		"Tags.member.2.Value": {"mixed"},
		"Tags.member.3.Key":   {"timebound-iam:client"},
		"Tags.member.3.Value": {"cli"},
	}
	if diff := cmp.Diff(want, issued[0].Form); diff != "" {
		t.Errorf("AssumeRole parameters (-want +got):\n%s", diff)
	}

	// What STS refuses, the stand-in refuses: the checks above can fail.
	m.Config.SourceIdentity = "alice smith"
	if _, err := m.Grant(context.Background(), grant.Request{Access: access, TTL: 15 * time.Minute, Client: "cli", Approver: grant.ApproverTerminal}); err == nil || !strings.Contains(err.Error(), "'alice smith' at 'sourceIdentity' failed to satisfy constraint") {
		t.Errorf("a SourceIdentity with a space: err = %v, want STS's ValidationError", err)
	}
	for _, tag := range []types.Tag{
		{Key: aws.String("aws:session"), Value: aws.String("x")},
		{Key: aws.String("timebound-iam:client"), Value: aws.String("Claude (beta)")},
	} {
		_, err := client.AssumeRole(context.Background(), &sts.AssumeRoleInput{
			RoleArn: aws.String(testRole), RoleSessionName: aws.String("timebound-iam-test"), Tags: []types.Tag{tag},
		})
		if err == nil || !strings.Contains(err.Error(), "ValidationError") {
			t.Errorf("tag %s=%s: err = %v, want STS's ValidationError", aws.ToString(tag.Key), aws.ToString(tag.Value), err)
		}
	}
}

func TestMCPResultsCarryNoSecret(t *testing.T) {
	h := newHarness(t)
	g1 := h.grant([]string{"s3"}, "read_only", "30m")
	g2 := h.grant([]string{"lambda", "logs"}, "full", "1h")
	h.sessions()
	h.ok("list_services", map[string]any{}, &grant.ServicesOutput{})
	h.toolErr("grant_access", map[string]any{"services": []string{"nope"}, "level": "full"})
	h.ok("revoke_access", map[string]any{"session_id": g1.Profile}, &grant.RevokeOutput{})
	h.clock.Add(2 * time.Hour) // g2 expires and is pruned
	h.sessions()
	h.ok("revoke_access", map[string]any{"session_id": g2.SessionID}, &grant.RevokeOutput{})
	if n := len(h.sts.secrets()); n != 2 {
		t.Fatalf("%d credentials issued, want 2", n)
	}
	if found, err := h.scan.Findings(); len(found) > 0 || err != nil {
		t.Errorf("secret scan: %q, %v", found, err)
	}
	if n := *h.results; n < 8 {
		t.Fatalf("checked %d results, want 8", n)
	}
}

func TestMCPGrantAccessBadInput(t *testing.T) {
	many := []string{"s3", "ec2", "lambda", "logs", "dynamodb", "sqs", "sns", "cloudwatch", "iam", "rds", "ecs", "eks", "ecr",
		"cloudformation", "kms", "secretsmanager", "ssm", "route53", "elasticloadbalancing", "autoscaling", "apigateway"}
	s3 := []string{"s3"}
	tests := []struct {
		name     string
		allow    []string // config.Config.Services
		args     map[string]any
		want     []string // substrings of the tool error
		wantLike string   // a regexp the tool error must match
	}{
		{name: "level admin", args: map[string]any{"services": s3, "level": "admin"},
			want: []string{`level "admin" is not allowed: use "view_only", "read_only" or "full"`}},
		{name: "view_only where there is none", args: map[string]any{"services": []string{"s3", "secretsmanager"}, "level": "view_only"},
			want: []string{`services[1]: service "secretsmanager" has no view_only level`, `use "read_only" or "full"`}},
		{name: "level blank", args: map[string]any{"services": s3, "level": " "},
			want: []string{"level", "read_only", "full"}},
		{name: "services empty", args: map[string]any{"services": []string{}, "level": "read_only"},
			want: []string{"services", "at least one", "list_services"}},
		{name: "services missing", args: map[string]any{"level": "read_only"},
			want: []string{"services"}},
		{name: "services unknown", args: map[string]any{"services": []string{"nope"}, "level": "read_only"},
			want: []string{"services[0]", `"nope"`, "list_services"}},
		{name: "services uppercase", args: map[string]any{"services": []string{"S3"}, "level": "read_only"},
			want: []string{"services[0]", `"S3"`, "list_services"}},
		{name: "services twice", args: map[string]any{"services": []string{"s3", "s3"}, "level": "read_only"},
			want: []string{"services[1]", `"s3"`, "twice"}},
		{name: "ttl too short", args: map[string]any{"services": s3, "level": "read_only", "ttl": "5m"},
			want: []string{"ttl", "5m", "15m", "12h"}},
		{name: "ttl too long", args: map[string]any{"services": s3, "level": "read_only", "ttl": "13h"},
			want: []string{"ttl", "13h", "15m", "12h"}},
		{name: "ttl not a duration", args: map[string]any{"services": s3, "level": "read_only", "ttl": "soon"},
			want: []string{"ttl", `"soon"`, "15m", "12h", `"30m"`}},
		{name: "reason too long", args: map[string]any{"services": s3, "level": "read_only", "reason": strings.Repeat("x", 501)},
			want: []string{"reason", "501", "500"}},
		{name: "reason with newline", args: map[string]any{"services": s3, "level": "read_only", "reason": "a\nb"},
			want: []string{"reason", "control characters"}},
		{name: "policy too large", args: map[string]any{"services": many, "level": "read_only"},
			want:     []string{"split it into grants that fit", "2048"},
			wantLike: `session policy .* is \d{4,} characters; STS allows 2048`},
		{name: "service outside allow-list", allow: []string{"s3", "lambda"}, args: map[string]any{"services": []string{"s3", "ec2"}, "level": "read_only"},
			want: []string{"services[1]", `"ec2"`, "not allowed", "allowed: s3, lambda"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(h *harness) { h.m.Config.Services = tt.allow })
			msg := h.toolErr("grant_access", tt.args)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("tool error %q lacks %q", msg, w)
				}
			}
			if tt.wantLike != "" && !regexp.MustCompile(tt.wantLike).MatchString(msg) {
				t.Errorf("tool error %q does not match %s", msg, tt.wantLike)
			}
			if n := len(h.sts.calls()); n != 0 {
				t.Errorf("STS was called %d times for a request that cannot be granted", n)
			}
			h.checkNothingLeft()
		})
	}
}

// TestMCPGrantAccessViewOnly grants s3 at view_only (by its alias) and checks
// that STS gets exactly the catalog's view-only slice: listing, no reads.
func TestMCPGrantAccessViewOnly(t *testing.T) {
	h := newHarness(t)
	var out grant.GrantOutput
	h.ok("grant_access", map[string]any{"services": []string{"s3"}, "level": "vo", "ttl": "15m"}, &out)
	if out.Level != "view_only" || !cmp.Equal(out.Levels, map[string]string{"s3": "view_only"}) {
		t.Errorf("level %q, levels %v; want view_only", out.Level, out.Levels)
	}
	calls := h.sts.calls()
	if len(calls) != 1 {
		t.Fatalf("%d AssumeRole calls, want 1", len(calls))
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListAllMyBuckets","s3:ListBucket","s3:ListMultiRegionAccessPoints"],"Resource":"*"}]}`
	if got := aws.ToString(calls[0].Policy); got != policy {
		t.Errorf("session policy\n%s\nwant\n%s", got, policy)
	}
	if diff := cmp.Diff(tags("tb-"+out.SessionID, "view_only", clientName), calls[0].Tags, cmpopts.IgnoreUnexported(types.Tag{})); diff != "" {
		t.Errorf("session tags (-want +got):\n%s", diff)
	}
	s3, _ := catalog.Lookup("s3")
	if !strings.Contains(policy, strings.Join(s3.ViewOnly, `","`)) {
		t.Errorf("the literal above is not the catalog's s3 view-only slice %v", s3.ViewOnly)
	}
}

// TestMCPGrantAccessLevelDefault: an agent that leaves level out, or sends
// it empty, gets the least privilege, read_only.
func TestMCPGrantAccessLevelDefault(t *testing.T) {
	for name, args := range map[string]map[string]any{
		"missing": {"services": []string{"s3"}},
		"empty":   {"services": []string{"s3"}, "level": ""},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			var out grant.GrantOutput
			h.ok("grant_access", args, &out)
			if out.Level != "read_only" {
				t.Errorf("level = %q, want read_only", out.Level)
			}
			calls := h.sts.calls()
			if len(calls) != 1 || strings.Contains(*calls[0].Policy, "s3:*") {
				t.Errorf("STS calls %d; policy must be read-only", len(calls))
			}
		})
	}
}

func TestMCPGrantAccessSTSFailure(t *testing.T) {
	tests := []struct {
		name string
		ttl  string
		err  error
		want []string
	}{
		{"max session duration", "2h",
			&smithy.GenericAPIError{Code: "ValidationError", Message: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
			[]string{"ttl 2h", "MaxSessionDuration", testRole, "shorter ttl"}},
		{"role chaining", "2h",
			&smithy.GenericAPIError{Code: "ValidationError", Message: "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."},
			[]string{"ttl 2h", "role chaining", "1h"}},
		{"access denied", "30m",
			&smithy.GenericAPIError{Code: "AccessDenied", Message: "User: arn:aws:iam::123456789012:user/base is not authorized to perform: sts:AssumeRole on resource: " + testRole},
			[]string{"AccessDenied", testRole, "trust policy"}},
		{"other API error", "30m",
			&smithy.GenericAPIError{Code: "RegionDisabledException", Message: "STS is not activated in this region"},
			[]string{"STS AssumeRole", testRole, "RegionDisabledException", "not activated"}},
		{"network error", "30m",
			errors.New("dial tcp 127.0.0.1:1: connect: connection refused"),
			[]string{"STS AssumeRole", testRole, "connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.sts.setErr(tt.err)
			msg := h.toolErr("grant_access", map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": tt.ttl})
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("tool error %q lacks %q", msg, w)
				}
			}
			if n := len(h.sts.calls()); n != 1 {
				t.Errorf("%d AssumeRole calls, want 1", n)
			}
			h.checkNothingLeft()
		})
	}
}

func TestMCPGrantAccessStorageFailure(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*harness)
		want  []string
	}{
		{"keychain set fails", func(h *harness) { h.ring = failingSet{h.array} },
			[]string{"storing tb-", "array keyring", "keychain is locked"}},
		{"profiles directory missing", func(h *harness) {
			h.m.Profiles.Path = filepath.Join(h.m.Config.Home, "missing", "aws-config")
		}, []string{filepath.Join("missing", "aws-config")}},
		{"profiles path is a directory", func(h *harness) {
			if err := os.Mkdir(h.m.Profiles.Path, 0o700); err != nil {
				h.t.Fatal(err)
			}
		}, []string{"aws-config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.setup)
			msg := h.toolErr("grant_access", map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": "15m"})
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("tool error %q lacks %q", msg, w)
				}
			}
			if n := len(h.sts.calls()); n != 1 {
				t.Errorf("%d AssumeRole calls, want 1: the failure must come after STS", n)
			}
			if keys := h.keychainKeys(); len(keys) != 0 {
				t.Errorf("keychain items left after a failed grant: %v", keys)
			}
			if fi, err := os.Stat(h.m.Profiles.Path); err == nil && !fi.IsDir() {
				h.checkNothingLeft()
			}
		})
	}
}

func TestMCPListActiveSessions(t *testing.T) {
	h := newHarness(t)
	if got := h.sessions(); len(got) != 0 {
		t.Fatalf("sessions before any grant: %v", got)
	}
	long := h.grant([]string{"s3", "lambda"}, "full", "30m")
	short := h.grant([]string{"logs"}, "read_only", "15m")

	want := func(g grant.GrantOutput, remaining string) grant.SessionOutput {
		return grant.SessionOutput{
			SessionID: g.SessionID, Profile: g.Profile, Services: g.Services, Level: g.Level,
			Levels: g.Levels, ExpiresAt: g.ExpiresAt, Remaining: remaining,
		}
	}
	steps := []struct {
		name    string
		advance time.Duration
		want    []grant.SessionOutput
		keys    []string          // keychain items afterwards
		status  map[string]string // profile -> tb_status; absent: no section
	}{
		{"soonest expiry first", 0,
			[]grant.SessionOutput{want(short, "15m0s"), want(long, "30m0s")},
			[]string{long.Profile, short.Profile},
			map[string]string{long.Profile: "active", short.Profile: "active"}},
		{"remaining follows the clock", 5*time.Minute + 30*time.Second,
			[]grant.SessionOutput{want(short, "9m30s"), want(long, "24m30s")},
			[]string{long.Profile, short.Profile},
			map[string]string{long.Profile: "active", short.Profile: "active"}},
		{"at expiry the grant is gone", 9*time.Minute + 30*time.Second, // t0+15m exactly
			[]grant.SessionOutput{want(long, "15m0s")},
			[]string{long.Profile},
			map[string]string{long.Profile: "active", short.Profile: "expired"}},
		{"tombstone kept within 24h", 24 * time.Hour, // t0+24h15m: short ended 24h ago, long 23h45m ago
			nil,
			nil,
			map[string]string{long.Profile: "expired", short.Profile: "expired"}},
		{"tombstone removed after 24h", time.Second, // short ended 24h0m1s ago
			nil,
			nil,
			map[string]string{long.Profile: "expired"}},
		{"all tombstones removed", 15 * time.Minute,
			nil,
			nil,
			map[string]string{}},
	}
	// The steps share one server and clock, so they run in order.
	for _, st := range steps {
		h.clock.Add(st.advance)
		got := h.sessions()
		if diff := cmp.Diff(st.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: sessions (-want +got):\n%s", st.name, diff)
		}
		if diff := cmp.Diff(st.keys, h.keychainKeys(), cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("%s: keychain items (-want +got):\n%s", st.name, diff)
		}
		status := map[string]string{}
		for _, g := range []grant.GrantOutput{long, short} {
			if e, ok := h.entry(g.SessionID); ok {
				status[g.Profile] = string(e.Status)
			}
		}
		if diff := cmp.Diff(st.status, status); diff != "" {
			t.Errorf("%s: profile status (-want +got):\n%s", st.name, diff)
		}
	}
	if !strings.Contains(h.log.String(), "msg=pruned session="+short.Profile) {
		t.Errorf("no prune logged for %s:\n%s", short.Profile, h.log.String())
	}
}

// TestMCPListActiveSessionsContract checks what list_active_sessions's own
// marshalling must keep: arguments are refused, and the result validates
// against the output schema the tool advertises.
func TestMCPListActiveSessionsContract(t *testing.T) {
	h := newHarness(t)
	h.grant([]string{"s3", "logs"}, "read_only", "30m")
	if msg := h.toolErr("list_active_sessions", map[string]any{"all": true}); !strings.Contains(msg, "takes no arguments") {
		t.Errorf("tool error %q does not say the tool takes no arguments", msg)
	}
	tools, err := h.cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out *jsonschema.Schema
	for _, tool := range tools.Tools {
		if tool.Name == "list_active_sessions" {
			raw, err := json.Marshal(tool.OutputSchema)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatal(err)
			}
		}
	}
	resolved, err := out.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	res := h.call("list_active_sessions", map[string]any{})
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if err := resolved.Validate(v); err != nil {
		t.Errorf("structured content %s does not match the output schema: %v", raw, err)
	}
	if !jsonEqual(text(res), string(raw)) {
		t.Errorf("text content %s differs from structured content %s", text(res), raw)
	}
}

// countingRing counts the reads of the keyring it wraps.
type countingRing struct {
	keyring.Keyring
	mu    sync.Mutex
	reads int
}

func (c *countingRing) count() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
}

func (c *countingRing) Get(key string) (keyring.Item, error) {
	c.count()
	return c.Keyring.Get(key)
}

func (c *countingRing) GetMetadata(key string) (keyring.Metadata, error) {
	c.count()
	return c.Keyring.GetMetadata(key)
}

func (c *countingRing) Keys() ([]string, error) {
	c.count()
	return c.Keyring.Keys()
}

func (c *countingRing) Reads() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// TestMCPListReadsNoKeychain lists 1,000 live grants, and a prune that ends
// some of them, without one keychain read: a locked or slow keychain must
// never stall a listing.
func TestMCPListReadsNoKeychain(t *testing.T) {
	ring := &countingRing{}
	h := newHarness(t, func(h *harness) { ring.Keyring = h.ring; h.ring = ring })
	const n = 1000
	for i := range n {
		ttl := "30m"
		if i%10 == 0 {
			ttl = "15m"
		}
		h.grant([]string{"s3"}, "read_only", ttl)
	}
	if got := ring.Reads(); got != 0 {
		t.Fatalf("%d keychain reads while granting; want 0", got)
	}
	if got := len(h.sessions()); got != n {
		t.Errorf("list_active_sessions lists %d grants, want %d", got, n)
	}
	h.clock.Add(20 * time.Minute) // the 15m grants expire and are pruned
	if got := len(h.sessions()); got != n-n/10 {
		t.Errorf("after expiry, list_active_sessions lists %d grants, want %d", got, n-n/10)
	}
	if got := len(h.keychainKeys()); got != n-n/10 {
		t.Errorf("%d keychain items after the prune, want %d", got, n-n/10)
	}
	if got := ring.Reads(); got != 0 { // keychainKeys reads the array beneath
		t.Errorf("%d keychain reads while listing and pruning; want 0", got)
	}
}

func TestMCPListServices(t *testing.T) {
	tests := []struct {
		name      string
		allow     []string
		wantNames []string // nil: the whole catalog
	}{
		{"whole catalog", nil, nil},
		{"allow-list", []string{"s3", "lambda"}, []string{"lambda", "s3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(h *harness) { h.m.Config.Services = tt.allow })
			var out grant.ServicesOutput
			h.ok("list_services", map[string]any{}, &out)
			var names []string
			byName := map[string]grant.ServiceOutput{}
			for _, s := range out.Services {
				names = append(names, s.Name)
				byName[s.Name] = s
			}
			want := tt.wantNames
			if want == nil {
				for _, s := range catalog.All() {
					want = append(want, s.Prefix)
				}
			}
			if diff := cmp.Diff(want, names); diff != "" {
				t.Errorf("service names (-want +got):\n%s", diff)
			}
			s3 := byName["s3"]
			if s3.Title != "Amazon S3" || s3.Description == "" {
				t.Errorf("s3: title %q, description %q; want \"Amazon S3\" and a description", s3.Title, s3.Description)
			}
			if diff := cmp.Diff([]string{"view_only", "read_only", "full"}, s3.Levels); diff != "" {
				t.Errorf("s3 levels (-want +got):\n%s", diff)
			}
			// ViewOnlyAccess names no secretsmanager action.
			if sm, ok := byName["secretsmanager"]; ok {
				if diff := cmp.Diff([]string{"read_only", "full"}, sm.Levels); diff != "" {
					t.Errorf("secretsmanager levels (-want +got):\n%s", diff)
				}
			}
			// A level is offered only when a grant of it can succeed.
			for _, svc := range out.Services {
				for _, level := range []string{"view_only", "read_only", "full"} {
					_, err := policy.Build([]policy.Access{{Service: svc.Name, Level: policy.Level(level)}}, policy.DialectAWS)
					if offered := slices.Contains(svc.Levels, level); offered != (err == nil) {
						t.Errorf("%s: %s offered = %v, but its policy gives %v", svc.Name, level, offered, err)
					}
				}
			}
		})
	}
}

// TestMCPGrantAccessOversizeService asks for read_only on a service whose
// read-only slice alone is over STS's limit; list_services offers it only
// full, and the refusal says so.
func TestMCPGrantAccessOversizeService(t *testing.T) {
	h := newHarness(t)
	var out grant.ServicesOutput
	h.ok("list_services", map[string]any{}, &out)
	var oversize []string
	for _, s := range out.Services {
		if !slices.Contains(s.Levels, "read_only") {
			oversize = append(oversize, s.Name)
		}
	}
	if len(oversize) == 0 {
		t.Skip("every catalog service's read-only slice fits in one policy")
	}
	msg := h.toolErr("grant_access", map[string]any{"services": []string{oversize[0]}, "level": "read_only", "ttl": "15m"})
	for _, want := range []string{oversize[0] + " alone is", "STS allows 2048", `ask for level "full"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q lacks %q", msg, want)
		}
	}
	h.checkNothingLeft()
	h.grant([]string{oversize[0]}, "full", "15m")
}

func TestMCPRevokeAccess(t *testing.T) {
	h := newHarness(t)
	a := h.grant([]string{"s3"}, "read_only", "30m")
	b := h.grant([]string{"ec2"}, "full", "30m")
	c := h.grant([]string{"logs"}, "read_only", "15m")
	h.clock.Add(10 * time.Minute)
	revokedAt := h.clock.Now().Format(time.RFC3339)

	revoke := func(t *testing.T, id string) grant.RevokeOutput {
		t.Helper()
		var out grant.RevokeOutput
		h.in(t).ok("revoke_access", map[string]any{"session_id": id}, &out)
		return out
	}
	// The subtests share one server and run in order.
	t.Run("live grant by profile name", func(t *testing.T) {
		got := revoke(t, a.Profile)
		if diff := cmp.Diff(grant.RevokeOutput{SessionID: a.SessionID, Profile: a.Profile, Revoked: true, Status: "revoked"}, got); diff != "" {
			t.Errorf("revoke_access (-want +got):\n%s", diff)
		}
	})
	t.Run("live grant by bare id", func(t *testing.T) {
		got := revoke(t, b.SessionID)
		if diff := cmp.Diff(grant.RevokeOutput{SessionID: b.SessionID, Profile: b.Profile, Revoked: true, Status: "revoked"}, got); diff != "" {
			t.Errorf("revoke_access (-want +got):\n%s", diff)
		}
	})
	t.Run("keychain items gone, tombstones written", func(t *testing.T) {
		h := h.in(t)
		if diff := cmp.Diff([]string{c.Profile}, h.keychainKeys()); diff != "" {
			t.Errorf("keychain items (-want +got):\n%s", diff)
		}
		for _, g := range []grant.GrantOutput{a, b} {
			wantLine := "'" + testExe + "' credential-process --session " + g.SessionID + " --home '" + h.m.Config.Home +
				"' --backend array --expires 2026-11-25T12:30:00Z --revoked-at " + revokedAt
			if line := h.credentialProcess(g.SessionID); line != wantLine {
				t.Errorf("%s credential_process\n got %s\nwant %s", g.Profile, line, wantLine)
			}
			if e, _ := h.entry(g.SessionID); e.Status != profiles.Revoked {
				t.Errorf("%s status %q, want revoked", g.Profile, e.Status)
			}
		}
		if diff := cmp.Diff([]string{c.Profile}, profileNames(h.sessions())); diff != "" {
			t.Errorf("live sessions after revokes (-want +got):\n%s", diff)
		}
		if !strings.Contains(h.log.String(), "msg=revoked session="+a.Profile) {
			t.Errorf("no revoke logged for %s:\n%s", a.Profile, h.log.String())
		}
	})
	t.Run("again", func(t *testing.T) {
		got := revoke(t, a.Profile)
		if diff := cmp.Diff(grant.RevokeOutput{SessionID: a.SessionID, Profile: a.Profile, Revoked: false, Status: "revoked"}, got); diff != "" {
			t.Errorf("revoke_access (-want +got):\n%s", diff)
		}
	})
	t.Run("expired grant", func(t *testing.T) {
		h := h.in(t)
		h.clock.Add(5 * time.Minute) // c expires at t0+15m
		got := revoke(t, c.SessionID)
		if diff := cmp.Diff(grant.RevokeOutput{SessionID: c.SessionID, Profile: c.Profile, Revoked: false, Status: "expired"}, got); diff != "" {
			t.Errorf("revoke_access (-want +got):\n%s", diff)
		}
		if keys := h.keychainKeys(); len(keys) != 0 {
			t.Errorf("keychain items after every grant ended: %v", keys)
		}
	})

	bad := []struct {
		name, id string
		want     []string
	}{
		{"unknown id", "tb-zzzzzzzz", []string{"tb-zzzzzzzz", "no such grant", "list_active_sessions"}},
		{"path traversal", "../etc", []string{"session_id", `"../etc"`, "list_active_sessions"}},
		{"empty", "", []string{"session_id", `""`}},
		{"uppercase", "TB-ABCDEFGH", []string{"session_id", `"TB-ABCDEFGH"`}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			h := h.in(t)
			before := h.profilesText()
			msg := h.toolErr("revoke_access", map[string]any{"session_id": tt.id})
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("tool error %q lacks %q", msg, w)
				}
			}
			if after := h.profilesText(); after != before {
				t.Errorf("a refused revoke changed the profiles file:\n%s", after)
			}
		})
	}
}

func profileNames(s []grant.SessionOutput) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.Profile)
	}
	return out
}

// TestMCPGrantAccessTakenID gives a new grant the id of a live one. The
// grant is refused, and the live grant's keychain item is untouched: storing
// the new credentials under that id would have replaced it.
func TestMCPGrantAccessTakenID(t *testing.T) {
	ids := []string{"taken234", "taken234", "fresh567"}
	h := newHarness(t, func(h *harness) {
		h.m.NewID = func() (string, error) {
			id := ids[0]
			ids = ids[1:]
			return id, nil
		}
	})
	first := h.grant([]string{"s3"}, "read_only", "30m")
	before, err := h.m.Keys.Get(first.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	msg := h.toolErr("grant_access", map[string]any{"services": []string{"s3"}, "level": "full", "ttl": "30m"})
	if !strings.Contains(msg, "grant id taken234 is already in") || !strings.Contains(msg, "try again") {
		t.Errorf("refusal %q does not name the taken id and the next step", msg)
	}
	after, err := h.m.Keys.Get(first.SessionID)
	if err != nil || after.AccessKeyID != before.AccessKeyID || after.SessionToken != before.SessionToken {
		t.Errorf("the live grant's keychain item changed (err %v)", err)
	}
	if diff := cmp.Diff([]string{"tb-taken234"}, h.keychainKeys()); diff != "" {
		t.Errorf("keychain items after the refusal (-want +got):\n%s", diff)
	}
	second := h.grant([]string{"s3"}, "full", "30m")
	if second.SessionID != "fresh567" {
		t.Errorf("the next grant's id = %q, want fresh567", second.SessionID)
	}
	if got := len(h.sessions()); got != 2 {
		t.Errorf("%d live sessions, want 2", got)
	}
}

// TestMCPGrantResources: grant_access's resources narrow the session policy
// STS gets, and show in the result, the listing and the profile; a bad one
// is refused by index before STS is called.
func TestMCPGrantResources(t *testing.T) {
	h := newHarness(t)
	var out grant.GrantOutput
	h.ok("grant_access", map[string]any{"services": []string{"s3"}, "ttl": "30m", "resources": []string{"agent-data", "arn:aws:s3:::logs-*/2026/*"}}, &out)
	want := []string{"arn:aws:s3:::agent-data", "arn:aws:s3:::agent-data/*", "arn:aws:s3:::logs-*/2026/*"}
	if !slices.Equal(out.Resources, want) {
		t.Errorf("result resources = %q, want %q", out.Resources, want)
	}
	calls := h.sts.calls()
	if len(calls) != 1 {
		t.Fatalf("%d AssumeRole calls, want 1", len(calls))
	}
	var doc struct {
		Statement []struct {
			Effect   string
			Resource any
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(calls[0].Policy)), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 1 || !cmp.Equal(doc.Statement[0].Resource, []any{want[0], want[1], want[2]}) {
		t.Errorf("session policy %s is not narrowed to %q", aws.ToString(calls[0].Policy), want)
	}
	if got := h.sessions(); len(got) != 1 || !slices.Equal(got[0].Resources, want) {
		t.Errorf("list_active_sessions = %+v, want resources %q", got, want)
	}
	if !strings.Contains(h.profilesText(), "\ntb_resources = "+strings.Join(want, " ")+"\n") {
		t.Errorf("profile has no tb_resources line:\n%s", h.profilesText())
	}

	// Without resources, no resources key anywhere.
	plain := h.grant([]string{"s3"}, "read_only", "30m")
	if plain.Resources != nil {
		t.Errorf("unscoped grant reports resources %q", plain.Resources)
	}

	for _, tc := range []struct {
		name      string
		services  []string
		resources []string
		want      string
	}{
		{"bad arn", []string{"s3"}, []string{"agent-data", "arn:aws:s3:::ok", "arn:aws:s3:::x\n[profile evil]"}, `resources[2] "arn:aws:s3:::x\n[profile evil]" is not an ARN`},
		{"wrong service", []string{"s3"}, []string{"arn:aws:logs:us-east-1:123456789012:log-group:x"}, `resources[0] "arn:aws:logs:us-east-1:123456789012:log-group:x" is a resource of service "logs", which the grant does not include`},
		{"bad bucket", []string{"s3"}, []string{"My_Bucket"}, `resources[0] "My_Bucket" is not an ARN`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := h.in(t)
			msg := h.toolErr("grant_access", map[string]any{"services": tc.services, "resources": tc.resources})
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want %q", msg, tc.want)
			}
		})
	}
	if n := len(h.sts.calls()); n != 2 {
		t.Errorf("%d AssumeRole calls, want 2: refused grants must not reach STS", n)
	}
}
