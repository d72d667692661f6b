package awsiam

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// checkGolden compares doc with testdata/NAME.json, or rewrites that
// file under -update.
func checkGolden(t *testing.T, name, doc string) {
	t.Helper()
	granttest.Golden(t, filepath.Join("testdata", name+".json"), doc, *update, "go test ./grant/awsiam -run TestRevokedPolicy -update")
}

var revokeNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// TestRevokedPolicyFirst pins the exact document the first revoke --aws
// writes: Deny * on *, the session matched on aws:userid, the expiry
// recorded as the bound on aws:TokenIssueTime.
func TestRevokedPolicyFirst(t *testing.T) {
	doc, pruned, err := revokedPolicy("", []RevokedSession{{ID: "k3f9ab2c", Expires: revokeNow.Add(time.Hour)}}, revokeNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(pruned) != 0 {
		t.Errorf("pruned %v from an empty policy", pruned)
	}
	want := `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "TimeboundIamRevokedk3f9ab2c",
      "Effect": "Deny",
      "Action": "*",
      "Resource": "*",
      "Condition": {
        "StringLike": {
          "aws:userid": "*:timebound-iam-k3f9ab2c"
        },
        "DateLessThan": {
          "aws:TokenIssueTime": "2026-11-25T13:00:00Z"
        }
      }
    }
  ]
}
`
	if diff := cmp.Diff(want, doc); diff != "" {
		t.Errorf("document (-want +got):\n%s", diff)
	}
	checkGolden(t, "revoked_first", strings.TrimSuffix(doc, "\n"))
}

// foreign is a statement someone else put into the policy; it must come back
// unchanged, + and & and key order included.
const foreign = `{"Sid":"BreakGlass","Effect":"Deny","Action":["s3:Delete*","s3:Put+Thing"],"Resource":"arn:aws:s3:::a&b/*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}`

// lookalike has our Sid prefix but a changed action: not ours, so kept even
// though its bound is long past.
const lookalike = `{"Sid":"TimeboundIamRevokedzzzz2222","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringLike":{"aws:userid":"*:timebound-iam-zzzz2222"},"DateLessThan":{"aws:TokenIssueTime":"2020-01-01T00:00:00Z"}}}`

func ours(id string, expires time.Time) string {
	b, _ := json.Marshal(RevokedSession{ID: id, Expires: expires}.statement())
	return string(b)
}

// TestRevokedPolicyMerge: a second revoke adds its session, drops the
// sessions that expired (past the grace), keeps the live ones and every
// statement it did not write, in place.
func TestRevokedPolicyMerge(t *testing.T) {
	existing := fmt.Sprintf(`{"Version":"2012-10-17","Id":"kept-id","Statement":[%s,%s,%s,%s,%s]}`,
		ours("aaaa2222", revokeNow.Add(-time.Hour)), // long expired: pruned
		foreign,
		ours("bbbb3333", revokeNow.Add(30*time.Minute)),            // live: kept
		ours("cccc4444", revokeNow.Add(-revokedGrace+time.Second)), // expired, within the grace: kept
		lookalike)
	doc, pruned, err := revokedPolicy(existing, []RevokedSession{{ID: "dddd5555", Expires: revokeNow.Add(45 * time.Minute)}}, revokeNow)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"aaaa2222"}, pruned); diff != "" {
		t.Errorf("pruned (-want +got):\n%s", diff)
	}
	checkGolden(t, "revoked_merge", strings.TrimSuffix(doc, "\n"))

	var got struct {
		Version, Id string
		Statement   []json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &got); err != nil {
		t.Fatal(err)
	}
	if got.Version != "2012-10-17" || got.Id != "kept-id" || len(got.Statement) != 5 {
		t.Fatalf("Version %q, Id %q, %d statements; want 2012-10-17, kept-id, 5:\n%s", got.Version, got.Id, len(got.Statement), doc)
	}
	want := []string{foreign, ours("bbbb3333", revokeNow.Add(30*time.Minute)), ours("cccc4444", revokeNow.Add(-revokedGrace+time.Second)), lookalike, ours("dddd5555", revokeNow.Add(45*time.Minute))}
	for i, w := range want {
		if !sameJSON(string(got.Statement[i]), w) {
			t.Errorf("statement %d\n got %s\nwant %s", i, got.Statement[i], w)
		}
	}
	if !strings.Contains(doc, `"s3:Put+Thing"`) || !strings.Contains(doc, `arn:aws:s3:::a&b/*`) {
		t.Errorf("the foreign statement's text changed:\n%s", doc)
	}

	t.Run("URL-encoded as IAM returns it", func(t *testing.T) {
		// Client.GetRolePolicy decodes with policyText before the revise.
		again, pruned2, err := revokedPolicy(policyText(url.PathEscape(existing)), []RevokedSession{{ID: "dddd5555", Expires: revokeNow.Add(45 * time.Minute)}}, revokeNow)
		if err != nil || again != doc || len(pruned2) != 1 {
			t.Errorf("from the encoded document: err %v, pruned %v, document differs: %v\n%s", err, pruned2, again != doc, again)
		}
	})
	t.Run("the grace ends", func(t *testing.T) {
		_, pruned, err := revokedPolicy(doc, []RevokedSession{{ID: "eeee6666", Expires: revokeNow.Add(time.Hour)}}, revokeNow.Add(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"cccc4444"}, pruned); diff != "" {
			t.Errorf("pruned (-want +got):\n%s", diff)
		}
	})
}

