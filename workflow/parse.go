package workflow

import (
	"bytes"
	"fmt"
	"strconv"
)

// Limits a definition must stay within, checked by Parse and by Engine.Register.
const (
	// DefaultMaxDefinitionBytes bounds the source text Parse reads.
	DefaultMaxDefinitionBytes = 1 << 20
	// DefaultMaxSteps bounds the steps of a definition.
	DefaultMaxSteps = 256
	// DefaultMaxNesting bounds how deeply input and output values nest.
	DefaultMaxNesting = 32
	// DefaultMaxExpressionBytes bounds the length of one CEL condition.
	DefaultMaxExpressionBytes = 4096
	// DefaultCELCostLimit bounds the work of one CEL evaluation, in cel-go cost units.
	DefaultCELCostLimit = 10_000
)

// structural levels above a value tree: steps[i].compensate.input
const structDepth = 5

// sourceMap maps definition paths to where they were written.
type sourceMap struct{ pos map[string]Pos }

func (s *sourceMap) at(path string) Pos {
	if s == nil {
		return Pos{}
	}
	for path != "" {
		if p, ok := s.pos[path]; ok {
			return p
		}
		path = parentPath(path)
	}
	return Pos{}
}

func parentPath(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '.' || p[i] == '[' {
			return p[:i]
		}
	}
	return ""
}

// Parse reads a definition written in JSON or YAML (JSON when the first non-blank character is
// '{'). Structural problems — malformed text, unknown keys, values of the wrong type, missing
// required fields — are reported together in a *ValidationError with their line and column.
// The definition's operations, references and conditions are checked when it is registered
// with an Engine (or by Validate), with positions from this source.
func Parse(data []byte) (*Definition, error) {
	if len(data) > DefaultMaxDefinitionBytes {
		return nil, &ValidationError{Problems: []Problem{{Pos: Pos{Line: 1, Column: 1}, Code: CodeLimit,
			Message: fmt.Sprintf("definition is %d bytes, more than %d", len(data), DefaultMaxDefinitionBytes)}}}
	}
	maxDepth := DefaultMaxNesting + structDepth
	var root *snode
	var err error
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		root, err = parseJSONTree(data, maxDepth)
	} else {
		root, err = parseYAMLTree(data, maxDepth)
	}
	if err != nil {
		se := err.(*sourceError)
		return nil, &ValidationError{Problems: []Problem{{Pos: se.pos, Code: se.code, Message: se.msg}}}
	}
	d := &decoder{src: &sourceMap{pos: map[string]Pos{}}}
	def := d.definition(root)
	if len(d.problems) > 0 {
		return nil, &ValidationError{Workflow: def.Name, Problems: d.problems}
	}
	def.src = d.src
	return def, nil
}

// decoder turns a tree into a Definition, collecting every structural problem.
type decoder struct {
	src      *sourceMap
	problems []Problem
}

