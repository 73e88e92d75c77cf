package security

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Context is who is acting and with what authority: the principal's DID, the credentials that
// were verified for it, the scopes it was granted and where the request came from. Boundaries
// read it from the context.Context (NewContext) when data crosses.
//
// A Context asserts facts: only put credentials in it after verifying them (signature, issuer,
// status), as the Web5 layer does. It marshals to JSON, so durable workflows can store it with a
// run and restore it when the run resumes.
type Context struct {
	// Principal is the acting party's DID ("did:key:z6Mk...").
	Principal string `json:"principal,omitempty"`
	// Credentials are the verified credentials presented by the principal.
	Credentials []Credential `json:"credentials,omitempty"`
	// Scopes are the capabilities granted to the request ("payments:send").
	Scopes []string `json:"scopes,omitempty"`
	// Origin says where the request came from ("https://shop.example", "cli").
	Origin string `json:"origin,omitempty"`
}

// Credential is a verified credential, reduced to what policies look at.
type Credential struct {
	ID        string         `json:"id,omitempty"`
	Types     []string       `json:"types,omitempty"`
	Issuer    string         `json:"issuer"`
	Subject   string         `json:"subject"`
	IssuedAt  time.Time      `json:"issued_at,omitzero"`
	ExpiresAt time.Time      `json:"expires_at,omitzero"`
	Claims    map[string]any `json:"claims,omitempty"`
}

// ValidAt reports whether the credential is within its validity period at now.
func (c Credential) ValidAt(now time.Time) bool {
	if !c.IssuedAt.IsZero() && now.Before(c.IssuedAt) {
		return false
	}
	return c.ExpiresAt.IsZero() || now.Before(c.ExpiresAt)
}

// HasScope reports whether scope was granted. A nil Context has no scopes.
func (c *Context) HasScope(scope string) bool {
	return c != nil && slices.Contains(c.Scopes, scope)
}

// IdentityVerified reports whether the principal is a DID and holds at least one credential,
// issued to it and valid at now. A nil Context is not verified.
func (c *Context) IdentityVerified(now time.Time) bool {
	if c == nil || !IsDID(c.Principal) {
		return false
	}
	for _, cr := range c.Credentials {
		if cr.Subject == c.Principal && cr.Issuer != "" && cr.ValidAt(now) {
			return true
		}
	}
	return false
}

// IsDID reports whether s has the syntax of a DID: "did:" method ":" method-specific-id, the
// method of lowercase letters and digits, the id non-empty without whitespace.
func IsDID(s string) bool {
	rest, ok := strings.CutPrefix(s, "did:")
	if !ok {
		return false
	}
	method, id, ok := strings.Cut(rest, ":")
	if !ok || method == "" || id == "" || len(s) > 2048 {
		return false
	}
	for i := 0; i < len(method); i++ {
		if c := method[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

type ctxKey struct{}

// NewContext returns ctx carrying sc.
func NewContext(ctx context.Context, sc *Context) context.Context {
	return context.WithValue(ctx, ctxKey{}, sc)
}

// FromContext returns the security context ctx carries, if any.
func FromContext(ctx context.Context) (*Context, bool) {
	sc, ok := ctx.Value(ctxKey{}).(*Context)
	return sc, ok && sc != nil
}
