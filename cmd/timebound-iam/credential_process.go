package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/timebound-iam/timebound-iam/credproc"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
	"github.com/urfave/cli/v2"
)

func credentialProcessCommand() *cli.Command {
	return &cli.Command{
		Name:  "credential-process",
		Usage: "print a grant's credentials for the AWS CLI (run by credential_process; not for people)",
		Description: "The AWS CLI and SDKs run this from a tb-<id> profile. It prints the credential_process JSON\n" +
			"until the grant expires, and otherwise exits 1 with one line on stderr saying why.",
		Flags: []cli.Flag{
			// Checked in the action, not with Required: urfave/cli would print
			// the help text to stdout, where the AWS CLI expects JSON.
			&cli.StringFlag{Name: "session", Usage: "grant `ID`, tb-<id> or <id> (required)"},
			&cli.StringFlag{Name: "home", Usage: "state `DIR` (required)"},
			&cli.StringFlag{Name: "backend", Usage: "keychain backend holding the grant"},
			&cli.TimestampFlag{Name: "expires", Layout: time.RFC3339, Usage: "the grant's expiry (RFC 3339)"},
			&cli.TimestampFlag{Name: "revoked-at", Layout: time.RFC3339, Usage: "set on a revoked grant's profile"},
		},
		Action: credentialProcess,
	}
}

func credentialProcess(c *cli.Context) error {
	return serveCredentials(c.App.Writer, cpArgs{
		session: c.String("session"), home: c.String("home"), backend: c.String("backend"),
		expires: c.Timestamp("expires"), revokedAt: c.Timestamp("revoked-at"),
	})
}

// cpArgs are credential-process's flags.
type cpArgs struct {
	session, home, backend string
	expires, revokedAt     *time.Time
}

// quickCredentialProcess parses args when they are credential-process with
// only its own flags, each once, as a tb- profile's line writes them; ok is
// false for anything else (help, a flag it does not know, a bad time),
// which urfave/cli then parses and reports as for every command. Setting up
// urfave/cli's app and flag set is about 0.9 ms of a call that the AWS CLI
// makes on every command of a tb- profile.
func quickCredentialProcess(args []string) (a cpArgs, ok bool) {
	if len(args) < 2 || args[1] != "credential-process" {
		return cpArgs{}, false
	}
	seen := map[string]bool{}
	for rest := args[2:]; len(rest) > 0; {
		name, value, inline := strings.Cut(strings.TrimPrefix(rest[0], "--"), "=")
		if !strings.HasPrefix(rest[0], "--") || seen[name] {
			return cpArgs{}, false
		}
		rest = rest[1:]
		if !inline {
			if len(rest) == 0 {
				return cpArgs{}, false
			}
			value, rest = rest[0], rest[1:]
		}
		seen[name] = true
		switch name {
		case "session":
			a.session = value
		case "home":
			a.home = value
		case "backend":
			a.backend = value
		case "expires", "revoked-at":
			t, err := time.Parse(time.RFC3339, value)
			if err != nil {
				return cpArgs{}, false
			}
			if name == "expires" {
				a.expires = &t
			} else {
				a.revokedAt = &t
			}
		default:
			return cpArgs{}, false
		}
	}
	return a, true
}

func serveCredentials(w io.Writer, a cpArgs) error {
	for _, f := range []struct{ name, value string }{{"session", a.session}, {"home", a.home}} {
		if f.value == "" {
			return withHint(fmt.Errorf("credential-process needs --%s", f.name), "this command is run from a tb-<id> profile's credential_process line; run timebound-iam grant to write one")
		}
	}
	id, err := credproc.ParseID(a.session)
	if err != nil {
		return err
	}
	home := a.home
	r := credproc.Request{ID: id, Lookup: func() (profiles.Entry, bool, error) {
		set, err := (&profiles.File{Path: filepath.Join(home, config.AWSConfigName), Home: home}).Read()
		if err != nil {
			return profiles.Entry{}, false, err
		}
		e, ok := set.Get(id)
		if !ok && set.Has(id) {
			return e, false, errors.New("its profile cannot be read")
		}
		return e, ok, nil
	}}
	if a.expires != nil {
		r.Expires = *a.expires
	}
	if a.revokedAt != nil {
		r.RevokedAt = *a.revokedAt
	}
	open := func() (credproc.Getter, error) {
		return keychain.Open(keychain.Options{Backend: a.backend, Dir: home, Passphrase: os.Getenv(keychain.PassphraseEnv)})
	}
	return credproc.Run(w, open, r, time.Now())
}
