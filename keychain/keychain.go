// Package keychain keeps the temporary credentials of each grant in the OS
// keychain, through [github.com/99designs/keyring].
//
// # Items
//
// One item per grant, keyed "tb-<id>", holding the credentials, their
// expiry and the state directory that made it as JSON ([Store.Owner]).
// Nothing else about a grant lives here: listing grants never touches the
// keychain.
//
// # Backends
//
// [Open] picks the OS keychain: macOS Keychain, Windows Credential Manager,
// and on Linux the kernel keyring (keyctl, user scope), which lives in memory
// and is gone at reboot. On Linux the kernel keyring is the default even on a
// desktop with a Secret Service, because an agent's sandbox (bubblewrap in a
// new user namespace) hides D-Bus but can still read keyctl items; see
// [Store.Get]. The Secret Service (login collection), pass and the encrypted
// file backend are used only when asked for by name; the file backend's
// passphrase must be in the environment of every process that reads it.
//
// # Failures
//
// Each failure says which backend, what went wrong and what to do, and wraps
// a sentinel callers can test with errors.Is: [ErrUnavailable] for a backend
// this machine lacks (listing those it has, see [Available]), [ErrLocked]
// for a file keyring whose items the passphrase cannot decrypt, [ErrFull]
// for a kernel key quota that is used up, [ErrNotFound] for a missing item.
// [Store.Put] refuses to add an item under a passphrase that cannot read the
// items already there, so the file keyring never mixes two passphrases.
package keychain

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"

	// Every program that links this package, test binaries included, must
	// not start a dbus-daemon from keyring's init; see the guard's doc.
	"github.com/timebound-iam/timebound-iam/keychain/dbusguard"
)

// ServiceName names this tool's items in every backend.
const ServiceName = "timebound-iam"

// Backend names accepted by [Open]; they are the values of keyring_backend.
const (
	Auto          = ""
	KeyCtl        = "keyctl"
	File          = "file"
	SecretService = "secret-service"
	MacOSKeychain = "keychain"
	WinCred       = "wincred"
	Pass          = "pass"
)

// Backends lists the backend names [Open] accepts, for error messages and help.
var Backends = []string{KeyCtl, SecretService, MacOSKeychain, WinCred, Pass, File}

// ErrNotFound reports that no item exists for a grant: it was never stored,
// was revoked, or was pruned after expiry.
var ErrNotFound = errors.New("no keychain item")

// ErrUnavailable reports that the backend asked for cannot be used on this
// machine: the Secret Service without a D-Bus session bus, the macOS keychain
// off macOS, pass without its binary.
var ErrUnavailable = errors.New("keychain backend not available")

// ErrLocked reports that the file backend's items cannot be opened with the
// passphrase given: it is not the one they were stored with.
var ErrLocked = errors.New("keychain locked")

// ErrFull reports that the backend refused a new item for lack of room: the
// kernel's per-user key quota for keyctl.
var ErrFull = errors.New("keychain full")

// PassphraseEnv is the environment variable that holds the file backend's
// passphrase, for every process that reads or writes its items.
const PassphraseEnv = "TIMEBOUND_IAM_FILE_PASSPHRASE"

// Options chooses and configures a backend.
type Options struct {
	// Backend is one of [Backends], or [Auto] for the OS default.
	Backend string
	// Dir is the state directory; the file backend keeps its items in
	// Dir/keyring.
	Dir string
	// Passphrase unlocks the file backend; required for it, unused otherwise.
	Passphrase string
}

// Store is a typed view of one keyring.
type Store struct {
	ring    keyring.Keyring
	backend string
	// dir is the file backend's directory, for its error messages.
	dir string
	// home is the state directory the items this store writes belong to;
	// see [Store.Owner].
	home string
	// kernel is set for a store [Open] made on the kernel keyring, whose
	// items it also reaches by serial number; not for one [New] wraps.
	kernel bool
	// opened records that this store's passphrase has opened or written an
	// item: [Store.Check] then has its answer, and the key derivation it
	// costs (about 1.6 ms) is not paid again on every grant.
	opened atomic.Bool
}

