package grant

import (
	"strings"
	"testing"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

func TestParseTTL(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"", time.Hour, ""},
		{"15m", 15 * time.Minute, ""},
		{" 1h30m ", 90 * time.Minute, ""},
		{"2h", 2 * time.Hour, ""},
		{"14m59s", 0, "ttl 14m59s is out of range: use between 15m and 2h (max_ttl)"},
		{"2h0m1s", 0, "out of range"},
		{"soon", 0, `ttl "soon" is not a duration: use a Go duration between 15m and 2h`},
		{"30", 0, "is not a duration"},
		{"-1h", 0, "out of range"},
		{"20m0.5s", 0, "not a whole number of seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTTL(tt.in, time.Hour, 2*time.Hour)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseTTL(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRequestValidate(t *testing.T) {
	cfg := config.Config{MaxTTL: 12 * time.Hour}
	allowList := config.Config{MaxTTL: 12 * time.Hour, Services: []string{"s3", "logs"}}
	tests := []struct {
		name    string
		cfg     config.Config
		req     Request
		wantErr string
	}{
		{"ok", cfg, Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: time.Hour}, ""},
		{"no services", cfg, Request{TTL: time.Hour}, "services is empty"},
		{"unknown", cfg, Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}, {Service: "nope", Level: policy.ReadOnly}}, TTL: time.Hour}, `services[1] "nope" is not an AWS service prefix in the catalog; list_services shows the allowed names`},
		{"uppercase", cfg, Request{Access: []policy.Access{{Service: "S3", Level: policy.ReadOnly}}, TTL: time.Hour}, `services[0] "S3" is not a service prefix: prefixes are lowercase, use "s3"`},
		{"injection", cfg, Request{Access: []policy.Access{{Service: "s3]\n[profile x", Level: policy.ReadOnly}}, TTL: time.Hour}, "is not an AWS service prefix"},
		{"twice", cfg, Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}, {Service: "s3", Level: policy.Full}}, TTL: time.Hour}, `services[1] "s3" is listed twice`},
		{"not allowed", allowList, Request{Access: []policy.Access{{Service: "ec2", Level: policy.ReadOnly}}, TTL: time.Hour}, `services[0] "ec2" is not allowed here; allowed: s3, logs`},
		{"bad level", cfg, Request{Access: []policy.Access{{Service: "s3", Level: "admin"}}, TTL: time.Hour}, `level "admin" is not allowed: use "view_only", "read_only" or "full"`},
		{"view_only", cfg, Request{Access: []policy.Access{{Service: "s3", Level: policy.ViewOnly}}, TTL: time.Hour}, ""},
		{"no view_only", cfg, Request{Access: []policy.Access{{Service: "s3", Level: policy.ViewOnly}, {Service: "secretsmanager", Level: policy.ViewOnly}}, TTL: time.Hour}, `services[1]: service "secretsmanager" has no view_only level (AWS's ViewOnlyAccess names none of its actions): use "read_only" or "full"`},
		{"ttl", cfg, Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: 13 * time.Hour}, "ttl 13h is out of range"},
		{"long reason", cfg, Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: time.Hour, Reason: strings.Repeat("x", 501)}, "reason is 501 characters; at most 500"},
		{"multi-line reason", cfg, Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: time.Hour, Reason: "a\nb"}, "reason contains control characters"},
		{"resources", cfg, Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: time.Hour, Resources: []string{"agent-data"}}, ""},
		{"bad resource", cfg, Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: time.Hour, Resources: []string{"agent-data", "Agent Data"}}, `resources[1] "Agent Data" is not an ARN`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.req.validate(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		id, err := NewID()
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 8 || strings.Trim(id, idAlphabet) != "" {
			t.Fatalf("id %q: want 8 characters from %q", id, idAlphabet)
		}
		if seen[id] {
			t.Fatalf("id %q repeated within 2000 draws", id)
		}
		seen[id] = true
	}
}

func TestNormalizeID(t *testing.T) {
	for in, want := range map[string]string{"tb-k3f9ab2c": "k3f9ab2c", "k3f9ab2c": "k3f9ab2c", " tb-abcd2345 ": "abcd2345"} {
		if got, err := NormalizeID(in); err != nil || got != want {
			t.Errorf("NormalizeID(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "tb-", "../etc", "tb-ABC", "k3f9 ab2c", "tb-x]"} {
		if _, err := NormalizeID(in); err == nil || !strings.Contains(err.Error(), "session_id") {
			t.Errorf("NormalizeID(%q) err = %v, want a session_id error", in, err)
		}
	}
}

// TestMinIODialectAllowsS3Only: the MinIO dialect serves s3 alone, so a
// request for any other service is refused and list_services shows s3 only.
func TestMinIODialectAllowsS3Only(t *testing.T) {
	cfg := config.Config{MaxTTL: config.DefaultMaxTTL, STSDialect: policy.DialectMinIO}
	_, err := Request{Access: []policy.Access{{Service: "ec2", Level: policy.ReadOnly}}, TTL: config.MinTTL}.validate(cfg)
	if err == nil || !strings.Contains(err.Error(), `services[0] "ec2" is not allowed here; allowed: s3 only (sts_dialect = minio)`) {
		t.Errorf("ec2 under the minio dialect: %v", err)
	}
	if list := ServiceList(cfg); len(list) != 1 || list[0].Name != "s3" {
		t.Errorf("ServiceList under the minio dialect = %v, want s3 only", list)
	}
}
