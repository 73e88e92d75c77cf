package workflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Templates. A string value of a definition may hold references {{root.path}} where root is
// input, steps or result and the path is a chain of .field and [index]:
//
//	{{input.amount_sat}}  {{steps.verify_sender.verification_score}}  {{steps.s.items[0].name}}
//
// Templates are parsed once, when the definition is compiled; rendering substitutes values and
// never parses anything again, so a value containing "{{...}}" is data, whatever its origin.

type tkind uint8

const (
	tConst  tkind = iota // a value without templates
	tRef                 // a string that is exactly one reference: the referenced value, typed
	tConcat              // text and references: a string
	tMap
	tList
)

type tnode struct {
	kind  tkind
	val   any // tConst
	ref   *tref
	parts []tpart
	keys  []string // tMap, sorted
	kids  []*tnode // tMap (parallel to keys), tList
}

type tpart struct {
	lit string
	ref *tref
}

type rootKind uint8

const (
	rootInput rootKind = iota
	rootSteps
	rootResult
)

type pathElem struct {
	key   string
	index int
	isIdx bool
}

type tref struct {
	raw     string
	root    rootKind
	step    string // rootSteps: the step id
	stepIdx int    // resolved by compile
	decl    bool   // rootInput: the first field is a declared input (absent means null)
	path    []pathElem
	where   string // definition path of the string holding it
}

// templateSyntaxError is a malformed template.
type templateSyntaxError struct {
	off int
	msg string
}

func (e *templateSyntaxError) Error() string { return e.msg }

// compileValue turns a definition value into a template tree, collecting its references and
// every problem (it goes on after one, so that all are reported). where is the value's definition
// path. The tree is nil when there were problems.
func compileValue(v any, where string, depth, maxDepth int, refs *[]*tref, errs *[]*pathError) *tnode {
	if depth > maxDepth {
		*errs = append(*errs, &pathError{path: where, code: CodeLimit, msg: fmt.Sprintf("nested deeper than %d", maxDepth)})
		return nil
	}
	switch x := v.(type) {
	case string:
		n, err := compileString(x, where, refs)
		if err != nil {
			*errs = append(*errs, err.(*pathError))
		}
		return n
	case map[string]any:
		n := &tnode{kind: tMap, keys: make([]string, 0, len(x))}
		for k := range x {
			n.keys = append(n.keys, k)
		}
		sort.Strings(n.keys)
		allConst, bad := true, false
		for _, k := range n.keys {
			kid := compileValue(x[k], join(where, k), depth+1, maxDepth, refs, errs)
			if kid == nil {
				bad = true
				continue
			}
			allConst = allConst && kid.kind == tConst
			n.kids = append(n.kids, kid)
		}
		switch {
		case bad:
			return nil
		case allConst:
			m := make(map[string]any, len(x))
			for i, k := range n.keys {
				m[k] = n.kids[i].val
			}
			return &tnode{kind: tConst, val: m}
		}
		return n
	case []any:
		n := &tnode{kind: tList}
		allConst, bad := true, false
		for i, e := range x {
			kid := compileValue(e, where+"["+strconv.Itoa(i)+"]", depth+1, maxDepth, refs, errs)
			if kid == nil {
				bad = true
				continue
			}
			allConst = allConst && kid.kind == tConst
			n.kids = append(n.kids, kid)
		}
		switch {
		case bad:
			return nil
		case allConst:
			l := make([]any, len(n.kids))
			for i, kid := range n.kids {
				l[i] = kid.val
			}
			return &tnode{kind: tConst, val: l}
		}
		return n
	}
	nv, err := normalize(v)
	if err != nil {
		*errs = append(*errs, &pathError{path: where, code: CodeInvalid, msg: err.Error()})
		return nil
	}
	switch nv.(type) {
	case map[string]any, []any, string: // a typed container ([]string, a struct): compile its contents
		return compileValue(nv, where, depth, maxDepth, refs, errs)
	}
	return &tnode{kind: tConst, val: nv}
}

// pathError is a problem at a definition path, found while compiling.
type pathError struct {
	path, code, msg string
}

func (e *pathError) Error() string { return e.path + ": " + e.msg }

func compileString(s, where string, refs *[]*tref) (*tnode, error) {
	parts, err := parseTemplate(s)
	if err != nil {
		var se *templateSyntaxError
		errors.As(err, &se)
		return nil, &pathError{path: where, code: CodeTemplate, msg: fmt.Sprintf("%s at offset %d of %q", se.msg, se.off, s)}
	}
	for _, p := range parts {
		if p.ref != nil {
			p.ref.where = where
			*refs = append(*refs, p.ref)
		}
	}
	switch {
	case len(parts) == 0:
		return &tnode{kind: tConst, val: ""}, nil
	case len(parts) == 1 && parts[0].ref == nil:
		return &tnode{kind: tConst, val: s}, nil
	case len(parts) == 1:
		return &tnode{kind: tRef, ref: parts[0].ref}, nil
	}
	return &tnode{kind: tConcat, parts: parts}, nil
}

