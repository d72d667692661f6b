package agents

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var testServer = Server{
	Command: "/usr/local/bin/timebound-iam",
	Args:    []string{"serve"},
	Env:     map[string]string{"AWS_CONFIG_FILE": "/home/ana/.aws/config"},
}

const fresh = `{
  "mcpServers": {
    "timebound-iam": {
      "command": "/usr/local/bin/timebound-iam",
      "args": [
        "serve"
      ],
      "env": {
        "AWS_CONFIG_FILE": "/home/ana/.aws/config"
      }
    }
  }
}
`

func TestMergeServer(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string
		action Action
	}{
		{name: "missing", in: "", want: fresh, action: Added},
		{name: "blank", in: " \n", want: fresh, action: Added},
		{name: "empty object", in: "{}\n", want: fresh, action: Added},
		{
			name:   "empty object on lines",
			in:     "{\n}\n",
			want:   fresh,
			action: Added,
		},
		{
			name: "other servers",
			in: `{
  "mcpServers": {
    "github": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-github"],
      "env": {"GITHUB_TOKEN": "${GITHUB_TOKEN}"}
    }
  }
}
`,
			want: `{
  "mcpServers": {
    "github": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-github"],
      "env": {"GITHUB_TOKEN": "${GITHUB_TOKEN}"}
    },
    "timebound-iam": {
      "command": "/usr/local/bin/timebound-iam",
      "args": [
        "serve"
      ],
      "env": {
        "AWS_CONFIG_FILE": "/home/ana/.aws/config"
      }
    }
  }
}
`,
			action: Added,
		},
		{
			name: "no mcpServers yet, other keys kept in order",
			in: `{
    "zeta": 1,
    "alpha": {"deep": {"list": [1, 2.50, 1e3, {"n": null}], "s": "caf\u00e9 <b>"}}
}`,
			want: `{
    "zeta": 1,
    "alpha": {"deep": {"list": [1, 2.50, 1e3, {"n": null}], "s": "caf\u00e9 <b>"}},
    "mcpServers": {
        "timebound-iam": {
            "command": "/usr/local/bin/timebound-iam",
            "args": [
                "serve"
            ],
            "env": {
                "AWS_CONFIG_FILE": "/home/ana/.aws/config"
            }
        }
    }
}`,
			action: Added,
		},
		{
			name: "old path updated, the agent's own keys kept",
			in: `{
  "mcpServers": {
    "timebound-iam": {
      "type": "stdio",
      "command": "/opt/old/timebound-iam",
      "args": ["serve"],
      "env": {"AWS_CONFIG_FILE": "/home/ana/.aws/config", "EXTRA": "kept"},
      "autoApprove": ["list_services"]
    },
    "other": {"command": "x"}
  }
}
`,
			want: `{
  "mcpServers": {
    "timebound-iam": {
      "type": "stdio",
      "command": "/usr/local/bin/timebound-iam",
      "args": ["serve"],
      "env": {"AWS_CONFIG_FILE": "/home/ana/.aws/config", "EXTRA": "kept"},
      "autoApprove": ["list_services"]
    },
    "other": {"command": "x"}
  }
}
`,
			action: Updated,
		},
		{
			name: "args and env filled in",
			in: `{
  "mcpServers": {
    "timebound-iam": {
      "command": "/usr/local/bin/timebound-iam",
      "args": ["serve", "--home", "/x"]
    }
  }
}
`,
			want: `{
  "mcpServers": {
    "timebound-iam": {
      "command": "/usr/local/bin/timebound-iam",
      "args": [
        "serve"
      ],
      "env": {
        "AWS_CONFIG_FILE": "/home/ana/.aws/config"
      }
    }
  }
}
`,
			action: Updated,
		},
		{
			name:   "already right, odd formatting kept",
			in:     `{"mcpServers":{"timebound-iam":{"args":["serve"],"env":{"AWS_CONFIG_FILE":"/home/ana/.aws/config"},"command":"/usr/local/bin/timebound-iam"}}}`,
			want:   `{"mcpServers":{"timebound-iam":{"args":["serve"],"env":{"AWS_CONFIG_FILE":"/home/ana/.aws/config"},"command":"/usr/local/bin/timebound-iam"}}}`,
			action: Unchanged,
		},
		{
			name:   "escaped key is the same key",
			in:     `{"mcpServers": {"timebound\u002diam": {"command": "/old", "args": ["serve"], "env": {"AWS_CONFIG_FILE": "/home/ana/.aws/config"}}}}`,
			want:   `{"mcpServers": {"timebound\u002diam": {"command": "/usr/local/bin/timebound-iam", "args": ["serve"], "env": {"AWS_CONFIG_FILE": "/home/ana/.aws/config"}}}}`,
			action: Updated,
		},
		{
			name:   "compact document stays compact",
			in:     `{"mcpServers":{"a":{"command":"x"}}}`,
			want:   `{"mcpServers":{"a":{"command":"x"},"timebound-iam":{"command":"/usr/local/bin/timebound-iam","args":["serve"],"env":{"AWS_CONFIG_FILE":"/home/ana/.aws/config"}}}}`,
			action: Added,
		},
		{
			name:   "tabs and CRLF",
			in:     "{\r\n\t\"mcpServers\": {\r\n\t\t\"a\": {}\r\n\t}\r\n}\r\n",
			want:   "{\r\n\t\"mcpServers\": {\r\n\t\t\"a\": {},\r\n\t\t\"timebound-iam\": {\r\n\t\t\t\"command\": \"/usr/local/bin/timebound-iam\",\r\n\t\t\t\"args\": [\r\n\t\t\t\t\"serve\"\r\n\t\t\t],\r\n\t\t\t\"env\": {\r\n\t\t\t\t\"AWS_CONFIG_FILE\": \"/home/ana/.aws/config\"\r\n\t\t\t}\r\n\t\t}\r\n\t}\r\n}\r\n",
			action: Added,
		},
		{
			name:   "byte order mark kept",
			in:     "\uFEFF{}",
			want:   "\uFEFF" + strings.TrimSuffix(fresh, "\n"),
			action: Added,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, act, err := MergeServer([]byte(tt.in), testServer)
			if err != nil {
				t.Fatal(err)
			}
			if act != tt.action {
				t.Errorf("action = %s, want %s", act, tt.action)
			}
			if diff := cmp.Diff(tt.want, string(out)); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			again, act, err := MergeServer(out, testServer)
			if err != nil || act != Unchanged || string(again) != string(out) {
				t.Errorf("second merge: %s, %v; changed: %v", act, err, string(again) != string(out))
			}
		})
	}
}

