package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
)

// The data files under data/, as escgen import writes them.
const (
	levelsFile         = "access-levels.tsv"
	pathfindingFile    = "pathfinding.json"
	cloudsplainingFile = "cloudsplaining.json"
	minioFile          = "minio-s3-actions.txt"
	// supplementFile is timebound-iam's own, kept by hand: see data/README.md.
	supplementFile = "supplement.json"
)

type importArgs struct {
	pathfinding, pathfindingSrc       string
	cloudsplaining, cloudsplainingSrc string
	sar, sarSrc                       string
	minio, minioSrc                   string
	out                               string
}

// pathfindingDoc is data/pathfinding.json.
type pathfindingDoc struct {
	Source string            `json:"source"`
	Paths  []pathfindingPath `json:"paths"`
}

// cloudsplainingDoc is data/cloudsplaining.json.
// supplementDoc is supplement.json: actions no dataset classes, each entry
// with its class, the ability it hands over in plain words, and the AWS
// documentation that says so.
type supplementDoc struct {
	Source  string `json:"source"`
	Entries []struct {
		Class     string   `json:"class"`
		Actions   []string `json:"actions"`
		Ability   string   `json:"ability"`
		Reference string   `json:"reference"`
	} `json:"entries"`
}

type cloudsplainingDoc struct {
	Source string `json:"source"`
	cloudsplainingData
}