// Open opens the backend named in opts. An unknown or unavailable backend is
// an error that names the allowed values.
func Open(opts Options) (*Store, error) {
	name, err := Resolve(opts.Backend)
	if err != nil {
		return nil, err
	}
	cfg := keyring.Config{
		ServiceName:              ServiceName,
		KeyCtlScope:              "user",
		KeyCtlPerm:               itemPerm,
		LibSecretCollectionName:  "login", // unlocked with the desktop session; a new collection would prompt
		KeychainTrustApplication: true,
		WinCredPrefix:            ServiceName,
		PassPrefix:               ServiceName,
	}
	switch name {
	case File:
		if opts.Passphrase == "" {
			return nil, fmt.Errorf("the file keyring needs a passphrase and %s is empty: set it in the environment of every process that runs timebound-iam (the agent's MCP server and its AWS CLI)", PassphraseEnv)
		}
		if opts.Dir == "" {
			return nil, errors.New("the file keyring needs a state directory")
		}
		dir := filepath.Join(opts.Dir, "keyring")
		// keyring never tightens an existing directory's mode, so do it here.
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating file keyring %q: %w", dir, err)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("securing file keyring %q: %w", dir, err)
		}
		cfg.FileDir = dir
		pass := opts.Passphrase
		cfg.FilePasswordFunc = func(string) (string, error) { return pass, nil }
	}
	cfg.AllowedBackends = []keyring.BackendType{backendType(name)}
	// Opening keyctl creates this tool's keyring when it is missing, by the
	// same steps as Put, which need the thread pinned. Pinning starts the
	// runtime's template thread, about 0.6 ms of every credential_process
	// call on a VM, so Open pins only when the keyring is yet to be made.
	if name != KeyCtl || !ringExists(ServiceName) {
		defer pinThread(name)()
	}
	ring, err := keyring.Open(cfg)
	if errors.Is(err, keyring.ErrNoAvailImpl) {
		return nil, fmt.Errorf("%w: keyring_backend %q cannot be used here (%s); backends available here: %s",
			ErrUnavailable, name, whyUnavailable(name), strings.Join(Available(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s keyring: %w", name, err)
	}
	return &Store{ring: ring, backend: name, dir: cfg.FileDir, home: opts.Dir, kernel: name == KeyCtl}, nil
}

// Available lists the backends of [Backends] that can be opened on this
// machine. The file backend always can, given a passphrase.
func Available() []string {
	have := keyring.AvailableBackends()
	var out []string
	for _, b := range Backends {
		// keyring registers pass whether or not its command is installed.
		if b == Pass {
			if _, err := exec.LookPath("pass"); err != nil {
				continue
			}
		}
		if slices.Contains(have, backendType(b)) {
			out = append(out, b)
		}
	}
	return out
}

// whyUnavailable says, as far as can be known, why backend name is missing.
func whyUnavailable(name string) string {
	switch name {
	case SecretService:
		if addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); addr == "" || addr == dbusguard.Disabled {
			return fmt.Sprintf("no D-Bus session bus: none in DBUS_SESSION_BUS_ADDRESS and no /run/user/%d/bus, as on a headless machine", os.Getuid())
		}
		return "the D-Bus session bus at DBUS_SESSION_BUS_ADDRESS did not answer, or has no Secret Service"
	case MacOSKeychain:
		return "it exists only on macOS"
	case WinCred:
		return "it exists only on Windows"
	case Pass:
		return "the pass command is not installed"
	case KeyCtl:
		return "it exists only on Linux"
	}
	return "not built into this binary"
}

// New wraps an already opened keyring, such as keyring.NewArrayKeyring in
// tests; backend is the name reported by [Store.Backend]. Its items record
// no state directory; see [NewIn].
func New(ring keyring.Keyring, backend string) *Store {
	return &Store{ring: ring, backend: backend}
}

// NewIn is [New] for the state directory dir: the items it writes record
// dir as their owner, as [Open]'s do.
func NewIn(ring keyring.Keyring, backend, dir string) *Store {
	return &Store{ring: ring, backend: backend, home: dir}
}

// Resolve turns a keyring_backend value into the backend [Open] will use:
// [Auto] becomes the OS default, and an unknown name is an error listing
// [Backends].
func Resolve(name string) (string, error) {
	if name != Auto {
		if !slices.Contains(Backends, name) {
			return "", fmt.Errorf("keyring_backend %q is not one of %v (or empty for the OS default)", name, Backends)
		}
		return name, nil
	}
	switch runtime.GOOS {
	case "darwin":
		return MacOSKeychain, nil
	case "windows":
		return WinCred, nil
	}
	// The kernel keyring, even where a Secret Service runs: an agent's
	// sandbox hides D-Bus, but its helper can still read keyctl items (see
	// readOutside), and grants live hours at most, so losing them at reboot
	// costs nothing.
	if runtime.GOOS == "linux" {
		return KeyCtl, nil
	}
	return "", fmt.Errorf("no OS keychain on %s: set keyring_backend to one of %v", runtime.GOOS, Backends)
}

func backendType(name string) keyring.BackendType {
	switch name {
	case KeyCtl:
		return keyring.KeyCtlBackend
	case File:
		return keyring.FileBackend
	case SecretService:
		return keyring.SecretServiceBackend
	case MacOSKeychain:
		return keyring.KeychainBackend
	case WinCred:
		return keyring.WinCredBackend
	case Pass:
		return keyring.PassBackend
	}
	return keyring.InvalidBackend
}

// pinThread keeps the calling goroutine on its OS thread until the returned
// func runs, for the keyctl backend. keyring's keyctl Set adds the item to the
// session keyring, sets its permissions there and then moves it to the user
// keyring. The kernel keeps the session keyring per thread, so when the
// goroutine moves threads between those calls (a garbage collection is enough)
// Set fails with "permission denied" or "no such file or directory".
func pinThread(backend string) (unpin func()) {
	if backend != KeyCtl {
		return func() {}
	}
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}

// Backend names the backend in use, one of [Backends].
func (s *Store) Backend() string { return s.backend }

// item is what one keychain entry holds. Home is the state directory that
// made it; items written before it was recorded have none.
type item struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expires         time.Time
	Home            string `json:",omitempty"`
}