func (d *decoder) problem(path string, pos Pos, code, format string, args ...any) {
	d.problems = append(d.problems, Problem{Path: path, Pos: pos, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (d *decoder) mark(path string, n *snode) { d.src.pos[path] = n.pos }

// object walks the keys of an object node, calling fields[key]; unknown keys are problems.
func (d *decoder) object(path string, n *snode, fields map[string]func(path string, v *snode)) bool {
	if n.kind != nObject {
		d.problem(path, n.pos, CodeType, "want an object, got a %s", n.kind)
		return false
	}
	for i, k := range n.keys {
		p := join(path, k)
		d.src.pos[p] = n.vals[i].pos
		f, ok := fields[k]
		if !ok {
			d.problem(p, n.keyPos[i], CodeUnknownKey, "unknown key %q", k)
			continue
		}
		f(p, n.vals[i])
	}
	return true
}

func has(n *snode, key string) bool {
	for _, k := range n.keys {
		if k == key {
			return true
		}
	}
	return false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *decoder) str(path string, n *snode, dst *string) {
	s, ok := n.val.(string)
	if n.kind != nScalar || !ok {
		d.problem(path, n.pos, CodeType, "want a string, got %s", describe(n))
		return
	}
	*dst = s
}

func (d *decoder) boolean(path string, n *snode, dst *bool) {
	b, ok := n.val.(bool)
	if n.kind != nScalar || !ok {
		d.problem(path, n.pos, CodeType, "want true or false, got %s", describe(n))
		return
	}
	*dst = b
}

func (d *decoder) integer(path string, n *snode, dst *int) {
	i, ok := n.val.(int64)
	if n.kind != nScalar || !ok || int64(int(i)) != i {
		d.problem(path, n.pos, CodeType, "want an integer, got %s", describe(n))
		return
	}
	*dst = int(i)
}

func (d *decoder) number(path string, n *snode, dst *float64) {
	switch x := n.val.(type) {
	case int64:
		*dst = float64(x)
		return
	case float64:
		*dst = x
		return
	}
	d.problem(path, n.pos, CodeType, "want a number, got %s", describe(n))
}

func (d *decoder) duration(path string, n *snode, dst *Duration) {
	s, ok := n.val.(string)
	if n.kind != nScalar || !ok {
		d.problem(path, n.pos, CodeType, "want a duration string like \"1.5s\", got %s", describe(n))
		return
	}
	v, err := parseDuration(s)
	if err != nil {
		d.problem(path, n.pos, CodeInvalid, "%s", err.Error()[len("workflow: "):])
		return
	}
	*dst = v
}

func (d *decoder) values(path string, n *snode, dst *map[string]any) {
	if n.kind != nObject {
		d.problem(path, n.pos, CodeType, "want an object, got %s", describe(n))
		return
	}
	d.markTree(path, n)
	*dst = n.toValue().(map[string]any)
}

// markTree records the position of every value under path.
func (d *decoder) markTree(path string, n *snode) {
	d.src.pos[path] = n.pos
	switch n.kind {
	case nObject:
		for i, k := range n.keys {
			d.markTree(join(path, k), n.vals[i])
		}
	case nArray:
		for i, it := range n.items {
			d.markTree(path+"["+strconv.Itoa(i)+"]", it)
		}
	}
}

func describe(n *snode) string {
	if n.kind != nScalar {
		return "a " + n.kind.String()
	}
	if n.val == nil {
		return "null"
	}
	return "a " + typeName(n.val)
}

func (d *decoder) required(path string, n *snode, keys ...string) {
	if n.kind != nObject {
		return
	}
	for _, k := range keys {
		if !has(n, k) {
			d.problem(path, n.pos, CodeMissing, "missing %q", k)
		}
	}
}

func (d *decoder) definition(n *snode) *Definition {
	def := &Definition{}
	ok := d.object("", n, map[string]func(string, *snode){
		"name":        func(p string, v *snode) { d.str(p, v, &def.Name) },
		"version":     func(p string, v *snode) { d.str(p, v, &def.Version) },
		"description": func(p string, v *snode) { d.str(p, v, &def.Description) },
		"inputs":      func(p string, v *snode) { def.Inputs = d.fields(p, v) },
		"output":      func(p string, v *snode) { d.values(p, v, &def.Output) },
		"steps": func(p string, v *snode) {
			if v.kind != nArray {
				d.problem(p, v.pos, CodeType, "want a list of steps, got %s", describe(v))
				return
			}
			for i, it := range v.items {
				sp := p + "[" + strconv.Itoa(i) + "]"
				d.mark(sp, it)
				def.Steps = append(def.Steps, d.step(sp, it))
			}
		},
	})
	if ok {
		d.required("", n, "name", "steps")
	}
	return def
}

func (d *decoder) fields(path string, n *snode) map[string]Field {
	if n.kind != nObject {
		d.problem(path, n.pos, CodeType, "want an object of fields, got %s", describe(n))
		return nil
	}
	out := map[string]Field{}
	for i, k := range n.keys {
		p := join(path, k)
		var f Field
		var typ string
		v := n.vals[i]
		d.mark(p, v)
		if d.object(p, v, map[string]func(string, *snode){
			"type":        func(p string, v *snode) { d.str(p, v, &typ) },
			"required":    func(p string, v *snode) { d.boolean(p, v, &f.Required) },
			"description": func(p string, v *snode) { d.str(p, v, &f.Description) },
		}) {
			d.required(p, v, "type")
		}
		f.Type = Type(typ)
		out[k] = f
	}
	return out
}

func (d *decoder) step(path string, n *snode) Step {
	var s Step
	ok := d.object(path, n, map[string]func(string, *snode){
		"id":           func(p string, v *snode) { d.str(p, v, &s.ID) },
		"protocol":     func(p string, v *snode) { d.str(p, v, &s.Protocol) },
		"operation":    func(p string, v *snode) { d.str(p, v, &s.Operation) },
		"input":        func(p string, v *snode) { d.values(p, v, &s.Input) },
		"output":       func(p string, v *snode) { d.values(p, v, &s.Output) },
		"if":           func(p string, v *snode) { d.str(p, v, &s.If) },
		"terminate_if": func(p string, v *snode) { d.str(p, v, &s.TerminateIf) },
		"timeout":      func(p string, v *snode) { d.duration(p, v, &s.Timeout) },
		"after": func(p string, v *snode) {
			if v.kind != nArray {
				d.problem(p, v.pos, CodeType, "want a list of step ids, got %s", describe(v))
				return
			}
			for i, it := range v.items {
				ip := p + "[" + strconv.Itoa(i) + "]"
				d.mark(ip, it)
				var id string
				d.str(ip, it, &id)
				s.After = append(s.After, id)
			}
		},
		"retry": func(p string, v *snode) {
			r := &Retry{}
			if d.object(p, v, map[string]func(string, *snode){
				"max_attempts": func(p string, v *snode) { d.integer(p, v, &r.MaxAttempts) },
				"backoff":      func(p string, v *snode) { d.duration(p, v, &r.Backoff) },
				"max_backoff":  func(p string, v *snode) { d.duration(p, v, &r.MaxBackoff) },
				"multiplier":   func(p string, v *snode) { d.number(p, v, &r.Multiplier) },
			}) {
				d.required(p, v, "max_attempts")
			}
			s.Retry = r
		},
		"compensate": func(p string, v *snode) {
			c := &Compensation{}
			if d.object(p, v, map[string]func(string, *snode){
				"operation": func(p string, v *snode) { d.str(p, v, &c.Operation) },
				"input":     func(p string, v *snode) { d.values(p, v, &c.Input) },
			}) {
				d.required(p, v, "operation")
			}
			s.Compensate = c
		},
	})
	if ok {
		d.required(path, n, "id", "operation")
	}
	return s
}
