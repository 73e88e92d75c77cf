package workflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Definition is a workflow: named steps run in order, each calling a registered operation with
// templated input, guarded by CEL conditions. It is plain data — write it in Go or parse it from
// JSON or YAML with Parse — and it marshals to the JSON form Parse reads.
type Definition struct {
	// Name identifies the workflow to Engine.Run. Required.
	Name string `json:"name"`
	// Version is free text recorded with every run.
	Version     string `json:"version,omitempty"`
	Description string `json:"description,omitempty"`
	// Inputs declares the run input's fields. When it is set, Run rejects undeclared and missing
	// required fields and converts numbers to the declared type, and conditions see typed
	// fields. When it is empty any input object is accepted.
	Inputs map[string]Field `json:"inputs,omitempty"`
	// Steps run in this order. Required, at least one.
	Steps []Step `json:"steps"`
	// Output maps the run's result: templates over input and steps.
	Output map[string]any `json:"output,omitempty"`

	src *sourceMap // positions, when parsed
}

// Step is one call of an operation.
type Step struct {
	// ID names the step in references (steps.<id>.<field>): a lowercase letter or underscore,
	// then lowercase letters, digits and underscores. Required, unique.
	ID string `json:"id"`
	// Protocol is the protocol the step acts in ("bitcoin", "web5", "ml"). Defaults to the
	// operation's; when both are set they must agree.
	Protocol string `json:"protocol,omitempty"`
	// Operation is the registered operation's name. Required.
	Operation string `json:"operation"`
	// Input is the operation's input: any JSON-like value tree in which strings may hold
	// templates. A string that is exactly one template ("{{input.amount}}") becomes the
	// referenced value with its type; a string mixing text and templates becomes a string.
	Input map[string]any `json:"input,omitempty"`
	// Output, when set, maps the operation's result (result.<field>) into the step's recorded
	// output; otherwise the result is recorded as it is.
	Output map[string]any `json:"output,omitempty"`
	// If is a CEL condition over input and preceding steps; when it is false the step is
	// recorded as skipped.
	If string `json:"if,omitempty"`
	// TerminateIf is a CEL condition evaluated after the step completes, over input, preceding
	// steps and this one; when it is true the run ends at once with status terminated.
	TerminateIf string `json:"terminate_if,omitempty"`
	// After lists steps this one depends on beyond those its templates and conditions name.
	After []string `json:"after,omitempty"`
	// Timeout bounds each attempt. Zero means the engine default.
	Timeout Duration `json:"timeout,omitempty"`
	// Retry is the step's retry policy. Nil means the engine default.
	Retry *Retry `json:"retry,omitempty"`
	// Compensate undoes the step when a later step fails (saga): compensations run in reverse
	// order of the steps they undo.
	Compensate *Compensation `json:"compensate,omitempty"`
}

// Compensation is the operation that undoes a completed step.
type Compensation struct {
	Operation string         `json:"operation"`
	Input     map[string]any `json:"input,omitempty"` // templates over input, preceding steps and the step itself
}

// Retry is a step's retry policy: exponential backoff between attempts.
type Retry struct {
	// MaxAttempts bounds the attempts, counting the first and those made before a restart.
	MaxAttempts int `json:"max_attempts"`
	// Backoff is the wait before the second attempt. Defaults to DefaultBackoff.
	Backoff Duration `json:"backoff,omitempty"`
	// MaxBackoff caps the wait. Defaults to DefaultMaxBackoff.
	MaxBackoff Duration `json:"max_backoff,omitempty"`
	// Multiplier grows the wait after each attempt. Defaults to DefaultMultiplier.
	Multiplier float64 `json:"multiplier,omitempty"`
}

// Field declares one input or output field.
type Field struct {
	Type        Type   `json:"type"`
	Required    bool   `json:"required,omitempty"`
	Description string `json:"description,omitempty"`
}

// Type is a field's type.
type Type string

// The field types. Numbers are float64 and integers int64 in Go, double and int in CEL.
const (
	TypeString  Type = "string"
	TypeNumber  Type = "number"
	TypeInteger Type = "integer"
	TypeBoolean Type = "boolean"
	TypeObject  Type = "object"
	TypeList    Type = "list"
	TypeAny     Type = "any"
)

func (t Type) valid() bool {
	switch t {
	case TypeString, TypeNumber, TypeInteger, TypeBoolean, TypeObject, TypeList, TypeAny:
		return true
	}
	return false
}

// Duration is a time.Duration written as a Go duration string ("1.5s", "250ms") in JSON and YAML.
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string, or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return errors.New("workflow: duration must be a string like \"1.5s\"")
		}
		*d = Duration(n)
		return nil
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func parseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("workflow: bad duration %q", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("workflow: negative duration %q", s)
	}
	return Duration(v), nil
}
