package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// Values that flow through a workflow (run input, operation results, step outputs) are kept in
// one canonical form, the one they have after a round trip through the store's JSON, so a run
// behaves the same whether or not it was resumed: nil, bool, string, int64 (every number without
// a fractional part that fits), float64 (the others), []any and map[string]any.

const maxValueDepth = 64

// normalize returns v in canonical form. Values of other Go types (structs, typed maps and
// slices) go through encoding/json.
func normalize(v any) (any, error) { return normalizeDepth(v, 0) }

func normalizeDepth(v any, depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrOutput, maxValueDepth)
	}
	switch x := v.(type) {
	case nil, bool, string, int64:
		return x, nil
	case float64:
		return normFloat(x)
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint:
		return normUint(uint64(x))
	case uint64:
		return normUint(x)
	case float32:
		return normFloat(float64(x))
	case json.Number:
		return numberValue(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, err := normalizeDepth(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalizeDepth(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out, nil
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Func || rv.Kind() == reflect.Chan || rv.Kind() == reflect.Complex64 || rv.Kind() == reflect.Complex128 {
		return nil, fmt.Errorf("%w: a %T is not representable as JSON", ErrOutput, v)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOutput, err)
	}
	return decodeValue(data)
}

func normUint(u uint64) (any, error) {
	if u <= math.MaxInt64 {
		return int64(u), nil
	}
	return float64(u), nil
}

// normFloat maps a float to the form its JSON text decodes to.
func normFloat(f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%w: %v is not representable as JSON", ErrOutput, f)
	}
	if f == math.Trunc(f) && f >= -(1<<63) && f < (1<<63) {
		return int64(f), nil
	}
	return f, nil
}

func numberValue(n json.Number) (any, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return nil, fmt.Errorf("%w: bad number %q", ErrOutput, n)
	}
	return normFloat(f)
}

// decodeValue decodes JSON into canonical form.
func decodeValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return fromJSON(v, 0)
}

func fromJSON(v any, depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrOutput, maxValueDepth)
	}
	switch x := v.(type) {
	case json.Number:
		return numberValue(x)
	case map[string]any:
		for k, e := range x {
			n, err := fromJSON(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
	case []any:
		for i, e := range x {
			n, err := fromJSON(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	}
	return v, nil
}

// decodeObject decodes a JSON object (or null, giving nil) into canonical form.
func decodeObject(data []byte) (map[string]any, error) {
	if len(data) == 0 {
		return nil, nil
	}
	v, err := decodeValue(data)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: not a JSON object", ErrCorruptState)
	}
	return m, nil
}

// coerce converts a canonical value to the declared type, or says why it does not fit.
func coerce(v any, t Type) (any, error) {
	switch t {
	case TypeAny, "":
		return v, nil
	case TypeString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case TypeBoolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case TypeNumber:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		}
	case TypeInteger:
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			return nil, fmt.Errorf("want an integer, got %v", x)
		}
	case TypeObject:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
	case TypeList:
		if l, ok := v.([]any); ok {
			return l, nil
		}
	}
	return nil, fmt.Errorf("want %s, got %s", t, typeName(v))
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	}
	return fmt.Sprintf("%T", v)
}

// typeOf is the declared Type a canonical value has.
func typeOf(v any) Type {
	switch v.(type) {
	case bool:
		return TypeBoolean
	case string:
		return TypeString
	case int64:
		return TypeInteger
	case float64:
		return TypeNumber
	case map[string]any:
		return TypeObject
	case []any:
		return TypeList
	}
	return TypeAny
}

// deepCopy copies the maps and lists of a canonical value (scalars are immutable).
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}
