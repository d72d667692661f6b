package granttest

import (
	"bufio"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Rig is the end-to-end test rig that .ci/rig installs: MinIO, mc and the
// TypeScript MCP SDK, cached outside the clone.
type Rig struct {
	// Dir holds bin/minio, bin/mc and npm/node_modules.
	Dir string
}

// FindRig locates the rig: $TIMEBOUND_IAM_RIG, else
// ${XDG_CACHE_HOME:-~/.cache}/timebound-iam/rig. The error says what is
// missing and how to install it.
func FindRig() (Rig, error) {
	dir := os.Getenv("TIMEBOUND_IAM_RIG")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return Rig{}, err
		}
		dir = filepath.Join(cache, "timebound-iam", "rig")
	}
	r := Rig{Dir: dir}
	for _, p := range []string{r.MinIOBin(), r.MCBin(), filepath.Join(r.NodeModules(), "@modelcontextprotocol", "sdk", "package.json")} {
		if _, err := os.Stat(p); err != nil {
			return Rig{}, fmt.Errorf("the end-to-end rig is not installed (%s is missing): run sh .ci/rig, or make test", p)
		}
	}
	for _, tool := range []string{"/usr/bin/aws", "node"} {
		if _, err := exec.LookPath(tool); err != nil {
			return Rig{}, fmt.Errorf("the end-to-end rig needs %s: run sh .ci/rig", tool)
		}
	}
	return r, nil
}

// MinIOBin is the MinIO server binary.
func (r Rig) MinIOBin() string { return filepath.Join(r.Dir, "bin", "minio") }

// MCBin is the MinIO client binary.
func (r Rig) MCBin() string { return filepath.Join(r.Dir, "bin", "mc") }

// NodeModules holds the pinned npm packages.
func (r Rig) NodeModules() string { return filepath.Join(r.Dir, "npm", "node_modules") }

// Inspector is the MCP Inspector's command; with --cli it is an MCP client
// without elicitation.
func (r Rig) Inspector() string { return filepath.Join(r.NodeModules(), ".bin", "mcp-inspector") }

// MinIO is a MinIO server started by [Rig.StartMinIO] on 127.0.0.1.
type MinIO struct {
	// URL is the S3 and STS endpoint, e.g. http://127.0.0.1:40123.
	URL                    string
	RootUser, RootPassword string
	// Ready is how long the server took from start to /minio/health/ready.
	Ready time.Duration
	// Log is the server's output.
	Log string

	rig    Rig
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has been waited for
	dir    string
}

