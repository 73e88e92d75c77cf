package fastjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// MaxDepth bounds the nesting of arrays and objects.
const MaxDepth = 512

// SyntaxError reports malformed JSON at byte Offset.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("json: %s at offset %d", e.Msg, e.Offset) }

// ErrDuplicateKey is wrapped by errors for objects that repeat a member name, exactly or
// under Unicode case folding.
var ErrDuplicateKey = errors.New("json: duplicate object key")

// DuplicateKeyError reports an object member whose name equals an earlier member's name,
// exactly or under Unicode simple case folding (strings.EqualFold: "kid", "KID", "Kid" and
// "\u212Aid", with the Kelvin sign, are all the same name). encoding/json matches struct
// fields that way and keeps the last, so two readers of such an object can see different
// values; it is refused instead. It wraps ErrDuplicateKey.
type DuplicateKeyError struct {
	Name     string // the repeated name, as written
	Previous string // the earlier name it collides with
	Offset   int    // byte offset just after the repeated name
}

func (e *DuplicateKeyError) Error() string {
	if e.Name == e.Previous {
		return fmt.Sprintf("%v %q at offset %d", ErrDuplicateKey, e.Name, e.Offset)
	}
	return fmt.Sprintf("%v %q (same as %q under case folding) at offset %d", ErrDuplicateKey, e.Name, e.Previous, e.Offset)
}

func (e *DuplicateKeyError) Unwrap() error { return ErrDuplicateKey }

// Unmarshal decodes one JSON value (surrounded by optional whitespace) into the types
// encoding/json uses for an `any`: map[string]any, []any, string, float64, bool and nil.
// Unlike encoding/json it rejects object keys that repeat (exactly or under case folding,
// see DuplicateKeyError) and invalid UTF-8 rather than keeping the last key or replacing
// bytes.
//
// Unescaped strings share one private copy of the input instead of being allocated one by
// one; the copy is never written to, so the strings are immutable as Go requires.
func Unmarshal(data []byte) (any, error) { return UnmarshalOwned(bytes.Clone(data)) }

// UnmarshalNumbers is Unmarshal keeping numbers as json.Number (their text), for readers
// that must not round them through float64 (content identifiers of JSON documents).
func UnmarshalNumbers(data []byte) (any, error) {
	return unmarshal(decoder{data: bytes.Clone(data), numbers: true})
}

// UnmarshalOwned is Unmarshal without the copy: the returned strings share data, which the
// caller hands over and must never modify afterwards.
func UnmarshalOwned(data []byte) (any, error) { return unmarshal(decoder{data: data}) }

func unmarshal(d decoder) (any, error) {
	d.ws()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.i != len(d.data) {
		return nil, d.errf("unexpected data after the value")
	}
	return v, nil
}

type decoder struct {
	data    []byte
	i       int
	numbers bool // numbers as json.Number
}

func (d *decoder) errf(format string, args ...any) error {
	return &SyntaxError{Offset: d.i, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) ws() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int) (any, error) {
	if d.i >= len(d.data) {
		return nil, d.errf("unexpected end of input")
	}
	switch c := d.data[d.i]; {
	case c == '{':
		return d.object(depth + 1)
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		return d.str()
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case c == 't':
		return true, d.lit("true")
	case c == 'f':
		return false, d.lit("false")
	case c == 'n':
		return nil, d.lit("null")
	default:
		return nil, d.errf("invalid character %q looking for a value", c)
	}
}

func (d *decoder) lit(s string) error {
	if len(d.data)-d.i < len(s) || string(d.data[d.i:d.i+len(s)]) != s {
		return d.errf("invalid literal")
	}
	d.i += len(s)
	return nil
}