func TestMergeServerPathWithHTMLCharacters(t *testing.T) {
	out, _, err := MergeServer(nil, Server{Command: "/opt/a&b <x>/timebound-iam", Args: []string{"serve"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"command": "/opt/a&b <x>/timebound-iam"`) {
		t.Errorf("path escaped:\n%s", out)
	}
	if strings.Contains(string(out), `"env"`) {
		t.Errorf("empty env written:\n%s", out)
	}
}

func TestMergeServerRefuses(t *testing.T) {
	tests := []struct {
		name, in, want string
		line, column   int
	}{
		{name: "trailing comma", in: "{\n  \"mcpServers\": {\n    \"a\": {},\n  }\n}\n", want: "line 4, column 3: invalid character '}' looking for beginning of object key string", line: 4, column: 3},
		{name: "cut short", in: "{\n  \"mcpServers\": {", want: "line 2, column 17: unexpected end of JSON input", line: 2, column: 17},
		{name: "comment", in: "// servers\n{}", want: "line 1, column 1: invalid character '/' looking for beginning of value", line: 1, column: 1},
		{name: "array", in: "[]", want: "the top level is an array, not a JSON object"},
		{name: "servers not an object", in: `{"mcpServers": []}`, want: `"mcpServers" is an array, not an object`},
		{name: "entry not an object", in: `{"mcpServers": {"timebound-iam": "x"}}`, want: `"mcpServers.timebound-iam" is a string, not an object`},
		{name: "env not an object", in: `{"mcpServers": {"timebound-iam": {"env": null}}}`, want: `"mcpServers.timebound-iam.env" is null, not an object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := MergeServer([]byte(tt.in), testServer)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
			var se *SyntaxError
			if errors.As(err, &se) != (tt.line > 0) {
				t.Fatalf("SyntaxError: %v", errors.As(err, &se))
			}
			if se != nil && (se.Line != tt.line || se.Column != tt.column) {
				t.Errorf("at %d:%d, want %d:%d", se.Line, se.Column, tt.line, tt.column)
			}
		})
	}
}

var testEnv = map[string]string{
	"AWS_CONFIG_FILE":             "/s/aws-config",
	"AWS_SHARED_CREDENTIALS_FILE": "/s/empty-credentials",
	"AWS_EC2_METADATA_DISABLED":   "true",
}

