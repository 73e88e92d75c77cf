package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
)

// Limits bound what a definition may ask for. Zero fields take the defaults.
type Limits struct {
	MaxSteps           int    // Defaults to DefaultMaxSteps.
	MaxNesting         int    // Defaults to DefaultMaxNesting.
	MaxExpressionBytes int    // Defaults to DefaultMaxExpressionBytes.
	CELCostLimit       uint64 // Defaults to DefaultCELCostLimit.
}

func (l Limits) withDefaults() Limits {
	if l.MaxSteps <= 0 {
		l.MaxSteps = DefaultMaxSteps
	}
	if l.MaxNesting <= 0 {
		l.MaxNesting = DefaultMaxNesting
	}
	if l.MaxExpressionBytes <= 0 {
		l.MaxExpressionBytes = DefaultMaxExpressionBytes
	}
	if l.CELCostLimit == 0 {
		l.CELCostLimit = DefaultCELCostLimit
	}
	return l
}

// Retry defaults, used where a step's Retry leaves a field zero and for steps without one.
const (
	DefaultMaxAttempts = 3
	DefaultBackoff     = Duration(100 * time.Millisecond)
	DefaultMaxBackoff  = Duration(10 * time.Second)
	DefaultMultiplier  = 2.0
	// MaxAttemptsLimit bounds Retry.MaxAttempts.
	MaxAttemptsLimit = 1000
)

// plan is a compiled definition: everything checked, templates parsed, conditions compiled.
type plan struct {
	name   string
	hash   string
	body   []byte
	inputs map[string]Field
	steps  []*stepPlan
	output *tnode
	names  map[string]nameRef
}

type stepPlan struct {
	idx      int
	id       string
	op       *Operation
	protocol string
	input    *tnode
	output   *tnode
	cond     *condition
	term     *condition
	comp     *compPlan
	exec     Executor
	max      int             // attempts
	sources  []string        // protocols, other than its own, of the steps its input reads
	fields   map[string]Type // declared output fields; nil when undeclared
}

type compPlan struct {
	op    *Operation
	input *tnode
}

// compileEnv is what compiling needs from an engine.
type compileEnv struct {
	ops     *Registry
	limits  Limits
	policy  PolicyFunc
	timeout time.Duration
	retry   Retry
}

// Validate checks def against the operations in ops as Engine.Register would, reporting every
// problem in one *ValidationError.
func Validate(def *Definition, ops *Registry) error {
	if ops == nil {
		ops = &Registry{}
	}
	_, err := compile(def, &compileEnv{ops: ops, limits: Limits{}.withDefaults(), policy: DefaultPolicy,
		retry: Retry{MaxAttempts: DefaultMaxAttempts}})
	return err
}

type compiler struct {
	def      *Definition
	env      *compileEnv
	problems []Problem
}

func (c *compiler) add(path, code, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Pos: c.def.src.at(path), Code: code, Message: fmt.Sprintf(format, args...)})
}

func stepPath(i int) string { return "steps[" + strconv.Itoa(i) + "]" }

// tref usage contexts
type refCtx struct {
	step       int  // the referencing step, -1 for the definition's output
	allowSelf  bool // may reference the step itself (terminate_if, compensate)
	allowAll   bool // may reference any step (definition output)
	allowResul bool // may use result (output mapping)
}

