package awsiam

import (
	"bytes"
	"context"
	"encoding/json"
	"time"
)

// Revoking every session. revoke --aws --all follows AWS's own "Revoke
// active sessions" of the IAM console: one Deny of every action on every
// resource for the role's sessions whose aws:TokenIssueTime is before the
// moment of the revoke. It goes into the same [RevokedPolicyName] policy as
// the per-grant statements and replaces any earlier statement of its kind,
// so the policy does not grow with the number of grants. It ends every
// session of the broker role issued until then, whoever asked for it: other
// state directories' and other machines' grants too.
//
// The bound is this machine's clock. A clock running behind AWS's puts it
// before the issue time of the newest sessions, which it then misses;
// doctor checks the skew against STS. A clock running ahead denies the
// grants of the next minutes too, which only takes access away.

// revokedAllSid is the Sid of the statement that denies every earlier session.
const revokedAllSid = revokedSidPrefix + "All"

// maxSessionLife is the longest an STS AssumeRole session lives (12 hours):
// a bound older than that, and the clock-skew grace, denies nothing alive.
const maxSessionLife = 12 * time.Hour

type revokedAllStatement struct {
	Sid       string `json:"Sid"`
	Effect    string `json:"Effect"`
	Action    string `json:"Action"`
	Resource  string `json:"Resource"`
	Condition struct {
		DateLessThan map[string]string `json:"DateLessThan"`
	} `json:"Condition"`
}

// allStatement denies every session of the role issued before t.
func allStatement(t time.Time) revokedAllStatement {
	st := revokedAllStatement{Sid: revokedAllSid, Effect: "Deny", Action: "*", Resource: "*"}
	st.Condition.DateLessThan = map[string]string{"aws:TokenIssueTime": wholeSecond(t).Format(time.RFC3339)}
	return st
}

// parseRevokedAll returns the bound of a statement [allStatement] wrote; one
// that only looks like it is not ours.
func parseRevokedAll(raw json.RawMessage) (time.Time, bool) {
	var st revokedAllStatement
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if dec.Decode(&st) != nil || st.Sid != revokedAllSid {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, st.Condition.DateLessThan["aws:TokenIssueTime"])
	if err != nil {
		return time.Time{}, false
	}
	want, _ := json.Marshal(allStatement(t))
	if !sameJSON(string(raw), string(want)) {
		return time.Time{}, false
	}
	return t, true
}

// allExpired reports whether every session a bound t denies has expired.
func allExpired(t, now time.Time) bool {
	return !now.Before(wholeSecond(t).Add(maxSessionLife + revokedGrace))
}

// DenyAllSessions denies every session of the role roleARN issued before now
// with one statement in its [RevokedPolicyName] policy, replacing any earlier
// such statement, and drops the per-grant statements of sessions that have
// expired, returning their ids. The read, merge and write happen under the
// file lock lockPath. It does not revoke locally: the caller has.
func DenyAllSessions(ctx context.Context, api RolePolicyAPI, roleARN, lockPath string, now time.Time) (pruned []string, err error) {
	return writeRevoked(ctx, api, roleARN, lockPath, nil, now, now)
}
