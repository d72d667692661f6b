package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	for _, name := range []string{"session", "home"} {
		if c.String(name) == "" {
			return withHint(fmt.Errorf("credential-process needs --%s", name), "this command is run from a tb-<id> profile's credential_process line; run timebound-iam grant to write one")
		}
	}
	id, err := credproc.ParseID(c.String("session"))
	if err != nil {
		return err
	}
	home := c.String("home")
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
	if t := c.Timestamp("expires"); t != nil {
		r.Expires = *t
	}
	if t := c.Timestamp("revoked-at"); t != nil {
		r.RevokedAt = *t
	}
	open := func() (credproc.Getter, error) {
		return keychain.Open(keychain.Options{Backend: c.String("backend"), Dir: home, Passphrase: os.Getenv(keychain.PassphraseEnv)})
	}
	return credproc.Run(c.App.Writer, open, r, time.Now())
}
