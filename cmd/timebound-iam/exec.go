package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/urfave/cli/v2"
)

func execCommand() *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "grant access, run a command with profile tb-<id>, and revoke the grant when it ends",
		ArgsUsage: "-- COMMAND [ARG...]",
		Description: "Grants as grant does, then runs COMMAND with AWS_CONFIG_FILE set to the dedicated AWS\n" +
			"config file and AWS_PROFILE=tb-<id>. Access keys in the environment would beat\n" +
			"AWS_PROFILE, so COMMAND gets none: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,\n" +
			"AWS_SESSION_TOKEN and the other variables that choose credentials or a profile are\n" +
			"removed, and no secret is put in their place.\n\n" +
			"SIGINT, SIGTERM, SIGHUP and SIGQUIT are passed on to COMMAND. When COMMAND ends, however\n" +
			"it ends, the grant is revoked unless --keep is given, and exec exits with COMMAND's exit\n" +
			"code: 128+N if signal N ended it, 127 if it was not found, 126 if it could not be run.\n" +
			"A grant whose COMMAND never ran, because it could not or exec was interrupted first, is\n" +
			"revoked even with --keep. stdout is COMMAND's; exec writes only to stderr: errors, and\n" +
			"with --keep the profile to reuse.\n\n" +
			approvalHelp + "\n\n" +
			"Examples:\n" +
			"  timebound-iam exec -s s3 -t 15m -- aws s3 ls s3://my-bucket\n" +
			"  timebound-iam exec -s s3:full -s logs --keep -- ./deploy.sh --stage test",
		Flags: append(append(grantFlags(),
			&cli.BoolFlag{Name: "keep", Usage: "keep the grant when COMMAND ends, and print its profile on stderr"},
		), configFlags()...),
		Action: execAction,
	}
}

// execInput is what exec is asked to do.
type execInput struct {
	grant   grantInput
	keep    bool
	command []string
}

func execAction(c *cli.Context) error {
	in := execInput{grant: grantInputFrom(c), keep: c.Bool("keep"), command: c.Args().Slice()}
	if len(in.command) == 0 {
		return withHint(errors.New("no command given"), "put it after --, e.g. timebound-iam exec -s s3 -t 15m -- aws s3 ls")
	}
	m, err := newManager(c, true, cliLogger(c))
	if err != nil {
		return err
	}
	return runExec(c.Context, m, in, os.Environ(), c.App.Reader, c.App.Writer, c.App.ErrWriter)
}

// forwarded are the signals exec passes on to its command. Once they are
// caught, none of them ends exec before the command has ended and the grant
// is revoked.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// runExec grants in.grant, runs in.command with the grant's profile in
// environ as changed by [childEnv], and revokes the grant once the command
// has ended, unless in.keep. Its error is an [exitStatus] carrying the
// command's exit code.
func runExec(ctx context.Context, m *grant.Manager, in execInput, environ []string, stdin io.Reader, stdout, stderr io.Writer) error {
	name := in.command[0]
	// A command that is not there is found out before any grant is made.
	if _, err := exec.LookPath(name); err != nil {
		return &exitStatus{code: startCode(err), err: withHint(startError(name, err), "no grant was made; check the name, or give the command's path")}
	}

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	// A signal during the grant cancels its STS call; one that comes too
	// late for that still waits in sigs, and the grant is revoked.
	grantCtx, stop := signal.NotifyContext(ctx, forwarded...)
	s, r, err := grantFrom(grantCtx, m, in.grant, stdin, stderr)
	stop()
	select {
	case sig := <-sigs:
		// Interrupted, exec ends as the command would have, quietly.
		var revokeErr error
		if err == nil {
			revokeErr = revokeAfter(ctx, m, s, "exec was interrupted")
		}
		return &exitStatus{code: signalCode(sig), err: revokeErr}
	default:
	}
	if err != nil {
		return err
	}

	cmd := exec.Command(name, in.command[1:]...)
	cmd.Env = childEnv(environ, m.Config.AWSConfigFile(), s.Profile())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if err := cmd.Start(); err != nil {
		code, err := startCode(err), startError(name, err)
		if revokeErr := revokeAfter(ctx, m, s, name+" did not start"); revokeErr != nil {
			report(stderr, err)
			return &exitStatus{code: code, err: revokeErr}
		}
		return &exitStatus{code: code, err: withHint(err, "%s was revoked; check that the file is a program, or a script whose #! line names one", s.Profile())}
	}
	code, err := waitChild(cmd, sigs)
	if err != nil {
		// Not knowing how the command ended is no reason to keep its grant.
		report(stderr, err)
	}
	if in.keep {
		printGrant(stderr, prog+": ", "kept", m, s, r.TTL)
		return status(code, nil)
	}
	return status(code, revokeAfter(ctx, m, s, name+" ended"))
}

