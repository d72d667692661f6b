// Command demo replays the seed scenario of issue 3 with the real
// timebound-iam binary, a real MinIO as STS and S3, the real AWS CLI v2 and
// an MCP client on the official TypeScript SDK, and prints what happens as a
// terminal transcript. `make demo` installs the rig and runs it:
//
//	go run ./cmd/timebound-iam/internal/demo -bin bin/timebound-iam
//
// It is also a check: it exits 1 when a step does not behave as the
// transcript says, or when a secret would reach its output. MinIO and the
// MCP client are stopped on every exit path, SIGINT, SIGTERM and SIGHUP
// included; on Linux a SIGKILL of the demo takes MinIO with it too.
package main

import (
	// dbusguard must initialise before keyring dials D-Bus in its init; see
	// its package doc.
	_ "github.com/timebound-iam/timebound-iam/keychain/dbusguard"

	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// awsCLI is the Debian package's AWS CLI v2; the `aws` first on PATH may be
// a pip AWS CLI v1.
const awsCLI = "/usr/bin/aws"

func main() {
	bin := flag.String("bin", "bin/timebound-iam", "the timebound-iam `binary` to demonstrate")
	flag.Parse()
	var st stopper
	sigs := make(chan os.Signal, 1)
	// SIGHUP: a closed terminal or ssh session. SIGPIPE: a closed stdout
	// (make demo | head). Either would otherwise kill the demo without
	// stopping MinIO.
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "demo: %v: stopping MinIO and the MCP client\n", s)
		st.interrupt(128 + int(s.(syscall.Signal)))
		os.Exit(st.code())
	}()
	if err := run(*bin, &st); err != nil {
		if st.interrupted() {
			// The step failed because the handler stopped everything;
			// stop waits for it to finish.
			st.stop()
			os.Exit(st.code())
		}
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

// demo is the world the steps share.
type demo struct {
	ctx        context.Context // cancelled on stop: ends a running aws
	t          *transcript
	m          *granttest.MinIO
	sc         granttest.Scenario
	grants     []grant.GrantOutput // in the order granted
	mcp        *granttest.MCPClient
	serverLog  *syncBuffer
	tmp        string
	state      string // TIMEBOUND_IAM_HOME
	awsEnv     []string
	passphrase string
}

func run(bin string, st *stopper) error {
	defer st.stop()
	began := time.Now()
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%v; build it with make build", err)
	}
	if _, err := os.Stat(awsCLI); err != nil {
		return fmt.Errorf("the AWS CLI v2 is missing at %s: run sh .ci/rig", awsCLI)
	}
	rig, err := granttest.FindRig()
	if err != nil {
		return err
	}
	d := &demo{t: &transcript{w: os.Stdout}, serverLog: &syncBuffer{}}
	err = st.start(func() (func(), error) {
		tmp, err := os.MkdirTemp("", "timebound-iam-demo-")
		d.tmp = tmp
		return func() { removeAll(tmp) }, err
	})
	if err != nil {
		return err
	}
	err = st.start(func() (func(), error) {
		dir := filepath.Join(d.tmp, "minio")
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, err
		}
		m, err := rig.StartMinIO(dir)
		if err != nil {
			return nil, err
		}
		d.m = m
		return func() { m.Close() }, nil
	})
	if err != nil {
		return err
	}
	if d.sc, err = granttest.SeedScenario(d.m); err != nil {
		return fmt.Errorf("seeding MinIO: %w", err)
	}
	d.t.secret(d.m.RootPassword, d.sc.Broker.SecretAccessKey, d.sc.WriterBroker.SecretAccessKey)

	home := filepath.Join(d.tmp, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		return err
	}
	env := d.m.Env(home, d.sc.Broker)
	d.state = envValue(env, "TIMEBOUND_IAM_HOME")
	d.passphrase = envValue(env, "TIMEBOUND_IAM_FILE_PASSPHRASE")
	d.t.secret(d.passphrase)
	err = st.start(func() (func(), error) {
		// The user at the MCP client approves what the server asks about.
		c, err := rig.StartMCPClient(d.tmp, "timebound-iam-demo", append(env, "MCPCLIENT_ELICIT=accept"), d.serverLog, bin, "serve")
		if err != nil {
			return nil, err
		}
		d.mcp = c
		return func() {
			if err := c.Close(); err != nil {
				fmt.Fprintf(os.Stderr, "demo: stopping the MCP client: %v\n", err)
			}
		}, nil
	})
	if err != nil {
		return err
	}

	err = st.start(func() (func(), error) {
		ctx, cancel := context.WithCancel(context.Background())
		d.ctx = ctx
		return cancel, nil
	})
	if err != nil {
		return err
	}

	d.intro(bin)
	for i, step := range []func() error{d.step1, d.step2, d.step3, d.step4, d.step5, d.step6} {
		if err := step(); err != nil {
			if log := strings.TrimSpace(d.serverLog.String()); log != "" && !st.interrupted() {
				fmt.Fprintf(os.Stderr, "demo: timebound-iam serve's log:\n%s\n", log)
			}
			return fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	if d.t.leaks(d.serverLog.String()) {
		return errors.New("a secret reached timebound-iam serve's log")
	}
	if d.t.err != nil {
		return d.t.err
	}
	d.t.line("")
	d.t.line("== Done: every step behaved as shown, in %v. MinIO and the MCP client are stopped on exit.", time.Since(began).Round(100*time.Millisecond))
	return nil
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// syncBuffer collects the server's stderr, written by exec's copying
// goroutine and read on failure.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