func (d *decoder) object(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, d.errf("exceeded max depth")
	}
	d.i++ // '{'
	m := make(map[string]any, 8)
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		return m, nil
	}
	var names nameSet
	for {
		d.ws()
		if d.i >= len(d.data) || d.data[d.i] != '"' {
			return nil, d.errf("expected a member name")
		}
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		if prev, dup := names.add(k); dup {
			return nil, &DuplicateKeyError{Name: k, Previous: prev, Offset: d.i}
		}
		d.ws()
		if d.i >= len(d.data) || d.data[d.i] != ':' {
			return nil, d.errf("expected ':' after a member name")
		}
		d.i++
		d.ws()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		m[k] = v
		d.ws()
		if d.i >= len(d.data) {
			return nil, d.errf("unexpected end of input in an object")
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return m, nil
		default:
			return nil, d.errf("expected ',' or '}' in an object")
		}
	}
}

func (d *decoder) array(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, d.errf("exceeded max depth")
	}
	d.i++ // '['
	a := make([]any, 0, 4)
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		return a, nil
	}
	for {
		d.ws()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.ws()
		if d.i >= len(d.data) {
			return nil, d.errf("unexpected end of input in an array")
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return a, nil
		default:
			return nil, d.errf("expected ',' or ']' in an array")
		}
	}
}

// key reads a member name, returning a shared string for the names tokens and credentials
// use all the time (no allocation for those).
func (d *decoder) key() (string, error) {
	start := d.i + 1
	if end := indexQuote(d.data, start); end > 0 {
		if k, ok := common(d.data[start:end]); ok {
			d.i = end + 1
			return k, nil
		}
	}
	return d.str()
}

// indexQuote returns the index of the closing quote of a string without escapes or
// control characters starting at i, or -1.
func indexQuote(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i
		case c == '\\' || c < 0x20:
			return -1
		}
	}
	return -1
}

func common(b []byte) (string, bool) {
	switch string(b) {
	case "alg":
		return "alg", true
	case "kid":
		return "kid", true
	case "typ":
		return "typ", true
	case "cty":
		return "cty", true
	case "iss":
		return "iss", true
	case "sub":
		return "sub", true
	case "aud":
		return "aud", true
	case "exp":
		return "exp", true
	case "nbf":
		return "nbf", true
	case "iat":
		return "iat", true
	case "jti":
		return "jti", true
	case "vc":
		return "vc", true
	case "vp":
		return "vp", true
	case "nonce":
		return "nonce", true
	case "@context":
		return "@context", true
	case "id":
		return "id", true
	case "type":
		return "type", true
	case "issuer":
		return "issuer", true
	case "holder":
		return "holder", true
	case "issuanceDate":
		return "issuanceDate", true
	case "expirationDate":
		return "expirationDate", true
	case "validFrom":
		return "validFrom", true
	case "validUntil":
		return "validUntil", true
	case "credentialSubject":
		return "credentialSubject", true
	case "credentialStatus":
		return "credentialStatus", true
	case "credentialSchema":
		return "credentialSchema", true
	case "verifiableCredential":
		return "verifiableCredential", true
	case "name":
		return "name", true
	case "description":
		return "description", true
	}
	return "", false
}

// str reads a string. The common case (no escapes, ASCII or valid UTF-8) is one copy.
func (d *decoder) str() (string, error) {
	start := d.i + 1
	i := start
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case c == '"':
			s := d.data[start:i]
			if !utf8.Valid(s) {
				d.i = start
				return "", d.errf("invalid UTF-8 in a string")
			}
			d.i = i + 1
			if len(s) == 0 {
				return "", nil
			}
			return unsafe.String(&s[0], len(s)), nil
		case c == '\\':
			return d.escapedStr(start)
		case c < 0x20:
			d.i = i
			return "", d.errf("control character in a string")
		}
		i++
	}
	d.i = i
	return "", d.errf("unterminated string")
}

