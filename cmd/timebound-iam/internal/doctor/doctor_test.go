package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

const (
	broker     = "arn:aws:iam::123456789012:role/broker"
	userARN    = "arn:aws:iam::123456789012:user/alice"
	sessionARN = "arn:aws:sts::123456789012:assumed-role/admin/alice"
	keyID      = "AKIAIOSFODNN7EXAMPLE"
	secret     = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// unreachableErr is how aws-sdk-go-v2 reports a request that got no answer.
var unreachableErr = &smithy.OperationError{ServiceID: "STS", OperationName: "GetCallerIdentity", Err: &smithyhttp.RequestSendError{
	Err: &url.Error{Op: "Post", URL: "https://sts.us-east-1.amazonaws.com/", Err: errors.New("dial tcp: lookup sts.us-east-1.amazonaws.com: no such host")},
}}

// healthy returns a Doctor whose every check passes, built from fakes and
// real files under t.TempDir. Tests change one dependency at a time.
func healthy(t *testing.T) *Doctor {
	t.Helper()
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, config.FileName), []byte("role_arn = "+broker+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := loadConfig(t, home, nil)
	store := keychain.New(keyring.NewArrayKeyring(nil), keychain.KeyCtl)
	date := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest) // like STS answering an unsigned request
	}))
	t.Cleanup(date.Close)
	return &Doctor{
		Config:   cfg,
		Keys:     func() (*keychain.Store, error) { return store, nil },
		Profiles: &profiles.File{Path: cfg.AWSConfigFile(), Home: home},
		STS:      identity(userARN, nil),
		IAM:      roleGetter(12*time.Hour, nil),
		Granter:  func(context.Context) (Granter, error) { return &fakeGranter{}, nil },
		ClockURL: date.URL,
		Getenv:   env(nil),
		UserHome: t.TempDir(),
	}
}

// loadConfig loads a Config for home with the given keys, role_arn defaulting
// to the broker.
func loadConfig(t *testing.T, home string, keys map[string]string) config.Config {
	t.Helper()
	over := map[string]string{"role_arn": broker}
	for k, v := range keys {
		over[k] = v
	}
	cfg, err := config.Load(home, env(nil), over)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func identity(arn string, err error) func(context.Context) (Identity, error) {
	return func(context.Context) (Identity, error) {
		return IdentityFunc(func(ctx context.Context, _ *sts.GetCallerIdentityInput, _ ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
			if err != nil {
				return nil, err
			}
			return &sts.GetCallerIdentityOutput{Account: aws.String("123456789012"), Arn: aws.String(arn), UserId: aws.String("AIDAEXAMPLE")}, nil
		}), nil
	}
}

func roleGetter(limit time.Duration, err error) func(context.Context) (RoleGetter, error) {
	return func(context.Context) (RoleGetter, error) {
		return RoleGetterFunc(func(_ context.Context, name string) (awsiam.Role, error) {
			return awsiam.Role{Name: name, MaxSessionDuration: limit}, err
		}), nil
	}
}

type fakeGranter struct {
	grantErr, revokeErr error
	req                 grant.Request
	revoked             []string
}

func (g *fakeGranter) Grant(ctx context.Context, r grant.Request) (grant.Session, error) {
	g.req = r
	if g.grantErr != nil {
		return grant.Session{}, g.grantErr
	}
	return grant.Session{ID: "doc2abcd", Access: r.Access, Expires: time.Date(2026, 11, 25, 14, 20, 0, 0, time.UTC), Status: profiles.Active}, nil
}

func (g *fakeGranter) Revoke(ctx context.Context, ids []string) ([]grant.RevokeResult, error) {
	g.revoked = append(g.revoked, ids...)
	if g.revokeErr != nil {
		return nil, g.revokeErr
	}
	return []grant.RevokeResult{{ID: ids[0], Revoked: true, Status: profiles.Revoked}}, nil
}

// run runs every check and returns the one named.
func run(t *testing.T, d *Doctor, name string) Check {
	t.Helper()
	checks := d.Run(context.Background())
	var names []string
	for _, c := range checks {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, Names) {
		t.Fatalf("checks %v, want %v", names, Names)
	}
	return checks[slices.Index(Names, name)]
}

// want asserts a check's status and that detail and hint contain the given
// fragments; a hint is required exactly when the status is not ok.
func want(t *testing.T, c Check, status Status, detail, hint string) {
	t.Helper()
	if c.Status != status || !strings.Contains(c.Detail, detail) || !strings.Contains(c.Hint, hint) {
		t.Errorf("%s = %s %q (hint %q)\nwant %s, detail containing %q, hint containing %q", c.Name, c.Status, c.Detail, c.Hint, status, detail, hint)
	}
	if (c.Hint == "") != (c.Status == OK) {
		t.Errorf("%s: status %s with hint %q", c.Name, c.Status, c.Hint)
	}
	if strings.Contains(c.Detail, "\n") || strings.Contains(c.Hint, "\n") {
		t.Errorf("%s: detail or hint spans lines: %q / %q", c.Name, c.Detail, c.Hint)
	}
}

func TestRunHealthy(t *testing.T) {
	checks := healthy(t).Run(context.Background())
	for _, c := range checks {
		want(t, c, OK, "", "")
	}
	r := NewReport(checks)
	if !r.OK || r.Failures() != 0 {
		t.Errorf("report OK %v with %d failures, want true and 0", r.OK, r.Failures())
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var shape struct {
		Checks []map[string]any `json:"checks"`
		OK     *bool            `json:"ok"`
	}
	if err := json.Unmarshal(data, &shape); err != nil {
		t.Fatal(err)
	}
	if shape.OK == nil || len(shape.Checks) != len(Names) {
		t.Fatalf("JSON %s: want ok and %d checks", data, len(Names))
	}
	for _, c := range shape.Checks {
		var keys []string
		for k := range c {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"detail", "hint", "name", "status"}) {
			t.Errorf("check keys %v, want detail, hint, name, status", keys)
		}
	}
}

func TestReportFailures(t *testing.T) {
	r := NewReport([]Check{{Status: OK}, {Status: Warn}, {Status: Fail}, {Status: Fail}})
	if r.OK || r.Failures() != 2 {
		t.Errorf("OK %v, %d failures; want false, 2", r.OK, r.Failures())
	}
	if r := NewReport([]Check{{Status: Warn}}); !r.OK {
		t.Error("warnings alone must leave OK true")
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestNoSecretInOutput runs every check with keys in the environment and the
// credentials file and looks for them in the whole JSON report.
func TestNoSecretInOutput(t *testing.T) {
	d := healthy(t)
	write(t, filepath.Join(d.UserHome, ".aws", "credentials"), "[default]\naws_access_key_id = "+keyID+"\naws_secret_access_key = "+secret+"\n")
	d.Getenv = env(map[string]string{"AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLE"})
	data, err := json.Marshal(NewReport(d.Run(context.Background())))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{keyID, secret, "IQoJb3JpZ2luX2VjEXAMPLE", "not-a-secret"} {
		if strings.Contains(string(data), s) {
			t.Errorf("report shows %q: %s", s, data)
		}
	}
}
