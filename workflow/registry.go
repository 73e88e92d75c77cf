package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// OperationFunc performs one step. It receives the step's rendered input in call and returns
// the step's result: an object of JSON-like values (any value encoding/json can marshal is
// accepted and stored in canonical form). Returning Permanent(err) fails the step without
// retries; any other error is retried under the step's policy.
//
// An operation may be called more than once for the same step — after a failed attempt, and
// after a crash that struck between its return and the engine's next commit — always with the
// same call.IdempotencyKey. Operations with side effects make repeated calls harmless with it
// (see the package documentation, "Exactly-once side effects").
type OperationFunc func(ctx context.Context, call *Call) (map[string]any, error)

// Operation is a named operation a definition's steps can call.
type Operation struct {
	// Name is what steps write in "operation", conventionally "<protocol>.<verb>":
	// "bitcoin.send_payment". Letters, digits, '_', '-' and '.'. Required.
	Name string
	// Protocol is the protocol the operation acts in. Defaults to Name up to its first '.'.
	Protocol string
	// Func does the work. Required.
	Func OperationFunc
	// Inputs, when set, declares the input fields: the rendered input is checked against it
	// (undeclared and missing required fields, types) before Func is called, and numbers are
	// converted to the declared type. A mismatch fails the step without retries.
	Inputs map[string]Field
	// Outputs, when set, declares the result fields. Definitions are then checked against it
	// (a reference to an undeclared field is an error), conditions see typed fields, and a result
	// with a missing or mistyped field fails the attempt. Undeclared extra fields are dropped.
	Outputs map[string]Type
	// Description is free text for tooling.
	Description string
}

// Registry holds the operations definitions may call. It is safe for concurrent use. The zero
// Registry is empty and ready to use.
type Registry struct {
	mu  sync.RWMutex
	ops map[string]*Operation
}

// NewRegistry returns a registry holding ops, or the first registration error.
func NewRegistry(ops ...Operation) (*Registry, error) {
	r := &Registry{}
	for _, op := range ops {
		if err := r.Register(op); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Register adds op. It returns an error wrapping ErrDuplicateOperation for a name already
// registered and ErrInvalidOperation for an operation without name or function, or with a
// malformed schema; the registry is unchanged then.
func (r *Registry) Register(op Operation) error {
	if !validOpName(op.Name) {
		return fmt.Errorf("%w: bad name %q", ErrInvalidOperation, op.Name)
	}
	if op.Func == nil {
		return fmt.Errorf("%w: %s has no Func", ErrInvalidOperation, op.Name)
	}
	if op.Protocol == "" {
		op.Protocol, _, _ = strings.Cut(op.Name, ".")
	}
	for k, f := range op.Inputs {
		if !f.Type.valid() {
			return fmt.Errorf("%w: %s input %s has unknown type %q", ErrInvalidOperation, op.Name, k, f.Type)
		}
	}
	for k, t := range op.Outputs {
		if !t.valid() {
			return fmt.Errorf("%w: %s output %s has unknown type %q", ErrInvalidOperation, op.Name, k, t)
		}
	}
	op.Inputs = cloneMap(op.Inputs)
	op.Outputs = cloneMap(op.Outputs)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.ops[op.Name]; ok {
		return fmt.Errorf("%w: %s", ErrDuplicateOperation, op.Name)
	}
	if r.ops == nil {
		r.ops = map[string]*Operation{}
	}
	r.ops[op.Name] = &op
	return nil
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func validOpName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isIdentChar(c) || c == '.') {
			return false
		}
	}
	return true
}

// Lookup returns the operation registered under name.
func (r *Registry) Lookup(name string) (Operation, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	op, ok := r.ops[name]
	if !ok {
		return Operation{}, false
	}
	return *op, true
}

