package agents

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// SyntaxError says where a config file stops being JSON.
type SyntaxError struct {
	Line, Column int // 1-based
	Offset       int64
	Msg          string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// jsonDoc is one JSON object document, edited by splicing: every byte outside
// the values it sets stays as it was, so other entries keep their order,
// formatting and exact number spelling.
type jsonDoc struct {
	b    []byte
	bom  bool   // a UTF-8 byte order mark preceded the text
	unit string // one level of indentation; "" when the document is compact
	nl   string // the line end: "\r\n" when the document uses it, else "\n"
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// parseDoc checks data and prepares it for editing. Empty or blank data is an
// empty object.
func parseDoc(data []byte) (*jsonDoc, error) {
	d := &jsonDoc{nl: "\n"}
	if bytes.HasPrefix(data, utf8BOM) {
		d.bom = true
		data = data[len(utf8BOM):]
	}
	if len(bytes.TrimSpace(data)) == 0 {
		d.b = []byte("{}\n")
		d.unit = "  "
		return d, nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(data, se.Offset)
			return nil, &SyntaxError{Line: line, Column: col, Offset: se.Offset, Msg: se.Error()}
		}
		return nil, err
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, fmt.Errorf("the top level is %s, not a JSON object", kindOf(v))
	}
	d.b = append([]byte(nil), data...)
	d.unit = d.detectUnit()
	if bytes.Contains(data, []byte("\r\n")) {
		d.nl = "\r\n"
	}
	return d, nil
}

// bytes returns the edited document.
func (d *jsonDoc) bytes() []byte {
	if d.bom {
		return append(append([]byte(nil), utf8BOM...), d.b...)
	}
	return d.b
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

// member is one "key": value pair of an object, as byte offsets.
type member struct {
	key              string
	keyStart, keyEnd int
	valStart, valEnd int
}

func (d *jsonDoc) skipSpace(i int) int {
	for i < len(d.b) && (d.b[i] == ' ' || d.b[i] == '\t' || d.b[i] == '\n' || d.b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the offset just past the value starting at i. The document
// is known to be valid JSON.
func (d *jsonDoc) valueEnd(i int) int {
	switch d.b[i] {
	case '"':
		return d.stringEnd(i)
	case '{', '[':
		depth := 0
		for j := i; j < len(d.b); j++ {
			switch d.b[j] {
			case '"':
				j = d.stringEnd(j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(d.b)
	default:
		j := i
		for j < len(d.b) && !strings.ContainsRune(",]} \t\r\n", rune(d.b[j])) {
			j++
		}
		return j
	}
}

func (d *jsonDoc) stringEnd(i int) int {
	for j := i + 1; j < len(d.b); j++ {
		switch d.b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(d.b)
}

// members lists the object starting at obj and returns the offset of its
// closing brace.
func (d *jsonDoc) members(obj int) ([]member, int) {
	var ms []member
	i := d.skipSpace(obj + 1)
	for d.b[i] != '}' {
		m := member{keyStart: i, keyEnd: d.stringEnd(i)}
		_ = json.Unmarshal(d.b[m.keyStart:m.keyEnd], &m.key)
		i = d.skipSpace(m.keyEnd)
		i = d.skipSpace(i + 1) // ':'
		m.valStart = i
		m.valEnd = d.valueEnd(i)
		ms = append(ms, m)
		i = d.skipSpace(m.valEnd)
		if d.b[i] == ',' {
			i = d.skipSpace(i + 1)
		}
	}
	return ms, i
}

// detectUnit takes the indentation of the top object's first member as one
// level; a document without line breaks there is compact.
func (d *jsonDoc) detectUnit() string {
	top := d.skipSpace(0)
	ms, _ := d.members(top)
	if len(ms) == 0 {
		return "  "
	}
	ws := string(d.b[top+1 : ms[0].keyStart])
	i := strings.LastIndexByte(ws, '\n')
	if i < 0 {
		return ""
	}
	return ws[i+1:]
}

// lookup finds path in the document. It returns the object that holds the
// last key found (its offset and depth, the top object being depth 0), the
// member for the whole path when it exists, and how many keys were found.
func (d *jsonDoc) lookup(path []string) (obj, depth int, m *member, found int, err error) {
	obj = d.skipSpace(0)
	for i, key := range path {
		ms, _ := d.members(obj)
		m = nil
		for j := range ms {
			if ms[j].key == key { // the last duplicate wins, as in most readers
				m = &ms[j]
			}
		}
		if m == nil {
			return obj, i, nil, i, nil
		}
		if i == len(path)-1 {
			return obj, i, m, len(path), nil
		}
		if d.b[m.valStart] != '{' {
			var v any
			_ = json.Unmarshal(d.b[m.valStart:m.valEnd], &v)
			return 0, 0, nil, 0, fmt.Errorf("%q is %s, not an object", strings.Join(path[:i+1], "."), kindOf(v))
		}
		obj = m.valStart
	}
	return obj, len(path), nil, len(path), nil
}

// has reports whether path exists.
func (d *jsonDoc) has(path ...string) (bool, error) {
	_, _, m, _, err := d.lookup(path)
	return m != nil, err
}

// set makes path hold value, creating the objects on the way. A value that is
// already equal, as JSON, is left alone, bytes and all. It reports whether
// the document changed.
func (d *jsonDoc) set(value any, path ...string) (bool, error) {
	obj, depth, m, found, err := d.lookup(path)
	if err != nil {
		return false, err
	}
	if m != nil {
		var have any
		_ = json.Unmarshal(d.b[m.valStart:m.valEnd], &have)
		if equalJSON(have, value) {
			return false, nil
		}
		d.splice(m.valStart, m.valEnd, d.render(value, depth+1))
		return true, nil
	}
	// Nest what is missing below the deepest object that exists.
	v := value
	for i := len(path) - 1; i > found; i-- {
		v = map[string]any{path[i]: v}
	}
	d.insert(obj, depth, path[found], v)
	return true, nil
}

// insert adds "key": value as the last member of the object at obj, at the
// given depth, copying the spacing of the member before it.
func (d *jsonDoc) insert(obj, depth int, key string, value any) {
	ms, closing := d.members(obj)
	k := d.render(key, 0)
	if len(ms) == 0 {
		var text string
		if d.unit == "" {
			text = "{" + k + ":" + d.render(value, depth+1) + "}"
		} else {
			text = "{" + d.nl + d.indent(depth+1) + k + ": " + d.render(value, depth+1) + d.nl + d.indent(depth) + "}"
		}
		d.splice(obj, closing+1, text)
		return
	}
	last := ms[len(ms)-1]
	lead := d.b[obj+1 : last.keyStart] // what precedes the last key: "\n  ", " " or ""
	if len(ms) > 1 {
		lead = d.b[ms[len(ms)-2].valEnd:last.keyStart]
		lead = bytes.TrimLeft(lead, " \t\r\n")
		lead = bytes.TrimPrefix(lead, []byte(","))
	}
	colon := d.b[last.keyEnd:last.valStart] // ":", ": " or " : "
	text := "," + string(lead) + k + string(colon) + d.render(value, depth+1)
	d.splice(last.valEnd, last.valEnd, text)
}

func (d *jsonDoc) splice(from, to int, text string) {
	d.b = append(d.b[:from:from], append([]byte(text), d.b[to:]...)...)
}

func (d *jsonDoc) indent(depth int) string { return strings.Repeat(d.unit, depth) }

// render encodes v for a position at the given depth: indented like the
// document, or compact. HTML characters stay as they are: these are files
// people read.
func (d *jsonDoc) render(v any, depth int) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if d.unit != "" {
		enc.SetIndent(d.indent(depth), d.unit)
	}
	if err := enc.Encode(v); err != nil {
		panic(err) // only strings, string slices, maps and structs of them reach here
	}
	return strings.ReplaceAll(strings.TrimSuffix(buf.String(), "\n"), "\n", d.nl)
}

// equalJSON compares a decoded value with one about to be encoded.
func equalJSON(have, want any) bool {
	b, err := json.Marshal(want)
	if err != nil {
		return false
	}
	var w any
	if err := json.Unmarshal(b, &w); err != nil {
		return false
	}
	return reflect.DeepEqual(have, w)
}