func TestMergeEnv(t *testing.T) {
	tests := []struct {
		name, in, want string
		action         Action
	}{
		{
			name: "missing",
			want: `{
  "env": {
    "AWS_CONFIG_FILE": "/s/aws-config",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_SHARED_CREDENTIALS_FILE": "/s/empty-credentials"
  }
}
`,
			action: Added,
		},
		{
			name: "other settings and env kept",
			in: `{
  "permissions": {"allow": ["Bash(go test:*)"], "deny": []},
  "env": {
    "GOFLAGS": "-mod=mod"
  },
  "model": "opus"
}
`,
			want: `{
  "permissions": {"allow": ["Bash(go test:*)"], "deny": []},
  "env": {
    "GOFLAGS": "-mod=mod",
    "AWS_CONFIG_FILE": "/s/aws-config",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_SHARED_CREDENTIALS_FILE": "/s/empty-credentials"
  },
  "model": "opus"
}
`,
			action: Added,
		},
		{
			name: "stale values",
			in: `{"env": {"AWS_CONFIG_FILE": "/old/aws-config", "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "eu-west-1"}}
`,
			want: `{"env": {"AWS_CONFIG_FILE": "/s/aws-config", "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "eu-west-1", "AWS_SHARED_CREDENTIALS_FILE": "/s/empty-credentials"}}
`,
			action: Updated,
		},
		{
			name:   "already set",
			in:     `{"env":{"AWS_SHARED_CREDENTIALS_FILE":"/s/empty-credentials","AWS_EC2_METADATA_DISABLED":"true","AWS_CONFIG_FILE":"/s/aws-config"}}`,
			want:   `{"env":{"AWS_SHARED_CREDENTIALS_FILE":"/s/empty-credentials","AWS_EC2_METADATA_DISABLED":"true","AWS_CONFIG_FILE":"/s/aws-config"}}`,
			action: Unchanged,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, act, err := MergeEnv([]byte(tt.in), testEnv)
			if err != nil {
				t.Fatal(err)
			}
			if act != tt.action {
				t.Errorf("action = %s, want %s", act, tt.action)
			}
			if diff := cmp.Diff(tt.want, string(out)); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
			again, act, err := MergeEnv(out, testEnv)
			if err != nil || act != Unchanged || string(again) != string(out) {
				t.Errorf("second merge: %s, %v", act, err)
			}
		})
	}
	if _, _, err := MergeEnv([]byte(`{"env": ["AWS_CONFIG_FILE=/x"]}`), testEnv); err == nil || err.Error() != `"env" is an array, not an object` {
		t.Errorf("env as an array: %v", err)
	}
}

func TestMergeBlock(t *testing.T) {
	block := Block("rules\n")
	tests := []struct {
		name, in, want string
		action         Action
	}{
		{name: "missing", want: block + "\n", action: Added},
		{name: "user text", in: "# Project\n\nUse gofmt.\n", want: "# Project\n\nUse gofmt.\n\n" + block + "\n", action: Added},
		{name: "no final newline", in: "# Project", want: "# Project\n\n" + block + "\n", action: Added},
		{name: "blank line already", in: "# Project\n\n", want: "# Project\n\n" + block + "\n", action: Added},
		{
			name:   "old block replaced, text around kept byte for byte",
			in:     "# Project  \n\n" + BeginMarker + "\nold rules\n" + EndMarker + "\n\n## After\ttabs\n\n\n",
			want:   "# Project  \n\n" + block + "\n\n## After\ttabs\n\n\n",
			action: Updated,
		},
		{
			name:   "block without newlines around it",
			in:     "before" + BeginMarker + "old" + EndMarker + "after",
			want:   "before" + block + "after",
			action: Updated,
		},
		{name: "current block", in: "text\n\n" + block + "\nmore\n", want: "text\n\n" + block + "\nmore\n", action: Unchanged},
		{
			name:   "CRLF",
			in:     "# Project\r\n",
			want:   "# Project\r\n\r\n" + strings.ReplaceAll(block, "\n", "\r\n") + "\r\n",
			action: Added,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, act, err := MergeBlock([]byte(tt.in), "rules\n")
			if err != nil {
				t.Fatal(err)
			}
			if act != tt.action {
				t.Errorf("action = %s, want %s", act, tt.action)
			}
			if diff := cmp.Diff(tt.want, string(out)); diff != "" {
				t.Errorf("text (-want +got):\n%s", diff)
			}
			again, act, err := MergeBlock(out, "rules\n")
			if err != nil || act != Unchanged || string(again) != string(out) {
				t.Errorf("second merge: %s, %v", act, err)
			}
		})
	}
}

func TestMergeBlockRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"begin only":       "x\n" + BeginMarker + "\nrules\n",
		"end only":         EndMarker + "\n",
		"two blocks":       Block("a") + "\n" + Block("b") + "\n",
		"end before begin": EndMarker + "\n" + BeginMarker + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := MergeBlock([]byte(in), "rules"); !errors.Is(err, ErrMarkers) {
				t.Fatalf("err = %v, want ErrMarkers", err)
			}
		})
	}
}
