package jose

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/anya-org/anya-go/web5/internal/fastjson"
)

// NumericDate is a JWT time: seconds since the Unix epoch, possibly fractional (RFC 7519).
type NumericDate struct{ time.Time }

// NewNumericDate truncates t to whole seconds.
func NewNumericDate(t time.Time) *NumericDate {
	return &NumericDate{time.Unix(t.Unix(), 0).UTC()}
}

// MarshalJSON writes whole seconds.
func (d NumericDate) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%d", d.Unix())), nil
}

// UnmarshalJSON reads a JSON number.
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || !(b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		return fmt.Errorf("NumericDate must be a number, got %s", b)
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	nd, err := numericDate(f)
	if err != nil {
		return err
	}
	*d = *nd
	return nil
}

func numericDate(f float64) (*NumericDate, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<53 {
		return nil, fmt.Errorf("NumericDate %v out of range", f)
	}
	sec, frac := math.Modf(f)
	return &NumericDate{time.Unix(int64(sec), int64(frac*1e9)).UTC()}, nil
}

// Audience is the aud claim: one string or a list of strings. It marshals a single
// audience as a string.
type Audience []string

// MarshalJSON writes one audience as a string and several as a list.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON reads a string or a list of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("aud must be a string or a list of strings")
	}
	*a = l
	return nil
}

// Contains reports whether aud is one of the audiences.
func (a Audience) Contains(aud string) bool { return containsString(a, aud) }

// Claims are the registered JWT claims. Embed Claims in a struct to add private claims.
type Claims struct {
	Issuer    string       `json:"iss,omitempty"`
	Subject   string       `json:"sub,omitempty"`
	Audience  Audience     `json:"aud,omitempty"`
	Expiry    *NumericDate `json:"exp,omitempty"`
	NotBefore *NumericDate `json:"nbf,omitempty"`
	IssuedAt  *NumericDate `json:"iat,omitempty"`
	ID        string       `json:"jti,omitempty"`
}

// JWT is a parsed JSON Web Token: a JWS whose payload is a JSON object of claims.
type JWT struct {
	*JWS
	// Claims are the registered claims.
	Claims Claims
	// ClaimSet is the whole payload as generic JSON values (map[string]any, []any, string,
	// float64, bool, nil), private claims included.
	ClaimSet map[string]any
}

// ParseJWT parses a compact JWT and its registered claims. A registered claim of the wrong
// type (a numeric iss, a string exp, ...) is an error, and a claim name repeated anywhere
// in the payload, exactly or in another letter case, is a *DuplicateMemberError. The
// signature is not verified.
func ParseJWT(token string, opts ...ParseOption) (*JWT, error) {
	j, err := ParseJWS(token, opts...)
	if err != nil {
		return nil, err
	}
	p := bytes.TrimSpace(j.Payload)
	if len(p) == 0 || p[0] != '{' {
		return nil, malformed("payload", "claims are not a JSON object")
	}
	v, err := fastjson.Unmarshal(p)
	if err != nil {
		return nil, jsonErr("claims", err, ErrInvalidClaim)
	}
	t := &JWT{JWS: j, ClaimSet: v.(map[string]any)}
	if t.Claims, err = ClaimsFromSet(t.ClaimSet); err != nil {
		return nil, err
	}
	return t, nil
}

// registeredClaims are the claim names the SDK reads: RFC 7519's and those of VC-JWT.
var registeredClaims = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "vc", "vp", "nonce", "cnf"}

