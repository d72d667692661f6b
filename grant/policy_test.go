package grant

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/timebound-iam/timebound-iam/grant/catalog"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestPolicyGolden(t *testing.T) {
	tests := []struct {
		name   string
		access []Access
	}{
		{"s3_read_only", []Access{{"s3", ReadOnly}}},
		{"s3_full", []Access{{"s3", Full}}},
		{"lambda_logs_read_only", []Access{{"lambda", ReadOnly}, {"logs", ReadOnly}}},
		{"mixed_s3_full_ec2_read_only", []Access{{"s3", Full}, {"ec2", ReadOnly}}},
		{"s3express_conditional", []Access{{"s3express", ReadOnly}}},
		{"order_independent", []Access{{"logs", ReadOnly}, {"lambda", ReadOnly}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Policy(tt.access, DialectAWS)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "policy", tt.name+".json")
			if *update {
				if err := os.WriteFile(golden, []byte(got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./grant -run TestPolicyGolden -update to create it)", err)
			}
			if diff := cmp.Diff(strings.TrimSuffix(string(want), "\n"), got); diff != "" {
				t.Errorf("policy differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestPolicyShape checks what every policy must be, whatever the services:
// compact JSON, Version 2012-10-17, Allow only, within the size limit, and
// exactly the catalog's actions.
func TestPolicyShape(t *testing.T) {
	for _, svc := range catalog.All() {
		for _, level := range Levels {
			p, err := Policy([]Access{{svc.Prefix, level}}, DialectAWS)
			var tooLarge *PolicyTooLargeError
			if errors.As(err, &tooLarge) {
				if tooLarge.Size <= MaxPolicySize {
					t.Errorf("%s %s: refused at %d characters, within the limit", svc.Prefix, level, tooLarge.Size)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s %s: %v", svc.Prefix, level, err)
			}
			if len(p) > MaxPolicySize {
				t.Errorf("%s %s: %d characters", svc.Prefix, level, len(p))
			}
			var doc struct {
				Version   string
				Statement []struct {
					Effect    string
					Action    []string
					Resource  string
					Condition map[string]any
				}
			}
			if err := json.Unmarshal([]byte(p), &doc); err != nil {
				t.Fatalf("%s %s: not JSON: %v", svc.Prefix, level, err)
			}
			compact, _ := json.Marshal(json.RawMessage(p))
			if string(compact) != p || strings.ContainsAny(p, "\n\t") {
				t.Errorf("%s %s: not compact", svc.Prefix, level)
			}
			if doc.Version != "2012-10-17" {
				t.Errorf("%s %s: Version %q", svc.Prefix, level, doc.Version)
			}
			var actions []string
			for _, s := range doc.Statement {
				if s.Effect != "Allow" || s.Resource != "*" {
					t.Errorf("%s %s: statement %+v", svc.Prefix, level, s)
				}
				if s.Condition == nil {
					actions = append(actions, s.Action...)
				}
			}
			want := svc.ReadOnly
			if level == Full {
				want = []string{svc.Prefix + ":*"}
			}
			if diff := cmp.Diff(want, actions); diff != "" {
				t.Errorf("%s %s: actions (-want +got):\n%s", svc.Prefix, level, diff)
			}
		}
	}
}

func TestPolicyTooLarge(t *testing.T) {
	var many []Access
	for _, p := range []string{"glue", "datazone", "lightsail", "cleanrooms", "logs", "ec2"} {
		many = append(many, Access{p, ReadOnly})
	}
	_, err := Policy(many, DialectAWS)
	var tooLarge *PolicyTooLargeError
	if !errors.As(err, &tooLarge) {
		t.Fatalf("Policy(%d big services) = %v, want *PolicyTooLargeError", len(many), err)
	}
	msg := err.Error()
	for _, want := range []string{"characters; STS allows 2048", "fewer services", "split them across grants", "largest first: datazone"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	// The same services at full level fit easily.
	for i := range many {
		many[i].Level = Full
	}
	if _, err := Policy(many, DialectAWS); err != nil {
		t.Errorf("full level for the same services: %v", err)
	}
}

func TestPolicyMinIODialect(t *testing.T) {
	got, err := Policy([]Access{{"s3", ReadOnly}}, DialectMinIO)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"*"}]}`
	if got != want {
		t.Errorf("minio s3 read_only policy\n got %s\nwant %s", got, want)
	}
	cfg := Config{MaxTTL: DefaultMaxTTL, STSDialect: DialectMinIO}
	err = Request{Access: []Access{{"ec2", ReadOnly}}, TTL: MinTTL}.validate(cfg)
	if err == nil || !strings.Contains(err.Error(), `services[0] "ec2" is not allowed here; allowed: s3 only (sts_dialect = minio)`) {
		t.Errorf("ec2 under the minio dialect: %v", err)
	}
	if list := cfg.ServiceList(); len(list) != 1 || list[0].Name != "s3" {
		t.Errorf("ServiceList under the minio dialect = %v, want s3 only", list)
	}
}