func runImport(a importArgs) error {
	paths, err := readPathfinding(a.pathfinding)
	if err != nil {
		return err
	}
	cs, err := readCloudsplaining(a.cloudsplaining)
	if err != nil {
		return err
	}
	levels, skipped, err := readSAR(filepath.Join(a.sar, "docs"))
	if err != nil {
		return err
	}
	applied, err := applyOverrides(filepath.Join(a.sar, "access-level-overrides.yml"), levels)
	if err != nil {
		return err
	}
	minio, err := readMinIO(a.minio)
	if err != nil {
		return err
	}
	// Keep the catalog's services and those the datasets name.
	keep := map[string]bool{}
	for _, s := range catalog.All() {
		keep[s.Prefix] = true
	}
	for _, p := range paths {
		for _, r := range p.Required {
			keep[prefixOf(r)] = true
		}
	}
	for _, m := range cs.PrivilegeEscalationMethods {
		for _, r := range m {
			keep[prefixOf(r)] = true
		}
	}
	for _, r := range cs.ActionsThatReturnCredentials {
		keep[prefixOf(r)] = true
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Every action of the catalog's services and of the services the escalation\n")
	fmt.Fprintf(&b, "# datasets name, with its access level in AWS's Service Authorization Reference,\n")
	fmt.Fprintf(&b, "# as Policy Sentry keeps it (its docs/ pages, %d access-level overrides applied).\n", applied)
	fmt.Fprintf(&b, "# Source: %s\n", a.sarSrc)
	if len(skipped) > 0 {
		fmt.Fprintf(&b, "# Pages without a service prefix or an actions table, skipped: %s\n", strings.Join(skipped, " "))
	}
	fmt.Fprintf(&b, "# Written by escgen import; DO NOT EDIT.\n")
	for _, act := range sortedKeys(levels) {
		if keep[prefixOf(act)] {
			fmt.Fprintf(&b, "%s\t%s\n", act, levels[act])
		}
	}
	if err := os.WriteFile(filepath.Join(a.out, levelsFile), b.Bytes(), 0o644); err != nil {
		return err
	}

	b.Reset()
	fmt.Fprintf(&b, "{\"source\": %s,\n\"paths\": [\n", quoteJSON(a.pathfindingSrc))
	for i, p := range paths {
		line, _ := json.Marshal(p)
		b.Write(line)
		if i < len(paths)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("]}\n")
	if err := os.WriteFile(filepath.Join(a.out, pathfindingFile), b.Bytes(), 0o644); err != nil {
		return err
	}

	doc, err := json.MarshalIndent(cloudsplainingDoc{Source: a.cloudsplainingSrc, cloudsplainingData: *cs}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(a.out, cloudsplainingFile), append(doc, '\n'), 0o644); err != nil {
		return err
	}

	b.Reset()
	fmt.Fprintf(&b, "# The S3 actions MinIO's policy parser accepts (constants of type Action).\n# Source: %s\n# Written by escgen import; DO NOT EDIT.\n", a.minioSrc)
	for _, m := range minio {
		b.WriteString(m + "\n")
	}
	return os.WriteFile(filepath.Join(a.out, minioFile), b.Bytes(), 0o644)
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// dataset is everything generation reads from data/.
type dataset struct {
	levels         map[string]string // action, as AWS spells it, to access level
	spelled        map[string]string // lowercase action to AWS's spelling
	byPrefix       map[string][]string
	levelsSource   string
	pathfinding    pathfindingDoc
	cloudsplaining cloudsplainingDoc
	minio          []string
	minioSource    string
	supplement     supplementDoc
}

// readDataset reads the data files in dir.
func readDataset(dir string) (*dataset, error) {
	d := &dataset{levels: map[string]string{}, spelled: map[string]string{}, byPrefix: map[string][]string{}}
	var err error
	var levelsHeader []string
	if levelsHeader, err = readLines(filepath.Join(dir, levelsFile), func(line string) error {
		act, level, ok := strings.Cut(line, "\t")
		if _, known := levelRank[level]; !ok || !known || !strings.Contains(act, ":") {
			return fmt.Errorf("line %q: want ACTION<tab>LEVEL", line)
		}
		d.levels[act] = level
		d.spelled[strings.ToLower(act)] = act
		d.byPrefix[prefixOf(act)] = append(d.byPrefix[prefixOf(act)], act)
		return nil
	}); err != nil {
		return nil, err
	}
	d.levelsSource = sourceOf(levelsHeader)
	var minioHeader []string
	if minioHeader, err = readLines(filepath.Join(dir, minioFile), func(line string) error {
		d.minio = append(d.minio, line)
		return nil
	}); err != nil {
		return nil, err
	}
	d.minioSource = sourceOf(minioHeader)
	for name, v := range map[string]any{pathfindingFile: &d.pathfinding, cloudsplainingFile: &d.cloudsplaining, supplementFile: &d.supplement} {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if d.pathfinding.Source == "" || d.cloudsplaining.Source == "" || d.levelsSource == "" || d.minioSource == "" || d.supplement.Source == "" {
		return nil, fmt.Errorf("%s: every data file must name its source", dir)
	}
	for i, e := range d.supplement.Entries {
		if !slices.Contains([]string{classEscalation, classExposure, classCredentials}, e.Class) || len(e.Actions) == 0 || e.Ability == "" || !strings.HasPrefix(e.Reference, "https://docs.aws.amazon.com/") {
			return nil, fmt.Errorf("%s: entry %d needs a class (%s, %s or %s), actions, an ability and a reference to AWS's documentation", supplementFile, i+1, classEscalation, classExposure, classCredentials)
		}
	}
	return d, nil
}

// readLines calls line for every line of path that is not blank or a
// comment, and returns the comments.
func readLines(path string, line func(string) error) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var comments []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		t := sc.Text()
		switch {
		case strings.HasPrefix(t, "#"):
			comments = append(comments, strings.TrimSpace(strings.TrimPrefix(t, "#")))
		case strings.TrimSpace(t) == "":
		default:
			if err := line(t); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
		}
	}
	return comments, sc.Err()
}

func sourceOf(comments []string) string {
	for _, c := range comments {
		if s, ok := strings.CutPrefix(c, "Source: "); ok {
			return s
		}
	}
	return ""
}

func prefixOf(action string) string {
	p, _, _ := strings.Cut(action, ":")
	return strings.ToLower(p)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
