// Command bench measures timebound-iam against its targets and prints one
// table: medians, and ratios taken from runs interleaved in this one
// invocation, so that load on the machine hits both sides of a ratio alike.
//
//	make bench      # builds bin/timebound-iam the release way, then runs this
//
// A missed target is a row marked MISS, not a failure: the exit status is
// non-zero only when a measure cannot run at all.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

func main() {
	if file, ok := os.LookupEnv(cpuFileEnv); ok {
		os.Exit(cpuChild(file, os.Args[1:]))
	}
	bin := flag.String("bin", "bin/timebound-iam", "the timebound-iam binary to measure, built as the release is")
	rounds := flag.Int("n", 40, "interleaved rounds for process measures")
	flag.Parse()
	if err := run(*bin, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// row is one line of the table.
type row struct {
	measure string
	median  time.Duration
	unit    string // "" for durations; otherwise value is printed as is
	value   string
	vs      string // the baseline's name and median, if any
	ratio   float64
	target  string
	ok      bool
	info    bool // a reference point: no verdict
}

func run(bin string, rounds int) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "timebound-iam-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	cache := filepath.Join(cacheDir(), "bench")
	floor, err := buildFloor(work, "floor", fixedJSON)
	if err != nil {
		return err
	}
	vault, err := buildAWSVault(cache)
	if err != nil {
		return err
	}
	sts, err := granttest.Start()
	if err != nil {
		return err
	}
	defer sts.Close()
	// keyctl items live in kernel memory until reboot: revoke every grant
	// the bench made, in each state directory it used.
	defer revokeAll(bin)

	var rows []row
	cp, err := credentialProcess(bin, floor, vault, sts.URL, work, rounds)
	if err != nil {
		return fmt.Errorf("credential-process: %w", err)
	}
	rows = append(rows, cp...)
	if r, err := s3ls(bin, work); err != nil {
		rows = append(rows, row{measure: "aws s3 ls, tb profile vs static keys", value: "skipped: " + err.Error()})
	} else {
		rows = append(rows, r...)
	}
	sv, err := serve(bin, sts.URL, work, rounds)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	rows = append(rows, sv...)
	printTable(os.Stdout, rows)
	return nil
}

func cacheDir() string {
	if d := os.Getenv("TIMEBOUND_IAM_BENCH_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return os.TempDir()
	}
	return filepath.Join(d, "timebound-iam")
}

// fixedJSON is what the floor prints.
const fixedJSON = `{"Version":1,"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"secret","SessionToken":"token","Expiration":"2099-01-01T00:00:00Z"}`

// buildFloor builds a floor: a Go program that only prints the given
// credential_process JSON, built the same way as the release binary.
func buildFloor(work, name, json string) (string, error) {
	dir := filepath.Join(work, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	src := fmt.Sprintf("package main\n\nimport \"os\"\n\nfunc main() {\n\tos.Stdout.WriteString(%q)\n}\n", json+"\n")
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module floor\n\ngo 1.22\n"), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the floor: %v\n%s", err, b)
	}
	return out, nil
}

// awsVaultVersion is the peer measured against; built from the module proxy
// into the bench cache once.
const awsVaultVersion = "v7.2.0"

func buildAWSVault(cache string) (string, error) {
	out := filepath.Join(cache, "bin", "aws-vault-"+awsVaultVersion)
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	fmt.Fprintf(os.Stderr, "bench: building aws-vault %s (first time only)\n", awsVaultVersion)
	dl := exec.Command("go", "mod", "download", "-json", "github.com/99designs/aws-vault/v7@"+awsVaultVersion)
	b, err := dl.Output()
	if err != nil {
		return "", fmt.Errorf("downloading aws-vault: %w", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(b, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("downloading aws-vault: no module directory in %s", b)
	}
	// go install @version would also ask the proxy for the version list,
	// which it may refuse; building the downloaded module needs only the
	// module itself.
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	build.Dir = mod.Dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building aws-vault: %v\n%s", err, b)
	}
	return out, nil
}

// env is a minimal environment plus extra variables.
func env(home string, extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}, extra...)
}

