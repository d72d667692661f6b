// Package profiles reads and writes the dedicated AWS config file that holds
// one [profile tb-<id>] section per grant.
//
// # The file
//
// Each section carries the credential_process line that runs this binary, the
// region, and non-secret metadata (tb_* keys, which the AWS CLI and SDKs
// ignore) so that listing grants never reads the keychain. Sections that are
// not ours, comments and blank lines are kept byte for byte: writes splice
// text, they never re-serialise the whole file.
//
// # Writes
//
// [File.Update] holds an exclusive lock (path + ".lock") across read, change
// and write, and writes atomically: a 0600 temporary file in the same
// directory, fsync, rename. Readers need no lock.
package profiles

import (
	"time"
)

// Prefix starts every profile name this package owns.
const Prefix = "tb-"

// Status is where a grant stands.
type Status string

// The states of a grant. Revoked and expired sections stay as tombstones so
// the helper can explain why it refuses.
const (
	Active  Status = "active"
	Revoked Status = "revoked"
	Expired Status = "expired"
)

// Access is one service at one level, e.g. {"s3", "read_only"}.
type Access struct {
	Service string
	Level   string
}

// Helper is what credential_process runs: this binary, the state directory
// and the keychain backend that holds the grant's item.
type Helper struct {
	Exe     string // absolute path of the binary
	Home    string // state directory
	Backend string // keychain backend name
}

// Entry is one grant's section.
type Entry struct {
	ID      string
	Region  string
	Access  []Access
	Helper  Helper
	Status  Status
	Created time.Time
	Expires time.Time
	Revoked time.Time // zero unless Status is Revoked
	// Resources are the ARNs the grant is narrowed to, each a
	// [SafeResource]; none means every resource.
	Resources []string
	// Role is the ARN of the broker role the grant assumed, a
	// [SafeResource]; empty in sections written before it was recorded.
	Role string
}

// Name is the profile name, "tb-<id>".
func (e Entry) Name() string { return Prefix + e.ID }

// Ended reports when a tombstone's grant stopped working: the revoke time or
// the expiry.
func (e Entry) Ended() time.Time {
	if e.Status == Revoked {
		return e.Revoked
	}
	return e.Expires
}

// Live reports whether the grant is usable at now.
func (e Entry) Live(now time.Time) bool {
	return e.Status == Active && now.Before(e.Expires)
}
