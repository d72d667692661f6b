package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// dataPath is where CI and developers keep the shared AWS policy data,
// relative to this package directory.
const (
	dataPath     = "../../../shared/aws-policies/ReadOnlyAccess.json"
	viewDataPath = "../../../shared/aws-policies/ViewOnlyAccess.json"
)

// sourcePolicy is the data file decoded independently of the generator, so
// that a bug in the generator's parsing cannot hide from these tests.
type sourcePolicy struct {
	version       string
	updateDate    string
	unconditional map[string][]string // prefix -> sorted, deduplicated patterns
	conditional   []sourceConditional
	prefixes      []string // every prefix in any statement, sorted
}

type sourceConditional struct {
	actions   []string
	condition string
}

func loadSource(t *testing.T) *sourcePolicy {
	t.Helper()
	return loadPolicy(t, dataPath)
}

func loadPolicy(t *testing.T, dataPath string) *sourcePolicy {
	t.Helper()
	raw, err := os.ReadFile(dataPath)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("AWS policy data not found at %s (the shared/ checkout must sit beside the repo); cannot cross-check the generated table", dataPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Version    string `json:"version"`
		UpdateDate string `json:"updatedate"`
		Document   struct {
			Statement []struct {
				Action    any             `json:"Action"`
				Resource  any             `json:"Resource"`
				Condition json.RawMessage `json:"Condition"`
			} `json:"Statement"`
		} `json:"document"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("decoding %s: %v", dataPath, err)
	}
	p := &sourcePolicy{version: f.Version, updateDate: f.UpdateDate, unconditional: map[string][]string{}}
	seen := map[string]bool{}
	for i, st := range f.Document.Statement {
		var actions []string
		switch a := st.Action.(type) {
		case string:
			actions = []string{a}
		case []any:
			for _, v := range a {
				s, ok := v.(string)
				if !ok {
					t.Fatalf("statement %d: non-string action %v", i, v)
				}
				actions = append(actions, s)
			}
		default:
			t.Fatalf("statement %d: unexpected Action %T", i, st.Action)
		}
		// A statement scoped to resources cannot be granted with Resource
		// "*"; the catalog leaves it out.
		if st.Resource != "*" {
			continue
		}
		for _, a := range actions {
			seen[prefixOf(a)] = true
		}
		if st.Condition == nil {
			for _, a := range actions {
				p.unconditional[prefixOf(a)] = append(p.unconditional[prefixOf(a)], a)
			}
			continue
		}
		var cond any
		if err := json.Unmarshal(st.Condition, &cond); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(cond); err != nil {
			t.Fatal(err)
		}
		p.conditional = append(p.conditional, sourceConditional{actions: actions, condition: strings.TrimSpace(buf.String())})
	}
	for prefix, actions := range p.unconditional {
		slices.Sort(actions)
		p.unconditional[prefix] = slices.Compact(actions)
	}
	for prefix := range seen {
		p.prefixes = append(p.prefixes, prefix)
	}
	slices.Sort(p.prefixes)
	return p
}

func prefixOf(action string) string {
	prefix, _, _ := strings.Cut(action, ":")
	return prefix
}

func TestTableMatchesSource(t *testing.T) {
	src := loadSource(t)

	t.Run("source version", func(t *testing.T) {
		want := fmt.Sprintf("ReadOnlyAccess %s (%s)", src.version, src.updateDate[:len("2006-01-02")])
		if Source != want {
			t.Errorf("Source = %q, want %q (regenerate with go generate)", Source, want)
		}
	})

	t.Run("prefix set", func(t *testing.T) {
		var got []string
		for _, s := range All() {
			got = append(got, s.Prefix)
		}
		if len(got) != len(src.prefixes) {
			t.Errorf("catalog has %d services, data has %d prefixes", len(got), len(src.prefixes))
		}
		if !slices.Equal(got, src.prefixes) {
			t.Errorf("catalog prefixes differ from the data's prefixes")
		}
	})

	for _, prefix := range src.prefixes {
		t.Run("read only/"+prefix, func(t *testing.T) {
			s, ok := Lookup(prefix)
			if !ok {
				t.Fatalf("Lookup(%q) not found", prefix)
			}
			want := src.unconditional[prefix]
			if !slices.Equal(s.ReadOnly, want) {
				t.Errorf("ReadOnly = %q\nwant %q", s.ReadOnly, want)
			}
		})
	}

	t.Run("conditional statements", func(t *testing.T) {
		// Build what every service's ReadOnlyConditional must hold: each
		// conditional statement, split by prefix.
		want := map[string][]Conditional{}
		for _, c := range src.conditional {
			byPrefix := map[string][]string{}
			for _, a := range c.actions {
				byPrefix[prefixOf(a)] = append(byPrefix[prefixOf(a)], a)
			}
			for prefix, actions := range byPrefix {
				slices.Sort(actions)
				want[prefix] = append(want[prefix], Conditional{Actions: slices.Compact(actions), Condition: c.condition})
			}
		}
		for _, s := range All() {
			w := want[s.Prefix]
			if len(s.ReadOnlyConditional) != len(w) {
				t.Errorf("%s: %d conditional statements, want %d", s.Prefix, len(s.ReadOnlyConditional), len(w))
				continue
			}
			for _, wc := range w {
				if !slices.ContainsFunc(s.ReadOnlyConditional, func(c Conditional) bool {
					return c.Condition == wc.Condition && slices.Equal(c.Actions, wc.Actions)
				}) {
					t.Errorf("%s: missing conditional %q under %s", s.Prefix, wc.Actions, wc.Condition)
				}
			}
		}
	})

	t.Run("s3express session is conditional only", func(t *testing.T) {
		s, ok := Lookup("s3express")
		if !ok {
			t.Fatal("s3express not in catalog")
		}
		want := []Conditional{{
			Actions:   []string{"s3express:CreateSession"},
			Condition: `{"StringEquals":{"s3express:SessionMode":"ReadOnly"}}`,
		}}
		if !slices.EqualFunc(s.ReadOnlyConditional, want, func(a, b Conditional) bool {
			return a.Condition == b.Condition && slices.Equal(a.Actions, b.Actions)
		}) {
			t.Errorf("ReadOnlyConditional = %+v, want %+v", s.ReadOnlyConditional, want)
		}
		// Granting CreateSession unconditionally would allow read-write
		// sessions, which ReadOnlyAccess does not.
		if slices.Contains(s.ReadOnly, "s3express:CreateSession") {
			t.Error("s3express:CreateSession leaked into the unconditional ReadOnly list")
		}
	})
}

func TestViewOnlyMatchesSource(t *testing.T) {
	src := loadPolicy(t, viewDataPath)
	want := map[string][]string{}
	for prefix, actions := range src.unconditional {
		if _, ok := Lookup(prefix); ok {
			want[prefix] = actions
		}
	}
	n := 0
	for _, s := range All() {
		if !slices.Equal(s.ViewOnly, want[s.Prefix]) {
			t.Errorf("%s: ViewOnly = %q\nwant %q", s.Prefix, s.ViewOnly, want[s.Prefix])
		}
		if s.HasViewOnly() {
			n++
		}
		if len(s.ViewOnlyConditional) != 0 {
			t.Errorf("%s: ViewOnlyConditional = %+v; ViewOnlyAccess %s has no conditional statements", s.Prefix, s.ViewOnlyConditional, src.version)
		}
	}
	if n != len(want) || n == 0 {
		t.Errorf("%d services have a view-only slice, want %d", n, len(want))
	}
	if ViewOnlySource != fmt.Sprintf("ViewOnlyAccess %s (%s)", src.version, src.updateDate[:len("2006-01-02")]) {
		t.Errorf("ViewOnlySource = %q does not match the data (regenerate with go generate)", ViewOnlySource)
	}
}

// TestViewOnlyNoDataReads pins what makes view_only different from
// read_only: the actions that read data are not in it.
func TestViewOnlyNoDataReads(t *testing.T) {
	tests := []struct {
		prefix           string
		hasViewOnly      bool
		mustNot          []string // patterns matching any of these are data reads
		readOnlyIncludes string
	}{
		{"s3", true, []string{"s3:GetObject", "s3:GetObjectVersion"}, "s3:Get*"},
		// ViewOnlyAccess v45 names no secretsmanager action at all.
		{"secretsmanager", false, []string{"secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue"}, ""},
		{"kms", true, []string{"kms:Decrypt", "kms:GetPublicKey"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			s, ok := Lookup(tt.prefix)
			if !ok || s.HasViewOnly() != tt.hasViewOnly {
				t.Fatalf("Lookup(%q) = %v, HasViewOnly %v; want HasViewOnly %v", tt.prefix, ok, s.HasViewOnly(), tt.hasViewOnly)
			}
			for _, action := range tt.mustNot {
				for _, p := range slices.Concat(s.ViewOnly, s.ViewOnlyFit) {
					if matches(p, action) {
						t.Errorf("ViewOnly pattern %q allows %s", p, action)
					}
				}
			}
			if tt.readOnlyIncludes != "" && !slices.Contains(s.ReadOnly, tt.readOnlyIncludes) {
				t.Errorf("ReadOnly = %q, want it to include %q", s.ReadOnly, tt.readOnlyIncludes)
			}
		})
	}
}

// matches reports whether IAM action pattern p (with * and ?) matches the
// concrete action a, case-insensitively as IAM does.
func matches(p, a string) bool {
	ok, err := filepath.Match(strings.ToLower(p), strings.ToLower(a))
	return err == nil && ok
}

// TestGeneratedUpToDate fails when the data or the generator changed without
// go generate being rerun.
func TestGeneratedUpToDate(t *testing.T) {
	if _, err := os.Stat(dataPath); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("AWS policy data not found at %s; cannot regenerate", dataPath)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go tool not in PATH; cannot run the generator: %v", err)
	}
	out := filepath.Join(t.TempDir(), "catalog_gen.go")
	known := filepath.Join(t.TempDir(), "known_actions.txt")
	cmd := exec.Command(goTool, "run", "./internal/gen", "-in", dataPath, "-view", viewDataPath, "-out", out, "-known", known)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("running generator: %v\n%s", err, msg)
	}
	gotKnown, err := os.ReadFile(known)
	if err != nil {
		t.Fatal(err)
	}
	if committed, err := os.ReadFile("../policy/testdata/known_actions.txt"); err != nil || !bytes.Equal(gotKnown, committed) {
		t.Errorf("grant/policy/testdata/known_actions.txt is stale (%v): run go generate ./grant/catalog/ and commit the result", err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("catalog_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, committed) {
		t.Error("catalog_gen.go is stale: run go generate ./grant/catalog/ and commit the result")
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name         string
		prefix       string
		wantOK       bool
		wantName     string
		wantReadOnly []string
	}{
		{name: "s3", prefix: "s3", wantOK: true, wantName: "Amazon S3", wantReadOnly: []string{"s3:DescribeJob", "s3:Get*", "s3:List*"}},
		{name: "first entry", prefix: All()[0].Prefix, wantOK: true, wantName: All()[0].Name, wantReadOnly: All()[0].ReadOnly},
		{name: "last entry", prefix: All()[len(All())-1].Prefix, wantOK: true, wantName: All()[len(All())-1].Name, wantReadOnly: All()[len(All())-1].ReadOnly},
		{name: "unknown", prefix: "nope"},
		{name: "uppercase", prefix: "S3"},
		{name: "empty", prefix: ""},
		{name: "action not prefix", prefix: "s3:GetObject"},
		{name: "prefix of a prefix", prefix: "s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := Lookup(tt.prefix)
			if ok != tt.wantOK {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tt.prefix, ok, tt.wantOK)
			}
			if !ok {
				if s.Prefix != "" || s.ReadOnly != nil {
					t.Errorf("Lookup(%q) returned non-zero Service %+v when not found", tt.prefix, s)
				}
				return
			}
			if s.Prefix != tt.prefix || s.Name != tt.wantName || !slices.Equal(s.ReadOnly, tt.wantReadOnly) {
				t.Errorf("Lookup(%q) = {%q %q %q}, want {%q %q %q}", tt.prefix, s.Prefix, s.Name, s.ReadOnly, tt.prefix, tt.wantName, tt.wantReadOnly)
			}
		})
	}
}

// TestLookupAllocs guards the hot path: Lookup must not allocate.
func TestLookupAllocs(t *testing.T) {
	for _, prefix := range []string{"s3", "nope"} {
		t.Run(prefix, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, func() { Lookup(prefix) }); n != 0 {
				t.Errorf("Lookup(%q) allocates %v times per call, want 0", prefix, n)
			}
		})
	}
}

func TestHandWrittenEntries(t *testing.T) {
	const minHandWritten = 45
	n := 0
	for _, s := range All() {
		if s.Name != "AWS "+s.Prefix {
			n++
		}
	}
	if n < minHandWritten {
		t.Errorf("%d services have a hand-written Name, want at least %d", n, minHandWritten)
	}

	tests := []struct{ prefix, name string }{
		{"s3", "Amazon S3"},
		{"ec2", "Amazon EC2"},
		{"lambda", "AWS Lambda"},
		{"logs", "Amazon CloudWatch Logs"},
		{"iam", "AWS Identity and Access Management (IAM)"},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			s, ok := Lookup(tt.prefix)
			if !ok || s.Name != tt.name {
				t.Errorf("Lookup(%q) = %q, %v; want Name %q", tt.prefix, s.Name, ok, tt.name)
			}
		})
	}
}

func TestAllInvariants(t *testing.T) {
	all := All()
	if len(all) == 0 {
		t.Fatal("All() is empty")
	}
	t.Run("sorted and unique", func(t *testing.T) {
		for i := 1; i < len(all); i++ {
			if all[i-1].Prefix >= all[i].Prefix {
				t.Errorf("All()[%d].Prefix %q is not before All()[%d].Prefix %q", i-1, all[i-1].Prefix, i, all[i].Prefix)
			}
		}
	})
	for _, s := range all {
		t.Run(s.Prefix, func(t *testing.T) {
			if s.Prefix != strings.ToLower(s.Prefix) {
				t.Errorf("prefix %q is not lowercase", s.Prefix)
			}
			if s.Name == "" || s.Description == "" {
				t.Errorf("Name %q or Description %q is empty", s.Name, s.Description)
			}
			if len(s.ReadOnly) == 0 && len(s.ReadOnlyConditional) == 0 {
				t.Error("service grants nothing read-only")
			}
			if !slices.IsSorted(s.ReadOnly) || len(slices.Compact(slices.Clone(s.ReadOnly))) != len(s.ReadOnly) {
				t.Errorf("ReadOnly is not sorted and deduplicated: %q", s.ReadOnly)
			}
			for _, a := range s.ReadOnly {
				if !strings.HasPrefix(a, s.Prefix+":") {
					t.Errorf("pattern %q does not belong to prefix %q", a, s.Prefix)
				}
			}
			// A fitted list is there only when it is shorter, and keeps
			// every plain action of the list it fits (the grant package's
			// TestFittedPolicyAllowsTheSame proves the rest).
			for _, l := range []struct {
				name      string
				from, fit []string
			}{{"ReadOnly", s.ReadOnly, s.ReadOnlyFit}, {"ViewOnly", s.ViewOnly, s.ViewOnlyFit}} {
				if l.fit == nil {
					continue
				}
				if !slices.IsSorted(l.fit) || len(slices.Compact(slices.Clone(l.fit))) != len(l.fit) {
					t.Errorf("%sFit is not sorted and deduplicated: %q", l.name, l.fit)
				}
				if size(l.fit) >= size(l.from) {
					t.Errorf("%sFit %q is no shorter than %q", l.name, l.fit, l.from)
				}
				for _, a := range l.from {
					if !strings.ContainsAny(a, "*?") && !slices.ContainsFunc(l.fit, func(p string) bool { return matches(p, a) }) {
						t.Errorf("%sFit %q lost %s", l.name, l.fit, a)
					}
				}
				for _, a := range l.fit {
					if !strings.HasPrefix(a, s.Prefix+":") {
						t.Errorf("fitted pattern %q does not belong to prefix %q", a, s.Prefix)
					}
				}
			}
			for _, c := range s.ReadOnlyConditional {
				if !json.Valid([]byte(c.Condition)) {
					t.Errorf("Condition %q is not valid JSON", c.Condition)
				}
				for _, a := range c.Actions {
					if !strings.HasPrefix(a, s.Prefix+":") {
						t.Errorf("conditional action %q does not belong to prefix %q", a, s.Prefix)
					}
				}
			}
		})
	}
}

// size is what patterns cost in a compact JSON list.
func size(patterns []string) int {
	n := 0
	for _, p := range patterns {
		n += len(p) + 3
	}
	return n
}

func ExampleLookup() {
	s, ok := Lookup("s3")
	if !ok {
		return
	}
	fmt.Println(s.Name)
	for _, p := range s.ReadOnly {
		fmt.Println(p)
	}
	// Output:
	// Amazon S3
	// s3:DescribeJob
	// s3:Get*
	// s3:List*
}
