package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/timebound-iam/timebound-iam/credproc"
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
	if errors.As(err, &h) {
		fmt.Fprintf(w, "%s: hint: %s\n", prog, h.hint)
	}
	return 1
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
