package agents

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// TOMLSyntaxError says where a config file stops being TOML.
type TOMLSyntaxError struct {
	Line, Column int // 1-based
	Msg          string
}

func (e *TOMLSyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// tomlDoc is one TOML document, edited by splicing whole statements: every
// byte outside the tables and keys it sets stays as it was. The TOML parser
// only checks the document and reads values; it never writes one, so the
// user's comments, order and spelling survive.
type tomlDoc struct {
	b    []byte
	nl   string
	data map[string]any
}

// tomlStmt is a table header or a key/value line, with its line end.
type tomlStmt struct {
	header     bool
	key        []string // the table's key for a header, else the dotted key
	start, end int
}

// parseTOML checks data and prepares it for editing.
func parseTOML(data []byte) (*tomlDoc, error) {
	d := &tomlDoc{b: append([]byte(nil), data...), nl: "\n", data: map[string]any{}}
	if _, err := toml.Decode(string(data), &d.data); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			// The parser counts a newline it stops at as the next line's.
			line, col := position(data, int64(pe.Position.Start))
			return nil, &TOMLSyntaxError{Line: line, Column: col, Msg: pe.Message}
		}
		return nil, err
	}
	if bytes.Contains(data, []byte("\r\n")) {
		d.nl = "\r\n"
	}
	return d, nil
}

// stmts splits the valid document into its statements.
func (d *tomlDoc) stmts() []tomlStmt {
	var out []tomlStmt
	b := d.b
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
			continue
		case c == '#':
			i = lineEnd(b, i)
			continue
		}
		start := lineStart(b, i)
		if b[i] == '[' {
			j := i + 1
			if j < len(b) && b[j] == '[' {
				j++
			}
			key, _ := parseKey(b, j)
			end := lineEnd(b, i)
			out = append(out, tomlStmt{header: true, key: key, start: start, end: end})
			i = end
			continue
		}
		key, j := parseKey(b, i)
		end := valueEnd(b, j)
		out = append(out, tomlStmt{key: key, start: start, end: end})
		i = end
	}
	return out
}

func lineStart(b []byte, i int) int {
	return bytes.LastIndexByte(b[:i], '\n') + 1
}

// lineEnd is the index just after the newline that ends i's line.
func lineEnd(b []byte, i int) int {
	if n := bytes.IndexByte(b[i:], '\n'); n >= 0 {
		return i + n + 1
	}
	return len(b)
}

// parseKey reads a dotted key at i and returns its parts and the index after
// it (at "=" or "]").
func parseKey(b []byte, i int) ([]string, int) {
	var key []string
	for i < len(b) {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '.') {
			i++
		}
		if i >= len(b) || b[i] == '=' || b[i] == ']' {
			break
		}
		switch b[i] {
		case '"':
			j := i + 1
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			s, err := strconv.Unquote(string(b[i : j+1]))
			if err != nil {
				s = string(b[i+1 : j])
			}
			key = append(key, s)
			i = j + 1
		case '\'':
			j := i + 1 + bytes.IndexByte(b[i+1:], '\'')
			key = append(key, string(b[i+1:j]))
			i = j + 1
		default:
			j := i
			for j < len(b) && (isBare(b[j])) {
				j++
			}
			if j == i { // not a key: stop rather than loop
				return key, i
			}
			key = append(key, string(b[i:j]))
			i = j
		}
	}
	return key, i
}

func isBare(c byte) bool {
	return c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// valueEnd is the index after the line end of the value that starts after i:
// strings, arrays and inline tables may span lines.
func valueEnd(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch c := b[i]; {
		case bytes.HasPrefix(b[i:], []byte(`"""`)) || bytes.HasPrefix(b[i:], []byte(`'''`)):
			q := b[i : i+3]
			j := i + 3
			for j < len(b) {
				if q[0] == '"' && b[j] == '\\' {
					j += 2
					continue
				}
				if bytes.HasPrefix(b[j:], q) {
					j += 3
					for j < len(b) && b[j] == q[0] { // up to two quotes may end the string
						j++
					}
					break
				}
				j++
			}
			i = j
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(b) && b[j] != c && b[j] != '\n' {
				if c == '"' && b[j] == '\\' {
					j++
				}
				j++
			}
			i = j + 1
		case c == '#':
			i = lineEnd(b, i) - 1
		case c == '[' || c == '{':
			depth++
			i++
		case c == ']' || c == '}':
			depth--
			i++
		case c == '\n' && depth <= 0:
			return i + 1
		default:
			i++
		}
	}
	return len(b)
}

// tables returns the statements' ranges of the table key and of every table
// below it: from the header to the next header.
func (d *tomlDoc) tables(key []string) [][2]int {
	var out [][2]int
	st := d.stmts()
	for i, s := range st {
		if !s.header || len(s.key) < len(key) || !slices.Equal(s.key[:len(key)], key) {
			continue
		}
		end := len(d.b)
		for _, t := range st[i+1:] {
			if t.header {
				end = t.start
				break
			}
		}
		out = append(out, [2]int{s.start, end})
	}
	return out
}

