package workflow

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

var (
	// ErrInvalidDefinition is wrapped by the *ValidationError a definition that cannot run gets.
	ErrInvalidDefinition = errors.New("workflow: invalid definition")
	// ErrInvalidInput is wrapped by the *InputError for run input that does not fit the definition.
	ErrInvalidInput = errors.New("workflow: invalid input")
	// ErrInvalidOption is wrapped by the *OptionError returned for an invalid option value.
	ErrInvalidOption = errors.New("workflow: invalid option")
	// ErrNotConstructed is wrapped by the *NotConstructedError of a zero Engine or SQLiteStore.
	ErrNotConstructed = errors.New("workflow: not constructed")
	// ErrInvalidOperation is returned by Registry.Register for an operation without a name or
	// function, or with a malformed schema.
	ErrInvalidOperation = errors.New("workflow: invalid operation")
	// ErrDuplicateOperation is returned by Registry.Register for a name already registered.
	ErrDuplicateOperation = errors.New("workflow: operation already registered")
	// ErrUnknownWorkflow is returned for a workflow name the engine has no definition for.
	ErrUnknownWorkflow = errors.New("workflow: unknown workflow")
	// ErrInvalidRunID is returned for an empty or malformed run ID.
	ErrInvalidRunID = errors.New("workflow: invalid run id")
	// ErrRunInProgress is returned when a run is already being executed by this engine.
	ErrRunInProgress = errors.New("workflow: run already in progress")
	// ErrRunMismatch is returned when a run ID is reused for another workflow or other input.
	ErrRunMismatch = errors.New("workflow: run id already used with another workflow or input")
	// ErrRunFailed is wrapped by the *RunError returned for a run that ended failed.
	ErrRunFailed = errors.New("workflow: run failed")
	// ErrNotFound is returned by a Store for a run, intent or definition it does not hold.
	ErrNotFound = errors.New("workflow: not found")
	// ErrRunExists is returned by Store.Create for a run ID that is already stored.
	ErrRunExists = errors.New("workflow: run already exists")
	// ErrConflict is returned by Store.Commit when the run's stored version is not the expected
	// one: someone else advanced it.
	ErrConflict = errors.New("workflow: version conflict")
	// ErrIntentExists is returned by Store.CreateIntent (and Call.RecordIntent) when an intent is
	// recorded under the key already: an earlier attempt, perhaps on another host, recorded its
	// effect first, and that effect is the one to complete.
	ErrIntentExists = errors.New("workflow: intent already recorded")
	// ErrLeaseHeld is wrapped by the *LeaseError Store.Acquire returns while another owner holds
	// the run's lease; Engine.Run and Resume report such a run as ErrRunInProgress.
	ErrLeaseHeld = errors.New("workflow: run leased by another owner")
	// ErrLeaseLost is wrapped by the *LeaseError a Store returns for a renewal or a commit
	// whose lease has passed to another owner (or been released): the caller was fenced off
	// and must stop executing the run.
	ErrLeaseLost = errors.New("workflow: lease lost")
	// ErrInvalidLease is returned for a lease request without an owner or with a TTL <= 0.
	ErrInvalidLease = errors.New("workflow: invalid lease request")
	// ErrClosed is returned by a Store after Close.
	ErrClosed = errors.New("workflow: store closed")
	// ErrTemplate is wrapped by the *TemplateError a template that cannot be rendered gets.
	ErrTemplate = errors.New("workflow: template")
	// ErrCondition is wrapped by the *ConditionError a CEL condition that cannot be evaluated gets.
	ErrCondition = errors.New("workflow: condition")
	// ErrAttemptsExhausted is reported when a step has used every attempt its retry policy allows,
	// counting attempts made before a restart.
	ErrAttemptsExhausted = errors.New("workflow: attempts exhausted")
	// ErrOperationPanic is wrapped by the error an operation's panic is turned into.
	ErrOperationPanic = errors.New("workflow: operation panicked")
	// ErrOutput is returned for an operation result that does not match the operation's declared
	// outputs, or that cannot be stored (not representable as JSON).
	ErrOutput = errors.New("workflow: bad operation output")
	// ErrCorruptState is returned when a stored run cannot be decoded or does not fit its definition.
	ErrCorruptState = errors.New("workflow: corrupt stored state")

	errStepCodec = errors.New("workflow: malformed step records") // wrapped in ErrCorruptState
)

// Pos is a position in a definition's source text, 1-based. The zero Pos means unknown (for
// definitions built in Go).
type Pos struct {
	Line, Column int
}

// IsValid reports whether p is a known position.
func (p Pos) IsValid() bool { return p.Line > 0 }

func (p Pos) String() string {
	if !p.IsValid() {
		return "-"
	}
	return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Column)
}

// Problem codes, stable strings for tests and tooling.
const (
	CodeSyntax           = "syntax"            // the source is not JSON/YAML, or not a definition
	CodeUnknownKey       = "unknown_key"       // a key the definition format does not have
	CodeType             = "type"              // a value of the wrong type
	CodeMissing          = "missing"           // a required field is absent
	CodeInvalid          = "invalid"           // a malformed value (id, duration, type name, ...)
	CodeDuplicate        = "duplicate"         // a repeated step id or key
	CodeLimit            = "limit"             // a size, count or nesting limit was exceeded
	CodeUnknownOperation = "unknown_operation" // no operation of that name is registered
	CodeProtocol         = "protocol"          // the step's protocol is not its operation's
	CodeUnknownStep      = "unknown_step"      // a reference to a step that does not exist
	CodeOrder            = "order"             // a reference to a step that does not precede
	CodeCycle            = "cycle"             // steps that depend on each other in a circle
	CodeUnknownField     = "unknown_field"     // a reference to a field a step or the input does not have
	CodeTemplate         = "template"          // a malformed template
	CodeCEL              = "cel"               // a CEL syntax or type error
)

