//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// openPTY opens a pseudo-terminal pair: what is written to master is read
// from slave, a terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlocking the pty: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("finding the pty: %v", e)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

// memAudit is an in-memory audit log.
type memAudit struct {
	mu     sync.Mutex
	events []audit.Event
}

func (a *memAudit) Append(e audit.Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return nil
}

// decisions are the approved and declined events, as "kind/approver/detail".
func (a *memAudit) decisions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, e := range a.events {
		if e.Event == audit.Approved || e.Event == audit.Declined {
			out = append(out, e.Event+"/"+e.Approver+"/"+e.Detail)
		}
	}
	return out
}

// TestApproveOnTerminalRecords checks what the terminal prompt records,
// and the request it leaves for the grant.
func TestApproveOnTerminalRecords(t *testing.T) {
	tests := []struct {
		name     string
		input    string // written to the terminal; "-" for no terminal
		timeout  time.Duration
		wantErr  string
		wantTTL  time.Duration
		wantEvts []string
	}{
		{name: "yes", input: "yes\n", wantTTL: time.Hour, wantEvts: []string{"approved/terminal/"}},
		{name: "shorter", input: "45m\n", wantTTL: 45 * time.Minute, wantEvts: []string{"approved/terminal/ttl shortened from 1h to 45m"}},
		{name: "no", input: "n\n", wantErr: "not approved", wantEvts: []string{"declined/terminal/declined"}},
		{name: "no terminal", input: "-", wantErr: "stdin is not a terminal", wantEvts: []string{"declined/terminal/no terminal"}},
		{name: "timeout", input: "", timeout: 200 * time.Millisecond, wantErr: "no answer within 200ms; no grant was made", wantEvts: []string{"declined/terminal/timed out"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load(t.TempDir(), func(string) string { return "" }, map[string]string{"role_arn": "arn:aws:iam::123456789012:role/broker"})
			if err != nil {
				t.Fatal(err)
			}
			if tt.timeout != 0 {
				cfg.ApprovalTimeout = tt.timeout
			}
			log := &memAudit{}
			m := &grant.Manager{Config: cfg, Now: time.Now, Audit: log, Profiles: &profiles.File{Path: cfg.AWSConfigFile(), Home: cfg.Home}}
			p, err := m.Ask(grant.Request{Access: []policy.Access{{Service: "s3", Level: policy.Full}}, Client: "cli"})
			if err != nil {
				t.Fatal(err)
			}
			if !p.Needed {
				t.Fatal("s3 full needs no approval with the default config")
			}
			var stdin *os.File
			if tt.input == "-" {
				stdin, err = os.Open(os.DevNull)
				if err != nil {
					t.Fatal(err)
				}
				defer stdin.Close()
			} else {
				var master *os.File
				master, stdin = openPTY(t)
				if _, err := master.WriteString(tt.input); err != nil {
					t.Fatal(err)
				}
			}
			var stderr bytes.Buffer
			err = approveOnTerminal(context.Background(), m, p, stdin, &stderr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("approveOnTerminal = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Errorf("approveOnTerminal = %v", err)
			} else if p.Request.Approver != grant.ApproverTerminal || p.Request.TTL != tt.wantTTL {
				t.Errorf("request approver %q ttl %v, want terminal %v", p.Request.Approver, p.Request.TTL, tt.wantTTL)
			}
			if got := log.decisions(); strings.Join(got, "|") != strings.Join(tt.wantEvts, "|") {
				t.Errorf("audit decisions %q, want %q", got, tt.wantEvts)
			}
			if tt.input != "-" && !strings.Contains(stderr.String(), "access:    s3 full") {
				t.Errorf("stderr lacks the request:\n%s", stderr.String())
			}
		})
	}
}
