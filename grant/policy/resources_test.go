package policy

import (
	"slices"
	"strings"
	"testing"
)

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