func compile(def *Definition, env *compileEnv) (*plan, error) {
	if def == nil {
		return nil, &ValidationError{Problems: []Problem{{Code: CodeMissing, Message: "nil definition"}}}
	}
	c := &compiler{def: def, env: env}
	lim := env.limits
	p := &plan{name: def.Name, inputs: def.Inputs}

	if def.Name == "" {
		c.add("name", CodeMissing, "name is required")
	} else if len(def.Name) > 128 {
		c.add("name", CodeLimit, "name is longer than 128 bytes")
	}
	for _, k := range sortedKeys(def.Inputs) {
		if k == "" {
			c.add("inputs", CodeInvalid, "empty input name")
		}
		if t := def.Inputs[k].Type; !t.valid() {
			c.add(join("inputs", k)+".type", CodeInvalid, "unknown type %q (want string, number, integer, boolean, object, list or any)", t)
		}
	}
	switch {
	case len(def.Steps) == 0:
		c.add("steps", CodeMissing, "at least one step is required")
	case len(def.Steps) > lim.MaxSteps:
		c.add("steps", CodeLimit, "%d steps, more than %d", len(def.Steps), lim.MaxSteps)
		return nil, c.result()
	}

	// Step ids.
	byID := map[string]int{}
	ids := make([]string, len(def.Steps))
	for i, s := range def.Steps {
		path := stepPath(i) + ".id"
		ids[i] = s.ID
		switch {
		case s.ID == "":
			c.add(path, CodeMissing, "step id is required")
		case !validStepID(s.ID):
			c.add(path, CodeInvalid, "step id %q must be a lowercase letter or '_' followed by lowercase letters, digits or '_' (and not a CEL keyword)", s.ID)
		}
		if j, ok := byID[s.ID]; ok && s.ID != "" {
			c.add(path, CodeDuplicate, "step id %q is also used by steps[%d]", s.ID, j)
			continue
		}
		byID[s.ID] = i
	}

	// Operations, policies, templates.
	var refs [][]*tref     // per step: input and output templates
	var compRefs [][]*tref // per step: compensation templates
	var outRefs []*tref    // definition output
	for i, s := range def.Steps {
		sp := &stepPlan{idx: i, id: s.ID}
		p.steps = append(p.steps, sp)
		path := stepPath(i)
		sp.op = env.ops.lookup(s.Operation)
		switch {
		case s.Operation == "":
			c.add(path+".operation", CodeMissing, "operation is required")
		case sp.op == nil:
			c.add(path+".operation", CodeUnknownOperation, "unknown operation %q%s", s.Operation, suggest(s.Operation, env.ops.Names()))
		}
		sp.protocol = s.Protocol
		if sp.op != nil {
			if s.Protocol != "" && s.Protocol != sp.op.Protocol {
				c.add(path+".protocol", CodeProtocol, "step says protocol %q but operation %s acts in %q", s.Protocol, sp.op.Name, sp.op.Protocol)
			}
			if sp.protocol == "" {
				sp.protocol = sp.op.Protocol
			}
		}
		sp.exec, sp.max = c.policy(path, s)
		var r []*tref
		sp.input = c.template(s.Input, path+".input", &r)
		sp.output = c.template(s.Output, path+".output", &r)
		refs = append(refs, r)
		var cr []*tref
		if s.Compensate != nil {
			sp.comp = &compPlan{op: env.ops.lookup(s.Compensate.Operation)}
			switch {
			case s.Compensate.Operation == "":
				c.add(path+".compensate.operation", CodeMissing, "operation is required")
			case sp.comp.op == nil:
				c.add(path+".compensate.operation", CodeUnknownOperation, "unknown operation %q%s", s.Compensate.Operation, suggest(s.Compensate.Operation, env.ops.Names()))
			}
			sp.comp.input = c.template(s.Compensate.Input, path+".compensate.input", &cr)
		}
		compRefs = append(compRefs, cr)
	}
	p.output = c.template(def.Output, "output", &outRefs)

	// What each step's output holds, for reference checks and typed conditions.
	fields := make([]map[string]Type, len(def.Steps))
	for i, s := range def.Steps {
		sp := p.steps[i]
		switch {
		case s.Output != nil && sp.output != nil:
			fields[i] = c.mappingTypes(sp, def, fields)
		case s.Output == nil && sp.op != nil:
			fields[i] = sp.op.Outputs
		}
		sp.fields = fields[i]
	}

	// Template references.
	deps := make([]map[int]bool, len(def.Steps))
	for i := range deps {
		deps[i] = map[int]bool{}
	}
	for i, s := range def.Steps {
		for _, r := range refs[i] {
			c.checkRef(r, refCtx{step: i, allowResul: strings.HasPrefix(r.where, stepPath(i)+".output")}, byID, fields, deps)
		}
		for _, r := range compRefs[i] {
			c.checkRef(r, refCtx{step: i, allowSelf: true}, byID, fields, nil)
		}
		for k, a := range s.After {
			path := stepPath(i) + ".after[" + strconv.Itoa(k) + "]"
			j, ok := byID[a]
			switch {
			case !ok:
				c.add(path, CodeUnknownStep, "no step %q", a)
			case j >= i:
				c.add(path, CodeOrder, "step %q does not precede step %q", a, s.ID)
				deps[i][j] = true
			default:
				deps[i][j] = true
			}
		}
	}
	for _, r := range outRefs {
		c.checkRef(r, refCtx{step: -1, allowAll: true}, byID, fields, nil)
	}
	for i, sp := range p.steps {
		seen := map[string]bool{}
		for _, r := range refs[i] {
			if r.root == rootSteps && r.stepIdx >= 0 && r.stepIdx < len(p.steps) && r.stepIdx != i {
				if src := p.steps[r.stepIdx].protocol; src != "" && src != sp.protocol && !seen[src] {
					seen[src] = true
					sp.sources = append(sp.sources, src)
				}
			}
		}
		sort.Strings(sp.sources)
	}

	// Conditions.
	if env, names, err := newCELEnv(def.Inputs, ids, fields, lim); err != nil {
		c.add("", CodeCEL, "declaring variables: %v", err)
	} else {
		p.names = names
		for i, s := range def.Steps {
			sp := p.steps[i]
			if s.If != "" {
				sp.cond = c.condition(env, s.If, stepPath(i)+".if", refCtx{step: i}, byID, fields, deps)
			}
			if s.TerminateIf != "" {
				sp.term = c.condition(env, s.TerminateIf, stepPath(i)+".terminate_if", refCtx{step: i, allowSelf: true}, byID, fields, nil)
			}
		}
	}

	c.cycles(ids, deps)
	if err := c.result(); err != nil {
		return nil, err
	}
	body, err := json.Marshal(def)
	if err != nil {
		c.add("", CodeInvalid, "not representable as JSON: %v", err)
		return nil, c.result()
	}
	sum := sha256.Sum256(body)
	p.body, p.hash = body, hex.EncodeToString(sum[:])
	return p, nil
}

