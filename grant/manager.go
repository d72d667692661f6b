// Package grant is the domain of timebound-iam: a [Request] for services at
// levels becomes a grant ([Manager.Grant], or [Manager.Ask] and a [Pending]
// approval), a [Session] held as a keychain item and a tb-<id> profile, which
// [Manager.List], [Manager.Revoke] and [Manager.Prune] look after, with an
// audit event for each step. Its front-ends are the CLI and grant/mcpserver.
package grant

import (
	"context"
	"log/slog"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// TombstoneTTL is how long a revoked or expired grant's profile stays, so the
// helper can explain its refusal instead of the AWS CLI's "profile not found".
const TombstoneTTL = 24 * time.Hour

// Manager carries out grants, listings, revokes and prunes. Its fields are its
// dependencies; all are required except Log, NewID and IAM.
type Manager struct {
	Config   config.Config
	STS      AssumeRoler
	Keys     *keychain.Store
	Profiles *profiles.File
	// Exe is the absolute path of this binary, run by credential_process.
	Exe string
	Now func() time.Time
	// Log receives one line per grant, revoke and prune; nil discards.
	Log *slog.Logger
	// NewID makes grant ids; nil uses [NewID].
	NewID func() (string, error)
	// IAM returns the client [Manager.DenyAtAWS] writes the broker role's
	// deny policy with; it is called only then. Nil makes that fail.
	IAM func(context.Context) (awsiam.RolePolicyAPI, error)
	// Audit receives one event per request, decision, grant, refusal,
	// revoke and prune; nil records nothing.
	Audit Auditor
	// Changed, when set, is called after each grant and revoke, so that
	// [Manager.PruneAtExpiry] can look at the expiries again. It must not
	// block.
	Changed func()

	// codes are the MFA codes this Manager sent lately, refused a second
	// time before STS.
	codes usedCodes
}

func (m *Manager) changed() {
	if m.Changed != nil {
		m.Changed()
	}
}

// Auditor appends events to the audit log. Append returns only once the
// event is durable: a grant whose "granted" event cannot be written is
// rolled back.
type Auditor interface {
	Append(audit.Event) error
}

// Record appends e, stamped with the time now, to the audit log. The grant
// use cases record every event themselves; see [Manager.Ask] for those before
// a grant.
func (m *Manager) Record(e audit.Event) error {
	if m.Audit == nil {
		return nil
	}
	e.Time = m.Now().UTC()
	return m.Audit.Append(e)
}

func (m *Manager) log() *slog.Logger {
	if m.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Log
}