func TestRevokedPolicyReRevoke(t *testing.T) {
	early, late := revokeNow.Add(20*time.Minute), revokeNow.Add(40*time.Minute)
	existing := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[%s]}`, ours("aaaa2222", early))
	for name, add := range map[string][]RevokedSession{
		"later expiry wins":   {{ID: "aaaa2222", Expires: late}},
		"earlier is ignored":  {{ID: "aaaa2222", Expires: late}, {ID: "aaaa2222", Expires: early}},
		"repeated in one add": {{ID: "aaaa2222", Expires: early}, {ID: "aaaa2222", Expires: late}},
	} {
		t.Run(name, func(t *testing.T) {
			doc, _, err := revokedPolicy(existing, add, revokeNow)
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[%s]}`, ours("aaaa2222", late))
			if !sameJSON(doc, want) {
				t.Errorf("got\n%s\nwant %s", doc, want)
			}
		})
	}
}

func TestRevokedPolicyShapes(t *testing.T) {
	add := []RevokedSession{{ID: "k3f9ab2c", Expires: revokeNow.Add(time.Hour)}}
	t.Run("single statement object, old version", func(t *testing.T) {
		doc, _, err := revokedPolicy(`{"Version":"2008-10-17","Statement":`+foreign+`}`, add, revokeNow)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(`{"Version":"2008-10-17","Statement":[%s,%s]}`, foreign, ours("k3f9ab2c", revokeNow.Add(time.Hour)))
		if !sameJSON(doc, want) {
			t.Errorf("got\n%s\nwant %s", doc, want)
		}
	})
	t.Run("fractional expiry as the profile holds it", func(t *testing.T) {
		doc, _, err := revokedPolicy("", []RevokedSession{{ID: "k3f9ab2c", Expires: revokeNow.Add(time.Hour + 927*time.Millisecond)}}, revokeNow)
		if err != nil || !strings.Contains(doc, `"2026-11-25T13:00:00Z"`) {
			t.Errorf("err %v; want the bound 13:00:00Z:\n%s", err, doc)
		}
	})
	bad := []struct{ name, existing, want string }{
		{"not JSON", `{"Version":`, `inline policy "timebound-iam-revoked" is not a JSON policy document`},
		{"statement not a list", `{"Version":"2012-10-17","Statement":"x"}`, `Statement of the role's inline policy "timebound-iam-revoked" is neither`},
		{"foreign statement with our Sid", `{"Version":"2012-10-17","Statement":[{"Sid":"TimeboundIamRevokedk3f9ab2c","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, `already has a statement with Sid "TimeboundIamRevokedk3f9ab2c" that this tool did not write`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := revokedPolicy(tt.existing, add, revokeNow)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestRevokedPolicySize: the document refuses to outgrow IAM's limit, and
// the count it holds is what the README states.
func TestRevokedPolicySize(t *testing.T) {
	var add []RevokedSession
	fits := 0
	for i := 0; ; i++ {
		add = append(add, RevokedSession{ID: testID(i), Expires: revokeNow.Add(time.Hour)})
		_, _, err := revokedPolicy("", add, revokeNow)
		if err != nil {
			if !strings.Contains(err.Error(), "over the 10240 IAM allows") {
				t.Fatalf("err = %v, want the size limit", err)
			}
			break
		}
		fits = len(add)
	}
	if fits < 45 {
		t.Errorf("only %d revoked sessions fit in one policy; want at least 45", fits)
	}
	t.Logf("%d unexpired revoked sessions fit in %s", fits, RevokedPolicyName)
}

// idAlphabet is the alphabet grant.NewID draws grant ids from.
const idAlphabet = "abcdefghijkmnpqrstuvwxyz23456789"

// testID is the i-th grant id, 8 characters of the real alphabet.
func testID(i int) string {
	b := []byte("aaaaaaaa")
	for j := len(b) - 1; i > 0; j-- {
		b[j] = idAlphabet[i%32]
		i /= 32
	}
	return string(b)
}
