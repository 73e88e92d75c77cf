package ml

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Typed errors below wrap one of them, so errors.Is works on every error the
// package returns.
var (
	// ErrClosed is returned by calls on a closed Engine or Backend.
	ErrClosed = errors.New("ml: closed")
	// ErrOverloaded is returned when the engine's queue is full and it was built with
	// [WithRejectWhenFull].
	ErrOverloaded = errors.New("ml: queue full")
	// ErrInvalidOption reports a bad constructor option ([*OptionError]).
	ErrInvalidOption = errors.New("ml: invalid option")
	// ErrUnknownSchema reports a feature vector of another schema or schema version than the
	// active model's ([*SchemaError]).
	ErrUnknownSchema = errors.New("ml: unknown feature schema")
	// ErrShape reports a feature vector of the wrong length ([*ShapeError]).
	ErrShape = errors.New("ml: wrong number of features")
	// ErrNotFinite reports a NaN or infinite feature value ([*FeatureError]).
	ErrNotFinite = errors.New("ml: feature is NaN or infinite")
	// ErrOutOfRange reports a feature value outside its schema range ([*FeatureError]).
	ErrOutOfRange = errors.New("ml: feature out of range")
	// ErrUnknownFeature reports a feature name the schema does not define.
	ErrUnknownFeature = errors.New("ml: unknown feature")
	// ErrInvalidSchema reports a schema definition that cannot validate anything (no name,
	// duplicate features, min > max, ...).
	ErrInvalidSchema = errors.New("ml: invalid schema")
	// ErrInvalidModel reports a model whose file or manifest is unusable: it does not decode,
	// its inputs and outputs do not match the manifest, ...
	ErrInvalidModel = errors.New("ml: invalid model")
	// ErrTampered reports a model file whose sha256 differs from its manifest ([*HashError]).
	ErrTampered = errors.New("ml: model file does not match its sha256")
	// ErrNotFound reports a model name or version the registry does not hold.
	ErrNotFound = errors.New("ml: model not found")
	// ErrExists reports an attempt to register a version that already exists with other content.
	ErrExists = errors.New("ml: model version already registered")
	// ErrReadOnly reports a write to a registry opened on a read-only file system.
	ErrReadOnly = errors.New("ml: registry is read-only")
	// ErrNoPrevious is returned by Rollback when no earlier version was active.
	ErrNoPrevious = errors.New("ml: no previous version to roll back to")
	// ErrORTUnavailable reports that the ONNX Runtime backend cannot start: the library is
	// missing or failed to load ([*LibraryError]), or the program was built without cgo
	// ([ErrNoCgo]).
	ErrORTUnavailable = errors.New("ml: ONNX Runtime unavailable")
	// ErrORTNotFound reports an ONNX Runtime library that is not there: a configured path
	// that does not exist, or, with nothing configured, none in the places searched. It is
	// wrapped by a [*LibraryError].
	ErrORTNotFound = errors.New("ml: ONNX Runtime library not found")
	// ErrNoCgo reports a program built without cgo, which cannot load ONNX Runtime.
	ErrNoCgo = errors.New("ml: built with CGO_ENABLED=0, which cannot load ONNX Runtime")
	// ErrNotConstructed is wrapped by the [*NotConstructedError] of a zero [Engine], [Registry],
	// [Model] or [ORTBackend].
	ErrNotConstructed = errors.New("ml: not constructed")
	// ErrDeadline is wrapped by [*DeadlineError].
	ErrDeadline = errors.New("ml: max latency exceeded")
	// ErrBackend reports a failure inside a backend while loading or running a model.
	ErrBackend = errors.New("ml: backend failure")
)

// OptionError reports an invalid constructor option, naming it.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("ml: option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns [ErrInvalidOption].
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// SchemaError reports a vector of a schema the active model does not read.
type SchemaError struct {
	Want string // schema id the model reads, "name@version"
	Got  string // schema id of the vector
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("ml: feature schema %s, model reads %s", e.Got, e.Want)
}

// Unwrap returns [ErrUnknownSchema].
func (e *SchemaError) Unwrap() error { return ErrUnknownSchema }

// ShapeError reports a vector of the wrong length.
type ShapeError struct {
	Schema    string
	Want, Got int
}

func (e *ShapeError) Error() string {
	return fmt.Sprintf("ml: schema %s has %d features, vector has %d", e.Schema, e.Want, e.Got)
}

// Unwrap returns [ErrShape].
func (e *ShapeError) Unwrap() error { return ErrShape }

// FeatureError reports one invalid feature value.
type FeatureError struct {
	Schema  string
	Index   int
	Feature string
	Value   float32
	Min     float32
	Max     float32
	Err     error // ErrNotFinite or ErrOutOfRange
}

