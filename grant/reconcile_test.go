package grant_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
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

// The reconciliation tests stand for a grant process killed between storing
// its keychain item and writing its profile: a keyring whose Set stores the
// item and then ends the goroutine with runtime.Goexit, so that nothing after
// it in Grant runs. Deferred calls do run (the file lock is released, as the
// kernel releases it for a killed process).

// dyingRing stores an item and then dies, once armed.
type dyingRing struct {
	keyring.Keyring
	armed bool
}

func (d *dyingRing) Set(it keyring.Item) error {
	if err := d.Keyring.Set(it); err != nil {
		return err
	}
	if d.armed {
		runtime.Goexit()
	}
	return nil
}

// reconcileRig is one state directory with an array keyring shared by every
// manager made from it, the way processes share a keychain.
type reconcileRig struct {
	t     *testing.T
	home  string
	array *keyring.ArrayKeyring
	clock *granttest.Clock
	sts   *granttest.FakeSTS
}

func newReconcileRig(t *testing.T) *reconcileRig {
	clk := granttest.NewClock(granttest.T0)
	r := &reconcileRig{t: t, home: t.TempDir(), array: keyring.NewArrayKeyring(nil), clock: clk, sts: &granttest.FakeSTS{Clock: clk}}
	granttest.ScanSecrets(t).From(r.sts.IssuedSecrets)
	return r
}

// manager is a new process on the rig: its own profiles.File, its own store
// over ring (nil: the rig's keyring), under backend "array".
func (r *reconcileRig) manager(ring keyring.Keyring, id string) *grant.Manager {
	r.t.Helper()
	cfg, err := config.Load(r.home, func(string) string { return "" }, map[string]string{"role_arn": granttest.Role})
	if err != nil {
		r.t.Fatal(err)
	}
	if ring == nil {
		ring = r.array
	}
	return &grant.Manager{
		Config: cfg, STS: r.sts, Keys: keychain.New(ring, "array"),
		Profiles: &profiles.File{Path: filepath.Join(r.home, config.AWSConfigName), Home: r.home},
		Exe:      granttest.Exe, Now: r.clock.Now,
		NewID: func() (string, error) { return id, nil },
	}
}

// killedGrant runs a grant of id that dies right after storing its item.
func (r *reconcileRig) killedGrant(id string) {
	r.t.Helper()
	m := r.manager(&dyingRing{Keyring: r.array, armed: true}, id)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := m.Grant(context.Background(), grant.Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: time.Hour})
		r.t.Errorf("grant %s returned (%v); it should have died in Set", id, err)
	}()
	<-done
}

func (r *reconcileRig) grant(id string) {
	r.t.Helper()
	if _, err := r.manager(nil, id).Grant(context.Background(), grant.Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: time.Hour}); err != nil {
		r.t.Fatal(err)
	}
}

// items are the keychain's grant ids, sorted.
func (r *reconcileRig) items() []string {
	r.t.Helper()
	ids, err := keychain.New(r.array, "array").IDs()
	if err != nil {
		r.t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

// live are the ids of the live profiles, sorted.
func (r *reconcileRig) live() []string {
	r.t.Helper()
	set, err := (&profiles.File{Path: filepath.Join(r.home, config.AWSConfigName), Home: r.home}).Read()
	if err != nil {
		r.t.Fatal(err)
	}
	var ids []string
	for e := range set.All() {
		if e.Live(r.clock.Now()) {
			ids = append(ids, e.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

func (r *reconcileRig) pendingDir() string {
	return filepath.Join(r.home, config.AWSConfigName) + ".pending"
}

func (r *reconcileRig) markers() []string {
	r.t.Helper()
	entries, err := os.ReadDir(r.pendingDir())
	if err != nil && !os.IsNotExist(err) {
		r.t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func (r *reconcileRig) check(what string, items, live, markers []string) {
	r.t.Helper()
	if got := r.items(); !slices.Equal(got, items) {
		r.t.Errorf("%s: keychain items %q, want %q", what, got, items)
	}
	if got := r.live(); !slices.Equal(got, live) {
		r.t.Errorf("%s: live profiles %q, want %q", what, got, live)
	}
	if got := r.markers(); !slices.Equal(got, markers) {
		r.t.Errorf("%s: pending markers %q, want %q", what, got, markers)
	}
}

// TestReconcileOrphanItem: the item a killed grant left is deleted by the
// next prune, by Prune, by a revoke's prune or by the next grant, but not by
// a listing, which reads nothing from the keychain either.
func TestReconcileOrphanItem(t *testing.T) {
	for _, tc := range []struct {
		name string
		next func(r *reconcileRig) []string // the live grants afterwards
	}{
		{"prune", func(r *reconcileRig) []string {
			if err := r.manager(nil, "unused0").Prune(context.Background()); err != nil {
				t.Fatal(err)
			}
			return nil
		}},
		{"grant", func(r *reconcileRig) []string {
			r.grant("next2345")
			return []string{"next2345"}
		}},
		{"revoke", func(r *reconcileRig) []string {
			r.grant("other234")
			if _, err := r.manager(nil, "unused0").Revoke(context.Background(), []string{"other234"}); err != nil {
				t.Fatal(err)
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReconcileRig(t)
			r.grant("keep2345")
			r.killedGrant("dead2345")
			r.check("after the kill", []string{"dead2345", "keep2345"}, []string{"keep2345"}, []string{"dead2345"})

			ring := &granttest.CountingRing{Keyring: r.array}
			if _, err := r.manager(ring, "unused0").List(context.Background()); err != nil {
				t.Fatal(err)
			}
			if ring.Reads() != 0 {
				t.Errorf("List read the keychain %d times", ring.Reads())
			}
			r.check("after a listing", []string{"dead2345", "keep2345"}, []string{"keep2345"}, []string{"dead2345"})

			live := append(tc.next(r), "keep2345")
			slices.Sort(live)
			r.check("after "+tc.name, live, live, nil)
		})
	}
}

// TestReconcileKeeps covers the markers that name no orphan: a grant killed
// after its profile was written, or before its item was stored, and a marker
// of another backend, which this run cannot delete from.
func TestReconcileKeeps(t *testing.T) {
	r := newReconcileRig(t)
	r.grant("done2345")
	r.grant("gone2345")
	if _, err := r.manager(nil, "unused0").Revoke(context.Background(), []string{"gone2345"}); err != nil {
		t.Fatal(err)
	}
	for id, backend := range map[string]string{
		"done2345":  "array",  // killed after the rename: profile and item stay
		"gone2345":  "array",  // a revoked grant's marker: nothing to delete
		"none2345":  "array",  // killed before Put: no item, no profile
		"else2345":  "keyctl", // another backend's
		"Not-an-id": "array",  // not a grant id: reported, left alone
	} {
		if err := os.MkdirAll(r.pendingDir(), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r.pendingDir(), id), []byte(backend), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	err := r.manager(nil, "unused0").Prune(context.Background())
	for _, want := range []string{"keyctl", "Not-an-id"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Prune: err = %v, want one naming %q", err, want)
		}
	}
	r.check("after Prune", []string{"done2345"}, []string{"done2345"}, []string{"Not-an-id", "else2345"})
}
