package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// snode is a parsed JSON or YAML value with its position.
type snode struct {
	kind   nodeKind
	pos    Pos
	keys   []string // object
	keyPos []Pos
	vals   []*snode
	items  []*snode // array
	val    any      // scalar, canonical (nil, bool, string, int64, float64)
}

type nodeKind uint8

const (
	nScalar nodeKind = iota
	nObject
	nArray
)

func (k nodeKind) String() string {
	switch k {
	case nObject:
		return "object"
	case nArray:
		return "list"
	}
	return "scalar"
}

// sourceError is a problem that stops parsing.
type sourceError struct {
	pos  Pos
	code string
	msg  string
}

func (e *sourceError) Error() string { return e.pos.String() + ": " + e.msg }

// lines maps byte offsets to positions.
type lines []int // offsets of line starts

func newLines(data []byte) lines {
	l := lines{0}
	for i, c := range data {
		if c == '\n' {
			l = append(l, i+1)
		}
	}
	return l
}

func (l lines) pos(off int) Pos {
	i := sort.Search(len(l), func(i int) bool { return l[i] > off }) - 1
	if i < 0 {
		i = 0
	}
	return Pos{Line: i + 1, Column: off - l[i] + 1}
}

// parseJSONTree parses JSON into an snode tree, refusing duplicate keys and nesting deeper than
// maxDepth.
func parseJSONTree(data []byte, maxDepth int) (*snode, error) {
	p := &jsonParser{data: data, ln: newLines(data), dec: json.NewDecoder(bytes.NewReader(data)), max: maxDepth}
	p.dec.UseNumber()
	n, err := p.value(0)
	if err != nil {
		return nil, p.wrap(err)
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, &sourceError{pos: p.ln.pos(p.next()), code: CodeSyntax, msg: "unexpected data after the definition"}
	}
	return n, nil
}

type jsonParser struct {
	data []byte
	ln   lines
	dec  *json.Decoder
	max  int
}

// next is the offset where the next token starts: the decoder stops right after a token, before
// any whitespace, comma or colon.
func (p *jsonParser) next() int {
	off := int(p.dec.InputOffset())
	for off < len(p.data) {
		switch p.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (p *jsonParser) wrap(err error) error {
	var se *sourceError
	if errors.As(err, &se) {
		return se
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return &sourceError{pos: p.ln.pos(int(syn.Offset)), code: CodeSyntax, msg: syn.Error()}
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return &sourceError{pos: p.ln.pos(len(p.data)), code: CodeSyntax, msg: "unexpected end of input"}
	}
	return &sourceError{pos: p.ln.pos(p.next()), code: CodeSyntax, msg: err.Error()}
}

func (p *jsonParser) value(depth int) (*snode, error) {
	pos := p.ln.pos(p.next())
	if depth > p.max {
		return nil, &sourceError{pos: pos, code: CodeLimit, msg: fmt.Sprintf("nested deeper than %d", p.max)}
	}
	tok, err := p.dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &snode{kind: nObject, pos: pos}
			seen := map[string]bool{}
			for p.dec.More() {
				kpos := p.ln.pos(p.next())
				ktok, err := p.dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := ktok.(string)
				if !ok {
					return nil, &sourceError{pos: kpos, code: CodeSyntax, msg: "object key is not a string"}
				}
				if seen[k] {
					return nil, &sourceError{pos: kpos, code: CodeDuplicate, msg: fmt.Sprintf("duplicate key %q", k)}
				}
				seen[k] = true
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.keys, n.keyPos, n.vals = append(n.keys, k), append(n.keyPos, kpos), append(n.vals, v)
			}
			if _, err := p.dec.Token(); err != nil { // '}'
				return nil, err
			}
			return n, nil
		case '[':
			n := &snode{kind: nArray, pos: pos}
			for p.dec.More() {
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, v)
			}
			if _, err := p.dec.Token(); err != nil { // ']'
				return nil, err
			}
			return n, nil
		}
		return nil, &sourceError{pos: pos, code: CodeSyntax, msg: "unexpected " + t.String()}
	case json.Number:
		v, err := numberValue(t)
		if err != nil {
			return nil, &sourceError{pos: pos, code: CodeSyntax, msg: err.Error()}
		}
		return &snode{pos: pos, val: v}, nil
	default: // string, bool, nil
		return &snode{pos: pos, val: t}, nil
	}
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// parseYAMLTree parses YAML into an snode tree. Aliases are refused (they are how small YAML
// documents expand into huge ones), and so are duplicate keys and non-string keys.
func parseYAMLTree(data []byte, maxDepth int) (*snode, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		pos := Pos{}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			l, _ := strconv.Atoi(m[1])
			pos = Pos{Line: l, Column: 1}
		}
		return nil, &sourceError{pos: pos, code: CodeSyntax, msg: err.Error()}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &sourceError{pos: Pos{Line: 1, Column: 1}, code: CodeSyntax, msg: "want one YAML document"}
	}
	return yamlNode(doc.Content[0], 0, maxDepth)
}

