package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// The real credential_process consumers. The `aws` first on PATH may be a pip
// AWS CLI v1; the Debian awscli package's v2 is the one these tests mean.
const (
	awsCLI  = "/usr/bin/aws"
	python3 = "/usr/bin/python3"
)

// consumer runs one real consumer of a profile and returns its credentials
// and its stderr.
type consumer struct {
	name string
	run  func(t *testing.T, profile string) (creds, string, error)
}

// creds is the part of the credential_process JSON the consumers agree on.
type creds struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
}

type result struct {
	stdout, stderr []byte
	err            error
	took           time.Duration
}

func runEnv(env []string, name string, args ...string) result {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	return result{out.Bytes(), errb.Bytes(), err, time.Since(start)}
}

// TestRealConsumers builds the binary into a directory whose path needs
// quoting, grants with it, and has the AWS CLI v2, boto3 and aws-sdk-go-v2
// fetch the grant's credentials through the profile's credential_process
// line alone; then revokes one grant and expires another and checks what the
// AWS CLI tells the agent.
func TestRealConsumers(t *testing.T) {
	if _, err := os.Stat(awsCLI); err != nil {
		t.Skipf("needs the AWS CLI v2 at %s (Debian package awscli; make test-deps installs it): %v", awsCLI, err)
	}
	if out, err := exec.Command(python3, "-c", "import boto3").CombinedOutput(); err != nil {
		t.Skipf("needs boto3 for %s (Debian package python3-boto3; make test-deps installs it): %v: %s", python3, err, out)
	}
	timings := map[string]time.Duration{}
	defer func() {
		for _, k := range []string{"build", "grant", "aws cli", "boto3", "aws-sdk-go-v2", "revoke", "aws cli revoked", "aws cli expired", "total"} {
			if d, ok := timings[k]; ok {
				t.Logf("timing %-16s %v", k, d.Round(time.Millisecond))
			}
		}
	}()
	testStart := time.Now()
	defer func() { timings["total"] = time.Since(testStart) }()

	root := t.TempDir()
	binDir := filepath.Join(root, "it's a $HOME dir ünï")
	state := filepath.Join(root, "state 'dir' $USER ünï")
	home := filepath.Join(root, "home")
	for _, d := range []string{binDir, home} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	emptyCreds := filepath.Join(root, "empty-credentials")
	if err := os.WriteFile(emptyCreds, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(binDir, "timebound-iam")
	start := time.Now()
	goBuild(t, bin, ".")
	timings["build"] = time.Since(start)

	sts, err := granttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer sts.Close()

	const passphrase = "consumers-test-passphrase"
	grantEnv := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"TIMEBOUND_IAM_HOME=" + state,
		"TIMEBOUND_IAM_ROLE_ARN=arn:aws:iam::123456789012:role/broker",
		"TIMEBOUND_IAM_STS_ENDPOINT=" + sts.URL,
		"TIMEBOUND_IAM_KEYRING_BACKEND=file",
		"TIMEBOUND_IAM_FILE_PASSPHRASE=" + passphrase,
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	}
	var outputs []result // of our binary: no secret may appear in them
	grantOnce := func(t *testing.T) (id, configFile string) {
		t.Helper()
		r := runEnv(grantEnv, bin, "grant", "-s", "s3", "-t", "30m", "--json")
		outputs = append(outputs, r)
		timings["grant"] = r.took
		if r.err != nil {
			t.Fatalf("grant: %v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
		}
		var g struct {
			SessionID  string `json:"session_id"`
			Profile    string `json:"profile"`
			ConfigFile string `json:"config_file"`
		}
		if err := json.Unmarshal(r.stdout, &g); err != nil {
			t.Fatalf("grant --json output: %v\n%s", err, r.stdout)
		}
		if g.Profile != profiles.Prefix+g.SessionID || g.ConfigFile != filepath.Join(state, "aws-config") {
			t.Fatalf("grant --json = %+v; want profile tb-<session_id> and config_file in %q", g, state)
		}
		return g.SessionID, g.ConfigFile
	}

	id, configFile := grantOnce(t)
	// The line names the binary and the state directory by their quoted
	// absolute paths: nothing is looked up on PATH or in the environment.
	text, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	line := "credential_process = " + profiles.Quote(bin) + " credential-process --session " + id + " --home " + profiles.Quote(state) + " --backend file --expires "
	if !bytes.Contains(text, []byte(line)) {
		t.Fatalf("config file lacks %q:\n%s", line, text)
	}
	issued := sts.Issued()
	if len(issued) != 1 {
		t.Fatalf("STS stand-in issued %d credentials, want 1", len(issued))
	}
	want := creds{issued[0].AccessKeyID, issued[0].SecretAccessKey, issued[0].SessionToken}

	// What the consumers get: the config file and nothing of ours in the
	// environment but the file keyring's passphrase, which never goes into
	// the line. PATH does not lead to the binary.
	consumerEnv := []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + home,
		"AWS_CONFIG_FILE=" + configFile,
		"AWS_SHARED_CREDENTIALS_FILE=" + emptyCreds,
		"AWS_EC2_METADATA_DISABLED=true",
		"TIMEBOUND_IAM_FILE_PASSPHRASE=" + passphrase,
	}
	awsExport := func(profile string) result {
		return runEnv(consumerEnv, awsCLI, "configure", "export-credentials", "--profile", profile, "--format", "process")
	}

	consumers := []consumer{
		{"aws cli", func(t *testing.T, profile string) (creds, string, error) {
			r := awsExport(profile)
			timings["aws cli"] = r.took
			if r.err != nil {
				return creds{}, string(r.stderr), r.err
			}
			var c creds
			return c, string(r.stderr), json.Unmarshal(r.stdout, &c)
		}},
		{"boto3", func(t *testing.T, profile string) (creds, string, error) {
			const script = `import boto3, json, sys
c = boto3.Session(profile_name=sys.argv[1]).get_credentials().get_frozen_credentials()
print(json.dumps({"AccessKeyId": c.access_key, "SecretAccessKey": c.secret_key, "SessionToken": c.token}))`
			r := runEnv(consumerEnv, python3, "-c", script, profile)
			timings["boto3"] = r.took
			if r.err != nil {
				return creds{}, string(r.stderr), r.err
			}
			var c creds
			return c, string(r.stderr), json.Unmarshal(r.stdout, &c)
		}},
		{"aws-sdk-go-v2", func(t *testing.T, profile string) (creds, string, error) {
			start := time.Now()
			defer func() { timings["aws-sdk-go-v2"] = time.Since(start) }()
			ctx := context.Background()
			cfg := sdkConfig(t, configFile, emptyCreds, passphrase, profile)
			c, err := cfg.Credentials.Retrieve(ctx)
			if err != nil {
				return creds{}, "", err
			}
			if cfg.Region != "us-east-1" {
				t.Errorf("region from the profile = %q, want us-east-1", cfg.Region)
			}
			return creds{c.AccessKeyID, c.SecretAccessKey, c.SessionToken}, "", nil
		}},
	}
	for _, c := range consumers {
		t.Run(c.name, func(t *testing.T) {
			got, stderr, err := c.run(t, profiles.Prefix+id)
			if err != nil {
				t.Fatalf("%s: %v\nstderr: %s", c.name, err, stderr)
			}
			if got != want {
				t.Errorf("%s got credentials %q, want the ones STS issued (%q)", c.name, got.AccessKeyID, want.AccessKeyID)
			}
		})
	}

	// A revoked grant: the AWS CLI fails and passes on the helper's reason.
	t.Run("revoked", func(t *testing.T) {
		r := runEnv(grantEnv, bin, "revoke", id)
		outputs = append(outputs, r)
		timings["revoke"] = r.took
		if r.err != nil {
			t.Fatalf("revoke: %v\n%s", r.err, r.stderr)
		}
		r = awsExport(profiles.Prefix + id)
		timings["aws cli revoked"] = r.took
		outputs = append(outputs, r) // the helper's stderr reaches the agent
		t.Logf("aws configure export-credentials on a revoked grant (%v): %q", r.err, r.stderr)
		checkRefusal(t, r, "Unable to retrieve credentials: ", "grant tb-"+id+" was revoked at "+stampRE+"; ")

		// What an agent actually runs: an API call. Credentials are resolved
		// before any request, so the endpoint is never reached.
		r = runEnv(consumerEnv, awsCLI, "s3", "ls", "--profile", profiles.Prefix+id, "--endpoint-url", "http://127.0.0.1:9")
		outputs = append(outputs, r)
		t.Logf("aws s3 ls on a revoked grant (%v): %q", r.err, r.stderr)
		checkRefusal(t, r, "", "grant tb-"+id+" was revoked at "+stampRE+"; ")
	})

	// An expired grant, without waiting: move its expiry into the past in
	// the keychain and in the profile, as time would.
	t.Run("expired", func(t *testing.T) {
		id2, _ := grantOnce(t)
		past := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
		keys, err := keychain.Open(keychain.Options{Backend: keychain.File, Dir: state, Passphrase: passphrase})
		if err != nil {
			t.Fatal(err)
		}
		c, err := keys.Get(id2)
		if err != nil {
			t.Fatal(err)
		}
		c.Expires = past
		if err := keys.Put(id2, c); err != nil {
			t.Fatal(err)
		}
		f := &profiles.File{Path: configFile, Home: state}
		err = f.Update(func(s *profiles.Set) error {
			e, ok := s.Get(id2)
			if !ok {
				return errors.New("no profile tb-" + id2)
			}
			e.Expires, e.Helper.Exe = past, bin
			return s.Put(e)
		})
		if err != nil {
			t.Fatal(err)
		}
		r := awsExport(profiles.Prefix + id2)
		timings["aws cli expired"] = r.took
		outputs = append(outputs, r)
		t.Logf("aws configure export-credentials on an expired grant (%v): %q", r.err, r.stderr)
		checkRefusal(t, r, "Unable to retrieve credentials: ", "grant tb-"+id2+" expired at "+regexp.QuoteMeta(past.Format(time.RFC3339))+"; ")
	})

	// No secret outside the keychain: not in our output, not in the config
	// file, not in any other file of the state directory.
	t.Run("no secrets outside the keychain", func(t *testing.T) {
		issued := sts.Issued()
		if len(issued) != 2 {
			t.Fatalf("STS stand-in issued %d credentials, want 2", len(issued))
		}
		scan := granttest.NewSecretScan()
		scan.From(sts.Secrets)
		// Access key ids are shown masked, never whole.
		scan.From(sts.KeyIDs)
		for i, r := range outputs {
			scan.Capture(fmt.Sprintf("stdout of command %d", i), r.stdout)
			scan.Capture(fmt.Sprintf("stderr of command %d", i), r.stderr)
		}
		scan.Dir(state) // all but keyring/
		scan.Check(t)
		files := scan.Files()
		if len(files) == 0 {
			t.Errorf("no files in %s outside keyring/: the walk checked nothing", state)
		}
		if !slices.Contains(files, configFile) {
			t.Errorf("config file %q not checked", configFile)
		}
	})
}

