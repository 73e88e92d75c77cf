package natsbus

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/anya-org/anya-go/bus"
)

// Header names of the envelope on the wire. The message ID travels as Nats-Msg-Id, which is
// also what JetStream de-duplicates on.
const (
	HeaderID          = "Nats-Msg-Id"
	HeaderTime        = "Anya-Time" // Meta.Time as decimal Unix nanoseconds
	HeaderSource      = "Anya-Source"
	HeaderCorrelation = "Anya-Correlation"
	HeaderCausation   = "Anya-Causation"
	HeaderKey         = "Anya-Key"
	// HeaderPrefix starts the name of each entry of Meta.Headers: its name follows, with bytes
	// outside [A-Za-z0-9_-] escaped as %XX.
	HeaderPrefix = "Anya-H-"
)

// Values of Source, Key and Meta.Headers that hold a control byte or start with a blank or a
// double quote travel Go-quoted (strconv.Quote), since a header line would break or trim them.

// escapeToken escapes one topic token for a subject: bytes outside '!'..'~', and '%', become
// "%XX" (upper-case hex). Wildcard tokens never reach it.
func escapeToken(b *strings.Builder, tok string) {
	const hexd = "0123456789ABCDEF"
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c > ' ' && c < 0x7f && c != '%' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
}

// subject maps a topic or pattern to a subject under root ("<prefix>.s" or "<prefix>.f"):
// each token escaped, wildcard tokens kept.
func subject(root, topic string) string {
	var b strings.Builder
	b.Grow(len(root) + 1 + len(topic))
	b.WriteString(root)
	for tok := range strings.SplitSeq(topic, ".") {
		b.WriteByte('.')
		if tok == "*" || tok == ">" {
			b.WriteString(tok)
			continue
		}
		escapeToken(&b, tok)
	}
	return b.String()
}

// topicOf reverses subject for a literal subject under root. It fails with ErrMalformed on
// anything subject cannot produce from a valid topic.
func topicOf(root, subj string) (string, error) {
	rest, ok := strings.CutPrefix(subj, root+".")
	if !ok {
		return "", fmt.Errorf("%w: subject %q is not under %q", ErrMalformed, subj, root)
	}
	if !strings.Contains(rest, "%") {
		if err := bus.ValidateTopic(rest); err != nil {
			return "", fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		return rest, nil
	}
	out := make([]byte, 0, len(rest))
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if c != '%' {
			out = append(out, c)
			continue
		}
		if i+2 >= len(rest) {
			return "", fmt.Errorf("%w: truncated escape in subject %q", ErrMalformed, subj)
		}
		hi, lo := unhex(rest[i+1]), unhex(rest[i+2])
		if hi < 0 || lo < 0 {
			return "", fmt.Errorf("%w: bad escape in subject %q", ErrMalformed, subj)
		}
		v := byte(hi<<4 | lo)
		if v > ' ' && v < 0x7f && v != '%' || v == '.' {
			return "", fmt.Errorf("%w: needless escape in subject %q", ErrMalformed, subj)
		}
		out = append(out, v)
		i += 2
	}
	topic := string(out)
	if err := bus.ValidateTopic(topic); err != nil {
		return "", fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return topic, nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// header builds the NATS headers of m.
func header(m *bus.Meta) nats.Header {
	h := make(nats.Header, 4+len(m.Headers))
	if !m.ID.IsZero() {
		h[HeaderID] = []string{m.ID.String()}
	}
	if !m.Time.IsZero() {
		h[HeaderTime] = []string{strconv.FormatInt(m.Time.UnixNano(), 10)}
	}
	if m.Source != "" {
		h[HeaderSource] = []string{headerValue(m.Source)}
	}
	if !m.CorrelationID.IsZero() {
		h[HeaderCorrelation] = []string{m.CorrelationID.String()}
	}
	if !m.CausationID.IsZero() {
		h[HeaderCausation] = []string{m.CausationID.String()}
	}
	if m.Key != "" {
		h[HeaderKey] = []string{headerValue(m.Key)}
	}
	for k, v := range m.Headers {
		var b strings.Builder
		b.WriteString(HeaderPrefix)
		escapeName(&b, k)
		h[b.String()] = []string{headerValue(v)}
	}
	return h
}

// escapeName escapes a header name: bytes outside [A-Za-z0-9_-] become "%XX".
func escapeName(b *strings.Builder, k string) {
	const hexd = "0123456789ABCDEF"
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
}

func unescapeName(k string) (string, bool) {
	if !strings.Contains(k, "%") {
		return k, true
	}
	out := make([]byte, 0, len(k))
	for i := 0; i < len(k); i++ {
		if k[i] != '%' {
			out = append(out, k[i])
			continue
		}
		if i+2 >= len(k) {
			return "", false
		}
		hi, lo := unhex(k[i+1]), unhex(k[i+2])
		if hi < 0 || lo < 0 {
			return "", false
		}
		c := byte(hi<<4 | lo)
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			return "", false // never escaped: two names would mean one key
		}
		out = append(out, c)
		i += 2
	}
	return string(out), true
}

// headerValue keeps a free-form string intact in a header line, which ends at a line break and
// loses leading blanks: a string with a control byte, a leading blank or a leading quote
// travels Go-quoted.
func headerValue(s string) string {
	if s != "" && (s[0] == ' ' || s[0] == '\t' || s[0] == '"') {
		return strconv.Quote(s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			return strconv.Quote(s)
		}
	}
	return s
}

func fromHeaderValue(v string) (string, error) {
	if v != "" && v[0] == '"' {
		return strconv.Unquote(v)
	}
	return v, nil
}

// decode turns a message received on subj (under root) into bus metadata. Everything in it
// comes from outside the process: anything malformed is an error wrapping ErrMalformed.
func decode(root, subj string, h nats.Header) (bus.Meta, error) {
	var m bus.Meta
	var err error
	if m.Topic, err = topicOf(root, subj); err != nil {
		return bus.Meta{}, err
	}
	bad := func(name string, err error) (bus.Meta, error) {
		return bus.Meta{}, fmt.Errorf("%w: header %s: %v", ErrMalformed, name, err)
	}
	for name, vs := range h {
		if len(vs) != 1 {
			if strings.HasPrefix(name, "Anya-") || name == HeaderID {
				return bad(name, fmt.Errorf("%d values", len(vs)))
			}
			continue
		}
		v := vs[0]
		switch name {
		case HeaderID, HeaderCorrelation, HeaderCausation:
			id, err := bus.ParseID(v)
			if err != nil || id.IsZero() {
				return bad(name, fmt.Errorf("not a message id: %q", v))
			}
			switch name {
			case HeaderID:
				m.ID = id
			case HeaderCorrelation:
				m.CorrelationID = id
			default:
				m.CausationID = id
			}
		case HeaderTime:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return bad(name, err)
			}
			m.Time = time.Unix(0, n)
		case HeaderSource, HeaderKey:
			s, err := fromHeaderValue(v)
			if err != nil {
				return bad(name, err)
			}
			if name == HeaderSource {
				m.Source = s
			} else {
				m.Key = s
			}
		default:
			rest, ok := strings.CutPrefix(name, HeaderPrefix)
			if !ok {
				continue // another publisher's header; not part of the envelope
			}
			k, ok := unescapeName(rest)
			if !ok {
				return bad(name, fmt.Errorf("malformed name"))
			}
			s, err := fromHeaderValue(v)
			if err != nil {
				return bad(name, err)
			}
			if m.Headers == nil {
				m.Headers = make(bus.Headers, len(h))
			}
			m.Headers[k] = s
		}
	}
	return m, nil
}
