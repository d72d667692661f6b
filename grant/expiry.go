package grant

import (
	"context"
	"time"
)

// Pruning at expiry. In the kernel keyring an item ends at its grant's
// expiry by itself; in the other backends it stays until a prune. A
// long-running server therefore prunes at each grant's expiry, not only
// when the next grant or revoke comes.

// expiryRecheck bounds each wait of [Manager.PruneAtExpiry]: grants that
// another process makes do not wake it, so it looks at the file again at
// least this often.
const expiryRecheck = time.Minute

// expirySlack is how long after an expiry the prune runs, so that the clock
// has passed it when the prune compares.
const expirySlack = 100 * time.Millisecond

// NextExpiry returns the soonest expiry among the live grants; ok is false
// when none is live. It reads only the profiles file.
func (m *Manager) NextExpiry() (t time.Time, ok bool, err error) {
	set, err := m.Profiles.Read()
	if err != nil {
		return time.Time{}, false, err
	}
	now := m.Now()
	for e := range set.All() {
		if e.Live(now) && (!ok || e.Expires.Before(t)) {
			t, ok = e.Expires, true
		}
	}
	return t, ok, nil
}

// PruneAtExpiry runs [Manager.Prune] at each live grant's expiry until ctx
// ends. It looks at the expiries again whenever wake receives (set
// [Manager.Changed] to send on it), and at least every minute. after makes
// its timers: [time.After], or a test's. The clock is [Manager.Now].
func (m *Manager) PruneAtExpiry(ctx context.Context, wake <-chan struct{}, after func(time.Duration) <-chan time.Time) {
	for {
		wait, atExpiry := expiryRecheck, false
		t, ok, err := m.NextExpiry()
		if err != nil {
			m.log().Warn("reading the grants' expiries failed", "err", err)
		}
		if d := t.Sub(m.Now()); ok && d < wait {
			wait, atExpiry = max(d, 0)+expirySlack, true
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
			continue
		case <-after(wait):
		}
		if !atExpiry {
			continue
		}
		if err := m.Prune(ctx); err != nil {
			m.log().Warn("prune at expiry failed", "err", err)
		}
	}
}
