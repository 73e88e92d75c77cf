package monitor

import (
	"errors"
	"fmt"
)

// Errors of the package.
var (
	// ErrInvalidOption: a constructor option or dependency New refuses (see *OptionError).
	ErrInvalidOption = errors.New("monitor: invalid option")
	// ErrInvalidArgument: a nil block given to ScoreBlock.
	ErrInvalidArgument = errors.New("monitor: invalid argument")
	// ErrRunning: Run was called while another Run of the same monitor is in progress.
	ErrRunning = errors.New("monitor: already running")
	// ErrCrossedData: the data that came back from a boundary is not the shape the monitor
	// sent (a boundary configured to remove or rewrite the monitor's fields).
	ErrCrossedData = errors.New("monitor: crossed data has the wrong shape")
)

// OptionError names the option or dependency New refused. It matches ErrInvalidOption.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("monitor: option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// BatchError reports a batch of transactions that was not scored: a boundary refused one of
// its crossings (Err matches security.ErrDenied), the engine failed, or the crossed data did
// not fit. Every transaction of the batch is left unscored.
type BatchError struct {
	// Stage is the step that failed: "bitcoin→ml", "web5→ml", "engine" or "ml→host".
	Stage string
	// Size is the number of transactions in the batch.
	Size int
	Err  error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("monitor: batch of %d transactions not scored at %s: %v", e.Size, e.Stage, e.Err)
}

// Unwrap returns the cause.
func (e *BatchError) Unwrap() error { return e.Err }