// Put stores the credentials of grant id, replacing any earlier item. A
// keyctl item carries a kernel timeout at c.Expires: the kernel makes it
// unreadable then, and collects it soon after.
func (s *Store) Put(id string, c aws.Credentials) error {
	data, err := json.Marshal(item{c.AccessKeyID, c.SecretAccessKey, c.SessionToken, c.Expires.UTC(), s.home})
	if err != nil {
		return err
	}
	// The file backend encrypts each item on its own and never checks a new
	// passphrase against the items already there: a wrong one would store
	// an item no other process can read.
	if err := s.Check(); err != nil {
		return err
	}
	defer pinThread(s.backend)()
	err = s.ring.Set(keyring.Item{
		Key:                         key(id),
		Data:                        data,
		Label:                       "timebound-iam grant " + key(id),
		Description:                 "temporary AWS credentials",
		KeychainNotTrustApplication: false,
	})
	if isQuota(err) {
		return fmt.Errorf("%w: storing %s in the %s keyring: the kernel key quota for your user is used up (%v); revoke grants you no longer need (revoke_access, or timebound-iam revoke), or raise /proc/sys/kernel/keys/maxbytes and maxkeys as root",
			ErrFull, key(id), s.backend, err)
	}
	if err != nil {
		return fmt.Errorf("storing %s in the %s keyring: %w", key(id), s.backend, err)
	}
	if s.kernel {
		// The kernel ends the item at the grant's expiry, whether or not
		// anything runs then.
		if err := expireAt(key(id), c.Expires); err != nil {
			_ = s.Delete(id)
			return fmt.Errorf("setting the expiry of %s in the keyctl keyring: %w", key(id), err)
		}
	}
	s.opened.Store(true)
	return nil
}

// Check reports whether the store can be written without harm. For the file
// backend it opens one existing item: an error wrapping [ErrLocked] means the
// passphrase is not the one the items were stored with. The other backends
// are unlocked by the OS and always pass.
func (s *Store) Check() error {
	if s.backend != File || s.opened.Load() {
		return nil
	}
	keys, err := s.ring.Keys()
	if err != nil {
		return fmt.Errorf("listing the file keyring %q: %w", s.dir, err)
	}
	// Only a key that fails its integrity check says the passphrase is
	// wrong. Another process may be writing an item right now (the backend
	// writes in place), and a half-written or damaged item is no verdict:
	// the next one is tried.
	for _, k := range keys {
		_, err := s.ring.Get(k)
		if err == nil {
			s.opened.Store(true)
			return nil
		}
		if wrongPassphrase(err) {
			return s.locked(k, err)
		}
	}
	return nil
}

// wrongPassphrase reports the file backend's error for an item whose key,
// derived from the passphrase with the item's own salt, does not unwrap:
// the passphrase is not the one it was stored with. jose2go does not export
// the error, so only its text is left.
func wrongPassphrase(err error) bool {
	return err != nil && strings.Contains(err.Error(), "integrity check failed")
}

