package credproc_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/timebound-iam/timebound-iam/credproc"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

var now = time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)

// The secrets of the grant store keeps.
const (
	storedSecret = "s3cr3t/+="
	storedToken  = "tok\"en\\"
)

func store(t *testing.T, id string, expires time.Time) func() (credproc.Getter, error) {
	t.Helper()
	s := keychain.New(keyring.NewArrayKeyring(nil), "array")
	if id != "" {
		err := s.Put(id, aws.Credentials{AccessKeyID: "ASIAEXAMPLE000000001", SecretAccessKey: storedSecret, SessionToken: storedToken, Expires: expires})
		if err != nil {
			t.Fatal(err)
		}
	}
	return func() (credproc.Getter, error) { return s, nil }
}

func TestRunPrintsCredentials(t *testing.T) {
	var out bytes.Buffer
	err := credproc.Run(&out, store(t, "k3f9ab2c", now.Add(30*time.Minute)), credproc.Request{ID: "k3f9ab2c", Expires: now.Add(30 * time.Minute)}, now)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out.String())
	}
	want := map[string]any{"Version": 1.0, "AccessKeyId": "ASIAEXAMPLE000000001", "SecretAccessKey": "s3cr3t/+=", "SessionToken": "tok\"en\\", "Expiration": "2026-11-25T13:30:00Z"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if strings.Count(out.String(), "\n") != 1 {
		t.Errorf("stdout is not exactly one line: %q", out.String())
	}
}

func TestRunRefuses(t *testing.T) {
	exp := now.Add(-time.Minute)
	tests := []struct {
		name string
		open func() (credproc.Getter, error)
		req  credproc.Request
		want string
	}{
		{"revoked", func() (credproc.Getter, error) { t.Error("revoked grant opened the keychain"); return nil, nil },
			credproc.Request{ID: "k3f9ab2c", Expires: now.Add(time.Hour), RevokedAt: now.Add(-2 * time.Minute)},
			"grant tb-k3f9ab2c was revoked at 2026-11-25T12:58:00Z; call grant_access again"},
		{"expired item", store(t, "k3f9ab2c", exp), credproc.Request{ID: "k3f9ab2c", Expires: exp},
			"grant tb-k3f9ab2c expired at 2026-11-25T12:59:00Z; call grant_access again"},
		{"expires exactly now", store(t, "k3f9ab2c", now), credproc.Request{ID: "k3f9ab2c", Expires: now},
			"grant tb-k3f9ab2c expired at 2026-11-25T13:00:00Z"},
		{"pruned after expiry", store(t, "", time.Time{}), credproc.Request{ID: "k3f9ab2c", Expires: exp},
			"grant tb-k3f9ab2c expired at 2026-11-25T12:59:00Z; call grant_access again"},
		{"missing before expiry", store(t, "", time.Time{}), credproc.Request{ID: "k3f9ab2c", Expires: now.Add(time.Hour)},
			"grant tb-k3f9ab2c has no credentials in the keychain"},
		{"never existed", store(t, "", time.Time{}), credproc.Request{ID: "k3f9ab2c", Expires: now.Add(time.Hour), Lookup: lookup(profiles.Entry{}, false, nil)},
			"grant tb-k3f9ab2c does not exist: no profile in this state directory names it; check the profile name, or call grant_access again"},
		{"revoked, line not updated", store(t, "", time.Time{}), credproc.Request{ID: "k3f9ab2c", Expires: now.Add(time.Hour),
			Lookup: lookup(profiles.Entry{ID: "k3f9ab2c", Status: profiles.Revoked, Revoked: now.Add(-time.Minute), Expires: now.Add(time.Hour)}, true, nil)},
			"grant tb-k3f9ab2c was revoked at 2026-11-25T12:59:00Z; call grant_access again"},
		{"expired, line without expiry", store(t, "", time.Time{}), credproc.Request{ID: "k3f9ab2c",
			Lookup: lookup(profiles.Entry{ID: "k3f9ab2c", Status: profiles.Expired, Expires: exp}, true, nil)},
			"grant tb-k3f9ab2c expired at 2026-11-25T12:59:00Z; call grant_access again"},
		{"cleared from the keychain", store(t, "", time.Time{}), credproc.Request{ID: "k3f9ab2c", Expires: now.Add(time.Hour),
			Lookup: lookup(profiles.Entry{ID: "k3f9ab2c", Status: profiles.Active, Expires: now.Add(time.Hour)}, true, nil)},
			"grant tb-k3f9ab2c is live until 2026-11-25T14:00:00Z, but its credentials are gone from the keychain (cleared"},
		{"profiles file unreadable", store(t, "", time.Time{}), credproc.Request{ID: "k3f9ab2c", Expires: now.Add(time.Hour),
			Lookup: lookup(profiles.Entry{}, false, errors.New("permission denied"))},
			"grant tb-k3f9ab2c has no credentials in the keychain"},
		{"keychain unavailable", func() (credproc.Getter, error) { return nil, errors.New("the file keyring needs a passphrase") },
			credproc.Request{ID: "k3f9ab2c", Expires: now.Add(time.Hour)},
			"grant tb-k3f9ab2c: cannot open the keychain: the file keyring needs a passphrase; call grant_access again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scan := granttest.ScanSecrets(t)
			scan.Add(granttest.CredentialSecrets("the stored grant", storedSecret, storedToken)...)
			var out bytes.Buffer
			err := credproc.Run(&out, tt.open, tt.req, now)
			var r *credproc.Refusal
			if !errors.As(err, &r) {
				t.Fatalf("err = %v, want a *Refusal", err)
			}
			// The refusal is the helper's stderr; only its stdout may
			// carry the credentials.
			scan.Capture("the refusal on stderr", []byte(r.Error()))
			if !strings.Contains(r.Error(), tt.want) {
				t.Errorf("refusal %q lacks %q", r.Error(), tt.want)
			}
			if strings.Contains(r.Error(), "\n") {
				t.Errorf("refusal is not one line: %q", r.Error())
			}
			if out.Len() != 0 {
				t.Errorf("stdout on refusal: %q", out.String())
			}
		})
	}
}

