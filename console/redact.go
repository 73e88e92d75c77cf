package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// PseudonymDigits is how many hex digits of a pseudonym the console shows.
const PseudonymDigits = 12

var (
	// A DID: "did:", a method of lower-case letters and digits, and a method-specific ID of the
	// characters DID syntax allows (with a path, query or fragment kept in the pseudonym).
	didPattern = regexp.MustCompile(`did:[a-z0-9]+:[A-Za-z0-9._:%\-]+(?:[/?#][A-Za-z0-9._:%\-/?#=&]*)?`)
	// A Bitcoin address: bech32 or bech32m (any network's prefix, either case) or base58check,
	// as a whole word.
	addressPattern = regexp.MustCompile(`\b(?:(?:bc|tb|bcrt)1[02-9ac-hj-np-z]{11,87}|(?:BC|TB|BCRT)1[02-9AC-HJ-NP-Z]{11,87}|[123mn][1-9A-HJ-NP-Za-km-z]{25,34})\b`)
)

// redactor replaces DIDs and Bitcoin addresses by keyed pseudonyms.
type redactor struct{ key []byte }

func (r redactor) pseudonym(v string) string { return Pseudonym(r.key, v) }

// Pseudonym returns what the console shows for v, a DID or a Bitcoin address, under the
// redaction key: "did#" or "addr#" and the first PseudonymDigits hex digits of HMAC-SHA256 of v
// under key — the digits the trust boundaries' "hmac-sha256:<hex>" pseudonym of v starts with,
// under the same key (security.WithRedactionKey). It returns "" for "".
func Pseudonym(key []byte, v string) string {
	if v == "" {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(v))
	kind := "addr#"
	if strings.HasPrefix(v, "did:") {
		kind = "did#"
	}
	return kind + hex.EncodeToString(m.Sum(nil))[:PseudonymDigits]
}

// text replaces every DID and address in free text by its pseudonym, and a string that is
// base64 (or a JWS of base64 parts) hiding one by a note saying so.
func (r redactor) text(s string) string {
	if encodesIdentifier(s) {
		return fmt.Sprintf("(encoded data holding an identifier, %d characters)", len(s))
	}
	if !strings.Contains(s, "did:") && !addressPattern.MatchString(s) {
		return s
	}
	s = didPattern.ReplaceAllStringFunc(s, r.pseudonym)
	return addressPattern.ReplaceAllStringFunc(s, r.pseudonym)
}

// topic redacts a bus topic: the tenant token of a records-store event's topic
// (web5.dwn.<token>.…, an unkeyed hash of the tenant's DID) becomes a keyed pseudonym.
func (r redactor) topic(t string) string {
	rest, ok := strings.CutPrefix(t, "web5.dwn.")
	if !ok {
		return r.text(t)
	}
	token, kind, ok := strings.Cut(rest, ".")
	if !ok {
		return r.text(t)
	}
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(token))
	return "web5.dwn.tenant#" + hex.EncodeToString(m.Sum(nil))[:PseudonymDigits] + "." + kind
}

// minEncoded is the shortest string checked for an encoded identifier: "did:a:b" in base64.
const minEncoded = 10

// encodesIdentifier reports whether s is base64 (standard or URL alphabet, padded or not), or
// a JWS or JWT of such parts, whose decoding holds a DID or a Bitcoin address.
func encodesIdentifier(s string) bool {
	if len(s) < minEncoded || len(s) > 1<<20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_' || c == '=' || c == '.') {
			return false
		}
	}
	for part := range strings.SplitSeq(s, ".") {
		if len(part) < minEncoded {
			continue
		}
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
			b, err := enc.DecodeString(part)
			if err != nil {
				continue
			}
			if d := string(b); strings.Contains(d, "did:") || addressPattern.MatchString(d) || encodesIdentifier(d) {
				return true
			}
			break
		}
	}
	return false
}

// value returns a copy of v (decoded JSON: maps, lists, strings, numbers) with every string —
// keys included — redacted.
func (r redactor) value(v any, depth int) any {
	if depth > 64 {
		return "…"
	}
	switch x := v.(type) {
	case string:
		return r.text(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[r.text(k)] = r.value(e, depth+1)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = r.value(e, depth+1)
		}
		return out
	}
	return v
}

// json renders v as indented JSON, redacted: v is encoded, decoded and walked, so a value of
// any type shows as it would be sent.
func (r redactor) json(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("(not JSON: %s)", r.text(err.Error()))
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return fmt.Sprintf("(not JSON: %s)", r.text(err.Error()))
	}
	out, err := json.MarshalIndent(r.value(generic, 0), "", "  ")
	if err != nil {
		return fmt.Sprintf("(not JSON: %s)", r.text(err.Error()))
	}
	return string(out)
}

// clip shortens s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
