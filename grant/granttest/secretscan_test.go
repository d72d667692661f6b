package granttest

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// recorder is a testing.TB that keeps its errors and cleanups, so a test can
// watch ScanSecrets fail a test without failing itself.
type recorder struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Error(args ...any)   { r.errs = append(r.errs, fmt.Sprint(args...)) }
func (r *recorder) Logf(string, ...any) {}

func (r *recorder) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// TestSecretScanFindsPlanted plants a secret in each channel the scan
// watches (captured stderr, an MCP result, a log line through the handler
// and through a log writer, a file in the state directory, one in a
// temporary directory, both under the test's t.TempDir) and in the places it
// must not look (the file keyring, a directory it is told to skip): the
// test the scan watches fails with exactly the planted findings, at its
// end.
func TestSecretScanFindsPlanted(t *testing.T) {
	const planted = "planted/FAKE+secret0123456789abcdefEXAMPLE"
	root := t.TempDir()
	state, tmp := filepath.Join(root, "state"), filepath.Join(root, "tmp")
	files := map[string]string{
		filepath.Join(state, "aws-config"):        "[profile tb-x]\nregion = us-east-1\n",
		filepath.Join(state, "audit.log"):         "grant tb-x " + planted + "\n",
		filepath.Join(state, "keyring", "tb-x"):   planted,
		filepath.Join(tmp, "aws-cli-leftover"):    "cache " + planted,
		filepath.Join(root, "minio", "sts.token"): planted,
	}
	for path, content := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	rec := &recorder{TB: t}
	scan := ScanSecrets(rec)
	scan.Add(CredentialSecrets("tb-x", planted, "")...)
	scan.Add(Secret{"an unused token", "never-written-anywhere-0123456789"})
	scan.Skip(filepath.Join(root, "minio"))
	scan.Dir(filepath.Join(root, "not-there"))

	fmt.Fprintf(scan.Writer("stderr of timebound-iam grant", nil), "timebound-iam: error: %s\n", planted)
	fmt.Fprintf(scan.Writer("stdout of timebound-iam sessions", nil), "tb-x s3 read_only\n")
	scan.Result("MCP result of grant_access", &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "key " + planted}}})
	scan.Result("MCP result of list_services", `{"services":[]}`)
	slog.New(scan.Handler("serve's log", nil)).Debug("granted", "secret", planted)
	var logged strings.Builder
	slog.New(slog.NewTextHandler(scan.Writer("CLI log", &logged), nil)).Warn("oops", "token", planted)
	if !strings.Contains(logged.String(), "oops") {
		t.Errorf("the log writer did not pass the line on: %q", logged.String())
	}

	if len(rec.errs) != 0 {
		t.Errorf("the watched test failed before its end: %q", rec.errs)
	}
	rec.end()
	want := []string{
		"secret scan: the SecretAccessKey of tb-x appears in stderr of timebound-iam grant",
		"secret scan: the SecretAccessKey of tb-x appears in MCP result of grant_access",
		"secret scan: the SecretAccessKey of tb-x appears in serve's log",
		"secret scan: the SecretAccessKey of tb-x appears in CLI log",
		"secret scan: the SecretAccessKey of tb-x appears in " + filepath.Join(state, "audit.log"),
		"secret scan: the SecretAccessKey of tb-x appears in " + filepath.Join(tmp, "aws-cli-leftover"),
	}
	if !slices.Equal(rec.errs, want) {
		t.Errorf("the watched test failed with\n%s\nwant\n%s", strings.Join(rec.errs, "\n"), strings.Join(want, "\n"))
	}
	wantFiles := []string{filepath.Join(state, "audit.log"), filepath.Join(state, "aws-config"), filepath.Join(tmp, "aws-cli-leftover")}
	if got := scan.Files(); !slices.Equal(got, wantFiles) {
		t.Errorf("scanned files %q, want %q", got, wantFiles)
	}
}

// TestSecretScanFromStandIn: the stand-in's answers are registered as they
// are handed out, after the scan was set up.
func TestSecretScanFromStandIn(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	scan := NewSecretScan()
	scan.From(s.Secrets)
	if n := len(scan.Secrets()); n != 0 {
		t.Fatalf("%d secrets before any AssumeRole", n)
	}
	is := assumeRole(t, s)
	scan.Capture("stderr of a careless helper", []byte("token="+is.SessionToken))
	found, err := scan.Findings()
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || !strings.HasPrefix(found[0], "the SessionToken of STS answer 1 (") {
		t.Errorf("findings %q, want the SessionToken of STS answer 1", found)
	}
}

// assumeRole asks the stand-in for one set of credentials; it checks only
// that a request is signed, not the signature.
func assumeRole(t *testing.T, s *STS) Issued {
	t.Helper()
	form := url.Values{"Action": {"AssumeRole"}, "RoleArn": {"arn:aws:iam::123456789012:role/broker"}, "RoleSessionName": {"scan-test"}, "DurationSeconds": {"900"}}
	req, err := http.NewRequest("POST", s.URL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261201/us-east-1/sts/aws4_request")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	issued := s.Issued()
	if res.StatusCode != 200 || len(issued) != 1 {
		t.Fatalf("AssumeRole: status %d, %d issued", res.StatusCode, len(issued))
	}
	return issued[0]
}