// toolEnv is the environment of a timebound-iam command granting through the
// STS stand-in, with fake base keys and no AWS files to find.
func toolEnv(home, state, stsURL, backend string, extra ...string) []string {
	return env(home, append([]string{"TIMEBOUND_IAM_HOME=" + state, "TIMEBOUND_IAM_ROLE_ARN=arn:aws:iam::123456789012:role/broker",
		"TIMEBOUND_IAM_STS_ENDPOINT=" + stsURL, "TIMEBOUND_IAM_KEYRING_BACKEND=" + backend,
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + filepath.Join(home, "none"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none")}, extra...)...)
}

// timeRun runs argv once and returns its wall time.
func timeRun(environ []string, argv ...string) (time.Duration, error) {
	wall, _, err := timeRunCPU(environ, argv...)
	return wall, err
}

// timeRunCPU also returns the CPU time of the process and of the children
// it waited for (the AWS CLI's credential_process helper among them): a
// figure load on the machine shifts far less than wall time.
func timeRunCPU(environ []string, argv ...string) (wall, cpu time.Duration, err error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = environ
	return timeCmd(cmd)
}

// timeCmd runs cmd, which has no output set yet, and returns its wall and
// CPU time as [timeRunCPU] does.
func timeCmd(cmd *exec.Cmd) (wall, cpu time.Duration, err error) {
	argv := cmd.Args
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return wall, cpu, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, stderr.String())
	}
	return wall, cpu, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// interleave runs every named command once per round, in turn, and returns
// each one's durations.
func interleave(rounds int, cmds map[string]func() (time.Duration, error)) (map[string][]time.Duration, error) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	slices.Sort(names)
	out := map[string][]time.Duration{}
	for name, f := range cmds { // warm caches once
		if _, err := f(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	for i := 0; i < rounds; i++ {
		for _, n := range names {
			d, err := cmds[n]()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			out[n] = append(out[n], d)
		}
	}
	return out, nil
}

// granted holds the environment of every state directory the bench granted
// in, for revokeAll.
var granted [][]string

func remember(environ []string) {
	if !slices.ContainsFunc(granted, func(e []string) bool { return slices.Equal(e, environ) }) {
		granted = append(granted, environ)
	}
}

func revokeAll(bin string) {
	for _, environ := range granted {
		cmd := exec.Command(bin, "revoke", "--all")
		cmd.Env = environ
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: cleaning up: revoke --all: %v\n%s", err, b)
		}
	}
}

// grantJSON makes a grant with the real binary and returns its fields.
func grantJSON(bin string, environ []string, args ...string) (map[string]any, error) {
	remember(environ)
	cmd := exec.Command(bin, append([]string{"grant", "--json"}, args...)...)
	cmd.Env = environ
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("grant: %v: %s", err, stderr.String())
	}
	var out map[string]any
	return out, json.Unmarshal(b, &out)
}

func credentialProcess(bin, floor, vault, stsURL, work string, rounds int) ([]row, error) {
	home := filepath.Join(work, "cp")
	const pass = "bench-passphrase"
	helper := func(backend string) ([]string, []string, error) {
		// One state directory per backend: a revoke runs with one backend.
		state := filepath.Join(home, backend)
		g, err := grantJSON(bin, toolEnv(home, state, stsURL, backend, "TIMEBOUND_IAM_FILE_PASSPHRASE="+pass), "-s", "s3", "-t", "12h")
		if err != nil {
			return nil, nil, err
		}
		id, _ := g["session_id"].(string)
		exp, _ := g["expires_at"].(string)
		// The AWS CLI runs the line without a shell and with its own
		// environment; the file backend needs only its passphrase.
		return []string{bin, "credential-process", "--session", id, "--home", state, "--backend", backend, "--expires", exp},
			env(home, "TIMEBOUND_IAM_FILE_PASSPHRASE="+pass), nil
	}
	keyctlArgv, keyctlEnv, err := helper("keyctl")
	if err != nil {
		return nil, err
	}
	fileArgv, fileEnv, err := helper("file")
	if err != nil {
		return nil, err
	}
	// aws-vault on its file backend, with fake static keys, no STS session.
	vaultHome := filepath.Join(work, "vault")
	if err := os.MkdirAll(filepath.Join(vaultHome, ".aws"), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(vaultHome, ".aws", "config"), []byte("[profile bench]\nregion = us-east-1\n"), 0o600); err != nil {
		return nil, err
	}
	// aws-vault links keyring without a D-Bus guard: on a headless machine
	// every run would start (and leak) a dbus-daemon and pay for it.
	vaultEnv := env(vaultHome, "DBUS_SESSION_BUS_ADDRESS=disabled:", "AWS_VAULT_BACKEND=file", "AWS_VAULT_FILE_PASSPHRASE="+pass, "AWS_VAULT_FILE_DIR="+filepath.Join(vaultHome, "keys"))
	add := exec.Command(vault, "add", "--env", "bench")
	add.Env = append(slices.Clone(vaultEnv), "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	if b, err := add.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("aws-vault add: %v\n%s", err, b)
	}
	res, err := interleave(rounds, map[string]func() (time.Duration, error){
		"floor":  func() (time.Duration, error) { return timeRun(env(home), floor) },
		"keyctl": func() (time.Duration, error) { return timeRun(keyctlEnv, keyctlArgv...) },
		"file":   func() (time.Duration, error) { return timeRun(fileEnv, fileArgv...) },
		"aws-vault": func() (time.Duration, error) {
			return timeRun(vaultEnv, vault, "export", "--format=json", "--no-session", "bench")
		},
	})
	if err != nil {
		return nil, err
	}
	f, k, fi, v := median(res["floor"]), median(res["keyctl"]), median(res["file"]), median(res["aws-vault"])
	return []row{
		{measure: "credential-process, keyctl", median: k, vs: "floor " + ms(f), ratio: ratio(k, f), target: "≤ 2.5x", ok: ratio(k, f) <= 2.5},
		{measure: "credential-process, file backend", median: fi, vs: "aws-vault " + ms(v), ratio: ratio(fi, v), target: "≤ 0.8x", ok: ratio(fi, v) <= 0.8},
	}, nil
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// serveProc is `timebound-iam serve` driven by the go-sdk client over stdio.
type serveProc struct {
	cmd     *exec.Cmd
	session *mcp.ClientSession
}

func startServe(bin string, environ []string) (*serveProc, error) {
	remember(environ)
	cmd := exec.Command(bin, "serve")
	cmd.Env = environ
	client := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
	s, err := client.Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		return nil, err
	}
	return &serveProc{cmd: cmd, session: s}, nil
}

func (p *serveProc) call(tool string, args any) (time.Duration, error) {
	start := time.Now()
	res, err := p.session.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	d := time.Since(start)
	if err != nil {
		return d, err
	}
	if res.IsError {
		var msg []string
		for _, c := range res.Content {
			if t, ok := c.(*mcp.TextContent); ok {
				msg = append(msg, t.Text)
			}
		}
		return d, fmt.Errorf("%s: tool error: %s", tool, strings.Join(msg, "; "))
	}
	return d, nil
}

func (p *serveProc) rss() (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			return strconv.Atoi(f[1])
		}
	}
	return 0, errors.New("no VmRSS")
}