func (e *FeatureError) Error() string {
	if errors.Is(e.Err, ErrOutOfRange) {
		return fmt.Sprintf("ml: schema %s feature %d %q = %v outside [%v, %v]", e.Schema, e.Index, e.Feature, e.Value, e.Min, e.Max)
	}
	return fmt.Sprintf("ml: schema %s feature %d %q = %v: %v", e.Schema, e.Index, e.Feature, e.Value, e.Err)
}

// Unwrap returns the sentinel describing the problem.
func (e *FeatureError) Unwrap() error { return e.Err }

// BatchError reports which vector of a batch was rejected; nothing in the batch was scored.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("ml: batch row %d: %v", e.Index, e.Err) }

// Unwrap returns the row's error.
func (e *BatchError) Unwrap() error { return e.Err }

// HashError reports a model file whose content does not match its manifest.
type HashError struct {
	Model     string
	Want, Got string
}

func (e *HashError) Error() string {
	return fmt.Sprintf("ml: model %s: sha256 %s, manifest says %s: refusing it", e.Model, e.Got, e.Want)
}

// Unwrap returns [ErrTampered].
func (e *HashError) Unwrap() error { return ErrTampered }

// LibraryError reports that the ONNX Runtime shared library could not be found or loaded. Its
// message names the path and says what to do: fix the configured path, or install the library
// with [SetupCommand].
type LibraryError struct {
	// Source is where Path came from: [SourceOption] or [SourceEnv] for a configured path that
	// cannot be used, another source for a library that was found but failed to load; 0 when
	// nothing was configured and nothing was found.
	Source LibrarySource
	// Path is the library that could not be used; "" when nothing was found.
	Path string
	// Tried lists where the library was looked for, in order, when nothing was configured.
	Tried []string
	// Err says why: [ErrORTNotFound] (wrapped or not) for a library that is not there, the
	// loader's error for one that failed to load.
	Err error
}

func (e *LibraryError) Error() string {
	var b strings.Builder
	b.WriteString("ml: ONNX Runtime " + ORTVersion + " library")
	switch {
	case e.Path == "":
		b.WriteString(" not found")
		if len(e.Tried) > 0 {
			b.WriteString(" (looked in " + strings.Join(e.Tried, ", ") + ")")
		}
		b.WriteString(": install it with `" + SetupCommand + "`, or set " + EnvORTLibrary + " to its path")
		return b.String()
	case errors.Is(e.Err, ErrORTNotFound):
		fmt.Fprintf(&b, " %s (from %s) does not exist", e.Path, e.Source)
	case e.Source == 0 || e.Err == nil:
		fmt.Fprintf(&b, " %s cannot be used: %v", e.Path, e.Err)
	default:
		fmt.Fprintf(&b, " %s (from %s) cannot be used: %v", e.Path, e.Source, e.Err)
	}
	switch e.Source {
	case SourceOption:
		b.WriteString(": pass the library's path to WithORTLibrary, or install it with `" + SetupCommand + "` and pass none")
	case SourceEnv:
		b.WriteString(": set " + EnvORTLibrary + " to the library's path, or unset it and install the library with `" + SetupCommand + "`")
	default:
		b.WriteString(": reinstall it with `" + SetupCommand + "`")
	}
	return b.String()
}

// Unwrap returns [ErrORTUnavailable] and Err.
func (e *LibraryError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrORTUnavailable, e.Err}
	}
	return []error{ErrORTUnavailable}
}

// NotConstructedError is returned by the methods of a zero [Engine], [Registry], [Model] or
// [ORTBackend] that can fail: they need their constructor, which the error names. It matches
// [ErrNotConstructed] with [errors.Is].
type NotConstructedError struct {
	Type        string // the zero value's type, e.g. "Engine"
	Constructor string // the function that creates a usable one, e.g. "NewEngine"
}

func (e *NotConstructedError) Error() string {
	return "ml: a zero " + e.Type + " is not usable: create it with ml." + e.Constructor
}

// Unwrap returns [ErrNotConstructed].
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

// DeadlineError is returned when a call exceeds the engine's [WithMaxLatency] budget. It matches
// both [ErrDeadline] and context.DeadlineExceeded.
type DeadlineError struct {
	MaxLatency string
}

func (e *DeadlineError) Error() string {
	return "ml: max latency " + e.MaxLatency + " exceeded"
}

// Unwrap returns [ErrDeadline].
func (e *DeadlineError) Unwrap() error { return ErrDeadline }

// Is reports whether target is context.DeadlineExceeded.
func (e *DeadlineError) Is(target error) bool { return target == context.DeadlineExceeded }
