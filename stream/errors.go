package stream

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidOption is wrapped by the *OptionError returned for an invalid option or argument.
	ErrInvalidOption = errors.New("stream: invalid option")
	// ErrInvalidPattern is wrapped by the *PatternError returned for a malformed pattern.
	ErrInvalidPattern = errors.New("stream: invalid pattern")
	// ErrRunning is returned by Run while the same operator is already running.
	ErrRunning = errors.New("stream: operator already running")
	// ErrStopped is returned by an Emitter once its pipeline has stopped.
	ErrStopped = errors.New("stream: pipeline stopped")
	// ErrCheckpoint is wrapped by the *CheckpointError returned when a stored checkpoint cannot
	// be used: it is malformed, or it was written by an operator of another shape.
	ErrCheckpoint = errors.New("stream: unusable checkpoint")
	// ErrClosed is returned by a Store after Close.
	ErrClosed = errors.New("stream: store closed")
)

// OptionError names an option (or constructor argument) whose value is invalid.
type OptionError struct {
	Option string // "WithMaxKeys", "Tumbling", "OutOfOrder", ...
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("stream: option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// PatternError describes a pattern that cannot be matched.
type PatternError struct {
	Step   string // the step at fault, "" for the pattern as a whole
	Reason string
}

func (e *PatternError) Error() string {
	if e.Step == "" {
		return "stream: invalid pattern: " + e.Reason
	}
	return fmt.Sprintf("stream: invalid pattern: step %q: %s", e.Step, e.Reason)
}

// Unwrap returns ErrInvalidPattern.
func (e *PatternError) Unwrap() error { return ErrInvalidPattern }

// CheckpointError tells why a stored checkpoint could not be restored. Nothing is restored from
// it and the store is left as it is.
type CheckpointError struct {
	Pipeline string // the pipeline name (WithName)
	Key      string // the store key at fault, "" for the checkpoint as a whole
	Reason   string
	Err      error // the underlying decoding error, if any
}

func (e *CheckpointError) Error() string {
	s := fmt.Sprintf("stream: unusable checkpoint of %q", e.Pipeline)
	if e.Key != "" {
		s += fmt.Sprintf(" at %q", e.Key)
	}
	s += ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrCheckpoint and the underlying error.
func (e *CheckpointError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrCheckpoint, e.Err}
	}
	return []error{ErrCheckpoint}
}

// SourceError is a source's failure, which stops the pipeline.
type SourceError struct {
	Source string
	Err    error
}

func (e *SourceError) Error() string { return fmt.Sprintf("stream: source %q: %v", e.Source, e.Err) }

// Unwrap returns the source's error.
func (e *SourceError) Unwrap() error { return e.Err }
