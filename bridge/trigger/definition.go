package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Definition is one trigger: when an event of kind On arrives and the CEL condition When
// holds, the Action runs with the Params (CEL expressions over the event), after the params
// have crossed the trust boundary Cross names.
//
// In JSON or YAML:
//
//	{"name": "large-tx", "on": "bitcoin.tx",
//	 "when": "event.data.amount_sat > 100000000",
//	 "action": "fraud.analyse",
//	 "cross": {"from": "bitcoin", "to": "ml", "action": "ml.assess_risk"},
//	 "params": {"txid": "event.data.txid", "amount_sat": "event.data.amount_sat"}}
type Definition struct {
	// Name identifies the trigger: letters, digits, '-', '_' and '.', at most 64.
	Name string `json:"name" yaml:"name"`
	// On is the event kind pattern: dot-separated tokens, '*' matching one token and a final
	// '>' one or more (the bus's pattern syntax).
	On string `json:"on" yaml:"on"`
	// When is a CEL condition over the event; empty means always. It sees event (a map: id,
	// kind, time, data) and data (event.data).
	When string `json:"when,omitempty" yaml:"when,omitempty"`
	// Action names the side effect (registered with WithAction).
	Action string `json:"action" yaml:"action"`
	// Cross is the boundary the side effect's params cross.
	Cross Crossing `json:"cross" yaml:"cross"`
	// Params maps each param name to a CEL expression over the event.
	Params map[string]string `json:"params,omitempty" yaml:"params,omitempty"`
}

// Crossing names a trust boundary crossing: from and to protocols ("bitcoin", "web5", "ml")
// and the action the receiving side performs.
type Crossing struct {
	From   string `json:"from" yaml:"from"`
	To     string `json:"to" yaml:"to"`
	Action string `json:"action" yaml:"action"`
}

// Limits on definitions.
const (
	MaxDefinitions     = 1000
	MaxExpressionBytes = 4096
	MaxParams          = 64
	MaxDefinitionBytes = 1 << 20
)

// Problem is one thing wrong with a definition.
type Problem struct {
	Trigger string // the trigger's name, or its position "#3" when it has none
	Field   string // "name", "on", "when", "action", "cross", "params.<name>", ...
	Reason  string
}

func (p Problem) String() string { return fmt.Sprintf("%s: %s: %s", p.Trigger, p.Field, p.Reason) }

// DefinitionError lists every problem of a set of definitions. It matches
// ErrInvalidDefinition.
type DefinitionError struct {
	Problems []Problem
}

func (e *DefinitionError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "trigger: invalid definitions: " + strings.Join(parts, "; ")
}

// Is reports whether target is ErrInvalidDefinition.
func (e *DefinitionError) Is(target error) bool { return target == ErrInvalidDefinition }

// ParseDefinitions reads a list of definitions in JSON (starting with '[') or YAML. Unknown
// fields are refused. It checks only the shape; New checks the content.
func ParseDefinitions(data []byte) ([]Definition, error) {
	if len(data) > MaxDefinitionBytes {
		return nil, &DefinitionError{Problems: []Problem{{Trigger: "-", Field: "-", Reason: fmt.Sprintf("definitions longer than %d bytes", MaxDefinitionBytes)}}}
	}
	trimmed := bytes.TrimSpace(data)
	var defs []Definition
	if len(trimmed) > 0 && trimmed[0] == '[' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&defs); err != nil {
			return nil, parseErr("JSON", err)
		}
		if dec.More() {
			return nil, parseErr("JSON", errors.New("data after the list"))
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(trimmed))
		dec.KnownFields(true)
		if err := dec.Decode(&defs); err != nil && !errors.Is(err, io.EOF) {
			return nil, parseErr("YAML", err)
		}
		var extra any
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			return nil, parseErr("YAML", errors.New("more than one document"))
		}
	}
	if len(defs) > MaxDefinitions {
		return nil, &DefinitionError{Problems: []Problem{{Trigger: "-", Field: "-", Reason: fmt.Sprintf("%d definitions, at most %d", len(defs), MaxDefinitions)}}}
	}
	return defs, nil
}

func parseErr(format string, err error) error {
	return &DefinitionError{Problems: []Problem{{Trigger: "-", Field: "-", Reason: "not a " + format + " list of definitions: " + err.Error()}}}
}
