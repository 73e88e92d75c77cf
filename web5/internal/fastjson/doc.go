// Package fastjson decodes JSON into the generic values encoding/json produces for an
// `any` (map[string]any, []any, string, float64, bool, nil) in a single pass without
// reflection. The Web5 token paths (JWS headers, JWT claims, credentials) use it: they
// decode attacker-supplied JSON on every verification, and it is stricter than
// encoding/json where strictness matters for security: duplicate object keys — including
// names that are equal under Unicode case folding, which encoding/json would match to one
// struct field ("kid", "KID", "\u212Aid") — and invalid UTF-8 are errors instead of being
// silently resolved. Every signed JSON object the SDK reads goes through it, so a signed
// object has one meaning for every reader. [UnmarshalNumbers] keeps numbers as their text
// for content identifiers.
package fastjson