func (r *Registry) lookup(name string) *Operation {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.ops[name]
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.ops))
	for n := range r.ops {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Call is one invocation of an operation, made by the engine. The intent methods of a Call the
// engine did not make (one a test builds itself) return a *NotConstructedError: it has no store
// to keep intents in.
type Call struct {
	RunID     string
	Workflow  string
	StepID    string
	Operation string
	Protocol  string
	// IdempotencyKey is the same for every attempt of this step of this run, before and after
	// restarts: "<run id>/<step id>", or "<run id>/<step id>/compensate" for the step's
	// compensation. Pass it to external systems that deduplicate, and key intents by it.
	IdempotencyKey string
	// Attempt counts calls for this step, from 1, including those made before a restart.
	Attempt int
	// Compensating is true when the call undoes the step (saga compensation).
	Compensating bool
	// Input is the rendered input. The operation owns it and may modify it.
	Input map[string]any

	store Store
}

// intents returns the store the call's intents are kept in: a Call the engine did not make
// has none.
func (c *Call) intents() (Store, error) {
	if c.store == nil {
		return nil, &NotConstructedError{Type: "Call", Constructor: "Engine.Run"}
	}
	return c.store, nil
}

// Intent returns the intent recorded under the call's idempotency key by an earlier attempt,
// if any. See RecordIntent.
func (c *Call) Intent(ctx context.Context) (data []byte, ok bool, err error) {
	st, err := c.intents()
	if err != nil {
		return nil, false, err
	}
	data, err = st.Intent(ctx, c.IdempotencyKey)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}

// RecordIntent durably records data under the call's idempotency key before the operation
// performs its side effect. An operation that records the exact effect it is about to cause (a
// signed transaction and its txid) and, when it finds a record, completes that effect (looks the
// txid up, rebroadcasts the same bytes) instead of creating a new one, causes its effect exactly
// once however often it is called.
//
// The first record is the one that counts: when an intent is recorded under the key already —
// an attempt that raced this one, perhaps on another host sharing the store, recorded first —
// RecordIntent changes nothing and returns an error wrapping ErrIntentExists; the operation must
// not cause its own effect, and should load the recorded one (Intent) and complete it.
func (c *Call) RecordIntent(ctx context.Context, data []byte) error {
	st, err := c.intents()
	if err != nil {
		return err
	}
	return st.CreateIntent(ctx, c.IdempotencyKey, data)
}

// LoadIntent decodes the recorded intent, JSON-encoded by SaveIntent, into v. It reports
// whether there was one.
func (c *Call) LoadIntent(ctx context.Context, v any) (bool, error) {
	data, ok, err := c.Intent(ctx)
	if err != nil || !ok {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("workflow: decode intent %s: %w", c.IdempotencyKey, err)
	}
	return true, nil
}

// SaveIntent records v, JSON-encoded, as the call's intent (see RecordIntent).
func (c *Call) SaveIntent(ctx context.Context, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("workflow: encode intent %s: %w", c.IdempotencyKey, err)
	}
	return c.RecordIntent(ctx, data)
}

// Decode decodes the call's input into v (a pointer to a struct or map) through encoding/json.
func (c *Call) Decode(v any) error {
	data, err := json.Marshal(c.Input)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// Typed adapts a function with typed input and output to an OperationFunc: the call's input is
// decoded into In (a decoding failure fails the step without retries) and Out, which must
// encode to a JSON object, becomes the result.
func Typed[In, Out any](fn func(ctx context.Context, call *Call, in In) (Out, error)) OperationFunc {
	return func(ctx context.Context, call *Call) (map[string]any, error) {
		var in In
		if err := call.Decode(&in); err != nil {
			return nil, Permanent(fmt.Errorf("%w: decode input of %s: %v", ErrInvalidInput, call.Operation, err))
		}
		out, err := fn(ctx, call, in)
		if err != nil {
			return nil, err
		}
		v, err := normalize(out)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return map[string]any{}, nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: %s returned %s, not an object", ErrOutput, call.Operation, typeName(v))
		}
		return m, nil
	}
}
