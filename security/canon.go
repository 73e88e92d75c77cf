package security

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Data crossing a boundary is copied once into its canonical form, the form every check, the
// receiving side and the audit digest see: objects are map[string]any, lists []any, integers
// int64 (a float with an integral value in the int64 range too, as JSON would give it), other
// numbers float64, and strings, booleans and nil as they are — what encoding the data to JSON
// and decoding it with numbers kept as int64 or float64 gives, without the round trip. Typed
// numeric tables — []float32, []float64, [][]float32 and [][]float64, the feature vectors and
// matrices ML data is made of — stay typed (a copy): they hold only numbers, so no check has
// anything to find in them element by element. Values of other types (structs, other maps and
// slices) go through encoding/json on their own.
//
// The canonical encoding is the canonical data as JSON with the keys of objects in order: what
// a boundary's MaxBytes bounds and what the audit log's digests are taken over.

// maxDataDepth bounds the nesting of crossing data.
const maxDataDepth = 64

var errDataTooDeep = fmt.Errorf("nested deeper than %d", maxDataDepth)

// canonicalData returns the canonical copy of data (never nil).
func canonicalData(data map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(data))
	for k, v := range data {
		c, err := canonical(v, 1)
		if err != nil {
			return nil, err
		}
		out[validString(k)] = c
	}
	return out, nil
}

func unsupported(f float64) error {
	return fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, 64))
}

// canonicalFloat is the number JSON would decode f (of bits 32 or 64) as.
func canonicalFloat(f float64, bits int) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, unsupported(f)
	}
	if bits == 32 { // JSON writes a float32 with the fewest digits that give it back as a float32
		f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', -1, 32), 64)
	}
	if f == math.Trunc(f) && f >= -(1<<63) && f < (1<<63) {
		return int64(f), nil
	}
	return f, nil
}

func finite64(xs []float64) error {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return unsupported(x)
		}
	}
	return nil
}

func finite32(xs []float32) error {
	for _, x := range xs {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return unsupported(f)
		}
	}
	return nil
}

// canonical returns the canonical copy of v, at depth levels of nesting.
func canonical(v any, depth int) (any, error) {
	switch x := v.(type) {
	case string:
		return validString(x), nil
	case nil, bool, int64:
		return x, nil
	case float64:
		return canonicalFloat(x, 64)
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint:
		return canonicalUint(uint64(x)), nil
	case uint64:
		return canonicalUint(x), nil
	case uint32:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case float32:
		return canonicalFloat(float64(x), 32)
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil || !json.Valid([]byte(x)) {
			return nil, fmt.Errorf("json: invalid number literal %q", string(x))
		}
		return numberOf(x), nil
	}
	if depth > maxDataDepth {
		return nil, errDataTooDeep
	}
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return nil, nil
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := canonical(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[validString(k)] = c
		}
		return out, nil
	case []any:
		if x == nil {
			return nil, nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			c, err := canonical(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case []float64:
		if x == nil {
			return nil, nil
		}
		return slices.Clone(x), finite64(x)
	case []float32:
		if x == nil {
			return nil, nil
		}
		return slices.Clone(x), finite32(x)
	case [][]float64:
		if x == nil {
			return nil, nil
		}
		return cloneTable(x, finite64)
	case [][]float32:
		if x == nil {
			return nil, nil
		}
		return cloneTable(x, finite32)
	case []string:
		if x == nil {
			return nil, nil
		}
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = validString(s)
		}
		return out, nil
	case []int:
		if x == nil {
			return nil, nil
		}
		out := make([]any, len(x))
		for i, n := range x {
			out[i] = int64(n)
		}
		return out, nil
	case []int64:
		if x == nil {
			return nil, nil
		}
		out := make([]any, len(x))
		for i, n := range x {
			out[i] = n
		}
		return out, nil
	case map[string]float64:
		if x == nil {
			return nil, nil
		}
		out := make(map[string]any, len(x))
		for k, f := range x {
			c, err := canonicalFloat(f, 64)
			if err != nil {
				return nil, err
			}
			out[validString(k)] = c
		}
		return out, nil
	case map[string]string:
		if x == nil {
			return nil, nil
		}
		out := make(map[string]any, len(x))
		for k, s := range x {
			out[validString(k)] = validString(s)
		}
		return out, nil
	}
	return canonicalJSON(v, depth)
}

