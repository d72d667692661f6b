package agents

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Action says what a merge did, or would do, to timebound-iam's part of a
// file.
type Action string

// The actions, as reported to the user.
const (
	Added     Action = "added"     // the part was not there
	Updated   Action = "updated"   // the part was there and differed
	Unchanged Action = "unchanged" // the part was there as it should be
)

// and is what two merges into one file did together.
func (a Action) and(b Action) Action {
	if a == b {
		return a
	}
	return Updated
}

// ServerName is the key of timebound-iam's entry under "mcpServers".
const ServerName = "timebound-iam"

// Server is the MCP server entry: how the agent starts `timebound-iam serve`.
type Server struct {
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env,omitempty"`
}

// MergeServer sets mcpServers["timebound-iam"] in the JSON config to s and
// returns the new config. Only the entry's command, args and the env keys s
// names are set: other servers, other keys (the agent's own, such as Kiro's
// autoApprove) and every byte outside the changed values stay as they were.
// Empty config is an empty object. Invalid JSON is a [*SyntaxError].
func MergeServer(config []byte, s Server) ([]byte, Action, error) {
	return mergeServerUnder(config, "mcpServers", s, nil)
}

// MergeVSCode is [MergeServer] for VS Code's .vscode/mcp.json, whose servers
// sit under "servers" and name their transport: "type": "stdio".
func MergeVSCode(config []byte, s Server) ([]byte, Action, error) {
	return mergeServerUnder(config, "servers", s, map[string]string{"type": "stdio"})
}

// mergeServerUnder sets top["timebound-iam"] to s, with the extra keys
// first, as [MergeServer] describes.
func mergeServerUnder(config []byte, top string, s Server, extra map[string]string) ([]byte, Action, error) {
	d, err := parseDoc(config)
	if err != nil {
		return nil, "", err
	}
	ok, err := d.has(top, ServerName)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		var entry any = s
		if len(extra) > 0 {
			entry = withExtra(s, extra)
		}
		if _, err := d.set(entry, top, ServerName); err != nil {
			return nil, "", err
		}
		return d.bytes(), Added, nil
	}
	changed := false
	set := func(v any, path ...string) error {
		c, err := d.set(v, append([]string{top, ServerName}, path...)...)
		changed = changed || c
		return err
	}
	for _, k := range sortedKeys(extra) {
		if err := set(extra[k], k); err != nil {
			return nil, "", err
		}
	}
	if err := set(s.Command, "command"); err != nil {
		return nil, "", err
	}
	if err := set(s.Args, "args"); err != nil {
		return nil, "", err
	}
	for _, k := range sortedKeys(s.Env) {
		if err := set(s.Env[k], "env", k); err != nil {
			return nil, "", err
		}
	}
	if !changed {
		return config, Unchanged, nil
	}
	return d.bytes(), Updated, nil
}

// withExtra is s as an ordered JSON object with the extra keys first, such
// as VS Code's "type", which its documentation puts first.
func withExtra(s Server, extra map[string]string) orderedEntry {
	e := orderedEntry{}
	for _, k := range sortedKeys(extra) {
		e = append(e, entryField{k, extra[k]})
	}
	e = append(e, entryField{"command", s.Command}, entryField{"args", s.Args})
	if len(s.Env) > 0 {
		e = append(e, entryField{"env", s.Env})
	}
	return e
}

type entryField struct {
	key   string
	value any
}

// orderedEntry marshals as a JSON object with its fields in order.
type orderedEntry []entryField

// MarshalJSON writes the fields in order.
func (e orderedEntry) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range e {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		v, err := json.Marshal(f.value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// MergeEnv sets each key of env under the top-level "env" object of a JSON
// settings file (Claude Code's .claude/settings.json), keeping every other
// key. It is Added when none of the keys was there before.
func MergeEnv(settings []byte, env map[string]string) ([]byte, Action, error) {
	d, err := parseDoc(settings)
	if err != nil {
		return nil, "", err
	}
	had := false
	changed := false
	for _, k := range sortedKeys(env) {
		ok, err := d.has("env", k)
		if err != nil {
			return nil, "", err
		}
		had = had || ok
		c, err := d.set(env[k], "env", k)
		if err != nil {
			return nil, "", err
		}
		changed = changed || c
	}
	switch {
	case !changed:
		return settings, Unchanged, nil
	case had:
		return d.bytes(), Updated, nil
	default:
		return d.bytes(), Added, nil
	}
}

// The markers around timebound-iam's block in a file that also holds the
// user's own text.
const (
	BeginMarker = "<!-- timebound-iam:begin -->"
	EndMarker   = "<!-- timebound-iam:end -->"
)

// ErrMarkers is wrapped by the error [MergeBlock] returns when the markers
// in a file do not form one pair.
var ErrMarkers = errors.New("the timebound-iam markers do not form one begin-end pair")

// Block is body between the markers, without a final newline.
func Block(body string) string {
	return BeginMarker + "\n" + strings.TrimSuffix(body, "\n") + "\n" + EndMarker
}

// MergeBlock puts [Block](body) into text: in place of the marked block when
// there is one, else appended after a blank line. Every byte outside the
// markers stays as it was. A file that uses CRLF line ends gets the block
// with CRLF too. A lone or repeated marker is an error: which block to
// replace would be a guess.
func MergeBlock(text []byte, body string) ([]byte, Action, error) {
	nl := "\n"
	if bytes.Contains(text, []byte("\r\n")) {
		nl = "\r\n"
	}
	block := strings.ReplaceAll(Block(body), "\n", nl)
	begins := bytes.Count(text, []byte(BeginMarker))
	ends := bytes.Count(text, []byte(EndMarker))
	b := bytes.Index(text, []byte(BeginMarker))
	e := bytes.Index(text, []byte(EndMarker))
	switch {
	case begins == 0 && ends == 0:
		out := append([]byte(nil), text...)
		if len(bytes.TrimSpace(out)) > 0 {
			// One blank line between the user's text and the block.
			if !bytes.HasSuffix(out, []byte(nl)) {
				out = append(out, nl...)
			}
			if !bytes.HasSuffix(out, []byte(nl+nl)) {
				out = append(out, nl...)
			}
		}
		return append(append(out, block...), nl...), Added, nil
	case begins != 1 || ends != 1:
		return nil, "", fmt.Errorf("%w: found %d %s and %d %s", ErrMarkers, begins, BeginMarker, ends, EndMarker)
	case e < b:
		return nil, "", fmt.Errorf("%w: %s comes before %s", ErrMarkers, EndMarker, BeginMarker)
	}
	end := e + len(EndMarker)
	if string(text[b:end]) == block {
		return text, Unchanged, nil
	}
	out := append(append(append([]byte(nil), text[:b]...), block...), text[end:]...)
	return out, Updated, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
