package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"gopkg.in/ini.v1"
)

// CredentialProcess returns the credential_process line for e. It carries
// everything the helper needs from an empty environment and no secret. Its
// paths are quoted for this platform: [Quote] for POSIX shells, [QuoteWindows]
// on Windows.
func CredentialProcess(e Entry) (string, error) {
	return credentialProcess(e, runtime.GOOS)
}

// credentialProcess is [CredentialProcess] for the platform goos.
func credentialProcess(e Entry, goos string) (string, error) {
	h := e.Helper
	// The id and the backend go into the line unquoted.
	if err := checkID(e.ID); err != nil {
		return "", err
	}
	if !safeWord(h.Backend) {
		return "", fmt.Errorf("keychain backend %q is not a plain word [a-z0-9_.-]", h.Backend)
	}
	isAbs := filepath.IsAbs
	if goos == "windows" {
		isAbs = windowsAbs
	}
	if !isAbs(h.Exe) || !isAbs(h.Home) {
		return "", fmt.Errorf("credential_process needs absolute paths, got binary %q and state directory %q", h.Exe, h.Home)
	}
	if err := checkLineValue("binary path", h.Exe); err != nil {
		return "", err
	}
	if err := checkLineValue("state directory", h.Home); err != nil {
		return "", err
	}
	exe, home := Quote(h.Exe), Quote(h.Home)
	if goos == "windows" {
		var err error
		if exe, err = QuoteWindows("binary path", h.Exe); err != nil {
			return "", err
		}
		if home, err = QuoteWindows("state directory", h.Home); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s credential-process --session %s --home %s --backend %s --expires %s",
		exe, e.ID, home, h.Backend, e.Expires.UTC().Format(time.RFC3339))
	if e.Status == Revoked {
		fmt.Fprintf(&b, " --revoked-at %s", e.Revoked.UTC().Format(time.RFC3339))
	}
	return b.String(), nil
}

// render writes e as a section, ending with a blank line.
func render(e Entry) ([]byte, error) {
	if err := checkID(e.ID); err != nil {
		return nil, err
	}
	if len(e.Access) == 0 {
		return nil, fmt.Errorf("profile %s: a grant needs at least one service", e.Name())
	}
	words := []string{e.Helper.Backend, string(e.Status)}
	if e.Region != "" {
		words = append(words, e.Region)
	}
	for _, a := range e.Access {
		words = append(words, a.Service, a.Level)
	}
	for _, w := range words {
		if !safeWord(w) {
			return nil, fmt.Errorf("profile %s: value %q is not a plain word [a-z0-9_.-]", e.Name(), w)
		}
	}
	for _, r := range e.Resources {
		if !SafeResource(r) {
			return nil, fmt.Errorf("profile %s: resource %q is not an ARN of [A-Za-z0-9/:*?._+=,@-]", e.Name(), r)
		}
	}
	if e.Role != "" && !SafeResource(e.Role) {
		return nil, fmt.Errorf("profile %s: role %q is not an ARN of [A-Za-z0-9/:*?._+=,@-]", e.Name(), e.Role)
	}
	line, err := CredentialProcess(e)
	if err != nil {
		return nil, err
	}
	access := make([]string, len(e.Access))
	for i, a := range e.Access {
		access[i] = a.Service + ":" + a.Level
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "[profile %s]\n", e.Name())
	fmt.Fprintf(&b, "credential_process = %s\n", line)
	if e.Region != "" {
		fmt.Fprintf(&b, "region = %s\n", e.Region)
	}
	fmt.Fprintf(&b, "tb_access = %s\n", strings.Join(access, " "))
	if len(e.Resources) > 0 {
		fmt.Fprintf(&b, "tb_resources = %s\n", strings.Join(e.Resources, " "))
	}
	if e.Role != "" {
		fmt.Fprintf(&b, "tb_role = %s\n", e.Role)
	}
	fmt.Fprintf(&b, "tb_backend = %s\n", e.Helper.Backend)
	fmt.Fprintf(&b, "tb_status = %s\n", e.Status)
	fmt.Fprintf(&b, "tb_created = %s\n", e.Created.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "tb_expires = %s\n", e.Expires.UTC().Format(time.RFC3339))
	if e.Status == Revoked {
		fmt.Fprintf(&b, "tb_revoked = %s\n", e.Revoked.UTC().Format(time.RFC3339))
	}
	b.WriteString("\n")
	return b.Bytes(), nil
}

