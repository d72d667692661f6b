package grant

import (
	"slices"
	"strings"
	"testing"
	"time"
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

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]Level{"view_only": ViewOnly, "VO": ViewOnly, "read_only": ReadOnly, "ro": ReadOnly, "FULL": Full, " full ": Full} {
		if got, err := ParseLevel("level", in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "admin", "readonly", "write"} {
		_, err := ParseLevel("level", in)
		if err == nil || !strings.Contains(err.Error(), `level "`+in+`" is not allowed: use "view_only", "read_only" or "full"`) {
			t.Errorf("ParseLevel(%q) err = %v", in, err)
		}
	}
}

func TestRequestValidate(t *testing.T) {
	cfg := Config{MaxTTL: 12 * time.Hour}
	allowList := Config{MaxTTL: 12 * time.Hour, Services: []string{"s3", "logs"}}
	tests := []struct {
		name    string
		cfg     Config
		req     Request
		wantErr string
	}{
		{"ok", cfg, Request{Access: []Access{{"s3", ReadOnly}}, TTL: time.Hour}, ""},
		{"no services", cfg, Request{TTL: time.Hour}, "services is empty"},
		{"unknown", cfg, Request{Access: []Access{{"s3", ReadOnly}, {"nope", ReadOnly}}, TTL: time.Hour}, `services[1] "nope" is not an AWS service prefix in the catalog; list_services shows the allowed names`},
		{"uppercase", cfg, Request{Access: []Access{{"S3", ReadOnly}}, TTL: time.Hour}, `services[0] "S3" is not a service prefix: prefixes are lowercase, use "s3"`},
		{"injection", cfg, Request{Access: []Access{{"s3]\n[profile x", ReadOnly}}, TTL: time.Hour}, "is not an AWS service prefix"},
		{"twice", cfg, Request{Access: []Access{{"s3", ReadOnly}, {"s3", Full}}, TTL: time.Hour}, `services[1] "s3" is listed twice`},
		{"not allowed", allowList, Request{Access: []Access{{"ec2", ReadOnly}}, TTL: time.Hour}, `services[0] "ec2" is not allowed here; allowed: s3, logs`},
		{"bad level", cfg, Request{Access: []Access{{"s3", "admin"}}, TTL: time.Hour}, `level "admin" is not allowed: use "view_only", "read_only" or "full"`},
		{"view_only", cfg, Request{Access: []Access{{"s3", ViewOnly}}, TTL: time.Hour}, ""},
		{"no view_only", cfg, Request{Access: []Access{{"s3", ViewOnly}, {"secretsmanager", ViewOnly}}, TTL: time.Hour}, `services[1]: service "secretsmanager" has no view_only level (AWS's ViewOnlyAccess names none of its actions): use "read_only" or "full"`},
		{"ttl", cfg, Request{Access: []Access{{"s3", ReadOnly}}, TTL: 13 * time.Hour}, "ttl 13h is out of range"},
		{"long reason", cfg, Request{Access: []Access{{"s3", ReadOnly}}, TTL: time.Hour, Reason: strings.Repeat("x", 501)}, "reason is 501 characters; at most 500"},
		{"multi-line reason", cfg, Request{Access: []Access{{"s3", ReadOnly}}, TTL: time.Hour, Reason: "a\nb"}, "reason contains control characters"},
		{"resources", cfg, Request{Access: []Access{{"s3", ReadOnly}}, TTL: time.Hour, Resources: []string{"agent-data"}}, ""},
		{"bad resource", cfg, Request{Access: []Access{{"s3", ReadOnly}}, TTL: time.Hour, Resources: []string{"agent-data", "Agent Data"}}, `resources[1] "Agent Data" is not an ARN`},
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

func TestResourceARNs(t *testing.T) {
	s3 := []Access{{"s3", ReadOnly}}
	s3Logs := []Access{{"s3", Full}, {"logs", ReadOnly}}
	tests := []struct {
		name      string
		access    []Access
		resources []string
		want      []string
		wantErr   string
	}{
		{"none", s3, nil, nil, ""},
		{"bucket expands", s3, []string{"agent-data"}, []string{"arn:aws:s3:::agent-data", "arn:aws:s3:::agent-data/*"}, ""},
		{"bucket with dots", s3, []string{"logs.example.com"}, []string{"arn:aws:s3:::logs.example.com", "arn:aws:s3:::logs.example.com/*"}, ""},
		{"repeats dropped", s3, []string{"agent-data", "arn:aws:s3:::agent-data"}, []string{"arn:aws:s3:::agent-data", "arn:aws:s3:::agent-data/*"}, ""},
		{"arn with wildcards", s3, []string{"arn:aws:s3:::logs-*/2026/??/*"}, []string{"arn:aws:s3:::logs-*/2026/??/*"}, ""},
		{"two services", s3Logs, []string{"arn:aws-cn:logs:cn-north-1:123456789012:log-group:/app/*", "raw"},
			[]string{"arn:aws-cn:logs:cn-north-1:123456789012:log-group:/app/*", "arn:aws:s3:::raw", "arn:aws:s3:::raw/*"}, ""},
		{"gov partition", s3, []string{"arn:aws-us-gov:s3:::b"}, []string{"arn:aws-us-gov:s3:::b"}, ""},
		{"not an arn", s3, []string{"agent-data", "ok-bucket", "no spaces here"}, nil, `resources[2] "no spaces here" is not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE) or an S3 bucket name`},
		{"bucket too short", s3, []string{"ab"}, nil, `resources[0] "ab" is not an ARN`},
		{"bucket too long", s3, []string{strings.Repeat("a", 64)}, nil, "is not an ARN"},
		{"bucket uppercase", s3, []string{"Agent-Data"}, nil, `resources[0] "Agent-Data" is not an ARN`},
		{"bucket ends with hyphen", s3, []string{"agent-"}, nil, "is not an ARN"},
		{"bucket double dot", s3, []string{"a..b"}, nil, "is not an ARN"},
		{"bucket without s3", []Access{{"logs", ReadOnly}}, []string{"agent-data"}, nil, `resources[0] "agent-data" is an S3 bucket name but the grant has no s3`},
		{"wrong service", s3, []string{"arn:aws:ec2:us-east-1:123456789012:instance/*"}, nil, `resources[0] "arn:aws:ec2:us-east-1:123456789012:instance/*" is a resource of service "ec2", which the grant does not include`},
		{"bad partition", s3, []string{"arn:azure:s3:::b"}, nil, `resources[0] "arn:azure:s3:::b" is not an ARN: partition "azure" is not aws, aws-cn or aws-us-gov`},
		{"too few parts", s3, []string{"arn:aws:s3:b"}, nil, "it needs six parts"},
		{"empty resource part", s3, []string{"arn:aws:s3:::"}, nil, "it needs six parts"},
		{"wildcard service", s3, []string{"arn:aws:*:::b"}, nil, `service "*" is not a service prefix`},
		{"quote", s3, []string{`arn:aws:s3:::b"}]`}, nil, "no spaces, quotes or control characters"},
		{"newline", s3, []string{"arn:aws:s3:::b\n[profile x]"}, nil, `resources[0] "arn:aws:s3:::b\n[profile x]" is not an ARN`},
		{"space", s3, []string{"arn:aws:s3:::b c"}, nil, "no spaces"},
		{"too long", s3, []string{"arn:aws:s3:::" + strings.Repeat("a", MaxARN)}, nil, "characters; at most 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResourceARNs(tt.access, tt.resources)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ResourceARNs = %q, want %q", got, tt.want)
			}
		})
	}
}
