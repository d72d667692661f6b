//go:build linux

package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"golang.org/x/sys/unix"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// lockedBuffer collects what a goroutine writes, for the test to read.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls cond for up to 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// echoOff reports whether the terminal f has its echo turned off.
func echoOff(f *os.File) bool {
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil && tio.Lflag&unix.ECHO == 0
}

// TestGrantOnTerminalMFA types y, then the code, into a real pseudo-terminal:
// the grant goes to the MFA role with the code, the code is not echoed to
// the screen, and it appears on no output, in no log and in no file.
func TestGrantOnTerminalMFA(t *testing.T) {
	stand := granttest.StartStandIn(t)
	tests := []struct {
		name, code, typed string
		wantErr           string
		wantEvents        []string
	}{
		{name: "the right code", code: "729461", typed: "729461", wantEvents: []string{"requested", "approved", "granted"}},
		{name: "a wrong code", code: "729462", typed: "129462", wantErr: "AWS did not accept the MFA code for mfa_serial " + testMFASerial,
			wantEvents: []string{"requested", "approved", "refused"}},
		{name: "a malformed code", code: "729463", typed: "72946", wantErr: "mfa_code is not the 6 digits the MFA device shows",
			wantEvents: []string{"requested", "refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := privateTempDir(t)
			scan := granttest.ScanSecrets(t)
			scan.From(stand.Secrets)
			scan.Add(granttest.Secret{What: "the code typed", Value: tt.typed})
			stand.SetMFA(testMFASerial, tt.code)
			cfg, err := config.Load(home, func(string) string { return "" }, map[string]string{"role_arn": "arn:aws:iam::123456789012:role/broker", "sts_endpoint": stand.URL})
			if err != nil {
				t.Fatal(err)
			}
			cfg.MFASerial, cfg.MFARoleARN = testMFASerial, testMFARole
			client, err := grant.NewSTS(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			ring := keyring.NewArrayKeyring(nil)
			log := audit.Open(filepath.Join(home, audit.FileName))
			m := &grant.Manager{
				Config: cfg, STS: client, Keys: keychain.New(ring, "array"), Exe: granttest.Exe, Now: time.Now,
				Profiles: &profiles.File{Path: cfg.AWSConfigFile(), Home: home}, Audit: log,
				Log: slog.New(scan.Handler("the log", nil)),
			}

			master, slave := openPTY(t)
			screen := &lockedBuffer{}
			go func() {
				b := make([]byte, 256)
				for {
					n, err := master.Read(b)
					screen.Write(b[:n])
					if err != nil {
						return
					}
				}
			}()
			stderr := &lockedBuffer{}
			type result struct {
				s   grant.Session
				err error
			}
			done := make(chan result, 1)
			go func() {
				s, _, err := grantFrom(context.Background(), m, grantInput{services: []string{"s3:full"}, level: "read_only", ttl: "30m"}, slave, scan.Writer("stderr", stderr))
				done <- result{s, err}
			}()
			waitFor(t, "the approval question", func() bool {
				select {
				case r := <-done:
					t.Fatalf("grant ended before the question: %v\n%s", r.err, stderr.String())
				default:
				}
				return strings.Contains(stderr.String(), "Approve? [y/N")
			})
			if _, err := master.WriteString("y\n"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the MFA code prompt with echo off", func() bool {
				return strings.Contains(stderr.String(), "MFA code for "+testMFASerial+": ") && echoOff(slave)
			})
			if _, err := master.WriteString(tt.typed + "\n"); err != nil {
				t.Fatal(err)
			}
			r := <-done
			// The echo is back: a marker typed now shows, and once it has,
			// everything typed before it has been read off the screen.
			waitFor(t, "the echo to come back", func() bool { return !echoOff(slave) })
			if _, err := master.WriteString("END\n"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the marker on the screen", func() bool { return strings.Contains(screen.String(), "END") })
			scan.Capture("the terminal's screen", []byte(screen.String()))
			if !strings.Contains(screen.String(), "y") {
				t.Errorf("the approval answer was not echoed: %q", screen.String())
			}

			for _, want := range []string{"access:    s3 full", "role:      broker-mfa", "mfa:       the MFA role: AWS requires the current code of " + testMFASerial} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if tt.wantErr != "" {
				if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) {
					t.Fatalf("grant = %v, want %q", r.err, tt.wantErr)
				}
				scan.Capture("the error", []byte(r.err.Error()))
				if keys, _ := ring.Keys(); len(keys) != 0 {
					t.Errorf("keychain items after a refused grant: %v", keys)
				}
			} else {
				if r.err != nil {
					t.Fatal(r.err)
				}
				form := stand.Issued()[len(stand.Issued())-1].Form
				if form.Get("RoleArn") != testMFARole || form.Get("SerialNumber") != testMFASerial || form.Get("TokenCode") != tt.typed {
					t.Errorf("AssumeRole RoleArn %q SerialNumber %q, TokenCode typed: %v", form.Get("RoleArn"), form.Get("SerialNumber"), form.Get("TokenCode") == tt.typed)
				}
			}
			entries, err := log.Read()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Event.Event)
			}
			if strings.Join(got, " ") != strings.Join(tt.wantEvents, " ") {
				t.Errorf("audit %v, want %v", got, tt.wantEvents)
			}
		})
	}
}