// ClaimsFromSet reads the registered claims of a decoded claim set, checking their types.
// A member whose name equals a registered claim's only under case folding ("ISS") is an
// error: a reader matching names case-insensitively would take it for the claim.
func ClaimsFromSet(m map[string]any) (Claims, error) {
	if err := caseVariants("claims", m, registeredClaims[:]); err != nil {
		var te *TokenError
		if errors.As(err, &te) {
			te.Err = ErrInvalidClaim
		}
		return Claims{}, err
	}
	var c Claims
	for _, f := range [...]struct {
		name string
		dst  *string
	}{{"iss", &c.Issuer}, {"sub", &c.Subject}, {"jti", &c.ID}} {
		name, dst := f.name, f.dst
		if v, ok := m[name]; ok {
			s, isStr := v.(string)
			if !isStr {
				return Claims{}, &TokenError{Part: name, Reason: "not a string", Err: ErrInvalidClaim}
			}
			*dst = s
		}
	}
	if v, ok := m["aud"]; ok {
		switch a := v.(type) {
		case string:
			c.Audience = Audience{a}
		case []any:
			c.Audience = make(Audience, len(a))
			for i, e := range a {
				s, isStr := e.(string)
				if !isStr {
					return Claims{}, &TokenError{Part: "aud", Reason: "must be a string or a list of strings", Err: ErrInvalidClaim}
				}
				c.Audience[i] = s
			}
		default:
			return Claims{}, &TokenError{Part: "aud", Reason: "must be a string or a list of strings", Err: ErrInvalidClaim}
		}
	}
	for _, f := range [...]struct {
		name string
		dst  **NumericDate
	}{{"exp", &c.Expiry}, {"nbf", &c.NotBefore}, {"iat", &c.IssuedAt}} {
		name, dst := f.name, f.dst
		if v, ok := m[name]; ok {
			f, isNum := v.(float64)
			if !isNum {
				return Claims{}, &TokenError{Part: name, Reason: "not a number", Err: ErrInvalidClaim}
			}
			d, err := numericDate(f)
			if err != nil {
				return Claims{}, &TokenError{Part: name, Reason: err.Error(), Err: ErrInvalidClaim}
			}
			*dst = d
		}
	}
	return c, nil
}

// DecodeClaims unmarshals the whole payload into v (a struct embedding Claims, or a map).
// encoding/json matches member names to struct fields ignoring case; DecodeClaims refuses
// a payload member that would land in a field whose name it matches only that way (an
// "ISS" filling Claims.Issuer while ClaimSet has no "iss"), so v always agrees with
// ClaimSet and Claims.
func (t *JWT) DecodeClaims(v any) error {
	if t == nil || t.JWS == nil {
		return malformed("jwt", "no token: parse one with ParseJWT")
	}
	if err := fastjson.CheckFieldNames(t.ClaimSet, reflect.TypeOf(v)); err != nil {
		var fe *fastjson.FieldNameError
		if errors.As(err, &fe) {
			return &TokenError{Part: "claims" + strings.TrimPrefix(fe.Path, "$") + "." + fe.Name, Reason: fmt.Sprintf("member name must be spelled %q", fe.Field), Err: ErrInvalidClaim}
		}
		return &TokenError{Part: "claims", Reason: err.Error(), Err: ErrInvalidClaim}
	}
	if err := json.Unmarshal(t.Payload, v); err != nil {
		return &TokenError{Part: "claims", Reason: err.Error(), Err: ErrInvalidClaim}
	}
	return nil
}

// SignJWT marshals claims (a Claims, a struct embedding it, or a map) and signs them.
// It sets typ to "JWT" unless WithType says otherwise.
func SignJWT(ctx context.Context, s Signer, claims any, opts ...SignOption) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("jose: marshal claims: %w", err)
	}
	if len(payload) == 0 || payload[0] != '{' {
		return "", fmt.Errorf("jose: claims must marshal to a JSON object")
	}
	// A claim set verifiers would refuse (names repeated in another case, from a map or
	// a custom marshaller) is not signed.
	if _, err := fastjson.UnmarshalOwned(payload); err != nil {
		return "", jsonErr("claims", err, ErrInvalidClaim)
	}
	return SignJWS(ctx, s, payload, append([]SignOption{WithType("JWT")}, opts...)...)
}

// DefaultLeeway is the clock skew Claims.Validate tolerates unless WithLeeway says otherwise.
const DefaultLeeway = time.Minute

// ValidateOption configures Claims.Validate.
type ValidateOption func(*validateConfig)

type validateConfig struct {
	now      func() time.Time
	leeway   time.Duration
	aud      string
	iss      string
	sub      string
	required []string
}

// WithClock sets the clock the times are checked against. Defaults to time.Now.
func WithClock(now func() time.Time) ValidateOption {
	return func(c *validateConfig) { c.now = now }
}

// WithLeeway sets the tolerated clock skew; it must not be negative. Defaults to
// DefaultLeeway.
func WithLeeway(d time.Duration) ValidateOption { return func(c *validateConfig) { c.leeway = d } }

