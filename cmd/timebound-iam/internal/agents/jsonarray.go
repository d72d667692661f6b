package agents

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// get returns the value at path, decoded, and whether it exists.
func (d *jsonDoc) get(path ...string) (any, bool, error) {
	_, _, m, _, err := d.lookup(path)
	if err != nil || m == nil {
		return nil, false, err
	}
	var v any
	_ = json.Unmarshal(d.b[m.valStart:m.valEnd], &v)
	return v, true, nil
}

// element is one value of an array, as byte offsets.
type element struct{ start, end int }

// elements lists the array starting at arr and returns the offset of its
// closing bracket.
func (d *jsonDoc) elements(arr int) ([]element, int) {
	var es []element
	i := d.skipSpace(arr + 1)
	for d.b[i] != ']' {
		e := element{start: i, end: d.valueEnd(i)}
		es = append(es, e)
		i = d.skipSpace(e.end)
		if d.b[i] == ',' {
			i = d.skipSpace(i + 1)
		}
	}
	return es, i
}

// replaced is an element [jsonDoc.mergeArray] overwrote: its key and the
// JSON it held.
type replaced struct {
	key string
	was string
}

// mergeArray makes the array at path hold each value of want, matched by
// key: a missing one is appended after the elements already there, one
// whose key is there but whose value differs is overwritten in place, and
// every other element, the user's own, stays as it was. A missing array is
// created. It reports whether the document changed, which keys were already
// there, and the elements it overwrote.
func (d *jsonDoc) mergeArray(want []any, key func(any) string, path ...string) (changed bool, had []string, over []replaced, err error) {
	_, _, m, _, err := d.lookup(path)
	if err != nil {
		return false, nil, nil, err
	}
	if m == nil {
		_, err := d.set(want, path...)
		return err == nil, nil, nil, err
	}
	if d.b[m.valStart] != '[' {
		var v any
		_ = json.Unmarshal(d.b[m.valStart:m.valEnd], &v)
		return false, nil, nil, fmt.Errorf("%q is %s, not an array", strings.Join(path, "."), kindOf(v))
	}
	depth := len(path) + 1 // of the elements: the top object's values are at depth 1
	for i, w := range want {
		if i > 0 {
			// An earlier splice moved the offsets: look the array up again.
			if _, _, m, _, err = d.lookup(path); err != nil {
				return false, nil, nil, err
			}
		}
		k := key(w)
		arr := m.valStart
		es, closing := d.elements(arr)
		found := false
		for _, e := range es {
			var have any
			_ = json.Unmarshal(d.b[e.start:e.end], &have)
			if key(have) != k {
				continue
			}
			found = true
			had = append(had, k)
			if !equalJSON(have, w) {
				over = append(over, replaced{key: k, was: string(d.b[e.start:e.end])})
				text := d.render(w, depth)
				if !bytes.Contains(d.b[e.start:e.end], []byte("\n")) {
					text = compact(text) // as the element it replaces
				}
				d.splice(e.start, e.end, text)
				changed = true
			}
			break
		}
		if found {
			continue
		}
		changed = true
		if len(es) == 0 {
			if d.unit == "" {
				d.splice(arr, closing+1, "["+d.render(w, depth)+"]")
			} else {
				d.splice(arr, closing+1, "["+d.nl+d.indent(depth)+d.render(w, depth)+d.nl+d.indent(depth-1)+"]")
			}
		} else {
			last := es[len(es)-1]
			lead := string(d.b[arr+1 : last.start]) // what precedes the only element: "\n    ", " " or ""
			if len(es) > 1 {
				lead = string(d.b[es[len(es)-2].end:last.start])
				lead = strings.TrimPrefix(strings.TrimLeft(lead, " \t\r\n"), ",")
			}
			text := d.render(w, depth)
			if !strings.Contains(lead, "\n") {
				// An array on one line stays on one line: ["a", "b"].
				lead, text = " ", compact(text)
			}
			d.splice(last.end, last.end, ","+lead+text)
		}
	}
	return changed, had, over, nil
}

// stringKey keys a string element by itself.
func stringKey(v any) string {
	s, _ := v.(string)
	return s
}

// compact removes the indentation render added.
func compact(text string) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(text)); err != nil {
		return text
	}
	return buf.String()
}
