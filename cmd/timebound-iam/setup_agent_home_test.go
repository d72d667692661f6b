package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/timebound-iam/timebound-iam/cmd/timebound-iam/internal/agents"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// TestSetupAgentPinsStateDir: with a state directory chosen in the shell
// (TIMEBOUND_IAM_HOME), setup agent writes it into the MCP entry, since an
// MCP client starts the server with an environment of its own. The test
// starts the written entry as a client would, with its command, its args and
// its env only (no TIMEBOUND_IAM_HOME), makes a grant, and finds the profile
// in that state directory and nothing in the default one. With the default
// state directory the entry names none.
func TestSetupAgentPinsStateDir(t *testing.T) {
	bin := goBuild(t, filepath.Join(t.TempDir(), "timebound-iam"), ".")
	stand, err := granttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stand.Close()
	granttest.ScanSecrets(t).From(stand.Secrets)

	work := t.TempDir()
	project := filepath.Join(work, "project")
	if err := os.Mkdir(project, 0o755); err != nil {
		t.Fatal(err)
	}
	chosen := filepath.Join(work, "chosen-state")
	defaultState := filepath.Join(work, ".config", "timebound-iam")
	base := []string{"HOME=" + work, "PATH=" + os.Getenv("PATH")}
	setup := func(state string) agents.Server {
		t.Helper()
		cmd := exec.Command(bin, "setup", "agent", "--write", "--project", project, "cursor")
		cmd.Env = append(base[:len(base):len(base)], "TIMEBOUND_IAM_HOME="+state)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("setup agent: %v\n%s", err, out)
		}
		data, err := os.ReadFile(filepath.Join(project, ".cursor", "mcp.json"))
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			MCPServers map[string]agents.Server `json:"mcpServers"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		return f.MCPServers["timebound-iam"]
	}

	if s := setup(defaultState); strings.Join(s.Args, " ") != "serve" {
		t.Errorf("with the default state directory the entry's args are %q; want just serve", s.Args)
	}
	entry := setup(chosen)
	if want := "serve --home " + chosen; strings.Join(entry.Args, " ") != want {
		t.Fatalf("entry args %q; want %q", entry.Args, want)
	}

	// Started as the client would: the entry's command, args and env, plus
	// what any client's environment has and this test's STS stand-in.
	cmd := exec.Command(entry.Command, entry.Args...)
	cmd.Dir = project
	cmd.Env = append(base[:len(base):len(base)],
		"TIMEBOUND_IAM_ROLE_ARN="+granttest.Role,
		"TIMEBOUND_IAM_STS_ENDPOINT="+stand.URL,
		"TIMEBOUND_IAM_KEYRING_BACKEND=file",
		"TIMEBOUND_IAM_FILE_PASSPHRASE=pin-test-passphrase",
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	)
	for k, v := range entry.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "pin-test", Version: "1"}, nil).
		Connect(ctx, &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "grant_access", Arguments: map[string]any{"services": []string{"s3"}, "ttl": "15m"}})
	if err != nil || res.IsError {
		t.Fatalf("grant_access: %v %+v", err, res)
	}
	var out grant.GrantOutput
	raw, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	profiles, err := os.ReadFile(filepath.Join(chosen, config.AWSConfigName))
	if err != nil || !strings.Contains(string(profiles), "[profile "+out.Profile+"]") {
		t.Errorf("the grant %s is not in the chosen state directory's %s: %v\n%s", out.Profile, config.AWSConfigName, err, profiles)
	}
	if _, err := os.Stat(filepath.Join(defaultState, config.AWSConfigName)); err == nil {
		t.Errorf("the server wrote into the default state directory %s", defaultState)
	}
}