// validString is s with each byte that is not part of valid UTF-8 replaced by U+FFFD, as JSON
// decodes it.
func validString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}

// canonicalUint is the number JSON would decode x as.
func canonicalUint(x uint64) any {
	if x <= math.MaxInt64 {
		return int64(x)
	}
	return float64(x)
}

// cloneTable copies a table of rows into one backing array, checking every number.
func cloneTable[F float32 | float64](rows [][]F, check func([]F) error) ([][]F, error) {
	n := 0
	for _, r := range rows {
		if err := check(r); err != nil {
			return nil, err
		}
		n += len(r)
	}
	flat := make([]F, 0, n)
	out := make([][]F, len(rows))
	for i, r := range rows {
		if r == nil {
			continue
		}
		start := len(flat)
		flat = append(flat, r...)
		out[i] = flat[start:len(flat):len(flat)]
	}
	return out, nil
}

// canonicalJSON is the canonical form of a value of any other type: its JSON encoding decoded.
func canonicalJSON(v any, depth int) (any, error) {
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(enc))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return fixNumbersAt(out, depth)
}

// fixNumbersAt turns the json.Numbers of decoded JSON into int64 or float64, refusing nesting
// deeper than maxDataDepth counted from depth.
func fixNumbersAt(v any, depth int) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return numberOf(x), nil
	case map[string]any:
		if depth > maxDataDepth {
			return nil, errDataTooDeep
		}
		for k, e := range x {
			c, err := fixNumbersAt(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[k] = c
		}
	case []any:
		if depth > maxDataDepth {
			return nil, errDataTooDeep
		}
		for i, e := range x {
			c, err := fixNumbersAt(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
	}
	return v, nil
}

func numberOf(n json.Number) any {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i
	}
	f, _ := strconv.ParseFloat(string(n), 64)
	if f == math.Trunc(f) && f >= -(1<<63) && f < (1<<63) {
		return int64(f)
	}
	return f
}

// encodings recycles the buffers of canonical encodings.
var encodings = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// appendCanonical appends the canonical encoding of v, canonical data, to b.
func appendCanonical(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return appendFloat(b, x, 64)
	case map[string]any:
		var small [16]string
		keys := small[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendCanonical(b, x[k])
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanonical(b, e)
		}
		return append(b, ']')
	case []float64:
		return appendFloats(b, x, 64)
	case []float32:
		return appendFloats(b, x, 32)
	case [][]float64:
		return appendTable(b, x, 64)
	case [][]float32:
		return appendTable(b, x, 32)
	}
	// Not canonical data: the caller's bug, not the data's. Encode it as JSON would.
	enc, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, enc...)
}

func appendTable[F float32 | float64](b []byte, rows [][]F, bits int) []byte {
	if rows == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFloats(b, r, bits)
	}
	return append(b, ']')
}

func appendFloats[F float32 | float64](b []byte, xs []F, bits int) []byte {
	if xs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFloat(b, float64(x), bits)
	}
	return append(b, ']')
}

// appendFloat writes f as encoding/json does.
func appendFloat(b []byte, f float64, bits int) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		format = 'e'
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' { // e-09 to e-9
		if n := len(b) - start; n >= 4 && b[len(b)-4] == 'e' && b[len(b)-3] == '-' && b[len(b)-2] == '0' {
			b[len(b)-2] = b[len(b)-1]
			b = b[:len(b)-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string: invalid UTF-8 becomes U+FFFD, control characters,
// quotes, backslashes and the line and paragraph separators are escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
