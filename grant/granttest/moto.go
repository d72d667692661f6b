package granttest

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// Moto is a moto_server (AWS API emulator) on 127.0.0.1: IAM and STS
// GetCallerIdentity for setup and doctor tests. Unless told (see
// [StartMoto]), it neither checks signatures nor enforces policies.
type Moto struct {
	// URL is the endpoint for every service, e.g. http://127.0.0.1:40123.
	URL string
	cmd *exec.Cmd
}

// StartMoto starts moto_server on a free port, logging to dir/moto.log, with
// env added to its environment (INITIAL_NO_AUTH_ACTION_COUNT=n makes it check
// signatures and policies after its first n requests), and waits until it
// answers. The error says how to get moto when it is missing.
func StartMoto(dir string, env ...string) (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errors.New("moto_server is not on PATH: pip install 'moto[server]'")
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "moto.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	m := &Moto{URL: "http://127.0.0.1:" + strconv.Itoa(port)}
	m.cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	m.cmd.Env = append(os.Environ(), env...)
	m.cmd.SysProcAttr = minioProcAttr()
	if err := m.cmd.Start(); err != nil {
		return nil, err
	}
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(m.URL + "/moto-api/"); err == nil {
			resp.Body.Close()
			return m, nil
		}
		if time.Since(start) > 30*time.Second {
			m.Close()
			return nil, fmt.Errorf("moto_server not answering after 30s; see %s", logf.Name())
		}
	}
}

// Close stops moto_server by PID and waits for it.
func (m *Moto) Close() error {
	killGroup(m.cmd.Process)
	_ = m.cmd.Wait()
	return nil
}