func (d *decoder) escapedStr(start int) (string, error) {
	buf := make([]byte, 0, 2*(d.i-start)+16)
	i := start
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case c == '"':
			if !utf8.Valid(buf) {
				d.i = start
				return "", d.errf("invalid UTF-8 in a string")
			}
			d.i = i + 1
			return string(buf), nil
		case c < 0x20:
			d.i = i
			return "", d.errf("control character in a string")
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		if i+1 >= len(d.data) {
			break
		}
		i++
		switch e := d.data[i]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(d.data, i+1)
			if !ok {
				d.i = i
				return "", d.errf("invalid \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(-1), false
				if i+6 < len(d.data) && d.data[i+1] == '\\' && d.data[i+2] == 'u' {
					r2, ok2 = hex4(d.data, i+3)
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			d.i = i
			return "", d.errf("invalid escape \\%c", e)
		}
		i++
	}
	d.i = i
	return "", d.errf("unterminated string")
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a JSON number (RFC 8259 grammar) as a float64.
func (d *decoder) number() (any, error) {
	start := d.i
	i := d.i
	if d.data[i] == '-' {
		i++
	}
	switch {
	case i < len(d.data) && d.data[i] == '0':
		i++
	case i < len(d.data) && d.data[i] >= '1' && d.data[i] <= '9':
		for i < len(d.data) && d.data[i] >= '0' && d.data[i] <= '9' {
			i++
		}
	default:
		d.i = i
		return nil, d.errf("invalid number")
	}
	if i < len(d.data) && d.data[i] == '.' {
		i++
		if i >= len(d.data) || d.data[i] < '0' || d.data[i] > '9' {
			d.i = i
			return nil, d.errf("invalid number")
		}
		for i < len(d.data) && d.data[i] >= '0' && d.data[i] <= '9' {
			i++
		}
	}
	if i < len(d.data) && (d.data[i] == 'e' || d.data[i] == 'E') {
		i++
		if i < len(d.data) && (d.data[i] == '+' || d.data[i] == '-') {
			i++
		}
		if i >= len(d.data) || d.data[i] < '0' || d.data[i] > '9' {
			d.i = i
			return nil, d.errf("invalid number")
		}
		for i < len(d.data) && d.data[i] >= '0' && d.data[i] <= '9' {
			i++
		}
	}
	d.i = i
	f, err := strconv.ParseFloat(string(d.data[start:i]), 64)
	if err != nil {
		d.i = start
		return nil, d.errf("number %s out of range", d.data[start:i])
	}
	if d.numbers {
		return json.Number(d.data[start:i]), nil
	}
	return f, nil
}

// nameSet holds the member names of one object by their case-folded hash, and finds a
// name equal to an earlier one exactly or under Unicode simple case folding. Small objects
// (the usual case) need no allocation.
type nameSet struct {
	n     int
	small [16]foldedName
	big   map[uint64][]string
}

type foldedName struct {
	h    uint64
	name string
}

// add records name and returns the earlier name it collides with, if any.
func (s *nameSet) add(name string) (string, bool) {
	h := foldHash(name)
	if s.big == nil {
		for _, e := range s.small[:s.n] {
			if e.h == h && strings.EqualFold(e.name, name) {
				return e.name, true
			}
		}
		if s.n < len(s.small) {
			s.small[s.n] = foldedName{h, name}
			s.n++
			return "", false
		}
		s.big = make(map[uint64][]string, 2*len(s.small))
		for _, e := range s.small {
			s.big[e.h] = append(s.big[e.h], e.name)
		}
	}
	for _, prev := range s.big[h] {
		if strings.EqualFold(prev, name) {
			return prev, true
		}
	}
	s.big[h] = append(s.big[h], name)
	return "", false
}

// foldHash hashes name case-insensitively: names equal under strings.EqualFold (which
// compares runes by their Unicode simple folding orbits) hash alike.
func foldHash(name string) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); {
		c := name[i]
		var r rune
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			r = rune(c)
			i++
		} else {
			var size int
			r, size = utf8.DecodeRuneInString(name[i:])
			r = foldMin(r)
			i += size
		}
		h = (h ^ uint64(r)) * prime
	}
	return h
}

// foldMin returns the smallest rune of r's case-folding orbit, lowered when it is an ASCII
// letter, so that every rune of an orbit maps to the same value as its ASCII members do
// in foldHash.
func foldMin(r rune) rune {
	lo := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < lo {
			lo = f
		}
	}
	if 'A' <= lo && lo <= 'Z' {
		lo += 'a' - 'A'
	}
	return lo
}
