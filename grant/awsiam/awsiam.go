// Package awsiam is everything that calls IAM: the broker role's trust and
// permission documents and `setup aws --apply` ([ApplyRole]), and the
// AWS-side revoke, a Deny of revoked grants' role sessions on the broker
// role ([DenySessions]).
package awsiam

import (
	"encoding/json"
	"reflect"
)

// sameJSON compares two policy documents by meaning, not by spacing.
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func indent(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b) + "\n"
}

func compactLen(doc string) int {
	var v any
	_ = json.Unmarshal([]byte(doc), &v)
	b, _ := json.Marshal(v)
	return len(b)
}

// SessionName is the RoleSessionName of grant id's AssumeRole; the AWS-side
// revoke denies it by that name.
func SessionName(id string) string { return "timebound-iam-" + id }