func serve(bin, stsURL, work string, rounds int) ([]row, error) {
	environ := func(name string) []string {
		home := filepath.Join(work, name)
		return toolEnv(home, filepath.Join(home, "state"), stsURL, "keyctl")
	}
	// Start to initialize response, over stdio, as an agent starts it.
	var starts []time.Duration
	for i := 0; i < rounds; i++ {
		d, err := initTime(bin, environ("init"))
		if err != nil {
			return nil, err
		}
		starts = append(starts, d)
	}
	grantArgs := map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": "12h"}
	few, err := startServe(bin, environ("few"))
	if err != nil {
		return nil, err
	}
	defer few.session.Close()
	many, err := startServe(bin, environ("many"))
	if err != nil {
		return nil, err
	}
	defer many.session.Close()
	for i := 0; i < 10; i++ {
		if _, err := few.call("grant_access", grantArgs); err != nil {
			return nil, err
		}
	}
	var rssAfter100 int
	for i := 0; i < 1000; i++ {
		if _, err := many.call("grant_access", grantArgs); err != nil {
			return nil, err
		}
		if i == 99 {
			if rssAfter100, err = many.rss(); err != nil {
				return nil, err
			}
		}
	}
	lister, err := startLineClient(bin, environ("many"))
	if err != nil {
		return nil, err
	}
	defer lister.close()
	if err := lister.readResult(); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(lister.in, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n"); err != nil {
		return nil, err
	}
	res, err := interleave(rounds, map[string]func() (time.Duration, error){
		"few":  func() (time.Duration, error) { return few.call("grant_access", grantArgs) },
		"many": func() (time.Duration, error) { return many.call("grant_access", grantArgs) },
		"list": func() (time.Duration, error) { return lister.call("list_active_sessions") },
	})
	if err != nil {
		return nil, err
	}
	st, g10, g1000, list := median(starts), median(res["few"]), median(res["many"]), median(res["list"])
	rssMB := float64(rssAfter100) / 1024
	return []row{
		{measure: "serve start to initialize response", median: st, target: "≤ 10 ms", ok: st <= 10*time.Millisecond},
		{measure: "grant_access, instant STS on 127.0.0.1", median: g10, target: "≤ 5 ms", ok: g10 <= 5*time.Millisecond},
		{measure: "list_active_sessions, 1,000 live grants", median: list, target: "≤ 20 ms", ok: list <= 20*time.Millisecond},
		{measure: "grant_access with 1,000 profiles", median: g1000, vs: "with 10: " + ms(g10), ratio: ratio(g1000, g10), target: "≤ 1.5x", ok: ratio(g1000, g10) <= 1.5},
		{measure: "serve RSS after 100 grants", unit: "MB", value: fmt.Sprintf("%.1f MB", rssMB), target: "≤ 30 MB", ok: rssMB <= 30},
	}, nil
}

