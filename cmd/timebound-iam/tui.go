package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/timebound-iam/timebound-iam/credproc"
	tbconfig "github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/urfave/cli/v2"
)

// All human-facing error text leaves through this file, on stderr, as
//
//	timebound-iam: error: <what failed>
//	timebound-iam: hint: <what to do>
const prog = "timebound-iam"

// hinted is an error with a next step for the user.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

func withHint(err error, format string, args ...any) error {
	return &hinted{err: err, hint: fmt.Sprintf(format, args...)}
}

// exitStatus is an error that sets the exit code: exec ends with its
// command's. err, when not nil, is reported first.
type exitStatus struct {
	code int
	err  error
}

func (e *exitStatus) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit status %d", e.code)
}

func (e *exitStatus) Unwrap() error { return e.err }

// report prints err and returns the exit code.
func report(w io.Writer, err error) int {
	var status *exitStatus
	if errors.As(err, &status) {
		if status.err != nil {
			report(w, status.err)
		}
		return status.code
	}
	var refusal *credproc.Refusal
	if errors.As(err, &refusal) {
		// One line: the AWS CLI shows it verbatim after its own prefix.
		fmt.Fprintf(w, "%s: %s\n", prog, refusal)
		return 1
	}
	fmt.Fprintf(w, "%s: error: %s\n", prog, err)
	var h *hinted
	var creds *tbconfig.CredentialsError
	switch {
	case errors.As(err, &h):
		fmt.Fprintf(w, "%s: hint: %s\n", prog, h.hint)
	case errors.As(err, &creds):
		fmt.Fprintf(w, "%s: hint: %s\n", prog, credentialsHint(creds))
	}
	return 1
}

// credentialsHint says how to give timebound-iam the base credentials that
// e found missing or could not load.
func credentialsHint(e *tbconfig.CredentialsError) string {
	var notExist config.SharedConfigProfileNotExistError
	switch {
	case errors.As(e.Err, &notExist):
		return fmt.Sprintf("create it with aws configure --profile %s (or aws configure sso), or name an existing profile with source_profile in %s; then run %s doctor", e.Profile, e.Settings, prog)
	case e.Nothing:
		return fmt.Sprintf("run aws configure (access keys) or aws sso login (IAM Identity Center), or name a profile that has credentials with source_profile in %s; then run %s doctor", e.Settings, prog)
	}
	return fmt.Sprintf("for IAM Identity Center run aws sso login --profile %s; aws sts get-caller-identity --profile %s shows what the profile resolves to; %s doctor checks the rest", e.Profile, e.Profile, prog)
}

// printJSON writes a command's --json result: one indented object.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // usage holds <command>
	return enc.Encode(v)
}

func usageError(c *cli.Context, err error, _ bool) error {
	name := prog
	if c.Command != nil && c.Command.Name != "" {
		name += " " + c.Command.Name
	}
	return withHint(err, "run %s --help", name)
}
