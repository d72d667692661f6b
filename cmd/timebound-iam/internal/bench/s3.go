package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// s3Rounds is more than the other measures take: the difference is a few
// milliseconds inside a command of more than half a second.
const s3Rounds = 60

// s3ls times `aws s3 ls` against MinIO with a tb profile and with a profile
// holding the same keys statically; and, to show what credential_process
// itself costs the CLI, with a profile whose credential_process is a floor
// printing the same keys. It then times the same three inside an agent's
// sandbox ([lsCommand.inSandbox]).
func s3ls(bin, work string) ([]row, error) {
	rig, err := granttest.FindRig()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(work, "s3")
	m, err := rig.StartMinIO(filepath.Join(dir, "minio"))
	if err != nil {
		return nil, err
	}
	defer m.Close()
	sc, err := granttest.SeedScenario(m)
	if err != nil {
		return nil, err
	}
	home := filepath.Join(dir, "home")
	environ := append(m.Env(home, sc.Broker), "TIMEBOUND_IAM_KEYRING_BACKEND=keyctl")
	g, err := grantJSON(bin, environ, "-s", "s3", "-t", "12h")
	if err != nil {
		return nil, err
	}
	profile, _ := g["profile"].(string)
	configFile, _ := g["config_file"].(string)
	// The static profile holds the very keys the helper prints.
	line := exec.Command(bin, "credential-process", "--session", strings.TrimPrefix(profile, "tb-"), "--home", filepath.Join(home, "state"), "--backend", "keyctl")
	b, err := line.Output()
	if err != nil {
		return nil, fmt.Errorf("credential-process: %w", err)
	}
	var c struct{ AccessKeyId, SecretAccessKey, SessionToken string }
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	static := filepath.Join(dir, "static-credentials")
	if err := os.WriteFile(static, []byte(fmt.Sprintf("[static]\naws_access_key_id = %s\naws_secret_access_key = %s\naws_session_token = %s\n", c.AccessKeyId, c.SecretAccessKey, c.SessionToken)), 0o600); err != nil {
		return nil, err
	}
	floor, err := buildFloor(work, "floor-s3", strings.TrimSpace(string(b)))
	if err != nil {
		return nil, err
	}
	// The tb profile is read from a copy of the grant's config file, so
	// that the floor's profile can sit beside it in the same file.
	tbConfig, err := os.ReadFile(configFile)
	if err != nil {
		return nil, err
	}
	benchConfig := filepath.Join(dir, "aws-config")
	if err := os.WriteFile(benchConfig, append(tbConfig, "\n[profile floor]\ncredential_process = "+floor+"\n"...), 0o600); err != nil {
		return nil, err
	}
	lc := lsCommand{environ: env(home, "AWS_CONFIG_FILE="+benchConfig, "AWS_SHARED_CREDENTIALS_FILE="+static, "AWS_EC2_METADATA_DISABLED=true"),
		endpoint: m.URL, bucket: sc.Readable, profiles: map[string]string{"tb": profile, "static": "static", "floor": "floor"}}
	host := func(argv []string) (time.Duration, time.Duration, error) { return timeRunCPU(lc.environ, argv...) }
	rows, err := lc.compare(s3Rounds, "", host, "≤ 1.03x", 1.03)
	if err != nil {
		return nil, err
	}
	sb, err := lc.inSandbox(home, filepath.Join(dir, "sandbox"), filepath.Join(home, "state"))
	if err != nil {
		return append(rows, row{measure: "aws s3 ls in srt, tb profile vs static keys", value: "skipped: " + err.Error()}), nil
	}
	return append(rows, sb...), nil
}

// lsCommand is `aws s3 ls` of one bucket, with one of three profiles: "tb"
// (the grant's), "static" (the same keys in the credentials file) and
// "floor" (a floor printing them as credential_process).
type lsCommand struct {
	environ          []string
	endpoint, bucket string
	profiles         map[string]string
}

// argv is the AWS CLI command line for profile p.
func (lc lsCommand) argv(p string) []string {
	return []string{"/usr/bin/aws", "--profile", lc.profiles[p], "--endpoint-url", lc.endpoint, "--region", "us-east-1", "s3", "ls", "s3://" + lc.bucket}
}

// compare times the three profiles in interleaved rounds and returns the
// rows: wall and CPU time of tb against static keys, with the floor as the
// reference. run runs the AWS CLI's argv and returns its wall time and the
// CPU time of the CLI and its helper; where names where it ran (" in srt").
func (lc lsCommand) compare(rounds int, where string, run func(argv []string) (wall, cpu time.Duration, err error), target string, limit float64) ([]row, error) {
	cpu := map[string][]time.Duration{}
	cmds := map[string]func() (time.Duration, error){}
	for name := range lc.profiles {
		cmds[name] = func() (time.Duration, error) {
			wall, c, err := run(lc.argv(name))
			cpu[name] = append(cpu[name], c)
			return wall, err
		}
	}
	res, err := interleave(rounds, cmds)
	if err != nil {
		return nil, err
	}
	tb, st, fl := median(res["tb"]), median(res["static"]), median(res["floor"])
	// The first run of each is interleave's warm-up, which it does not time.
	tbCPU, stCPU, flCPU := median(cpu["tb"][1:]), median(cpu["static"][1:]), median(cpu["floor"][1:])
	return []row{
		{measure: "aws s3 ls" + where + ", tb profile (AWS CLI v2, MinIO)", median: tb, vs: "static keys " + ms(st), ratio: ratio(tb, st), target: target, ok: ratio(tb, st) <= limit},
		{measure: "  same, CPU time of aws and its helper" + where, median: tbCPU, vs: "static keys " + ms(stCPU), ratio: ratio(tbCPU, stCPU), target: target, ok: ratio(tbCPU, stCPU) <= limit},
		{measure: "  floor as credential_process" + where + ", CPU time", median: flCPU, vs: "static keys " + ms(stCPU), ratio: ratio(flCPU, stCPU), target: "(reference)", info: true},
		{measure: "  floor as credential_process" + where + ", wall", median: fl, vs: "static keys " + ms(st), ratio: ratio(fl, st), target: "(reference)", info: true},
	}, nil
}
