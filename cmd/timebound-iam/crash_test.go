package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// userContent is what the user wrote into the dedicated file before any
// grant: it must survive every crash byte for byte.
const userContent = "# my own profiles: timebound-iam must not touch these lines\n" +
	"[profile dev]\n" +
	"region = eu-west-1\n" +
	"; a comment with odd bytes: \u00e9\t \\ = [x]\n" +
	"output    =   json\n" +
	"\n" +
	"[default]\n" +
	"region=us-west-2\n"

// killedGrant starts a grant assuming role, kills it with SIGKILL once
// killAt says so, and reports whether it was still running then.
func (r *procRig) killedGrant(role string, killAt func() bool) bool {
	r.t.Helper()
	cmd := r.command(role, "grant", "-s", "s3", "-t", "15m", "--json")
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	for !killAt() {
		select {
		case <-exited:
			return false
		default:
		}
	}
	_ = cmd.Process.Kill()
	<-exited
	return !cmd.ProcessState.Success()
}

// checkAfterCrash fails the test unless the file parses and starts with the
// user's text unchanged, and returns the ids of keychain items that no live
// profile names.
func (r *procRig) checkAfterCrash(user []byte) (orphans []string) {
	r.t.Helper()
	data, err := os.ReadFile(r.configFile)
	if err != nil {
		r.t.Fatal(err)
	}
	if !bytes.HasPrefix(data, user) {
		r.t.Fatalf("the user's text in %s changed; file now starts %q", r.configFile, data[:min(len(data), 300)])
	}
	set := r.profiles()
	for _, id := range r.items() {
		if e, ok := set[id]; !ok || !e.Live(time.Now()) {
			orphans = append(orphans, id)
		}
	}
	return orphans
}

// checkReconciled runs the next grant, whose prune must leave the keychain
// items and the live profiles one to one, with no pending marker.
func (r *procRig) checkReconciled(user []byte) {
	r.t.Helper()
	if _, err := r.grant(); err != nil {
		r.t.Fatal(err)
	}
	if orphans := r.checkAfterCrash(user); len(orphans) > 0 {
		r.t.Errorf("after the next grant, keychain items without a live profile remain: %q", orphans)
	}
	r.checkOneToOne(r.profiles())
	if entries, _ := os.ReadDir(r.configFile + ".pending"); len(entries) > 0 {
		r.t.Errorf("pending markers remain after the next grant: %v", entries)
	}
}

func (r *procRig) writeUserContent(user []byte) {
	r.t.Helper()
	if err := os.WriteFile(r.configFile, user, 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// TestCrashAtRandomPoints kills grants with SIGKILL across their whole run,
// from process start through a slow STS call to the file's rename, then
// checks the file after every kill and the keychain after the next grant.
func TestCrashAtRandomPoints(t *testing.T) {
	start := time.Now()
	r := newProcRig(t)
	user := []byte(userContent)
	r.writeUserContent(user)

	// How long a whole slow grant takes, so the kills can span it.
	var whole time.Duration
	for range 2 {
		t0 := time.Now()
		out, err := r.command(slowRole, "grant", "-s", "s3", "-t", "15m").CombinedOutput()
		r.scan.Capture("output of timebound-iam grant", out)
		if err != nil {
			t.Fatalf("slow grant: %v\n%s", err, out)
		}
		whole = max(whole, time.Since(t0))
	}
	// Half the kills fall anywhere in the run, one in each of as many
	// slices of it at a random point; the other half after STS has
	// answered, where the keychain and the file are written, running a
	// little past the usual end.
	const kills = 20
	tail := time.Duration(float64(whole)*1.05) - granttest.SlowDelay
	killed, orphaned := 0, 0
	for i := range kills {
		at := time.Duration((float64(i) + rand.Float64()) / (kills / 2) * float64(whole))
		if i >= kills/2 {
			at = granttest.SlowDelay + time.Duration((float64(i-kills/2)+rand.Float64())/(kills/2)*float64(tail))
		}
		begun := time.Now()
		if r.killedGrant(slowRole, func() bool { return time.Since(begun) >= at }) {
			killed++
		}
		if len(r.checkAfterCrash(user)) > 0 {
			orphaned++
		}
	}
	t.Logf("a slow grant takes %v; %d of %d grants killed, %d kills left an orphaned keychain item",
		whole.Round(time.Millisecond), killed, kills, orphaned)
	r.checkReconciled(user)
	t.Logf("wall time %v", time.Since(start).Round(time.Millisecond))
}

// TestCrashBetweenItemAndProfile kills a grant at the one point that leaves
// an orphan: its keychain item is stored and the profiles file not yet
// renamed. A large file of the user's comments makes that window wide
// enough to hit: the kill comes as soon as the item appears.
func TestCrashBetweenItemAndProfile(t *testing.T) {
	start := time.Now()
	r := newProcRig(t)
	user := []byte(userContent + strings.Repeat("# padding the user keeps, which makes every write of the file slow\n", 400_000))
	r.writeUserContent(user)
	keyringDir := filepath.Join(r.state, "keyring")
	var orphans []string
	for try := 0; try < 5 && len(orphans) == 0; try++ {
		before := r.items()
		r.killedGrant(brokerRole, func() bool {
			entries, _ := os.ReadDir(keyringDir)
			return len(entries) > len(before)
		})
		orphans = r.checkAfterCrash(user)
		if len(orphans) == 0 {
			t.Logf("try %d: the kill missed the window", try+1)
		}
	}
	if len(orphans) == 0 {
		t.Skip("no kill landed between the keychain item and the profile")
	}
	if !slices.Equal(r.items(), orphans) {
		t.Fatalf("keychain items %q, want only the orphan %q", r.items(), orphans)
	}
	if _, err := r.run("sessions"); err != nil {
		t.Fatal(err)
	}
	if got := r.items(); !slices.Equal(got, orphans) {
		t.Errorf("a listing changed the keychain: items %q, want %q", got, orphans)
	}
	r.checkReconciled(user)
	t.Logf("orphan %q; wall time %v", orphans, time.Since(start).Round(time.Millisecond))
}
