// Package awsiam is everything that calls IAM: the broker role's trust and
// permission documents and `setup aws --apply` ([ApplyRole]), and the
// AWS-side revoke, a Deny of revoked grants' role sessions on the broker
// role ([DenySessions]).
package awsiam

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/timebound-iam/timebound-iam/grant/config"
)

// NewClient returns an IAM client signed with the base credentials.
func NewClient(ctx context.Context, cfg config.Config) (*iam.Client, error) {
	awsCfg, err := cfg.BaseAWS(ctx)
	if err != nil {
		return nil, err
	}
	return iam.NewFromConfig(awsCfg), nil
}

// decodeDoc undoes the URL encoding IAM applies to policy documents it
// returns.
func decodeDoc(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

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
