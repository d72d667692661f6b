package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/timebound-iam/timebound-iam/cmd/timebound-iam/internal/doctor"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/urfave/cli/v2"
)

const (
	doctorKeyID  = "AKIAIOSFODNN7EXAMPLE"
	doctorSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// doctorEnv gives the test the environment of the testscript harness: the
// STS stand-in, a state directory, the file keyring and base keys in the
// environment. It returns the state directory.
func doctorEnv(t *testing.T) string {
	t.Helper()
	stand, err := granttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stand.Close() })
	scan := granttest.ScanSecrets(t)
	scan.From(stand.Secrets)
	doctorScans.Store(t, scan)
	t.Cleanup(func() { doctorScans.Delete(t) })
	work := t.TempDir()
	home := filepath.Join(work, "state")
	for k, v := range map[string]string{
		"HOME":                          work,
		"TIMEBOUND_IAM_HOME":            home,
		"TIMEBOUND_IAM_ROLE_ARN":        "arn:aws:iam::123456789012:role/broker",
		"TIMEBOUND_IAM_STS_ENDPOINT":    stand.URL,
		"TIMEBOUND_IAM_KEYRING_BACKEND": "file",
		"TIMEBOUND_IAM_FILE_PASSPHRASE": "test-passphrase",
		"AWS_ACCESS_KEY_ID":             doctorKeyID,
		"AWS_SECRET_ACCESS_KEY":         doctorSecret,
		"AWS_EC2_METADATA_DISABLED":     "true",
		"AWS_CONFIG_FILE":               filepath.Join(work, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE":   filepath.Join(work, "no-aws-credentials"),
	} {
		t.Setenv(k, v)
	}
	return home
}

// doctorScans holds each test's secret scan, made by doctorEnv, for
// doctorRun's outputs.
var doctorScans sync.Map // *testing.T to *granttest.SecretScan

// doctorRun runs doctorCommand in an app of its own, wired like run in
// main.go, and returns what it printed and its exit code.
func doctorRun(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := &cli.App{
		Name: prog, Writer: &out, ErrWriter: &errOut,
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   usageError,
		Commands:       []*cli.Command{doctorCommand()},
	}
	if err := app.Run(append([]string{prog, "doctor"}, args...)); err != nil {
		code = report(&errOut, err)
	}
	if scan, ok := doctorScans.Load(t); ok {
		scan.(*granttest.SecretScan).Capture("stdout of doctor", out.Bytes())
		scan.(*granttest.SecretScan).Capture("stderr of doctor", errOut.Bytes())
	}
	if s := out.String() + errOut.String(); strings.Contains(s, doctorKeyID) || strings.Contains(s, doctorSecret) {
		t.Errorf("doctor printed a key or a secret:\n%s", s)
	}
	return out.String(), errOut.String(), code
}

// TestDoctorCommand runs the command against the STS stand-in: what the
// stand-in cannot answer warns, a refused role fails with exit 1, and --json
// carries the same checks.
func TestDoctorCommand(t *testing.T) {
	line := func(status, name, detail string) *regexp.Regexp {
		return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(status) + ` +` + regexp.QuoteMeta(name) + ` +` + detail + `$`)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		stderr   string
		patterns []*regexp.Regexp
	}{
		{
			name: "stand-in",
			patterns: []*regexp.Regexp{
				line("warn", "config", `\S+/state/config does not exist; role_arn arn:aws:iam::123456789012:role/broker comes from the environment or a flag`),
				line("warn", "keyring", `file: a test item round-tripped`),
				line("warn", "base-credentials", `cannot check: the STS endpoint does not serve GetCallerIdentity \(InvalidAction: only AssumeRole is served here\)`),
				line("ok", "role", `assumed arn:aws:iam::123456789012:role/broker for a 15m s3 read_only grant and revoked it \(its keys stay valid at AWS until \S+Z\)`),
				line("warn", "max-session-duration", `cannot check: the STS endpoint http://127\.0\.0\.1:\d+ is not AWS, and no IAM endpoint is set \(AWS_ENDPOINT_URL_IAM\)`),
				line("ok", "clock-skew", `the local clock is within 1s of STS \(127\.0\.0\.1:\d+\)`),
				line("warn", "fallback-credentials", `AWS_ACCESS_KEY_ID \(\*\*\*\*MPLE\) is set in this environment`),
				line("ok", "stale-profiles", `no tb- profiles in \S+/state/aws-config`),
				regexp.MustCompile(`(?m)^ {28}hint: run timebound-iam setup aws to write it`),
			},
		},
		{
			name: "role denied", args: []string{"--role-arn", "arn:aws:iam::123456789012:role/denied"},
			code: 1, stderr: "timebound-iam: error: doctor found 1 failing check\n",
			patterns: []*regexp.Regexp{
				line("fail", "role", `the base credentials may not assume arn:aws:iam::123456789012:role/denied \(AccessDenied: .*\): check the role's trust policy and the base identity`),
				regexp.MustCompile(`(?m)^ {28}hint: the error above says what to fix; timebound-iam setup aws prints`),
			},
		},
		{
			name: "unexpected argument", args: []string{"now"},
			code: 1, stderr: "timebound-iam: error: unexpected argument \"now\"\ntimebound-iam: hint: run timebound-iam doctor without arguments\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doctorEnv(t)
			stdout, stderr, code := doctorRun(t, tt.args...)
			if code != tt.code || stderr != tt.stderr {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, stderr, tt.code, tt.stderr)
			}
			for _, p := range tt.patterns {
				if !p.MatchString(stdout) {
					t.Errorf("stdout lacks %s:\n%s", p, stdout)
				}
			}
		})
	}
}

