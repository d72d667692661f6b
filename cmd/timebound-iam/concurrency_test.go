package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
	"gopkg.in/ini.v1"
)

// procRig is a state directory that separate timebound-iam processes share,
// with the file keyring (so the test can list its items) and the STS
// stand-in, for the concurrency and crash tests.
type procRig struct {
	t          *testing.T
	bin        string
	work       string
	state      string
	configFile string
	sts        *granttest.STS
	scan       *granttest.SecretScan
}

const (
	rigPassphrase = "concurrency-test-passphrase"
	brokerRole    = "arn:aws:iam::123456789012:role/broker"
	slowRole      = "arn:aws:iam::123456789012:role/slow"
)

func newProcRig(t *testing.T) *procRig {
	t.Helper()
	bin := goBuild(t, filepath.Join(t.TempDir(), "timebound-iam"), ".")
	sts, err := granttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sts.Close() })
	scan := granttest.ScanSecrets(t) // every file under t.TempDir but the keyring
	scan.From(sts.Secrets)
	work := t.TempDir()
	r := &procRig{t: t, bin: bin, work: work, state: filepath.Join(work, "state"), sts: sts, scan: scan}
	r.configFile = filepath.Join(r.state, config.AWSConfigName)
	if err := os.Mkdir(r.state, 0o700); err != nil {
		t.Fatal(err)
	}
	return r
}

