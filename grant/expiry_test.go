package grant_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// TestPruneAtExpiry drives the pruner with the Manager's clock and its own
// timers, without sleeping: its timer is set for the soonest expiry, it
// looks again when told of a grant, and once the clock has passed the
// expiry and the timer fires, the item is gone with no call made.
func TestPruneAtExpiry(t *testing.T) {
	home := t.TempDir()
	cfg, err := config.Load(home, func(string) string { return "" }, map[string]string{"role_arn": granttest.Role, "approval": config.ApprovalNever})
	if err != nil {
		t.Fatal(err)
	}
	clk := granttest.NewClock(granttest.T0)
	ring := keyring.NewArrayKeyring(nil)
	wake := make(chan struct{}, 1)
	m := &grant.Manager{
		Config: cfg, STS: &granttest.FakeSTS{Clock: clk}, Keys: keychain.NewIn(ring, "array", home),
		Profiles: &profiles.File{Path: filepath.Join(home, config.AWSConfigName), Home: home},
		Exe:      granttest.Exe, Now: clk.Now,
		Changed: func() {
			select {
			case wake <- struct{}{}:
			default:
			}
		},
	}
	type timer struct {
		d    time.Duration
		fire chan time.Time
	}
	timers := make(chan timer)
	after := func(d time.Duration) <-chan time.Time {
		tm := timer{d, make(chan time.Time, 1)}
		timers <- tm
		return tm.fire
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.PruneAtExpiry(ctx, wake, after) }()
	defer func() { cancel(); <-done }()
	next := func() timer {
		t.Helper()
		select {
		case tm := <-timers:
			return tm
		case <-time.After(10 * time.Second):
			t.Fatal("the pruner set no timer")
			return timer{}
		}
	}

	if tm := next(); tm.d != time.Minute {
		t.Errorf("with no grant the pruner waits %v, want 1m", tm.d)
	}
	s, err := m.Grant(ctx, grant.Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: 15 * time.Minute, Client: "test"})
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(14*time.Minute + 30*time.Second)
	// The grant woke the pruner; the first timer it sets after the clock
	// moved is for the expiry, 30s on.
	var tm timer
	for tm = next(); tm.d == time.Minute; tm = next() {
		tm.fire <- time.Time{}
	}
	if want := 30*time.Second + 100*time.Millisecond; tm.d != want {
		t.Fatalf("timer %v, want %v: the grant's expiry", tm.d, want)
	}
	if keys, _ := ring.Keys(); !slices.Contains(keys, s.Profile()) {
		t.Fatalf("item %s gone before its expiry: %v", s.Profile(), keys)
	}
	clk.Add(31 * time.Second)
	tm.fire <- time.Time{}
	if tm := next(); tm.d != time.Minute {
		t.Errorf("after the prune the pruner waits %v, want 1m: no grant is live", tm.d)
	}
	if keys, _ := ring.Keys(); len(keys) != 0 {
		t.Errorf("keychain items after the expiry: %v, want none", keys)
	}
}