func TestDoctorJSON(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		ok     bool
		code   int
		status map[string]doctor.Status
	}{
		{
			name: "warnings only", args: []string{"--json"}, ok: true,
			status: map[string]doctor.Status{doctor.ConfigCheck: doctor.Warn, doctor.RoleCheck: doctor.OK, doctor.CredentialsCheck: doctor.Warn},
		},
		{
			name: "role denied", args: []string{"--json", "--role-arn", "arn:aws:iam::123456789012:role/denied"}, code: 1,
			status: map[string]doctor.Status{doctor.RoleCheck: doctor.Fail},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doctorEnv(t)
			stdout, _, code := doctorRun(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			var got struct {
				Checks []map[string]string `json:"checks"`
				OK     bool                `json:"ok"`
			}
			dec := json.NewDecoder(strings.NewReader(stdout))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("stdout is not the report: %v\n%s", err, stdout)
			}
			if got.OK != tt.ok {
				t.Errorf("ok = %v, want %v", got.OK, tt.ok)
			}
			var names []string
			for _, c := range got.Checks {
				names = append(names, c["name"])
				if len(c) != 4 || c["status"] == "" || c["detail"] == "" {
					t.Errorf("check %v: want name, status, detail and hint", c)
				}
				if want, ok := tt.status[c["name"]]; ok && c["status"] != string(want) {
					t.Errorf("%s: status %s, want %s", c["name"], c["status"], want)
				}
			}
			// The working directory holds no agent's MCP config: one
			// containment check says so.
			if want := append(slices.Clone(doctor.Names), doctor.ContainmentCheck); !slices.Equal(names, want) {
				t.Errorf("checks %v, want %v", names, want)
			}
		})
	}
}

// TestDoctorLeavesNothing checks that the role check's grant and the keyring
// check's test item are gone after a run.
func TestDoctorLeavesNothing(t *testing.T) {
	home := doctorEnv(t)
	if _, _, code := doctorRun(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	items, err := os.ReadDir(filepath.Join(home, "keyring"))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 0 {
		t.Errorf("keyring items left: %v", items)
	}
	data, err := os.ReadFile(filepath.Join(home, "aws-config"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("[profile tb-")) {
		t.Errorf("profiles left:\n%s", data)
	}
}

// TestDoctorMoto points the SDK at moto_server with AWS_ENDPOINT_URL, as a
// user of an emulator would, so that GetCallerIdentity, AssumeRole, GetRole
// and the clock check all go through the command's real wiring.
func TestDoctorMoto(t *testing.T) {
	if _, err := exec.LookPath("moto_server"); err != nil {
		t.Skip("moto_server is not on PATH: it ships with the machine image's Python (moto 5.2.1); pip install 'moto[server]' provides it")
	}
	moto, err := granttest.StartMoto(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer moto.Close()
	client := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto.URL),
		Credentials: credentials.NewStaticCredentialsProvider(doctorKeyID, doctorSecret, "")})
	const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/moto"},"Action":"sts:AssumeRole"}]}`
	for name, limit := range map[string]int32{"tb-short": 3600, "tb-long": 43200} {
		_, err := client.CreateRole(context.Background(), &iam.CreateRoleInput{
			RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust), MaxSessionDuration: aws.Int32(limit),
		})
		if err != nil {
			t.Fatalf("creating %s in moto: %v", name, err)
		}
	}
	tests := []struct {
		name, role, maxTTL, duration string
	}{
		{"1h role, max_ttl 2h", "tb-short", "2h", `warn  max-session-duration  role tb-short allows sessions up to 1h, below max_ttl 2h: longer grants will fail`},
		{"12h role, max_ttl 12h", "tb-long", "12h", `ok    max-session-duration  role tb-long allows sessions up to 12h; max_ttl 12h fits`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := doctorEnv(t)
			t.Setenv("TIMEBOUND_IAM_STS_ENDPOINT", "")
			t.Setenv("TIMEBOUND_IAM_ROLE_ARN", "")
			t.Setenv("AWS_ENDPOINT_URL", moto.URL)
			if err := os.MkdirAll(home, 0o700); err != nil {
				t.Fatal(err)
			}
			config := "role_arn = arn:aws:iam::123456789012:role/" + tt.role + "\nmax_ttl = " + tt.maxTTL + "\n"
			if err := os.WriteFile(filepath.Join(home, "config"), []byte(config), 0o600); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, code := doctorRun(t)
			if code != 0 || stderr != "" {
				t.Errorf("exit %d, stderr %q; want 0 and nothing", code, stderr)
			}
			for _, want := range []string{
				"ok    base-credentials      account 123456789012, arn:aws:sts::123456789012:user/moto\n",
				"ok    role                  assumed arn:aws:iam::123456789012:role/" + tt.role + " for a 15m s3 read_only grant and revoked it",
				"ok    clock-skew            the local clock is within 1s of STS (" + strings.TrimPrefix(moto.URL, "http://") + ")\n",
				tt.duration + "\n",
			} {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
		})
	}
}