// sdkConfig loads profile with aws-sdk-go-v2 as an agent's Go program run
// with the consumers' environment would: LoadDefaultConfig finds configFile
// through AWS_CONFIG_FILE alone (the profile exists nowhere else, so loading
// fails if the SDK does not read that variable), no shared credentials
// (AWS_SHARED_CREDENTIALS_FILE names emptyCreds), and the profile by name,
// which like the CLI's --profile beats any keys in the environment. The SDK
// runs the credential_process line with sh -c in this process's
// environment, so that is where the variables go; t.Setenv rules out
// t.Parallel, which these tests do not use.
func sdkConfig(t *testing.T, configFile, emptyCreds, passphrase, profile string) aws.Config {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":               configFile,
		"AWS_SHARED_CREDENTIALS_FILE":   emptyCreds,
		"AWS_EC2_METADATA_DISABLED":     "true",
		"TIMEBOUND_IAM_FILE_PASSPHRASE": passphrase,
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithSharedConfigProfile(profile))
	if err != nil {
		t.Fatalf("aws-sdk-go-v2 loading %s from AWS_CONFIG_FILE=%s: %v", profile, configFile, err)
	}
	return cfg
}

// stampRE matches the RFC 3339 UTC times the helper prints.
const stampRE = `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`

// checkRefusal asserts that the AWS CLI failed and that its stderr is one
// line: prefix (the command's own wording, as a literal), the CLI's
// custom-process wrapping, then the helper's reason and what to do next.
func checkRefusal(t *testing.T, r result, prefix, reason string) {
	t.Helper()
	var exit *exec.ExitError
	if !errors.As(r.err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("aws: err = %v, want a non-zero exit\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
	}
	if len(r.stdout) != 0 {
		t.Errorf("stdout = %q, want nothing", r.stdout)
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix+"Error when retrieving credentials from custom-process: timebound-iam: ") +
		reason + regexp.QuoteMeta("call grant_access again (or run timebound-iam grant)") + `$`)
	if got := strings.TrimSpace(string(r.stderr)); !re.MatchString(got) {
		t.Errorf("stderr =\n%s\nwant a match for\n%s", got, re)
	}
}
