package awsiam

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRevokedPolicyAll pins revoke --aws --all's document: one Deny of every
// session issued before now, replacing the earlier one, next to the
// per-grant statements still needed and the foreign ones, whatever the
// number of grants.
func TestRevokedPolicyAll(t *testing.T) {
	const foreign = `{"Sid":"Mine","Effect":"Deny","Action":"s3:*","Resource":"*"}`
	earlier, _, err := revisePolicy(`{"Version":"2012-10-17","Statement":[`+foreign+`]}`,
		[]RevokedSession{{ID: "k3f9ab2c", Expires: revokeNow.Add(time.Hour)}, {ID: "m4n5p6q7", Expires: revokeNow.Add(time.Minute)}},
		revokeNow.Add(-time.Hour), revokeNow.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(earlier, revokedAllSid); got != 1 {
		t.Fatalf("%d statements %s in\n%s", got, revokedAllSid, earlier)
	}
	later := revokeNow.Add(10 * time.Minute)
	doc, pruned, err := revisePolicy(earlier, nil, later, later)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"m4n5p6q7"}, pruned); diff != "" {
		t.Errorf("pruned (-want +got):\n%s", diff)
	}
	want := `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Mine",
      "Effect": "Deny",
      "Action": "s3:*",
      "Resource": "*"
    },
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
    },
    {
      "Sid": "TimeboundIamRevokedAll",
      "Effect": "Deny",
      "Action": "*",
      "Resource": "*",
      "Condition": {
        "DateLessThan": {
          "aws:TokenIssueTime": "2026-11-25T12:10:00Z"
        }
      }
    }
  ]
}
`
	if diff := cmp.Diff(want, doc); diff != "" {
		t.Errorf("document (-want +got):\n%s", diff)
	}

	t.Run("a later per-grant revoke keeps it until no session it denies lives", func(t *testing.T) {
		kept, _, err := revokedPolicy(doc, []RevokedSession{{ID: "r2s3t4u5", Expires: later.Add(time.Hour)}}, later.Add(time.Minute))
		if err != nil || !strings.Contains(kept, revokedAllSid) {
			t.Errorf("the all-sessions statement is gone (%v):\n%s", err, kept)
		}
		gone, _, err := revokedPolicy(doc, []RevokedSession{{ID: "r2s3t4u5", Expires: later.Add(13 * time.Hour)}}, later.Add(12*time.Hour+revokedGrace))
		if err != nil || strings.Contains(gone, revokedAllSid) {
			t.Errorf("the all-sessions statement outlived every session it denies (%v):\n%s", err, gone)
		}
	})
	t.Run("a foreign statement under its Sid is refused", func(t *testing.T) {
		clash := `{"Statement":[{"Sid":"TimeboundIamRevokedAll","Effect":"Deny","Action":"s3:*","Resource":"*"}]}`
		if _, _, err := revisePolicy(clash, nil, later, later); err == nil || !strings.Contains(err.Error(), "rename or remove it") {
			t.Errorf("err = %v, want a refusal naming the clash", err)
		}
	})
}
