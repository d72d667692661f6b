package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"timebound-iam": keptOutputsMain})
}

// outputsEnv names the directory where keptOutputsMain keeps copies of what
// each run printed, for the scripts' secret scan.
const outputsEnv = "TIMEBOUND_IAM_TEST_OUTPUTS"

// keptOutputsMain is main, keeping a copy of the run's stderr and, but for
// credential-process (whose stdout is where the credentials belong), its
// stdout in $TIMEBOUND_IAM_TEST_OUTPUTS. What the program writes to
// os.Stdout itself, serve's MCP stream, is not copied.
func keptOutputsMain() {
	dir := os.Getenv(outputsEnv)
	if dir == "" {
		main()
		return
	}
	keep := func(stream string) *os.File {
		f, err := os.CreateTemp(dir, strings.Join(append([]string{filepath.Base(os.Args[0])}, os.Args[1:min(2, len(os.Args))]...), "-")+"-*."+stream)
		if err != nil {
			fmt.Fprintf(os.Stderr, "keeping %s: %v\n", stream, err)
			os.Exit(2)
		}
		return f
	}
	var stdout io.Writer = os.Stdout
	if len(os.Args) < 2 || os.Args[1] != "credential-process" {
		f := keep("stdout")
		defer f.Close()
		stdout = io.MultiWriter(os.Stdout, f)
	}
	f := keep("stderr")
	code := run(os.Args, os.Stdin, stdout, io.MultiWriter(os.Stderr, f))
	f.Close()
	os.Exit(code)
}

// TestScripts runs testdata/*.txtar. Each script gets its own STS stand-in
// on 127.0.0.1, a state directory under $WORK and the file keyring.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		Setup:               setupScript,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"jsonvar":     jsonvar,
			"backdate":    backdate,
			"profileline": profileline,
			"nosecret":    nosecret,
			"imds404":     imds404,
		},
	})
}

func setupScript(env *testscript.Env) error {
	sts, err := granttest.Start()
	if err != nil {
		return err
	}
	env.Defer(func() { sts.Close() })
	env.Values[stsKey{}] = sts
	// The secret scan: the stand-in's secrets must appear in no file under
	// $WORK but the keyring, which includes the copies keptOutputsMain
	// keeps of every run's stdout and stderr.
	outputs := filepath.Join(env.WorkDir, ".outputs")
	if err := os.Mkdir(outputs, 0o700); err != nil {
		return err
	}
	env.Setenv(outputsEnv, outputs)
	scan := granttest.NewSecretScan()
	scan.From(sts.Secrets)
	scan.From(sts.TokenCodes)
	scan.Dir(env.WorkDir)
	env.Defer(func() {
		found, err := scan.Findings()
		if err != nil {
			found = append(found, err.Error())
		}
		if len(found) > 0 {
			env.T().Fatal("secret scan:\n" + strings.Join(found, "\n"))
		}
		env.T().Log(fmt.Sprintf("secret scan: %d secrets, %d files", len(scan.Secrets()), len(scan.Files())))
	})
	for k, v := range map[string]string{
		"HOME":                          env.WorkDir,
		"TIMEBOUND_IAM_HOME":            filepath.Join(env.WorkDir, "state"),
		"TIMEBOUND_IAM_ROLE_ARN":        "arn:aws:iam::123456789012:role/broker",
		"TIMEBOUND_IAM_STS_ENDPOINT":    sts.URL,
		"TIMEBOUND_IAM_KEYRING_BACKEND": "file",
		"TIMEBOUND_IAM_FILE_PASSPHRASE": "test-passphrase",
		"AWS_ACCESS_KEY_ID":             "AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY":         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_EC2_METADATA_DISABLED":     "true",
		"AWS_CONFIG_FILE":               filepath.Join(env.WorkDir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE":   filepath.Join(env.WorkDir, "no-aws-credentials"),
	} {
		env.Setenv(k, v)
	}
	return nil
}

// stsKey finds the script's STS stand-in in its values.
type stsKey struct{}

// nosecret FILE... fails when a file holds any access key id, secret key or
// session token the script's STS stand-in issued; masked key ids are fine.
func nosecret(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: nosecret FILE...")
	}
	issued := ts.Value(stsKey{}).(*granttest.STS).Issued()
	if len(issued) == 0 {
		ts.Fatalf("the STS stand-in issued nothing: nothing to look for")
	}
	for _, f := range args {
		text := ts.ReadFile(f)
		for _, c := range issued {
			for name, secret := range map[string]string{"access key id": c.AccessKeyID, "secret access key": c.SecretAccessKey, "session token": c.SessionToken} {
				if strings.Contains(text, secret) {
					ts.Fatalf("%s holds an issued %s", f, name)
				}
			}
		}
	}
}

// jsonvar NAME FIELD sets $NAME to the string FIELD of the JSON object on the
// last command's stdout.
func jsonvar(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jsonvar NAME FIELD")
	}
	var obj map[string]any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile("stdout")), &obj))
	v, ok := obj[args[1]].(string)
	if !ok {
		ts.Fatalf("stdout has no string field %q", args[1])
	}
	ts.Setenv(args[0], v)
}

// backdate ID moves grant ID's expiry one minute into the past: an expired
// grant without waiting 15 minutes.
func backdate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: backdate ID")
	}
	_, err := granttest.Backdate(ts.Getenv("TIMEBOUND_IAM_HOME"), ts.Getenv("TIMEBOUND_IAM_FILE_PASSPHRASE"), args[0], time.Now().Add(-time.Minute))
	ts.Check(err)
}

// profileline NAME ID sets $NAME to the credential_process line of profile
// tb-ID, so a script can run it with sh -c exactly as aws-sdk-go-v2 does.
func profileline(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: profileline NAME ID")
	}
	prefix := "credential_process = "
	for _, line := range strings.Split(ts.ReadFile(filepath.Join(ts.Getenv("TIMEBOUND_IAM_HOME"), "aws-config")), "\n") {
		if strings.HasPrefix(line, prefix) && strings.Contains(line, " --session "+args[1]+" ") {
			ts.Setenv(args[0], strings.TrimPrefix(line, prefix))
			return
		}
	}
	ts.Fatalf("no credential_process line for tb-%s", args[1])
}

// imds404 NAME starts an EC2 instance metadata service that answers every
// request 404, as something on a laptop's network may, and sets $NAME to its
// URL. The SDK logs "falling back to IMDSv1" for it, and finds no role.
func imds404(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: imds404 NAME")
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	ts.Defer(srv.Close)
	ts.Setenv(args[0], srv.URL)
}