// parse reads one of our sections back with ini.v1.
func parse(id string, text []byte, home string) (Entry, error) {
	f, err := ini.LoadSources(ini.LoadOptions{IgnoreInlineComment: true, Insensitive: false}, text)
	if err != nil {
		return Entry{}, err
	}
	s, err := f.GetSection("profile " + Prefix + id)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{ID: id, Region: s.Key("region").String(), Status: Status(s.Key("tb_status").String())}
	e.Helper = Helper{Home: home, Backend: s.Key("tb_backend").String()}
	// Keep the binary the grant was written with; a later revoke or prune
	// rewrites the line and must not swap in whichever binary runs it.
	line := s.Key("credential_process").String()
	if runtime.GOOS == "windows" {
		e.Helper.Exe, _ = unquoteWindowsFirst(line)
	} else {
		e.Helper.Exe, _ = unquoteFirst(line)
	}
	for _, w := range strings.Fields(s.Key("tb_access").String()) {
		svc, lvl, ok := strings.Cut(w, ":")
		if !ok {
			return Entry{}, fmt.Errorf("tb_access word %q is not service:level", w)
		}
		e.Access = append(e.Access, Access{svc, lvl})
	}
	// Read back only what render would write again: a section a prune or a
	// revoke could not rewrite is better kept as it is, as a problem.
	if res := strings.Fields(s.Key("tb_resources").String()); len(res) > 0 {
		for _, r := range res {
			if !SafeResource(r) {
				return Entry{}, fmt.Errorf("tb_resources word %q is not an ARN", r)
			}
		}
		e.Resources = res
	}
	if e.Role = s.Key("tb_role").String(); e.Role != "" && !SafeResource(e.Role) {
		return Entry{}, fmt.Errorf("tb_role %q is not an ARN", e.Role)
	}
	for key, dst := range map[string]*time.Time{"tb_created": &e.Created, "tb_expires": &e.Expires, "tb_revoked": &e.Revoked} {
		v := s.Key(key).String()
		if v == "" {
			continue
		}
		if *dst, err = time.Parse(time.RFC3339, v); err != nil {
			return Entry{}, fmt.Errorf("%s: %w", key, err)
		}
	}
	switch e.Status {
	case Active, Expired, Revoked:
	default:
		return Entry{}, fmt.Errorf("tb_status %q is not active, revoked or expired", e.Status)
	}
	if e.Expires.IsZero() {
		return Entry{}, errors.New("tb_expires is missing")
	}
	if len(e.Access) == 0 {
		return Entry{}, errors.New("tb_access is missing or empty")
	}
	return e, nil
}

// chunk is one run of the file's text: the preamble before the first section,
// or a section header and its body up to the next header.
type chunk struct {
	text []byte
	id   string // grant id when the section is ours, else ""
	// e is the section's parse when it is ours and well-formed, else nil;
	// err says why one of ours is not. Both are shared with [File]'s
	// cache: never changed in place.
	e   *Entry
	err error
}

// headerID returns the grant id of a "[profile tb-<id>]" header line, as
// botocore reads section names: blanks around the name and between "profile"
// and the profile name do not matter.
func headerID(line []byte) (string, bool) {
	t := strings.TrimSpace(string(line))
	if len(t) < 2 || t[0] != '[' || t[len(t)-1] != ']' {
		return "", false
	}
	name := strings.TrimSpace(t[1 : len(t)-1])
	rest, ok := strings.CutPrefix(name, "profile")
	if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
		return "", false
	}
	id, ok := strings.CutPrefix(strings.TrimSpace(rest), Prefix)
	if !ok || !ValidID(id) {
		return "", false
	}
	return id, true
}

// split cuts data into chunks without copying: each chunk's text is a
// capacity-limited slice of data, so appending to one reallocates instead of
// overwriting the next.
func split(data []byte) []chunk {
	var chunks []chunk
	start, id := 0, ""
	flush := func(end int) {
		text := data[start:end:end]
		if id == "" {
			if len(text) > 0 {
				chunks = append(chunks, chunk{text: text})
			}
			return
		}
		own, rest := splitTail(text)
		chunks = append(chunks, chunk{text: own, id: id})
		if len(rest) > 0 {
			chunks = append(chunks, chunk{text: rest})
		}
	}
	for i := 0; i < len(data); {
		n := lineLen(data[i:])
		line := data[i : i+n]
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] == '[' {
			flush(i)
			start, id = i, ""
			if hid, ok := headerID(line); ok {
				id = hid
			}
		}
		i += n
	}
	flush(len(data))
	return chunks
}

// lineLen is the length of data's first line, its newline included.
func lineLen(data []byte) int {
	if n := bytes.IndexByte(data, '\n') + 1; n > 0 {
		return n
	}
	return len(data)
}

// splitTail cuts one of our sections after its last setting and the one blank
// line render ends a section with. Comments and blank lines past that are
// someone else's (a comment above the next section, say) and must survive a
// replace or remove of ours.
func splitTail(text []byte) (own, rest []byte) {
	end := 0
	for i := 0; i < len(text); {
		n := lineLen(text[i:])
		if t := bytes.TrimSpace(text[i : i+n]); len(t) > 0 && t[0] != '#' && t[0] != ';' {
			end = i + n
		}
		i += n
	}
	if n := lineLen(text[end:]); n > 0 && len(bytes.TrimSpace(text[end:end+n])) == 0 {
		end += n
	}
	return text[:end:end], text[end:]
}
