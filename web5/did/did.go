package did

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// DID is a decentralized identifier: did:<Method>:<ID>.
type DID struct {
	Method string // the method name, lowercase letters and digits
	ID     string // the method-specific identifier, as written (percent-encoding kept)
}

// String returns "did:" + Method + ":" + ID.
func (d DID) String() string {
	if d.Method == "" {
		return ""
	}
	return "did:" + d.Method + ":" + d.ID
}

// IsZero reports whether d is the zero DID.
func (d DID) IsZero() bool { return d.Method == "" && d.ID == "" }

// URL is a DID URL: a DID followed by optional parameters, path, query and fragment.
//
//	did:example:123;service=files/photos/1?version=2#key-1
//
// Parameters use the ";name=value" form Web5 SDKs accept after the method-specific ID.
type URL struct {
	DID      DID
	Params   map[string]string // ";name=value" parameters, nil when none
	Path     string            // "" or a path starting with "/"
	Query    string            // without the "?"
	Fragment string            // without the "#"

	hasQuery, hasFragment bool
}

// HasQuery reports whether the URL has a "?" part (possibly empty).
func (u URL) HasQuery() bool { return u.hasQuery }

// HasFragment reports whether the URL has a "#" part (possibly empty).
func (u URL) HasFragment() bool { return u.hasFragment }

// IsDID reports whether the URL is a plain DID (no parameters, path, query or fragment).
func (u URL) IsDID() bool {
	return len(u.Params) == 0 && u.Path == "" && !u.hasQuery && !u.hasFragment
}

// QueryValues parses the query.
func (u URL) QueryValues() (url.Values, error) { return url.ParseQuery(u.Query) }

// String reassembles the DID URL.
func (u URL) String() string {
	var b strings.Builder
	b.WriteString(u.DID.String())
	if len(u.Params) > 0 {
		names := make([]string, 0, len(u.Params))
		for n := range u.Params {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			b.WriteString(";" + n + "=" + u.Params[n])
		}
	}
	b.WriteString(u.Path)
	if u.hasQuery {
		b.WriteString("?" + u.Query)
	}
	if u.hasFragment {
		b.WriteString("#" + u.Fragment)
	}
	return b.String()
}

// MaxLength bounds the length of a DID or DID URL Parse and ParseURL accept.
const MaxLength = 8192

// Parse parses a DID per the DID Core 1.0 grammar:
//
//	did                = "did:" method-name ":" method-specific-id
//	method-name        = 1*method-char            ; %x61-7A / DIGIT
//	method-specific-id = *( *idchar ":" ) 1*idchar
//	idchar             = ALPHA / DIGIT / "." / "-" / "_" / pct-encoded
//
// Anything after the DID (a path, query, fragment or parameters) is an error: use ParseURL.
func Parse(s string) (DID, error) {
	d, rest, err := parseDID(s)
	if err != nil {
		return DID{}, err
	}
	if rest != "" {
		return DID{}, parseErr(s, fmt.Sprintf("unexpected %q after the DID", clip(rest)))
	}
	return d, nil
}

// MustParse is Parse that panics on error, for DIDs written in code.
func MustParse(s string) DID {
	d, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

// ParseURL parses a DID URL: a DID, optional ";name=value" parameters, then an RFC 3986
// path-abempty, query and fragment.
func ParseURL(s string) (URL, error) {
	d, rest, err := parseDID(s)
	if err != nil {
		return URL{}, err
	}
	u := URL{DID: d}
	for len(rest) > 0 && rest[0] == ';' {
		end := 1
		for end < len(rest) && (isParamChar(rest[end]) || rest[end] == '=') {
			end++
		}
		param := rest[1:end]
		eq := strings.IndexByte(param, '=')
		if eq <= 0 || strings.IndexByte(param[eq+1:], '=') >= 0 {
			return URL{}, parseErr(s, fmt.Sprintf("parameter %q is not name=value", clip(param)))
		}
		if !validPct(param) {
			return URL{}, parseErr(s, "bad percent-encoding in a parameter")
		}
		if u.Params == nil {
			u.Params = make(map[string]string)
		}
		name := param[:eq]
		if _, dup := u.Params[name]; dup {
			return URL{}, parseErr(s, fmt.Sprintf("parameter %q repeated", name))
		}
		u.Params[name] = param[eq+1:]
		rest = rest[end:]
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		u.Fragment, u.hasFragment = rest[i+1:], true
		rest = rest[:i]
		if !validURIPart(u.Fragment, true) {
			return URL{}, parseErr(s, "invalid character in the fragment")
		}
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		u.Query, u.hasQuery = rest[i+1:], true
		rest = rest[:i]
		if !validURIPart(u.Query, true) {
			return URL{}, parseErr(s, "invalid character in the query")
		}
	}
	if rest != "" {
		if rest[0] != '/' {
			return URL{}, parseErr(s, fmt.Sprintf("unexpected %q after the DID", clip(rest)))
		}
		if !validURIPart(rest, false) {
			return URL{}, parseErr(s, "invalid character in the path")
		}
		u.Path = rest
	}
	return u, nil
}

// parseDID reads the DID at the start of s and returns it with the rest of s.
func parseDID(s string) (DID, string, error) {
	if len(s) > MaxLength {
		return DID{}, "", parseErr(s, "too long")
	}
	if !strings.HasPrefix(s, "did:") {
		return DID{}, "", parseErr(s, `does not start with "did:"`)
	}
	i := 4
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= '0' && s[i] <= '9') {
		i++
	}
	if i == 4 {
		return DID{}, "", parseErr(s, "empty or invalid method name")
	}
	if i == len(s) || s[i] != ':' {
		return DID{}, "", parseErr(s, "method name must be lowercase letters and digits followed by ':'")
	}
	method := s[4:i]
	i++
	start := i
	for i < len(s) {
		c := s[i]
		switch {
		case isIDChar(c) || c == ':':
			i++
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return DID{}, "", parseErr(s, "bad percent-encoding in the method-specific id")
			}
			i += 3
		default:
			goto done
		}
	}
done:
	id := s[start:i]
	if id == "" || id[len(id)-1] == ':' {
		return DID{}, "", parseErr(s, "method-specific id is empty or ends with ':'")
	}
	if i < len(s) {
		switch s[i] {
		case ';', '/', '?', '#':
		default:
			return DID{}, "", parseErr(s, fmt.Sprintf("invalid character %q in the method-specific id", rune(s[i])))
		}
	}
	return DID{Method: method, ID: id}, s[i:], nil
}

func isIDChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
}

func isParamChar(c byte) bool { return isIDChar(c) || c == ':' || c == '%' }

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func validPct(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

// validURIPart checks RFC 3986 pchar (plus "/" always and "?" for query and fragment).
func validURIPart(s string, queryOrFragment bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isIDChar(c) || c == '~': // unreserved
		case strings.IndexByte("!$&'()*+,;=:@/", c) >= 0: // sub-delims, ":" "@" and "/"
		case c == '?' && queryOrFragment:
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