func lookup(e profiles.Entry, found bool, err error) func() (profiles.Entry, bool, error) {
	return func() (profiles.Entry, bool, error) { return e, found, err }
}

func TestParseID(t *testing.T) {
	for _, ok := range []string{"k3f9ab2c", "tb-k3f9ab2c"} {
		if id, err := credproc.ParseID(ok); err != nil || id != "k3f9ab2c" {
			t.Errorf("ParseID(%q) = %q, %v", ok, id, err)
		}
	}
	for _, bad := range []string{"", "tb-", "k3f9ab2c\n", "k3f9ab2c\nx", "k3f9;rm -rf", "K3F9AB2C", "tb-tb-k3f9ab2c", " k3f9ab2c", "../k3f9ab2c", "k3f"} {
		_, err := credproc.ParseID(bad)
		var r *credproc.Refusal
		if !errors.As(err, &r) {
			t.Errorf("ParseID(%q) = %v, want a *Refusal", bad, err)
			continue
		}
		if strings.ContainsAny(r.Error(), "\n\r") || !strings.Contains(r.Error(), "is not a grant id such as tb-k3f9ab2c") {
			t.Errorf("ParseID(%q): %q", bad, r.Error())
		}
	}
}

func TestFormatEscapes(t *testing.T) {
	c := aws.Credentials{AccessKeyID: "A", SecretAccessKey: "ü\x01", SessionToken: "t", Expires: now}
	var got map[string]any
	if err := json.Unmarshal(credproc.Format(c), &got); err != nil || got["SecretAccessKey"] != "ü\x01" {
		t.Errorf("Format with non-ASCII: %v, %v", got, err)
	}
}

func ExampleFormat() {
	fmt.Print(string(credproc.Format(aws.Credentials{
		AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "token",
		Expires: time.Date(2026, 11, 25, 14, 5, 10, 0, time.UTC),
	})))
	// Output: {"Version":1,"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"secret","SessionToken":"token","Expiration":"2026-11-25T14:05:10Z"}
}
