package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigPrecedence(t *testing.T) {
	home := t.TempDir()
	writeConfig(t, home, "role_arn = arn:aws:iam::111111111111:role/file\nregion = eu-west-1\nmax_ttl = 2h\ndefault_ttl = 30m\nservices = s3, ec2 lambda\nsts_endpoint = http://file\n")
	tests := []struct {
		name      string
		env       map[string]string
		overrides map[string]string
		wantRole  string
		wantRegn  string
	}{
		{"file", nil, nil, "arn:aws:iam::111111111111:role/file", "eu-west-1"},
		{"env over file", map[string]string{"TIMEBOUND_IAM_ROLE_ARN": "arn:aws:iam::222222222222:role/env", "TIMEBOUND_IAM_REGION": "us-west-2"}, nil, "arn:aws:iam::222222222222:role/env", "us-west-2"},
		{"flags over env", map[string]string{"TIMEBOUND_IAM_REGION": "us-west-2"}, map[string]string{"region": "ap-south-1", "role_arn": ""}, "arn:aws:iam::111111111111:role/file", "ap-south-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(home, env(tt.env), tt.overrides)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.RoleARN != tt.wantRole || cfg.Region != tt.wantRegn {
				t.Errorf("role %q region %q, want %q %q", cfg.RoleARN, cfg.Region, tt.wantRole, tt.wantRegn)
			}
			if cfg.MaxTTL != 2*time.Hour || cfg.DefaultTTL != 30*time.Minute {
				t.Errorf("ttls %v %v", cfg.MaxTTL, cfg.DefaultTTL)
			}
			if diff := cmp.Diff([]string{"s3", "ec2", "lambda"}, cfg.Services); diff != "" {
				t.Errorf("services (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := Load(t.TempDir(), env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.STSDialect != policy.DialectAWS || cfg.Region != "us-east-1" || cfg.DefaultTTL != time.Hour || cfg.MaxTTL != 12*time.Hour || cfg.STSTimeout != 10*time.Second || cfg.Services != nil || cfg.KeyringBackend != "" {
		t.Errorf("defaults: %+v", cfg)
	}
	err = cfg.CheckRole()
	if err == nil || !strings.Contains(err.Error(), "set role_arn in "+cfg.ConfigFile()) || !strings.Contains(err.Error(), "TIMEBOUND_IAM_ROLE_ARN") {
		t.Errorf("CheckRole without a role = %v, want how to set it", err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"unknown key", "role = x\n", `unknown key "role"; known keys: role_arn, region`},
		{"section", "[default]\nrole_arn = x\n", "put keys at the top level"},
		{"bad duration", "max_ttl = forever\n", `max_ttl "forever" is not a Go duration`},
		{"max over 12h", "max_ttl = 24h\n", "max_ttl 24h is out of range: use between 15m and 12h"},
		{"default below min", "default_ttl = 5m\n", "default_ttl 5m is below the minimum of 15m"},
		{"sts_timeout not a duration", "sts_timeout = 10\n", `sts_timeout "10" is not a Go duration`},
		{"sts_timeout too short", "sts_timeout = 100ms\n", "sts_timeout 100ms is out of range: use between 1s and 5m"},
		{"sts_timeout too long", "sts_timeout = 1h\n", "sts_timeout 1h is out of range: use between 1s and 5m"},
		{"bad dialect", "sts_dialect = ceph\n", `sts_dialect "ceph" is not "aws" or "minio"`},
		{"bad syntax", "role_arn = \"unterminated\n[broken\n", `config:2: section header "[broken" has no closing ]`},
		{"unknown service", "services = s3, nosuch\n", `services: "nosuch" is not an AWS service prefix in the catalog`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			writeConfig(t, home, tt.file)
			_, err := Load(home, env(nil), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestLoadConfigSourceIdentity: STS takes 2 to 64 characters of [\w+=,.@-]
// as SourceIdentity; anything else is refused when the config is read, with
// the key and the allowed characters, rather than by STS at the first grant.
func TestLoadConfigSourceIdentity(t *testing.T) {
	const allowed = "use 2 to 64 letters, digits and + = , . @ _ -"
	tests := []struct {
		name, file string
		env        map[string]string
		want       string // the SourceIdentity, or part of the error
		wantErr    bool
	}{
		{"unset", "", nil, "", false},
		{"file", "source_identity = alice@build-07\n", nil, "alice@build-07", false},
		{"env over file", "source_identity = alice@build-07\n", map[string]string{"TIMEBOUND_IAM_SOURCE_IDENTITY": "ci.runner-3"}, "ci.runner-3", false},
		{"every allowed character", "source_identity = aZ09+=,.@_-\n", nil, "aZ09+=,.@_-", false},
		{"2 characters", "source_identity = ab\n", nil, "ab", false},
		{"64 characters", "source_identity = " + strings.Repeat("a", 64) + "\n", nil, strings.Repeat("a", 64), false},
		{"1 character", "source_identity = a\n", nil, `source_identity "a" is not valid in STS: ` + allowed, true},
		{"65 characters", "source_identity = " + strings.Repeat("a", 65) + "\n", nil, `source_identity "` + strings.Repeat("a", 65) + `" is not valid in STS: ` + allowed, true},
		{"space", "source_identity = alice smith\n", nil, `source_identity "alice smith" is not valid in STS`, true},
		{"slash", "", map[string]string{"TIMEBOUND_IAM_SOURCE_IDENTITY": "ci/runner"}, `source_identity "ci/runner" is not valid in STS`, true},
		{"colon", "source_identity = alice:laptop\n", nil, `source_identity "alice:laptop" is not valid in STS`, true},
		{"not ASCII", "source_identity = zoë@host\n", nil, `source_identity "zoë@host" is not valid in STS`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			writeConfig(t, home, tt.file)
			cfg, err := Load(home, env(tt.env), nil)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("err = %v, want it to contain %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.SourceIdentity != tt.want {
				t.Errorf("SourceIdentity = %q, want %q", cfg.SourceIdentity, tt.want)
			}
		})
	}
}

func TestCheckRoleMalformed(t *testing.T) {
	// The role ARN goes into every profile, so a character that could end
	// its line or be read as more than a value is refused too.
	for _, arn := range []string{"broker", "arn:aws:iam::1:user/x", "arn:aws:iam::1:role/a b", "arn:aws:iam::1:role/a\n[profile x]", "arn:aws:iam::1:role/a;b", "arn:aws:iam::1:role/a*"} {
		err := Config{RoleARN: arn}.CheckRole()
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("role_arn %q is not a role ARN", arn)) {
			t.Errorf("CheckRole(%q) = %v", arn, err)
		}
	}
	for _, arn := range []string{"arn:aws:iam::123456789012:role/timebound-iam-broker", "arn:aws-cn:iam::123456789012:role/team/path/a+b=c,d.e@f_g-h", "arn:minio:iam:::role/broker"} {
		if err := (Config{RoleARN: arn}).CheckRole(); err != nil {
			t.Errorf("CheckRole(%q) = %v; want ok", arn, err)
		}
	}
}

func TestHome(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"explicit", map[string]string{"TIMEBOUND_IAM_HOME": "/srv/tb", "XDG_CONFIG_HOME": "/x"}, "/srv/tb"},
		{"xdg", map[string]string{"XDG_CONFIG_HOME": "/x"}, "/x/timebound-iam"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Home(env(tt.env))
			if err != nil || got != tt.want {
				t.Errorf("Home = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	t.Run("default", func(t *testing.T) {
		t.Setenv("HOME", "/home/someone")
		got, _ := Home(env(nil))
		if got != "/home/someone/.config/timebound-iam" {
			t.Errorf("Home = %q", got)
		}
	})
}

// TestSecureHomePermissions: the state directory and every directory under
// it end up 0700, every file 0600, and each fix is reported with its path
// and the mode it had. Modes already private stay as they are.
func TestSecureHomePermissions(t *testing.T) {
	home := filepath.Join(t.TempDir(), "state")
	modes := map[string]fs.FileMode{
		".":                     0o755,
		"config":                0o644,
		"aws-config":            0o666,
		"aws-config.lock":       0o600,
		"empty-credentials":     0o400,
		"keyring":               0o775,
		"keyring/timebound-iam": 0o604,
	}
	for _, name := range []string{".", "keyring"} {
		if err := os.MkdirAll(filepath.Join(home, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for name, mode := range modes {
		path := filepath.Join(home, name)
		if mode&0o100 == 0 {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(home, "link")); err != nil {
		t.Fatal(err)
	}
	var warned []string
	if err := SecureHome(home, func(path string, was, now fs.FileMode) {
		rel, _ := filepath.Rel(home, path)
		warned = append(warned, fmt.Sprintf("%s %04o->%04o", rel, was, now))
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{".": 0o700, "config": 0o600, "aws-config": 0o600, "aws-config.lock": 0o600, "empty-credentials": 0o400, "keyring": 0o700, "keyring/timebound-iam": 0o600}
	for name, mode := range want {
		st, err := os.Stat(filepath.Join(home, name))
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, %v; want %04o", name, st.Mode().Perm(), err, mode)
		}
	}
	if st, _ := os.Stat("/etc/passwd"); st.Mode().Perm() != 0o644 {
		t.Errorf("the symlink's target was changed: %v", st.Mode().Perm())
	}
	slices.Sort(warned)
	if got, want := strings.Join(warned, "\n"), ". 0755->0700\naws-config 0666->0600\nconfig 0644->0600\nkeyring 0775->0700\nkeyring/timebound-iam 0604->0600"; got != want {
		t.Errorf("warnings:\n%s\nwant:\n%s", got, want)
	}
	warned = nil
	if err := SecureHome(home, func(path string, _, _ fs.FileMode) { warned = append(warned, path) }); err != nil || warned != nil {
		t.Errorf("second run: %v, warned about %v", err, warned)
	}
}

func TestSecureHomeCreates(t *testing.T) {
	home := filepath.Join(t.TempDir(), "a", "state")
	if err := SecureHome(home, func(string, fs.FileMode, fs.FileMode) {}); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(home)
	if st.Mode().Perm() != 0o700 {
		t.Errorf("mode %v, want 0700", st.Mode().Perm())
	}
}

func writeConfig(t *testing.T, home, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(home, FileName), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestUpdateConfigLocks: another process that holds the config's lock is
// mid-way through its own read-modify-write. Update must wait for it
// and then build on what it wrote, not on what it read before.
func TestUpdateConfigLocks(t *testing.T) {
	home := t.TempDir()
	writeConfig(t, home, "region = eu-west-1\n")
	lock := flock.New(filepath.Join(home, FileName+".lock"))
	if err := lock.Lock(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Update(home, map[string]string{"max_ttl": "4h"}, nil)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Update finished (err %v) while another process held the lock", err)
	case <-time.After(300 * time.Millisecond):
	}
	// The other process's write, under its lock.
	writeConfig(t, home, "region = eu-west-1\nrole_arn = arn:aws:iam::123456789012:role/other\n")
	if err := lock.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(home, FileName))
	want := "region = eu-west-1\nrole_arn = arn:aws:iam::123456789012:role/other\nmax_ttl = 4h\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

// TestConfigFileValues: only what the file holds, as Update sees it:
// no environment, no defaults, comments skipped, the first of a repeated key.
func TestConfigFileValues(t *testing.T) {
	home := t.TempDir()
	t.Setenv("TIMEBOUND_IAM_ROLE_ARN", "arn:aws:iam::222222222222:role/env")
	writeConfig(t, home, "# role_arn = arn:aws:iam::000000000000:role/comment\n; max_ttl = 1h\nrole_arn = arn:aws:iam::111111111111:role/file\nmax_ttl = 4h\nmax_ttl = 2h\nservices = s3, logs\n")
	got, err := FileValues(home)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"role_arn": "arn:aws:iam::111111111111:role/file", "max_ttl": "4h", "services": "s3, logs"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ConfigFileValues (-want +got):\n%s", diff)
	}
	if got, err := FileValues(t.TempDir()); err != nil || len(got) != 0 {
		t.Errorf("missing file: %v, %v; want nothing", got, err)
	}
}

// TestUpdateConfigRemovesStaleTemps: a temporary file a killed config write
// left is removed by the next write, as for the profiles file.
func TestUpdateConfigRemovesStaleTemps(t *testing.T) {
	home := t.TempDir()
	stale := filepath.Join(home, "."+FileName+".123456")
	if err := os.WriteFile(stale, []byte("role_arn = half-written"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Update(home, map[string]string{"region": "eu-west-1"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file %s still there: %v", stale, err)
	}
}

func TestLoadConfigLimits(t *testing.T) {
	tests := []struct {
		services, maxGrants string
		wantServices        []string
		wantLevels          map[string]policy.Level
		wantMax             int
		wantErr             string
	}{
		{services: "s3, lambda", wantServices: []string{"s3", "lambda"}},
		{services: "s3:full logs:ro,ec2:VIEW_ONLY", wantServices: []string{"s3", "logs", "ec2"},
			wantLevels: map[string]policy.Level{"s3": policy.Full, "logs": policy.ReadOnly, "ec2": policy.ViewOnly}},
		{services: "s3:admin", wantErr: `services: s3 level "admin" is not allowed: use "view_only", "read_only" or "full"`},
		{services: "s3:", wantErr: `services: s3 level "" is not allowed`},
		{services: "secretsmanager:view_only", wantErr: `services: service "secretsmanager" has no view_only level`},
		{services: "s3, s3:full", wantErr: `services: "s3" is listed twice`},
		{services: "nope:full", wantErr: `services: "nope" is not an AWS service prefix`},
		{maxGrants: "5", wantMax: 5},
		{maxGrants: "1", wantMax: 1},
		{maxGrants: "0", wantErr: `max_grants "0" is not a positive whole number`},
		{maxGrants: "-2", wantErr: `max_grants "-2" is not a positive whole number`},
		{maxGrants: "many", wantErr: `max_grants "many" is not a positive whole number such as 5; leave it out for no limit`},
	}
	for _, tt := range tests {
		t.Run(tt.services+tt.maxGrants, func(t *testing.T) {
			cfg, err := Load(t.TempDir(), func(string) string { return "" }, map[string]string{"services": tt.services, "max_grants": tt.maxGrants})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load() = %v; want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.Services, tt.wantServices) || !cmp.Equal(cfg.MaxLevels, tt.wantLevels, cmpopts.EquateEmpty()) || cfg.MaxGrants != tt.wantMax {
				t.Errorf("services %v, levels %v, max_grants %d; want %v, %v, %d", cfg.Services, cfg.MaxLevels, cfg.MaxGrants, tt.wantServices, tt.wantLevels, tt.wantMax)
			}
		})
	}
}