// command is timebound-iam with args, assuming role.
func (r *procRig) command(role string, args ...string) *exec.Cmd {
	cmd := exec.Command(r.bin, args...)
	cmd.Dir = r.work
	cmd.Env = []string{
		"HOME=" + r.work,
		"TIMEBOUND_IAM_HOME=" + r.state,
		"TIMEBOUND_IAM_ROLE_ARN=" + role,
		"TIMEBOUND_IAM_STS_ENDPOINT=" + r.sts.URL,
		"TIMEBOUND_IAM_KEYRING_BACKEND=file",
		"TIMEBOUND_IAM_FILE_PASSPHRASE=" + rigPassphrase,
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(r.work, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(r.work, "no-aws-credentials"),
	}
	return cmd
}

// run runs timebound-iam to the end; the error carries its stderr.
func (r *procRig) run(args ...string) ([]byte, error) {
	cmd := r.command(brokerRole, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	what := "timebound-iam " + strings.Join(args, " ")
	r.scan.Capture("stdout of "+what, out)
	r.scan.Capture("stderr of "+what, stderr.Bytes())
	if err != nil {
		return out, fmt.Errorf("timebound-iam %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

// grant makes a 15-minute read-only grant of s3 and returns its id.
func (r *procRig) grant() (string, error) {
	out, err := r.run("grant", "-s", "s3", "-t", "15m", "--json")
	if err != nil {
		return "", err
	}
	var g grant.GrantOutput
	if err := json.Unmarshal(out, &g); err != nil {
		return "", fmt.Errorf("grant --json printed %q: %v", out, err)
	}
	return strings.TrimPrefix(g.Profile, profiles.Prefix), nil
}

// items are the ids of the file keyring's items, sorted.
func (r *procRig) items() []string {
	r.t.Helper()
	keys, err := keychain.Open(keychain.Options{Backend: keychain.File, Dir: r.state, Passphrase: rigPassphrase})
	if err != nil {
		r.t.Fatal(err)
	}
	ids, err := keys.IDs()
	if err != nil {
		r.t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

// profiles reads the file the way this tool and an INI parser do, failing
// the test unless both take it whole; it returns our sections by id.
func (r *procRig) profiles() map[string]profiles.Entry {
	r.t.Helper()
	data, err := os.ReadFile(r.configFile)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := ini.Load(data); err != nil {
		r.t.Fatalf("%s does not parse as INI: %v", r.configFile, err)
	}
	set, err := (&profiles.File{Path: r.configFile, Home: r.state}).Read()
	if err != nil {
		r.t.Fatal(err)
	}
	if errs := set.Problems(); len(errs) > 0 {
		r.t.Fatalf("%s has sections that do not parse: %v", r.configFile, errs)
	}
	out := map[string]profiles.Entry{}
	for e := range set.All() {
		out[e.ID] = e
	}
	return out
}

// checkOneToOne fails the test unless the keychain items are exactly the
// live profiles.
func (r *procRig) checkOneToOne(set map[string]profiles.Entry) {
	r.t.Helper()
	var live []string
	for id, e := range set {
		if e.Live(time.Now()) {
			live = append(live, id)
		}
	}
	slices.Sort(live)
	if items := r.items(); !slices.Equal(items, live) {
		r.t.Errorf("keychain items and live profiles differ:\nitems %q\nlive  %q", items, live)
	}
}

// TestConcurrentGrants makes 100 grants from 4 processes at a time, while
// other processes list (pruning grants that expired) and revoke. Every grant
// must end up with its profile, live or a revoked tombstone, in a file that
// parses, and the keychain must hold exactly the live grants' items.
func TestConcurrentGrants(t *testing.T) {
	start := time.Now()
	r := newProcRig(t)
	// Grants that expired before the run, for the prunes to end.
	var expired []string
	for range 4 {
		id, err := r.grant()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := granttest.Backdate(r.state, rigPassphrase, id, time.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		expired = append(expired, id)
	}

	const workers, perWorker = 4, 25
	granted := make(chan string, workers*perWorker)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		revoked []string
		errs    []error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWorker {
				id, err := r.grant()
				if err != nil {
					fail(err)
					continue
				}
				granted <- id
			}
		}()
	}
	done := make(chan struct{})
	var side sync.WaitGroup
	side.Add(2)
	go func() { // prunes: every listing prunes what has expired
		defer side.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := r.run("sessions", "--json"); err != nil {
				fail(err)
			}
		}
	}()
	var kept []string // granted and not revoked; the revoker's alone until side.Wait
	go func() {       // revokes: about one grant in five, as they come
		defer side.Done()
		for {
			select {
			case <-done:
				return
			case id := <-granted:
				if rand.IntN(5) != 0 {
					kept = append(kept, id)
					continue
				}
				if _, err := r.run("revoke", id); err != nil {
					fail(err)
					kept = append(kept, id)
					continue
				}
				mu.Lock()
				revoked = append(revoked, id)
				mu.Unlock()
			}
		}
	}()
	wg.Wait()
	close(done)
	side.Wait()
	close(granted)
	for _, err := range errs {
		t.Error(err)
	}

	for id := range granted {
		kept = append(kept, id)
	}
	all := slices.Concat(revoked, kept)
	if len(all) != workers*perWorker-len(errs) {
		t.Errorf("%d grants accounted for, want %d", len(all), workers*perWorker-len(errs))
	}
	set := r.profiles()
	for _, id := range all {
		e, ok := set[id]
		switch {
		case !ok:
			t.Errorf("profile tb-%s is missing", id)
		case slices.Contains(revoked, id) && e.Status != profiles.Revoked:
			t.Errorf("tb-%s was revoked but its profile is %s", id, e.Status)
		case !slices.Contains(revoked, id) && !e.Live(time.Now()):
			t.Errorf("tb-%s should be live but its profile is %s", id, e.Status)
		}
	}
	for _, id := range expired {
		if e, ok := set[id]; !ok || e.Status != profiles.Expired {
			t.Errorf("expired grant tb-%s: profile %+v (present %v), want an expired tombstone", id, e.Status, ok)
		}
	}
	if got, want := len(set), len(all)+len(expired); got != want {
		t.Errorf("%d profiles in the file, want %d", got, want)
	}
	r.checkOneToOne(set)
	// The audit log, written by every one of those processes, holds one
	// unbroken chain with exactly one entry per event.
	log := audit.Open(filepath.Join(r.state, audit.FileName))
	n, err := log.Verify()
	if err != nil {
		t.Fatalf("audit log after concurrent writers: %v", err)
	}
	entries, err := log.Read()
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range entries {
		count[e.Event.Event]++
	}
	want := map[string]int{audit.Requested: len(all) + len(expired), audit.Granted: len(all) + len(expired), audit.Revoked: len(revoked), audit.Pruned: len(expired)}
	if diff := cmp.Diff(want, count); diff != "" {
		t.Errorf("audit events by kind (-want +got):\n%s", diff)
	}
	t.Logf("%d grants, %d revoked, %d audit entries, in %v", len(all), len(revoked), n, time.Since(start).Round(time.Millisecond))
}