// setTable puts text, a table with its header, in place of table key and
// every table below it, or appends it after a blank line.
func (d *tomlDoc) setTable(key []string, text string) {
	text = strings.ReplaceAll(text, "\n", d.nl)
	spans := d.tables(key)
	if len(spans) == 0 {
		d.appendText(text)
		return
	}
	// Remove from the last, so earlier offsets hold; the first gets text,
	// keeping the blank lines and comments that ended it.
	for i := len(spans) - 1; i >= 0; i-- {
		from, to := spans[i][0], spans[i][1]
		tail := trailingTrivia(d.b[from:to])
		repl := ""
		if i == 0 {
			repl = text + tail
		} else {
			repl = tail
		}
		d.b = slices.Concat(d.b[:from], []byte(repl), d.b[to:])
	}
}

// trailingTrivia is the run of blank and comment lines that ends a table:
// they introduce what follows it.
func trailingTrivia(b []byte) string {
	lines := strings.SplitAfter(string(b), "\n")
	k := len(lines)
	for k > 1 {
		t := strings.TrimSpace(lines[k-1])
		if t != "" && !strings.HasPrefix(t, "#") {
			break
		}
		k--
	}
	return strings.Join(lines[k:], "")
}

func (d *tomlDoc) appendText(text string) {
	if len(bytes.TrimSpace(d.b)) > 0 {
		if !bytes.HasSuffix(d.b, []byte(d.nl)) {
			d.b = append(d.b, d.nl...)
		}
		if !bytes.HasSuffix(d.b, []byte(d.nl+d.nl)) {
			d.b = append(d.b, d.nl...)
		}
	} else {
		d.b = d.b[:0]
	}
	d.b = append(d.b, text...)
}

// setTopKey sets the top-level key to the TOML value: in place of its line,
// or before the first table.
func (d *tomlDoc) setTopKey(key, value string) {
	line := tomlKey(key) + " = " + value + d.nl
	first, last := -1, -1
	for _, s := range d.stmts() {
		if s.header {
			first = s.start
			break
		}
		if slices.Equal(s.key, []string{key}) {
			d.b = slices.Concat(d.b[:s.start], []byte(line), d.b[s.end:])
			return
		}
		last = s.end
	}
	switch {
	case last >= 0: // after the other top-level keys
		if !bytes.HasSuffix(d.b[:last], []byte("\n")) {
			line = d.nl + line
		}
		d.b = slices.Concat(d.b[:last], []byte(line), d.b[last:])
	case first >= 0: // before the first table, with a blank line
		d.b = slices.Concat(d.b[:first], []byte(line+d.nl), d.b[first:])
	default:
		d.appendText(line)
	}
}

// topKeyLine is the line of a top-level key, or 0.
func (d *tomlDoc) topKeyLine(key string) int {
	for _, s := range d.stmts() {
		if s.header {
			break
		}
		if slices.Equal(s.key, []string{key}) {
			return bytes.Count(d.b[:s.start], []byte("\n")) + 1
		}
	}
	return 0
}

// tomlKey writes one key part, quoted when it is not bare.
func tomlKey(k string) string {
	if k != "" && strings.Trim(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == "" {
		return k
	}
	return tomlString(k)
}

// tomlString writes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tomlStrings writes a one-line array of strings.
func tomlStrings(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = tomlString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// tomlInline writes m as a one-line inline table, keys sorted.
func tomlInline(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, tomlKey(k)+" = "+tomlString(m[k]))
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

// lookup returns the decoded value at key, if any.
func (d *tomlDoc) lookup(key ...string) (any, bool) {
	var v any = d.data
	for _, k := range key {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// section is the range of table key's own statements, after its header
// line, and whether the table has a header.
func (d *tomlDoc) section(key []string) (hdrEnd int, body []tomlStmt, ok bool) {
	st := d.stmts()
	for i, s := range st {
		if !s.header || !slices.Equal(s.key, key) {
			continue
		}
		for _, t := range st[i+1:] {
			if t.header {
				break
			}
			body = append(body, t)
		}
		return s.end, body, true
	}
	return 0, nil, false
}

// setKey sets key in table to the TOML value: in place of its line, else
// after the table's last key; a table that is missing is appended. Dotted
// keys and tables below key are removed: the caller folds their values into
// value.
func (d *tomlDoc) setKey(table []string, key, value string) {
	line := tomlKey(key) + " = " + value + d.nl
	sub := append(slices.Clone(table), key)
	spans := d.tables(sub)
	for i := len(spans) - 1; i >= 0; i-- {
		from, to := spans[i][0], spans[i][1]
		d.b = slices.Concat(d.b[:from], []byte(trailingTrivia(d.b[from:to])), d.b[to:])
	}
	hdrEnd, body, ok := d.section(table)
	if !ok {
		var hdr []string
		for _, k := range table {
			hdr = append(hdr, tomlKey(k))
		}
		d.appendText("[" + strings.Join(hdr, ".") + "]" + d.nl + line)
		return
	}
	at, done := hdrEnd, false
	for i := len(body) - 1; i >= 0; i-- {
		s := body[i]
		if len(s.key) == 0 || s.key[0] != key {
			if !done && at == hdrEnd {
				at = s.end
			}
			continue
		}
		repl := ""
		if !done {
			repl, done = line, true
		}
		d.b = slices.Concat(d.b[:s.start], []byte(repl), d.b[s.end:])
		if at > s.start {
			at += len(repl) - (s.end - s.start)
		}
	}
	if !done {
		if at > 0 && at == len(d.b) && !bytes.HasSuffix(d.b, []byte("\n")) {
			d.b = append(d.b, d.nl...)
			at = len(d.b)
		}
		d.b = slices.Concat(d.b[:at], []byte(line), d.b[at:])
	}
}