func (c *compiler) result() error {
	if len(c.problems) == 0 {
		return nil
	}
	if c.def.src != nil { // parsed: report in source order
		sort.SliceStable(c.problems, func(i, j int) bool {
			a, b := c.problems[i].Pos, c.problems[j].Pos
			return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
		})
	}
	return &ValidationError{Workflow: c.def.Name, Problems: c.problems}
}

func validStepID(s string) bool {
	if len(s) > 64 || !celIdent(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return false
		}
	}
	return true
}

// suggest names a registered operation close to name.
func suggest(name string, names []string) string {
	best, bestD := "", 4
	for _, n := range names {
		if d := editDistance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (c *compiler) policy(path string, s Step) (Executor, int) {
	r := c.env.retry
	if s.Retry != nil {
		if s.Retry.MaxAttempts < 1 || s.Retry.MaxAttempts > MaxAttemptsLimit {
			c.add(path+".retry.max_attempts", CodeInvalid, "max_attempts must be between 1 and %d", MaxAttemptsLimit)
		}
		if s.Retry.Backoff < 0 || s.Retry.MaxBackoff < 0 {
			c.add(path+".retry", CodeInvalid, "negative backoff")
		}
		if s.Retry.Multiplier != 0 && s.Retry.Multiplier < 1 {
			c.add(path+".retry.multiplier", CodeInvalid, "multiplier must be at least 1")
		}
		r = *s.Retry
	}
	if r.Backoff == 0 {
		r.Backoff = DefaultBackoff
	}
	if r.MaxBackoff == 0 {
		r.MaxBackoff = DefaultMaxBackoff
	}
	if r.Multiplier == 0 {
		r.Multiplier = DefaultMultiplier
	}
	if r.MaxAttempts < 1 {
		r.MaxAttempts = 1
	}
	timeout := time.Duration(s.Timeout)
	if s.Timeout < 0 {
		c.add(path+".timeout", CodeInvalid, "negative timeout")
	}
	if timeout == 0 {
		timeout = c.env.timeout
	}
	pol := Policy{Timeout: timeout, Retry: r, Step: s.ID, Operation: s.Operation, Protocol: s.Protocol}
	if op := c.env.ops.lookup(s.Operation); op != nil && pol.Protocol == "" {
		pol.Protocol = op.Protocol
	}
	return c.env.policy(pol), r.MaxAttempts
}

func (c *compiler) template(v map[string]any, path string, refs *[]*tref) *tnode {
	if v == nil {
		return nil
	}
	var errs []*pathError
	n := compileValue(v, path, 0, c.env.limits.MaxNesting, refs, &errs)
	for _, pe := range errs {
		c.add(pe.path, pe.code, "%s", pe.msg)
	}
	return n
}

// mappingTypes infers the field types of a step's output mapping.
func (c *compiler) mappingTypes(sp *stepPlan, def *Definition, fields []map[string]Type) map[string]Type {
	out := map[string]Type{}
	m := def.Steps[sp.idx].Output
	for _, k := range sortedKeys(m) {
		var n *tnode
		switch sp.output.kind {
		case tConst:
			out[k] = typeOf(sp.output.val.(map[string]any)[k])
			continue
		case tMap:
			i := sort.SearchStrings(sp.output.keys, k)
			n = sp.output.kids[i]
		}
		switch n.kind {
		case tConst:
			out[k] = typeOf(n.val)
		case tConcat:
			out[k] = TypeString
		case tMap:
			out[k] = TypeObject
		case tList:
			out[k] = TypeList
		case tRef:
			out[k] = c.refType(n.ref, sp, def, fields)
		}
	}
	return out
}

// refType is the declared type of what a reference names, or TypeAny.
func (c *compiler) refType(r *tref, sp *stepPlan, def *Definition, fields []map[string]Type) Type {
	if len(r.path) != 1 || r.path[0].isIdx {
		if len(r.path) == 0 {
			return TypeObject
		}
		return TypeAny
	}
	f := r.path[0].key
	switch r.root {
	case rootInput:
		if fd, ok := def.Inputs[f]; ok {
			return fd.Type
		}
	case rootResult:
		if sp.op != nil {
			if t, ok := sp.op.Outputs[f]; ok {
				return t
			}
		}
	case rootSteps:
		for j := 0; j < sp.idx; j++ {
			if def.Steps[j].ID == r.step {
				if t, ok := fields[j][f]; ok {
					return t
				}
			}
		}
	}
	return TypeAny
}

func (c *compiler) checkRef(r *tref, rc refCtx, byID map[string]int, fields []map[string]Type, deps []map[int]bool) {
	path := r.where
	switch r.root {
	case rootResult:
		if !rc.allowResul {
			c.add(path, CodeTemplate, "{{%s}}: result is only available in a step's output mapping", r.raw)
			return
		}
		sp := c.def.Steps[rc.step]
		if op := c.env.ops.lookup(sp.Operation); op != nil && op.Outputs != nil && len(r.path) > 0 && !r.path[0].isIdx {
			if _, ok := op.Outputs[r.path[0].key]; !ok {
				c.add(path, CodeUnknownField, "{{%s}}: operation %s has no output %q", r.raw, op.Name, r.path[0].key)
			}
		}
	case rootInput:
		c.checkInputField(path, "{{"+r.raw+"}}", r.path)
		if len(r.path) > 0 && !r.path[0].isIdx {
			_, r.decl = c.def.Inputs[r.path[0].key]
		}
	case rootSteps:
		j, ok := byID[r.step]
		r.stepIdx = j
		if !ok {
			r.stepIdx = -1
			c.add(path, CodeUnknownStep, "{{%s}}: no step %q", r.raw, r.step)
			return
		}
		c.checkStepRef(path, "{{"+r.raw+"}}", j, rc, fields, deps, r.path)
	}
}

func (c *compiler) checkInputField(path, what string, rp []pathElem) {
	if len(c.def.Inputs) == 0 || len(rp) == 0 || rp[0].isIdx {
		return
	}
	if _, ok := c.def.Inputs[rp[0].key]; !ok {
		c.add(path, CodeUnknownField, "%s: the definition declares no input %q", what, rp[0].key)
	}
}

func (c *compiler) checkStepRef(path, what string, j int, rc refCtx, fields []map[string]Type, deps []map[int]bool, rp []pathElem) {
	id := c.def.Steps[j].ID
	if !rc.allowAll {
		switch {
		case j == rc.step && !rc.allowSelf:
			c.add(path, CodeCycle, "%s: step %q refers to itself", what, id)
		case j > rc.step || (j == rc.step && !rc.allowSelf):
			c.add(path, CodeOrder, "%s: step %q does not precede step %q", what, id, c.def.Steps[rc.step].ID)
		}
		if deps != nil && j != rc.step {
			deps[rc.step][j] = true
		}
	}
	if fields[j] != nil && len(rp) > 0 && !rp[0].isIdx {
		if _, ok := fields[j][rp[0].key]; !ok {
			c.add(path, CodeUnknownField, "%s: step %q has no output %q", what, id, rp[0].key)
		}
	}
}

func (c *compiler) condition(env *cel.Env, expr, path string, rc refCtx, byID map[string]int, fields []map[string]Type, deps []map[int]bool) *condition {
	cond, refs, msgs := compileCondition(env, expr, c.env.limits)
	for _, m := range msgs {
		code := CodeCEL
		if strings.Contains(m, "more than") {
			code = CodeLimit
		}
		c.add(path, code, "%s", m)
	}
	for _, r := range refs {
		if r.step == "" {
			if r.field != "" {
				c.checkInputField(path, "input."+r.field, []pathElem{{key: r.field}})
			}
			continue
		}
		j := byID[r.step]
		what := "steps." + r.step
		var rp []pathElem
		if r.field != "" {
			what += "." + r.field
			rp = []pathElem{{key: r.field}}
		}
		c.checkStepRef(path, what, j, rc, fields, deps, rp)
	}
	return cond
}

// cycles reports every set of steps that depend on each other in a circle (Tarjan's strongly
// connected components).
func (c *compiler) cycles(ids []string, deps []map[int]bool) {
	n := len(ids)
	index := make([]int, n)
	low := make([]int, n)
	on := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	next := 0
	var strong func(v int)
	strong = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		on[v] = true
		for _, w := range sortedInts(deps[v]) {
			if index[w] < 0 {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if on[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				on[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			if len(comp) > 1 {
				sort.Ints(comp)
				names := make([]string, len(comp))
				for i, k := range comp {
					names[i] = strconv.Quote(ids[k])
				}
				c.add(stepPath(comp[0]), CodeCycle, "steps %s depend on each other in a cycle", strings.Join(names, ", "))
			}
		}
	}
	for v := range n {
		if index[v] < 0 {
			strong(v)
		}
	}
}

func sortedInts(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