// parseTemplate splits s into literal text and references.
func parseTemplate(s string) ([]tpart, error) {
	var parts []tpart
	rest, off := s, 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				parts = append(parts, tpart{lit: rest})
			}
			return parts, nil
		}
		if i > 0 {
			parts = append(parts, tpart{lit: rest[:i]})
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, &templateSyntaxError{off: off + i, msg: "unclosed {{"}
		}
		expr := rest[i+2 : i+2+j]
		ref, err := parseRef(strings.TrimSpace(expr))
		if err != nil {
			return nil, &templateSyntaxError{off: off + i, msg: err.Error()}
		}
		parts = append(parts, tpart{ref: ref})
		off += i + 2 + j + 2
		rest = rest[i+2+j+2:]
	}
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' || c == '-' }

func parseRef(expr string) (*tref, error) {
	if expr == "" {
		return nil, errors.New("empty reference")
	}
	r := &tref{raw: expr}
	i := 0
	ident := func() (string, error) {
		start := i
		if i >= len(expr) || !isIdentStart(expr[i]) {
			return "", fmt.Errorf("expected a name at %q", expr[start:])
		}
		for i < len(expr) && isIdentChar(expr[i]) {
			i++
		}
		return expr[start:i], nil
	}
	root, err := ident()
	if err != nil {
		return nil, err
	}
	switch root {
	case "input":
		r.root = rootInput
	case "steps":
		r.root = rootSteps
	case "result":
		r.root = rootResult
	default:
		return nil, fmt.Errorf("unknown root %q (want input, steps or result)", root)
	}
	for i < len(expr) {
		switch expr[i] {
		case '.':
			i++
			name, err := ident()
			if err != nil {
				return nil, err
			}
			r.path = append(r.path, pathElem{key: name})
		case '[':
			i++
			start := i
			for i < len(expr) && expr[i] >= '0' && expr[i] <= '9' {
				i++
			}
			if i == start || i >= len(expr) || expr[i] != ']' || i-start > 9 {
				return nil, fmt.Errorf("bad index at %q", expr[start-1:])
			}
			n, _ := strconv.Atoi(expr[start:i])
			i++
			r.path = append(r.path, pathElem{index: n, isIdx: true})
		default:
			return nil, fmt.Errorf("unexpected %q", expr[i:])
		}
	}
	if r.root == rootSteps {
		if len(r.path) == 0 || r.path[0].isIdx {
			return nil, errors.New("steps must be followed by a step id: steps.<id>.<field>")
		}
		r.step = r.path[0].key
		r.path = r.path[1:]
	}
	return r, nil
}

// scope is what references resolve against.
type scope struct {
	input  map[string]any
	outs   []map[string]any // per step; nil when the step did not complete
	result map[string]any
}

func (t *tnode) render(sc *scope) (any, error) {
	switch t.kind {
	case tConst:
		return deepCopy(t.val), nil
	case tRef:
		v, err := t.ref.resolve(sc)
		if err != nil {
			return nil, err
		}
		return deepCopy(v), nil
	case tConcat:
		var b strings.Builder
		for _, p := range t.parts {
			if p.ref == nil {
				b.WriteString(p.lit)
				continue
			}
			v, err := p.ref.resolve(sc)
			if err != nil {
				return nil, err
			}
			if err := writeText(&b, v); err != nil {
				return nil, err
			}
		}
		return b.String(), nil
	case tMap:
		m := make(map[string]any, len(t.keys))
		for i, k := range t.keys {
			v, err := t.kids[i].render(sc)
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		return m, nil
	case tList:
		l := make([]any, len(t.kids))
		for i, kid := range t.kids {
			v, err := kid.render(sc)
			if err != nil {
				return nil, err
			}
			l[i] = v
		}
		return l, nil
	}
	panic("workflow: bad template node")
}

// renderMap renders a map template (nil renders as nil).
func renderMap(t *tnode, sc *scope) (map[string]any, error) {
	if t == nil {
		return nil, nil
	}
	v, err := t.render(sc)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

func writeText(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case nil:
	case string:
		b.WriteString(x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	default:
		data, err := json.Marshal(x)
		if err != nil {
			return err
		}
		b.Write(data)
	}
	return nil
}

// resolve finds the referenced value. A reference into a step that did not complete (skipped,
// or not reached) is null; a missing field of a value that exists is an error.
func (r *tref) resolve(sc *scope) (any, error) {
	var cur any
	switch r.root {
	case rootInput:
		if r.decl {
			if _, ok := sc.input[r.path[0].key]; !ok {
				return nil, nil
			}
		}
		cur = sc.input
	case rootResult:
		cur = sc.result
	case rootSteps:
		out := sc.outs[r.stepIdx]
		if out == nil {
			return nil, nil
		}
		cur = out
	}
	for _, e := range r.path {
		switch x := cur.(type) {
		case map[string]any:
			if e.isIdx {
				return nil, &TemplateError{Ref: r.raw, Reason: "indexing an object"}
			}
			v, ok := x[e.key]
			if !ok {
				return nil, &TemplateError{Ref: r.raw, Reason: fmt.Sprintf("no field %q", e.key)}
			}
			cur = v
		case []any:
			if !e.isIdx {
				return nil, &TemplateError{Ref: r.raw, Reason: fmt.Sprintf("field %q of a list", e.key)}
			}
			if e.index >= len(x) {
				return nil, &TemplateError{Ref: r.raw, Reason: fmt.Sprintf("index %d out of range (length %d)", e.index, len(x))}
			}
			cur = x[e.index]
		default:
			return nil, &TemplateError{Ref: r.raw, Reason: fmt.Sprintf("cannot select into %s", typeName(cur))}
		}
	}
	return cur, nil
}
