package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"golang.org/x/term"
)

// approveOnTerminal asks the person at the terminal on stdin to approve p,
// showing the request on stderr, and records the answer. "y" approves as
// asked, a duration such as 30m approves a shorter grant, and anything else,
// no answer within the approval timeout, or ctx ending declines. A grant
// that goes to the MFA role then asks for the device's code, read without
// echo. Without a terminal nobody can be asked, so the grant is refused: no
// flag answers for the person.
func approveOnTerminal(ctx context.Context, m *grant.Manager, p *grant.Pending, stdin io.Reader, stderr io.Writer) error {
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		p.Decline(grant.ApproverTerminal, "no terminal")
		return withHint(fmt.Errorf("this grant (%s) needs approval, and stdin is not a terminal to ask on; no grant was made", grantText(p)),
			"run it in a terminal, where you are asked to approve it; or %s", m.Config.ChangeHint("approval", m.Config.ApprovalSetting()))
	}
	fmt.Fprintf(stderr, "%s: this grant needs your approval:\n", prog)
	for _, line := range strings.SplitAfter(strings.TrimSuffix(p.Prompt.String(), "\n"), "\n") {
		fmt.Fprintf(stderr, "  %s", line)
	}
	fmt.Fprintf(stderr, "\nApprove? [y/N, or a shorter ttl such as %s] ", config.ShortDuration(config.MinTTL))

	timeout := m.Config.ApprovalWait()
	answer := make(chan string, 1)
	go func() { answer <- readLine(f) }()
	var line string
	select {
	case line = <-answer:
	case <-time.After(timeout):
		fmt.Fprintln(stderr)
		p.Decline(grant.ApproverTerminal, "timed out")
		return fmt.Errorf("no answer within %s; no grant was made", config.ShortDuration(timeout))
	case <-ctx.Done():
		fmt.Fprintln(stderr)
		p.Decline(grant.ApproverTerminal, "interrupted")
		return errors.New("interrupted before the grant was approved; no grant was made")
	}
	line = strings.TrimSpace(line)
	var ttl time.Duration
	switch strings.ToLower(line) {
	case "y", "yes":
	default:
		d, err := time.ParseDuration(line)
		if err != nil {
			p.Decline(grant.ApproverTerminal, "declined")
			return fmt.Errorf("not approved (answer %q); no grant was made", line)
		}
		ttl = d
	}
	if p.MFASerial == "" {
		return p.Approve(grant.ApproverTerminal, ttl)
	}
	code, err := readMFACode(ctx, p, f, stderr, timeout)
	if err != nil {
		return err
	}
	return p.ApproveWithCode(grant.ApproverTerminal, ttl, code)
}

// readMFACode asks for the code of p's MFA device on the terminal f, and
// reads it without echo. No answer within timeout, or ctx ending, declines
// p; the terminal gets its echo back either way.
func readMFACode(ctx context.Context, p *grant.Pending, f *os.File, stderr io.Writer, timeout time.Duration) (string, error) {
	fd := int(f.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		p.Decline(grant.ApproverTerminal, "the MFA code could not be read")
		return "", fmt.Errorf("reading the terminal's settings for the MFA code: %w; no grant was made", err)
	}
	fmt.Fprintf(stderr, "MFA code for %s: ", p.MFASerial)
	type read struct {
		code []byte
		err  error
	}
	answer := make(chan read, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		answer <- read{b, err}
	}()
	var r read
	select {
	case r = <-answer:
	case <-time.After(timeout):
		_ = term.Restore(fd, state)
		fmt.Fprintln(stderr)
		p.Decline(grant.ApproverTerminal, "timed out waiting for the MFA code")
		return "", fmt.Errorf("no MFA code within %s; no grant was made", config.ShortDuration(timeout))
	case <-ctx.Done():
		_ = term.Restore(fd, state)
		fmt.Fprintln(stderr)
		p.Decline(grant.ApproverTerminal, "interrupted")
		return "", errors.New("interrupted before the MFA code was given; no grant was made")
	}
	// The person's Enter was not echoed.
	fmt.Fprintln(stderr)
	if r.err != nil {
		p.Decline(grant.ApproverTerminal, "the MFA code could not be read")
		return "", fmt.Errorf("reading the MFA code: %w; no grant was made", r.err)
	}
	code := strings.TrimSpace(string(r.code))
	clear(r.code)
	return code, nil
}

// readLine reads up to a newline one byte at a time, so that none of what
// follows is taken from a command that exec runs on the same stdin.
func readLine(f *os.File) string {
	var b strings.Builder
	var c [1]byte
	for {
		n, err := f.Read(c[:])
		if n == 1 {
			if c[0] == '\n' {
				break
			}
			b.WriteByte(c[0])
		}
		if err != nil {
			break
		}
	}
	return b.String()
}

// grantText is "s3 full, logs read_only for 30m".
func grantText(p *grant.Pending) string {
	return grant.AccessText(p.Request.Access) + " for " + config.ShortDuration(p.Request.TTL)
}