// StartMinIO starts a MinIO server with its data under dir (created if
// need be), on free ports on
// 127.0.0.1, and waits until it is ready. Stop it with Close.
func (r Rig) StartMinIO(dir string) (*MinIO, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	console, err := FreePort()
	if err != nil {
		return nil, err
	}
	m := &MinIO{
		URL:          "http://127.0.0.1:" + strconv.Itoa(port),
		RootUser:     "root" + random(4),
		RootPassword: random(16),
		Log:          filepath.Join(dir, "minio.log"),
		rig:          r,
		dir:          dir,
	}
	logf, err := os.Create(m.Log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	m.cmd = exec.Command(r.MinIOBin(), "server", filepath.Join(dir, "data"),
		"--address", "127.0.0.1:"+strconv.Itoa(port), "--console-address", "127.0.0.1:"+strconv.Itoa(console), "--quiet")
	m.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+m.RootUser, "MINIO_ROOT_PASSWORD="+m.RootPassword,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	// Its own process group, so that Close can kill it and anything it
	// starts; and, where the OS can, a signal when its parent dies, so that a
	// killed test binary or demo does not leave it running.
	m.cmd.SysProcAttr = minioProcAttr()
	start := time.Now()
	if err := m.startPinned(); err != nil {
		return nil, fmt.Errorf("starting minio: %w", err)
	}
	for {
		resp, err := http.Get(m.URL + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(start) > 30*time.Second {
			m.Close()
			log, _ := os.ReadFile(m.Log)
			return nil, fmt.Errorf("minio not ready after 30s:\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	m.Ready = time.Since(start)
	return m, nil
}

// startPinned starts the server from a goroutine locked to its OS thread
// until the server exits. Linux sends the parent-death signal when the
// thread that forked the child ends, not the process (prctl(2),
// PR_SET_PDEATHSIG); the Go runtime ends a thread when a goroutine exits
// while locked to it, which on an unpinned thread would kill MinIO mid-run.
func (m *MinIO) startPinned() error {
	started := make(chan error, 1)
	m.exited = make(chan struct{})
	go func() {
		defer close(m.exited)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		err := m.cmd.Start()
		started <- err
		if err == nil {
			_ = m.cmd.Wait()
		}
	}()
	return <-started
}

// PID is the server's process id.
func (m *MinIO) PID() int { return m.cmd.Process.Pid }

// Close stops the server by PID and waits for it.
func (m *MinIO) Close() error {
	if m.cmd == nil || m.cmd.Process == nil {
		return nil
	}
	killGroup(m.cmd.Process)
	<-m.exited
	return nil
}

// MC runs mc against this server's alias "rig". The alias comes from the
// environment on every call, and mc runs in the server's directory: mc takes
// an unknown alias for a local path, and must never create one elsewhere.
func (m *MinIO) MC(args ...string) ([]byte, error) {
	cmd := exec.Command(m.rig.MCBin(), append([]string{"--config-dir", filepath.Join(m.dir, "mc"), "--no-color", "--quiet"}, args...)...)
	cmd.Dir = m.dir
	host := strings.Replace(m.URL, "http://", "http://"+m.RootUser+":"+m.RootPassword+"@", 1)
	cmd.Env = append(os.Environ(), "MC_HOST_rig="+host)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("mc %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return out, nil
}

// AddUser creates an IAM user whose own policy is policyJSON.
func (m *MinIO) AddUser(name, secret, policyJSON string) error {
	f, err := os.CreateTemp("", "policy-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(policyJSON); err != nil {
		return err
	}
	f.Close()
	for _, args := range [][]string{
		{"admin", "policy", "create", "rig", name + "-policy", f.Name()},
		{"admin", "user", "add", "rig", name, secret},
		{"admin", "policy", "attach", "rig", name + "-policy", "--user", name},
	} {
		if _, err := m.MC(args...); err != nil {
			return err
		}
	}
	return nil
}

// RevokeSTSTokens revokes every STS session derived from user, through
// MinIO's admin API: MinIO then refuses those keys at once, as it would
// after expiry.
func (m *MinIO) RevokeSTSTokens(user string) error {
	u := m.URL + "/minio/admin/v3/revoke-tokens/builtin?fullRevoke=true&user=" + user
	req, err := http.NewRequest(http.MethodPost, u, nil)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(nil)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	creds := aws.Credentials{AccessKeyID: m.RootUser, SecretAccessKey: m.RootPassword}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, "s3", "us-east-1", time.Now()); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("revoke-tokens for %s: %s: %s", user, resp.Status, body)
	}
	return nil
}

// FreePort returns a port on 127.0.0.1 that nothing listens on just now.
// FreePort returns a port on 127.0.0.1 that nothing listens on just now.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

//go:embed mcpclient.cjs
var mcpClientJS []byte

// MCPClient drives an MCP server through the TypeScript SDK's client
// (mcpclient.cjs), one request per call, within one session.
type MCPClient struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// StartMCPClient starts the client, which starts server (with args) as its
// stdio MCP server. env is the whole environment of both; dir receives the
// client script. The server's stderr goes to stderr. MCPCLIENT_ELICIT in env
// makes the client answer elicitations (see mcpclient.cjs); without it the
// client declares no elicitation capability.
func (r Rig) StartMCPClient(dir, clientName string, env []string, stderr io.Writer, server string, args ...string) (*MCPClient, error) {
	script := filepath.Join(dir, "mcpclient.cjs")
	if err := os.WriteFile(script, mcpClientJS, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command("node", append([]string{script, clientName, "--", server}, args...)...)
	cmd.Env = append(env, "NODE_PATH="+r.NodeModules())
	cmd.Stderr = stderr
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
	return &MCPClient{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}, nil
}

// CallResult is a tools/call result as the client saw it.
type CallResult struct {
	IsError           bool            `json:"isError"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	Content           []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	ProtocolError string `json:"protocolError"`
	// Elicitations are the elicitation requests the server sent during the
	// call, which the client answered as MCPCLIENT_ELICIT says.
	Elicitations []Elicitation `json:"elicitations"`
	// Raw is the whole result line, for secret scans.
	Raw string `json:"-"`
}

// Elicitation is one elicitation request as the TypeScript client got it.
type Elicitation struct {
	Message         string         `json:"message"`
	RequestedSchema map[string]any `json:"requestedSchema"`
}

// Text joins the result's text content.
func (c CallResult) Text() string {
	var parts []string
	for _, p := range c.Content {
		parts = append(parts, p.Text)
	}
	return strings.Join(parts, "\n")
}

// Call calls tool with arguments and returns its result.
func (c *MCPClient) Call(tool string, arguments any) (CallResult, error) {
	line, err := c.roundTrip(map[string]any{"tool": tool, "arguments": arguments})
	if err != nil {
		return CallResult{}, err
	}
	var res CallResult
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		return CallResult{}, fmt.Errorf("client answered %q: %w", line, err)
	}
	res.Raw = line
	if res.ProtocolError != "" {
		return res, errors.New(res.ProtocolError)
	}
	return res, nil
}

// ProtocolVersion is the protocol version the client's initialize
// negotiated.
func (c *MCPClient) ProtocolVersion() (string, error) {
	line, err := c.roundTrip(map[string]any{"info": true})
	if err != nil {
		return "", err
	}
	var info struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		return "", fmt.Errorf("client answered %q: %w", line, err)
	}
	return info.ProtocolVersion, nil
}

// ListTools returns the raw tools/list result.
func (c *MCPClient) ListTools() (string, error) {
	return c.roundTrip(map[string]any{"list": "tools"})
}

func (c *MCPClient) roundTrip(req any) (string, error) {
	b, _ := json.Marshal(req)
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		return "", err
	}
	line, err := c.out.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("reading the MCP client's answer: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// Close ends the session and waits for the client and its server to exit.
func (c *MCPClient) Close() error {
	c.in.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		return errors.New("MCP client did not exit within 10s; killed")
	}
}
