package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/keychain"
)

// grant calls grant_access and remembers the grant's secrets, so that the
// transcript can refuse to print them.
func (d *demo) grant(args grantArgs) (grant.GrantOutput, error) {
	var g grant.GrantOutput
	res, err := d.call("grant_access", args)
	if err != nil {
		return g, err
	}
	if err := json.Unmarshal(res.StructuredContent, &g); err != nil {
		return g, fmt.Errorf("grant_access result: %w", err)
	}
	keys, err := d.keys()
	if err != nil {
		return g, err
	}
	c, err := keys.Get(g.SessionID)
	if err != nil {
		return g, fmt.Errorf("reading %s from the keychain: %w", g.Profile, err)
	}
	d.t.secret(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	if d.t.leaks(res.Raw) {
		return g, errors.New("grant_access's result holds the grant's keys")
	}
	d.grants = append(d.grants, g)
	d.t.result(fmt.Sprintf("session_id=%s profile=%s %s expires_at=%s", g.SessionID, g.Profile, levels(g.Levels), g.ExpiresAt))
	d.t.note("no keys in the result; the keychain holds them, access key %s", grant.MaskKey(c.AccessKeyID))
	d.awsEnv = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(d.tmp, "home"),
		"AWS_CONFIG_FILE=" + g.ConfigFile,
		"AWS_SHARED_CREDENTIALS_FILE=",
		"AWS_EC2_METADATA_DISABLED=true",
		"TIMEBOUND_IAM_FILE_PASSPHRASE=" + d.passphrase,
	}
	return g, nil
}

// call calls an MCP tool, shows the call, and fails on a tool error.
func (d *demo) call(tool string, args any) (granttest.CallResult, error) {
	b, _ := json.Marshal(args)
	if string(b) == "{}" {
		d.t.line("→ %s", tool)
	} else {
		d.t.line("→ %s %s", tool, b)
	}
	res, err := d.mcp.Call(tool, args)
	if err != nil {
		return res, fmt.Errorf("%s: %w", tool, err)
	}
	for _, e := range res.Elicitations {
		d.t.note("the MCP client asked the user to approve it, and the user accepted:")
		for _, line := range strings.Split(strings.TrimSpace(e.Message), "\n") {
			d.t.line("    | %s", line)
		}
	}
	if res.IsError {
		return res, fmt.Errorf("%s failed: %s", tool, res.Text())
	}
	if d.t.leaks(res.Raw) {
		return res, fmt.Errorf("%s's result holds a secret", tool)
	}
	return res, nil
}

// profile returns the profile of the i-th grant, in the order granted.
func (d *demo) profile(i int) string { return d.grants[i].Profile }

func (d *demo) keys() (*keychain.Store, error) {
	return keychain.Open(keychain.Options{Backend: keychain.File, Dir: d.state, Passphrase: d.passphrase})
}

type awsResult struct {
	out string // stdout and stderr
	err error
}

// aws runs the AWS CLI with profile, as the agent would, and shows it.
func (d *demo) aws(profile string, args ...string) awsResult {
	d.t.line("$ aws --profile %s %s", profile, strings.Join(args, " "))
	return d.runAWS(d.awsEnv, append([]string{"--profile", profile}, args...))
}

// awsWithKeys runs the AWS CLI with c in the environment instead of a
// profile, and shows it with the keys masked.
func (d *demo) awsWithKeys(c aws.Credentials, args ...string) awsResult {
	d.t.line("$ AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=<hidden> AWS_SESSION_TOKEN=<hidden> aws %s",
		grant.MaskKey(c.AccessKeyID), strings.Join(args, " "))
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(d.tmp, "home"),
		"AWS_CONFIG_FILE=" + filepath.Join(d.tmp, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID=" + c.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey,
		"AWS_SESSION_TOKEN=" + c.SessionToken,
	}
	return d.runAWS(env, args)
}

func (d *demo) runAWS(env, args []string) awsResult {
	cmd := exec.CommandContext(d.ctx, awsCLI, append(args, "--endpoint-url", d.m.URL, "--region", "us-east-1")...)
	cmd.Env = env
	cmd.Dir = d.tmp
	out, err := cmd.CombinedOutput()
	r := awsResult{out: string(out), err: err}
	d.t.result(r.out)
	if err != nil {
		d.t.result(fmt.Sprintf("(exit status %d)", cmd.ProcessState.ExitCode()))
	}
	return r
}
