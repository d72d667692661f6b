// Package audit is the append-only record of every grant decision: one JSON
// line per event in the state directory, each holding the SHA-256 of the line
// before it, so that an edited, removed or reordered line is found.
package audit

import "time"

// The kinds of [Event].
const (
	Requested = "requested" // a grant was asked for
	Approved  = "approved"  // a person approved it
	Declined  = "declined"  // a person declined it, cancelled, or did not answer
	Granted   = "granted"   // the credentials are in the keychain and the profile is written
	Refused   = "refused"   // the grant was not made; Detail says why
	Revoked   = "revoked"   // a live grant was ended on request
	Pruned    = "pruned"    // an expired grant's keychain item was deleted
	// Failed: a revoke could not delete a grant's keychain item, which
	// stays; Detail says why.
	Failed = "failed"
)

// Event is one entry before it is chained. It never holds a secret: at most
// the access key id's last 4 characters, in AccessKey.
type Event struct {
	Time     time.Time         `json:"time"`
	Event    string            `json:"event"`
	Session  string            `json:"session,omitempty"`  // tb-<id>
	Services []string          `json:"services,omitempty"` // in request order
	Levels   map[string]string `json:"levels,omitempty"`   // service -> level
	TTL      string            `json:"ttl,omitempty"`
	Reason   string            `json:"reason,omitempty"` // the requester's stated reason
	Client   string            `json:"client,omitempty"` // MCP client name from initialize, or "cli"
	// Approver is the channel a decision came through: "elicitation" (the
	// MCP client's form), "terminal" (the CLI's prompt) or "policy" (the
	// config's approval setting needed no person).
	Approver  string `json:"approver,omitempty"`
	Detail    string `json:"detail,omitempty"`     // a refusal's or decline's reason
	AccessKey string `json:"access_key,omitempty"` // masked: ****ABCD
}