// locked explains a file backend item that will not decrypt.
func (s *Store) locked(k string, err error) error {
	return fmt.Errorf("%w: the file keyring %q cannot decrypt %s with this passphrase (%v): set %s to the passphrase the grants were stored with, or revoke them and start over",
		ErrLocked, s.dir, k, err, PassphraseEnv)
}

// Get returns the credentials of grant id, or an error wrapping [ErrNotFound].
// It does not check expiry; that is the caller's decision. With keyctl, an
// item the user keyring does not hold is looked for across user namespaces:
// inside an agent's sandbox the user keyring is a new, empty one, and the
// grants are found by serial number instead (readOutside, Linux only).
func (s *Store) Get(id string) (aws.Credentials, error) {
	v, err := s.read(id)
	if err != nil {
		return aws.Credentials{}, err
	}
	return aws.Credentials{
		AccessKeyID:     v.AccessKeyID,
		SecretAccessKey: v.SecretAccessKey,
		SessionToken:    v.SessionToken,
		Source:          ServiceName,
		CanExpire:       true,
		Expires:         v.Expires,
	}, nil
}

// Owner says whose grant item id is and when its credentials expire, without
// handing out the credentials; an error wraps [ErrNotFound] for a missing
// item. It reads the item.
func (s *Store) Owner(id string) (Owner, error) {
	v, err := s.read(id)
	if err != nil {
		return Owner{}, err
	}
	return Owner{Home: v.Home, Expires: v.Expires, Shared: s.backend != File}, nil
}

// Owner describes a keychain item without its secret.
type Owner struct {
	// Home is the state directory whose grant made the item; empty for an
	// item written before it was recorded.
	Home string
	// Expires is when the item's credentials expire, as STS reported it.
	Expires time.Time
	// Shared is set when the backend holds the items of every state
	// directory of the user (all but the file backend, whose keyring is
	// its directory's own).
	Shared bool
}

// Of reports whether the item belongs to state directory home. An item of a
// shared backend that records no directory belongs to none: it may be
// another directory's.
func (o Owner) Of(home string) bool {
	return !o.Shared || o.Home != "" && o.Home == home
}

// read returns the item of grant id.
func (s *Store) read(id string) (item, error) {
	it, err := s.ring.Get(key(id))
	if s.kernel && gone(err) {
		err = keyring.ErrKeyNotFound
	}
	if errors.Is(err, keyring.ErrKeyNotFound) && s.kernel {
		if data, ok := readOutside(key(id)); ok {
			it, err = keyring.Item{Key: key(id), Data: data}, nil
		}
	}
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return item{}, fmt.Errorf("%s: %w in the %s keyring", key(id), ErrNotFound, s.backend)
	}
	if err != nil && s.backend == File && wrongPassphrase(err) {
		return item{}, s.locked(key(id), err)
	}
	if err != nil {
		return item{}, fmt.Errorf("reading %s from the %s keyring: %w", key(id), s.backend, err)
	}
	var v item
	if err := json.Unmarshal(it.Data, &v); err != nil {
		return item{}, fmt.Errorf("keychain item %s is not a timebound-iam grant: %w", key(id), err)
	}
	return v, nil
}

// Delete removes the item of grant id. A missing item is not an error, so
// revoke and prune can repeat safely.
func (s *Store) Delete(id string) error {
	if s.kernel {
		// Unlinked, a key can stay readable by serial until the kernel's
		// garbage collector runs, and a sandbox reads by serial.
		invalidate(key(id))
	}
	err := s.ring.Remove(key(id))
	if err == nil || errors.Is(err, keyring.ErrKeyNotFound) || errors.Is(err, os.ErrNotExist) || s.kernel && gone(err) {
		return nil
	}
	return fmt.Errorf("deleting %s from the %s keyring: %w", key(id), s.backend, err)
}

// IDs returns the grant id of every item in this keyring, in no set order.
// It lists every grant of the user in the backends shared by all state
// directories (all but the file backend), not only this directory's.
func (s *Store) IDs() ([]string, error) {
	keys, err := s.ring.Keys()
	if err != nil {
		return nil, fmt.Errorf("listing the %s keyring: %w", s.backend, err)
	}
	var ids []string
	for _, k := range keys {
		if id, ok := strings.CutPrefix(k, "tb-"); ok {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func key(id string) string { return "tb-" + id }
