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
	// missing ([*LibraryError]) or the program was built without cgo.
	ErrORTUnavailable = errors.New("ml: ONNX Runtime unavailable")
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
// message says what to run.
type LibraryError struct {
	// Tried lists where the library was looked for, in order.
	Tried []string
	// Err is the loader's error when a file was found but could not be loaded.
	Err error
}

func (e *LibraryError) Error() string {
	var b strings.Builder
	b.WriteString("ml: ONNX Runtime " + ORTVersion + " library ")
	if e.Err != nil {
		fmt.Fprintf(&b, "failed to load: %v", e.Err)
	} else {
		b.WriteString("not found")
	}
	if len(e.Tried) > 0 {
		b.WriteString(" (tried " + strings.Join(e.Tried, ", ") + ")")
	}
	b.WriteString(": run `make setup` in the anya-go checkout to fetch it, or set " + EnvORTLibrary + " to its path")
	return b.String()
}

// Unwrap returns [ErrORTUnavailable] and the loader's error.
func (e *LibraryError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrORTUnavailable, e.Err}
	}
	return []error{ErrORTUnavailable}
}

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