// Problem is one thing wrong with a definition.
type Problem struct {
	Path    string // where, as a path into the definition: "steps[2].input.amount"
	Pos     Pos    // where in the source text, when the definition was parsed
	Code    string // one of the Code constants
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Pos.IsValid() {
		b.WriteString(p.Pos.String())
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	b.WriteString(" (")
	b.WriteString(p.Code)
	b.WriteString(")")
	return b.String()
}

// ValidationError lists every problem found in a definition, in source order.
type ValidationError struct {
	Workflow string
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("workflow: invalid definition")
	if e.Workflow != "" {
		b.WriteString(" ")
		b.WriteString(strconv.Quote(e.Workflow))
	}
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(len(e.Problems)))
	b.WriteString(" problem(s)")
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap returns ErrInvalidDefinition.
func (e *ValidationError) Unwrap() error { return ErrInvalidDefinition }

// Has reports whether some problem has the code.
func (e *ValidationError) Has(code string) bool {
	for _, p := range e.Problems {
		if p.Code == code {
			return true
		}
	}
	return false
}

// InputError describes run input that does not fit the definition's declared inputs.
type InputError struct {
	Field  string
	Reason string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return "workflow: invalid input: " + e.Reason
	}
	return fmt.Sprintf("workflow: invalid input %s: %s", e.Field, e.Reason)
}

// Unwrap returns ErrInvalidInput.
func (e *InputError) Unwrap() error { return ErrInvalidInput }

// OptionError names an option (or a constructor's argument, such as New's "store") whose value
// a constructor refuses, or an option of the other kind (see Option); nothing is constructed.
// It matches ErrInvalidOption.
type OptionError struct {
	Option string // e.g. "WithLeaseTTL"
	Value  any    // the rejected value (nil for a nil function or interface)
	Reason string // what a valid value looks like
}

func (e *OptionError) Error() string {
	if e.Value == nil {
		return fmt.Sprintf("workflow: invalid option %s: %s", e.Option, e.Reason)
	}
	return fmt.Sprintf("workflow: invalid option %s = %+v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// NotConstructedError is returned by the methods of a zero Engine or SQLiteStore, and of a
// Call the engine did not make: it names the function that makes a usable one. It matches
// ErrNotConstructed.
type NotConstructedError struct {
	Type        string // the zero value's type, e.g. "Engine"
	Constructor string // the function that creates a usable one, e.g. "New"
}

func (e *NotConstructedError) Error() string {
	return "workflow: a zero " + e.Type + " is not usable: create it with workflow." + e.Constructor
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

// TemplateError is a template reference that could not be resolved while rendering.
type TemplateError struct {
	Ref    string // the reference as written, "steps.verify.score"
	Reason string
}

func (e *TemplateError) Error() string {
	return fmt.Sprintf("workflow: template {{%s}}: %s", e.Ref, e.Reason)
}

// Unwrap returns ErrTemplate.
func (e *TemplateError) Unwrap() error { return ErrTemplate }

// ConditionError is a CEL condition that failed to evaluate (a missing field, the cost limit, a
// runtime type error).
type ConditionError struct {
	Expr string
	Err  error
}

func (e *ConditionError) Error() string {
	return fmt.Sprintf("workflow: condition %q: %v", e.Expr, e.Err)
}

// Unwrap returns ErrCondition; errors.Is also matches the underlying error.
func (e *ConditionError) Unwrap() []error { return []error{ErrCondition, e.Err} }

// StepError is the final failure of one step.
type StepError struct {
	RunID   string
	StepID  string
	Attempt int
	Err     error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("workflow: run %s step %s (attempt %d): %v", e.RunID, e.StepID, e.Attempt, e.Err)
}

// Unwrap returns the step's error.
func (e *StepError) Unwrap() error { return e.Err }

// RunError is returned by Engine.Run and Resume for a run that ended failed. The run's Result
// (with the step errors as text) is returned alongside.
type RunError struct {
	RunID string
	Cause string // the failure as stored
}

func (e *RunError) Error() string {
	return fmt.Sprintf("workflow: run %s failed: %s", e.RunID, e.Cause)
}

// Unwrap returns ErrRunFailed.
func (e *RunError) Unwrap() error { return ErrRunFailed }

// PermanentError marks an operation error that retrying cannot fix (bad input, a refusal). The
// engine fails the step at once instead of retrying.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that the step fails without further attempts. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// Retryable reports whether an attempt that failed with err may be retried: not nil, not
// Permanent, and not a cancellation of the run itself.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var p *PermanentError
	return !errors.As(err, &p)
}

// LeaseError reports a lease that is held by another owner (ErrLeaseHeld) or was lost
// (ErrLeaseLost). Owner and Token describe the run's lease as the store holds it, when known.
type LeaseError struct {
	RunID string
	Owner string
	Token int64
	Err   error // ErrLeaseHeld or ErrLeaseLost
}

func (e *LeaseError) Error() string {
	if e.Owner == "" {
		return fmt.Sprintf("%v: run %s (token %d)", e.Err, e.RunID, e.Token)
	}
	return fmt.Sprintf("%v: run %s is leased to %s (token %d)", e.Err, e.RunID, e.Owner, e.Token)
}

// Unwrap returns ErrLeaseHeld or ErrLeaseLost.
func (e *LeaseError) Unwrap() error { return e.Err }
