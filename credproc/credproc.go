// Package credproc is the credential_process helper: the AWS CLI or an SDK
// runs it for a tb-<id> profile, and it prints that grant's credentials.
//
// # Contract
//
// On success it writes exactly one JSON object to stdout, in the form of
// [AWS's credential_process] documentation, and nothing else. Otherwise it
// returns a [*Refusal] whose text is one line for stderr: which grant, why,
// and what to do next. It never prints expired credentials, never prompts,
// and on its success path reads one keychain item and nothing else: the AWS
// CLI runs it on every API call once 15 minutes or less remain.
//
// [AWS's credential_process]: https://docs.aws.amazon.com/cli/v1/userguide/cli-configure-sourcing-external.html
package credproc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// Getter reads one grant's credentials; [*keychain.Store] satisfies it.
type Getter interface {
	Get(id string) (aws.Credentials, error)
}

// Request is what the credential_process line says about the grant.
type Request struct {
	// ID is the grant id, without the tb- prefix.
	ID string
	// Expires is the grant's expiry as written into the line; it explains a
	// missing item after a prune.
	Expires time.Time
	// RevokedAt is set when the profile is a revoke tombstone.
	RevokedAt time.Time
	// Lookup reads the grant's section of the profiles file. It is called
	// only when the keychain has no item for the grant, to tell a grant that
	// never existed from one revoked, expired or cleared from the keychain;
	// found is false when no section names the grant. Nil means unknown.
	Lookup func() (e profiles.Entry, found bool, err error)
}

// ParseID reads the --session value of a credential_process line: a grant
// id, with or without the tb- prefix, as revoke takes it. Anything else (a
// newline, a ";", another shape) is a [*Refusal] on one line: the line was
// not written by timebound-iam.
func ParseID(s string) (string, error) {
	id := strings.TrimPrefix(s, profiles.Prefix)
	if !profiles.ValidID(id) {
		return "", refuse("--session %q is not a grant id such as tb-k3f9ab2c, so this credential_process line was not written by timebound-iam; run timebound-iam sessions to list the grants", s)
	}
	return id, nil
}

// Refusal is why the helper prints no credentials. Its Error is the one line
// the AWS CLI shows the agent.
type Refusal struct {
	msg string
}

func (r *Refusal) Error() string { return r.msg }

func refuse(format string, args ...any) *Refusal {
	return &Refusal{msg: fmt.Sprintf(format, args...)}
}

const again = "call grant_access again (or run timebound-iam grant)"

// Run writes the credentials of r's grant to w, or returns a [*Refusal].
// open is called only when the keychain must be read: a revoked grant's
// profile is refused without it.
func Run(w io.Writer, open func() (Getter, error), r Request, now time.Time) error {
	name := "tb-" + r.ID
	if !r.RevokedAt.IsZero() {
		return refuse("grant %s was revoked at %s; %s", name, stamp(r.RevokedAt), again)
	}
	keys, err := open()
	if err != nil {
		return refuse("grant %s: cannot open the keychain: %v; %s", name, err, again)
	}
	c, err := keys.Get(r.ID)
	switch {
	case errors.Is(err, keychain.ErrNotFound) && !r.Expires.IsZero() && !now.Before(r.Expires):
		return refuse("grant %s expired at %s; %s", name, stamp(r.Expires), again)
	case errors.Is(err, keychain.ErrNotFound):
		return missing(r, name, now)
	case err != nil:
		return refuse("grant %s: %v; unlock the keychain, or %s", name, err, again)
	}
	if !now.Before(c.Expires) {
		return refuse("grant %s expired at %s; %s", name, stamp(c.Expires), again)
	}
	_, err = w.Write(Format(c))
	return err
}

// missing is the refusal for a grant whose keychain item is missing, as
// precise as the profiles file allows.
func missing(r Request, name string, now time.Time) *Refusal {
	if r.Lookup != nil {
		e, found, err := r.Lookup()
		switch {
		case err != nil:
		case !found:
			return refuse("grant %s does not exist: no profile in this state directory names it; check the profile name, or %s", name, again)
		case e.Status == profiles.Revoked:
			return refuse("grant %s was revoked at %s; %s", name, stamp(e.Revoked), again)
		case e.Status == profiles.Expired || !now.Before(e.Expires):
			return refuse("grant %s expired at %s; %s", name, stamp(e.Expires), again)
		case e.Status == profiles.Active:
			return refuse("grant %s is live until %s, but its credentials are gone from the keychain (cleared, e.g. by a reboot for keyctl, or deleted by hand); %s", name, stamp(e.Expires), again)
		}
	}
	return refuse("grant %s has no credentials in the keychain (revoked, or the keychain was cleared, e.g. by a reboot for keyctl); %s", name, again)
}

// Format renders c as credential_process JSON, Version 1, with a newline.
// The fields are fixed strings, so it is built by hand: encoding/json would
// cost the hot path a reflection pass for nothing.
func Format(c aws.Credentials) []byte {
	b := make([]byte, 0, 160+len(c.SessionToken))
	b = append(b, `{"Version":1,"AccessKeyId":`...)
	b = appendString(b, c.AccessKeyID)
	b = append(b, `,"SecretAccessKey":`...)
	b = appendString(b, c.SecretAccessKey)
	b = append(b, `,"SessionToken":`...)
	b = appendString(b, c.SessionToken)
	b = append(b, `,"Expiration":"`...)
	b = append(b, stamp(c.Expires)...)
	b = append(b, "\"}\n"...)
	return b
}

// appendString appends s as a JSON string. STS credentials are printable
// ASCII, copied as they are; anything else takes encoding/json's escaping.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
