package doctor

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestFallbackCredentials(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		homeFile     string // ~/.aws/credentials
		envFile      string // the file AWS_SHARED_CREDENTIALS_FILE names
		status       Status
		detail, hint string
	}{
		{name: "none", status: OK, detail: "no AWS_ACCESS_KEY_ID in the environment and no aws_access_key_id in "},
		{
			name: "environment", env: map[string]string{"AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": secret},
			status: Warn, detail: "AWS_ACCESS_KEY_ID (****MPLE) is set in this environment",
			hint: "run the agent with AWS_SHARED_CREDENTIALS_FILE pointing to an empty file",
		},
		{
			name:     "credentials file",
			homeFile: "[default]\naws_access_key_id = " + keyID + "\naws_secret_access_key = " + secret + "\n\n[ci]\nrole_arn = " + broker + "\n\n[old]\nAWS_ACCESS_KEY_ID=AKIAOLDOLDOLDOLD1234\n",
			status:   Warn, detail: "holds aws_access_key_id in default (****MPLE), old (****1234)", hint: "setup agent",
		},
		{
			name:     "AWS_SHARED_CREDENTIALS_FILE wins",
			homeFile: "[default]\naws_access_key_id = " + keyID + "\n",
			envFile:  "[default]\nregion = us-east-1\n",
			status:   OK, detail: "no aws_access_key_id in ",
		},
		{
			name:    "AWS_SHARED_CREDENTIALS_FILE with keys",
			envFile: "[prod]\naws_access_key_id = AKIAPRODPRODPROD9876\n",
			status:  Warn, detail: "holds aws_access_key_id in prod (****9876)", hint: "empty file",
		},
		{
			name: "both", env: map[string]string{"AWS_ACCESS_KEY_ID": keyID},
			homeFile: "[default]\naws_access_key_id = " + keyID + "\n",
			status:   Warn, detail: "AWS_ACCESS_KEY_ID (****MPLE) is set in this environment; ", hint: "AWS_SHARED_CREDENTIALS_FILE",
		},
		{name: "not INI", homeFile: "[default\n", status: Warn, detail: "cannot check ", hint: "check it by hand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := healthy(t)
			vars := map[string]string{}
			for k, v := range tt.env {
				vars[k] = v
			}
			if tt.homeFile != "" {
				write(t, filepath.Join(d.UserHome, ".aws", "credentials"), tt.homeFile)
			}
			if tt.envFile != "" {
				vars["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(t.TempDir(), "creds")
				write(t, vars["AWS_SHARED_CREDENTIALS_FILE"], tt.envFile)
			}
			d.Getenv = env(vars)
			c := run(t, d, FallbackCheck)
			want(t, c, tt.status, tt.detail, tt.hint)
			if s := c.Detail + c.Hint; strings.Contains(s, keyID) || strings.Contains(s, secret) {
				t.Errorf("a key or secret is shown: %q", s)
			}
			if tt.envFile != "" && !strings.Contains(c.Detail, vars["AWS_SHARED_CREDENTIALS_FILE"]) && c.Status == OK {
				t.Errorf("detail %q does not name %s", c.Detail, vars["AWS_SHARED_CREDENTIALS_FILE"])
			}
		})
	}
}