// lineClient speaks JSON-RPC to serve one line at a time, as an agent's
// client does on stdio, and times each request until its response line has
// arrived: the server's work and the pipe, not a client library's decoding.
type lineClient struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	next int
}

const initialize = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`

// startLineClient starts serve and returns once the initialize request is
// written; the first [lineClient.readResult] reads its answer.
func startLineClient(bin string, environ []string) (*lineClient, error) {
	cmd := exec.Command(bin, "serve")
	cmd.Env = environ
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &lineClient{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20), next: 1}
	_, err = io.WriteString(in, initialize+"\n")
	return c, err
}

// readResult reads one response line and checks that it is a result.
func (c *lineClient) readResult() error {
	line, err := c.out.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, `{"jsonrpc":"2.0","id":`) || !strings.Contains(line[:min(len(line), 40)], `"result"`) || strings.Contains(line, `"isError":true`) {
		return fmt.Errorf("response %.200q, %v", line, err)
	}
	return nil
}

// call sends a tools/call and times it until its response line is read.
func (c *lineClient) call(tool string) (time.Duration, error) {
	req := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":{}}}`+"\n", c.next, tool)
	c.next++
	start := time.Now()
	if _, err := io.WriteString(c.in, req); err != nil {
		return 0, err
	}
	err := c.readResult()
	return time.Since(start), err
}

func (c *lineClient) close() {
	c.in.Close()
	c.cmd.Wait()
}

// initTime starts serve, sends initialize, and times the first response line.
func initTime(bin string, environ []string) (time.Duration, error) {
	start := time.Now()
	c, err := startLineClient(bin, environ)
	if err != nil {
		return 0, err
	}
	defer c.close()
	err = c.readResult()
	return time.Since(start), err
}

func printTable(w io.Writer, rows []row) {
	fmt.Fprintf(w, "timebound-iam bench, %s, %s/%s, %d CPUs, %s, %s\n\n", time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), runtime.Version())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tmedian\tbaseline\tratio\ttarget\t")
	for _, r := range rows {
		value := r.value
		if value == "" {
			value = ms(r.median)
		}
		rat := ""
		if r.ratio > 0 {
			rat = fmt.Sprintf("%.2fx", r.ratio)
		}
		verdict := "ok"
		if !r.ok {
			verdict = "MISS"
		}
		if strings.HasPrefix(value, "skipped") || r.info {
			verdict = ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %s\t\n", r.measure, value, r.vs, rat, r.target, verdict)
	}
	tw.Flush()
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