// WithAudience requires aud to contain audience. A token that names an audience is rejected
// when no audience is given: a token meant for someone is not accepted by a verifier that
// does not say who it is. Defaults to no audience.
func WithAudience(audience string) ValidateOption {
	return func(c *validateConfig) { c.aud = audience }
}

// WithIssuer requires iss to equal issuer. Defaults to no issuer check.
func WithIssuer(issuer string) ValidateOption { return func(c *validateConfig) { c.iss = issuer } }

// WithSubject requires sub to equal subject. Defaults to no subject check.
func WithSubject(subject string) ValidateOption { return func(c *validateConfig) { c.sub = subject } }

// WithRequired requires the named registered claims ("exp", "iat", "nbf", "iss", "sub",
// "aud", "jti") to be present; another name is an *OptionError. Defaults to none.
func WithRequired(names ...string) ValidateOption {
	return func(c *validateConfig) { c.required = append(c.required, names...) }
}

func validateCfg(opts []ValidateOption) (validateConfig, error) {
	cfg := validateConfig{now: time.Now, leeway: DefaultLeeway}
	for _, o := range opts {
		if o == nil {
			return cfg, &OptionError{Option: "ValidateOption", Reason: "nil option"}
		}
		o(&cfg)
	}
	switch {
	case cfg.now == nil:
		return cfg, &OptionError{Option: "WithClock", Reason: "nil clock"}
	case cfg.leeway < 0:
		return cfg, &OptionError{Option: "WithLeeway", Value: cfg.leeway, Reason: "negative"}
	}
	for _, name := range cfg.required {
		switch name {
		case "iss", "sub", "aud", "exp", "nbf", "iat", "jti":
		default:
			return cfg, &OptionError{Option: "WithRequired", Value: name, Reason: "not a registered claim"}
		}
	}
	return cfg, nil
}

// Validate checks the claims: exp is not past, nbf and iat are not in the future (each with
// the leeway), and aud, iss and sub match what the options ask for.
func (c *Claims) Validate(opts ...ValidateOption) error {
	cfg, err := validateCfg(opts)
	if err != nil {
		return err
	}
	now := cfg.now()
	for _, name := range cfg.required {
		if !c.has(name) {
			return &TokenError{Part: name, Reason: "required claim missing", Err: ErrInvalidClaim}
		}
	}
	if c.Expiry != nil && !now.Before(c.Expiry.Add(cfg.leeway)) {
		return &TokenError{Part: "exp", Reason: "expired at " + c.Expiry.Format(time.RFC3339), Err: ErrTokenExpired}
	}
	if c.NotBefore != nil && now.Add(cfg.leeway).Before(c.NotBefore.Time) {
		return &TokenError{Part: "nbf", Reason: "not valid before " + c.NotBefore.Format(time.RFC3339), Err: ErrTokenNotYetValid}
	}
	if c.IssuedAt != nil && now.Add(cfg.leeway).Before(c.IssuedAt.Time) {
		return &TokenError{Part: "iat", Reason: "issued at " + c.IssuedAt.Format(time.RFC3339), Err: ErrTokenIssuedInFuture}
	}
	if cfg.aud != "" {
		if !c.Audience.Contains(cfg.aud) {
			return &TokenError{Part: "aud", Reason: fmt.Sprintf("%q is not an audience of the token", cfg.aud), Err: ErrInvalidClaim}
		}
	} else if len(c.Audience) > 0 {
		return &TokenError{Part: "aud", Reason: "the token names an audience but the verifier did not say which it is", Err: ErrInvalidClaim}
	}
	if cfg.iss != "" && c.Issuer != cfg.iss {
		return &TokenError{Part: "iss", Reason: fmt.Sprintf("%q, want %q", c.Issuer, cfg.iss), Err: ErrInvalidClaim}
	}
	if cfg.sub != "" && c.Subject != cfg.sub {
		return &TokenError{Part: "sub", Reason: fmt.Sprintf("%q, want %q", c.Subject, cfg.sub), Err: ErrInvalidClaim}
	}
	return nil
}

func (c *Claims) has(name string) bool {
	switch name {
	case "iss":
		return c.Issuer != ""
	case "sub":
		return c.Subject != ""
	case "aud":
		return len(c.Audience) > 0
	case "exp":
		return c.Expiry != nil
	case "nbf":
		return c.NotBefore != nil
	case "iat":
		return c.IssuedAt != nil
	case "jti":
		return c.ID != ""
	}
	return false
}