// status is the error that makes exec exit with code, after reporting err.
// A failed revoke makes even a command that succeeded end exec with 1.
func status(code int, err error) error {
	if err != nil && code == 0 {
		code = 1
	}
	if code == 0 {
		return nil
	}
	return &exitStatus{code: code, err: err}
}

// waitChild passes sigs on to the started cmd until it has ended, and
// returns its exit code: 128+N if signal N ended it. The error is for a
// wait that failed, when the code is 1.
func waitChild(cmd *exec.Cmd, sigs <-chan os.Signal) (int, error) {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				// This fails only once the command has exited.
				_ = cmd.Process.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	ps := cmd.ProcessState
	if ps == nil {
		return 1, fmt.Errorf("waiting for %q: %w", cmd.Args[0], err)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return signalCode(ws.Signal()), nil
	}
	return ps.ExitCode(), nil
}

// signalCode is the exit code a shell gives a process ended by sig.
func signalCode(sig os.Signal) int {
	if n, ok := sig.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 1
}

// startCode is the exit code a shell gives a command that it cannot find
// (127) or cannot run (126).
func startCode(err error) int {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return 127
	}
	return 126
}

// startError says why name could not be run, without Go's "fork/exec" or
// "exec:" wording.
func startError(name string, err error) error {
	var execErr *exec.Error
	var pathErr *fs.PathError
	switch {
	case errors.As(err, &execErr):
		err = execErr.Err
	case errors.As(err, &pathErr) && strings.HasPrefix(pathErr.Op, "fork/exec"):
		err = pathErr.Err
	}
	return fmt.Errorf("cannot run %q: %v", name, err)
}

// revokeAfter revokes s, which exec made; why says what ended its use.
func revokeAfter(ctx context.Context, m *grant.Manager, s grant.Session, why string) error {
	if _, err := m.Revoke(ctx, []string{s.ID}); err != nil {
		return withHint(fmt.Errorf("%s, but revoking %s failed: %w", why, s.Profile(), err),
			"run timebound-iam revoke %s; until then it works until %s", s.Profile(), m.Output(s).ExpiresAt)
	}
	return nil
}

// hiddenFromChild are the variables that would choose credentials or a
// profile other than the grant's. With access keys in the environment the
// AWS CLI and botocore ignore AWS_PROFILE; botocore reads
// AWS_DEFAULT_PROFILE before AWS_PROFILE, and takes web identity settings
// from the environment before a profile's credential_process.
var hiddenFromChild = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_SECURITY_TOKEN",               // botocore's older name for the session token
	"AWS_ACCESS_KEY", "AWS_SECRET_KEY", // the Go and Java SDKs' other names for the keys
	"AWS_CREDENTIAL_EXPIRATION",
	"AWS_DEFAULT_PROFILE",
	"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
	"AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SDK_LOAD_CONFIG", // set by childEnv
}

// childEnv is environ without [hiddenFromChild] and with the grant's
// profile. AWS_SDK_LOAD_CONFIG=1 makes aws-sdk-go v1 programs read the
// config file, where the profile is; later SDKs always do.
func childEnv(environ []string, configFile, profile string) []string {
	env := make([]string, 0, len(environ)+3)
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !hidden(k) {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_CONFIG_FILE="+configFile, "AWS_PROFILE="+profile, "AWS_SDK_LOAD_CONFIG=1")
}

// hidden reports whether k is one of [hiddenFromChild], in any case: Windows
// does not tell them apart.
func hidden(k string) bool {
	for _, h := range hiddenFromChild {
		if strings.EqualFold(k, h) {
			return true
		}
	}
	return false
}