func yamlNode(y *yaml.Node, depth, maxDepth int) (*snode, error) {
	pos := Pos{Line: y.Line, Column: y.Column}
	if depth > maxDepth {
		return nil, &sourceError{pos: pos, code: CodeLimit, msg: fmt.Sprintf("nested deeper than %d", maxDepth)}
	}
	switch y.Kind {
	case yaml.AliasNode:
		return nil, &sourceError{pos: pos, code: CodeInvalid, msg: "YAML aliases are not allowed in definitions"}
	case yaml.MappingNode:
		n := &snode{kind: nObject, pos: pos}
		seen := map[string]bool{}
		for i := 0; i+1 < len(y.Content); i += 2 {
			kn, vn := y.Content[i], y.Content[i+1]
			kpos := Pos{Line: kn.Line, Column: kn.Column}
			if kn.Kind != yaml.ScalarNode || (kn.Tag != "!!str" && kn.Tag != "!!merge") {
				return nil, &sourceError{pos: kpos, code: CodeSyntax, msg: "mapping key is not a string"}
			}
			if kn.Tag == "!!merge" {
				return nil, &sourceError{pos: kpos, code: CodeInvalid, msg: "YAML merge keys are not allowed in definitions"}
			}
			if seen[kn.Value] {
				return nil, &sourceError{pos: kpos, code: CodeDuplicate, msg: fmt.Sprintf("duplicate key %q", kn.Value)}
			}
			seen[kn.Value] = true
			v, err := yamlNode(vn, depth+1, maxDepth)
			if err != nil {
				return nil, err
			}
			n.keys, n.keyPos, n.vals = append(n.keys, kn.Value), append(n.keyPos, kpos), append(n.vals, v)
		}
		return n, nil
	case yaml.SequenceNode:
		n := &snode{kind: nArray, pos: pos}
		for _, c := range y.Content {
			v, err := yamlNode(c, depth+1, maxDepth)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, v)
		}
		return n, nil
	case yaml.ScalarNode:
		var v any
		if err := y.Decode(&v); err != nil {
			return nil, &sourceError{pos: pos, code: CodeSyntax, msg: err.Error()}
		}
		if _, ok := v.(time.Time); ok {
			v = y.Value // timestamps stay the text they were written as
		}
		nv, err := normalize(v)
		if err != nil {
			return nil, &sourceError{pos: pos, code: CodeInvalid, msg: err.Error()}
		}
		return &snode{pos: pos, val: nv}, nil
	}
	return nil, &sourceError{pos: pos, code: CodeSyntax, msg: "unsupported YAML node"}
}

// toValue converts a tree to a canonical value.
func (n *snode) toValue() any {
	switch n.kind {
	case nObject:
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			m[k] = n.vals[i].toValue()
		}
		return m
	case nArray:
		l := make([]any, len(n.items))
		for i, it := range n.items {
			l[i] = it.toValue()
		}
		return l
	}
	return n.val
}
