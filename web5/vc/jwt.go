package vc

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/jose"
)

// JOSE media types of secured credentials and presentations.
const (
	TypJWT   = "JWT"    // VC-JWT (Data Model 1.1): the credential in a "vc" claim
	TypVCJWT = "vc+jwt" // VC-JOSE-COSE (Data Model 2.0): the credential is the payload
	TypVPJWT = "vp+jwt" // VC-JOSE-COSE presentations
)

// SignOption configures Credential.Sign and Presentation.Sign.
type SignOption func(*signConfig)

type signConfig struct {
	at      time.Time
	signer  []did.SignerOption
	aud     []string
	nonce   string
	expires time.Duration
}

// WithIssuedAt sets the signing time: the token's iat (and a presentation's nbf, and the
// start of ExpiresIn). Defaults to the time of the call (time.Now).
func WithIssuedAt(t time.Time) SignOption {
	return func(c *signConfig) { c.at = t }
}

// WithSignerOptions chooses the key of the bearer DID (see did.BearerDID.Signer).
// Defaults to the first key under assertionMethod for credentials and under
// authentication for presentations.
func WithSignerOptions(opts ...did.SignerOption) SignOption {
	return func(c *signConfig) { c.signer = append(c.signer, opts...) }
}

func signCfg(opts []SignOption) (signConfig, error) {
	var cfg signConfig
	for i, o := range opts {
		if o == nil {
			return cfg, &OptionError{Option: "SignOption", Value: i, Reason: "nil option"}
		}
		o(&cfg)
	}
	if cfg.expires < 0 {
		return cfg, &OptionError{Option: "ExpiresIn", Value: cfg.expires, Reason: "negative"}
	}
	if cfg.at.IsZero() {
		cfg.at = time.Now()
	}
	return cfg, nil
}

// v1Claims is the payload of a 1.1 VC-JWT.
type v1Claims struct {
	jose.Claims
	VC *Credential `json:"vc"`
}

// Sign secures the credential with the issuer's key: a VC-JWT (typ JWT, the credential in
// the vc claim with iss, sub, jti, nbf and exp mirroring it) for 1.1, a VC-JOSE-COSE
// vc+jwt (the credential as the payload) for 2.0. The credential's issuer must be the
// bearer DID.
func (c *Credential) Sign(ctx context.Context, issuer *did.BearerDID, opts ...SignOption) (string, error) {
	cfg, err := signCfg(opts)
	if err != nil {
		return "", err
	}
	if issuer == nil {
		return "", &OptionError{Option: "issuer", Reason: "nil"}
	}
	if err := c.Validate(); err != nil {
		return "", err
	}
	if c.Issuer.ID != issuer.String() {
		return "", invalid("issuer", "%q is not the signing DID %s", c.Issuer.ID, issuer)
	}
	signer, err := issuer.Signer(ctx, cfg.signer...)
	if err != nil {
		return "", err
	}
	if c.Version() == V2 {
		payload, err := json.Marshal(c)
		if err != nil {
			return "", err
		}
		return jose.SignJWS(ctx, signer, payload, jose.WithType(TypVCJWT), jose.WithContentType("vc"))
	}
	claims := v1Claims{
		Claims: jose.Claims{
			Issuer:    c.Issuer.ID,
			ID:        c.ID,
			NotBefore: jose.NewNumericDate(c.IssuanceDate),
			IssuedAt:  jose.NewNumericDate(cfg.at),
		},
		VC: c,
	}
	if len(c.CredentialSubject) == 1 {
		claims.Subject = c.CredentialSubject[0].ID()
	}
	if !c.ExpirationDate.IsZero() {
		claims.Expiry = jose.NewNumericDate(c.ExpirationDate)
	}
	return jose.SignJWT(ctx, signer, claims, jose.WithType(TypJWT))
}

// typIs compares a typ header to a media type, ignoring case and an "application/" prefix.
func typIs(typ, want string) bool {
	t := strings.TrimSpace(typ)
	if len(t) > len("application/") && strings.EqualFold(t[:len("application/")], "application/") {
		t = t[len("application/"):]
	}
	return strings.EqualFold(t, want)
}

// decoded is a parsed, structurally checked but unverified VC-JWT.
type decoded struct {
	jws    *jose.JWS
	claims jose.Claims
	cred   *Credential
}

// Decode parses a secured credential (VC-JWT or vc+jwt) and checks its structure and data
// model, without verifying the signature or the validity period. Use a Verifier to trust it.
func Decode(token string) (*Credential, error) {
	d, err := decode(token)
	if err != nil {
		return nil, err
	}
	return d.cred, nil
}

// jwtClaimNames are removed from a vc+jwt or vp+jwt payload to get the credential or
// presentation back.
var jwtClaimNames = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "vc", "vp", "nonce", "cnf"}

func dropClaims(extra map[string]any) map[string]any {
	for _, k := range jwtClaimNames {
		delete(extra, k)
	}
	if len(extra) == 0 {
		return nil
	}
	return extra
}

func decode(token string) (*decoded, error) {
	t, err := jose.ParseJWT(token)
	if err != nil {
		return nil, &TokenError{Part: "jwt", Reason: "malformed", Err: err}
	}
	j, set := t.JWS, t.ClaimSet
	d := &decoded{jws: j, claims: t.Claims}
	vcv, hasVC := set["vc"]
	_, hasCtx := set["@context"]
	switch {
	case hasVC:
		if !typIs(j.Header.Type, "jwt") && !typIs(j.Header.Type, TypVCJWT) {
			return nil, &TokenError{Part: "typ", Reason: fmt.Sprintf("%q, want %s", j.Header.Type, TypJWT)}
		}
		m, ok := vcv.(map[string]any)
		if !ok {
			return nil, &TokenError{Part: "vc", Reason: "not a JSON object"}
		}
		if d.cred, err = fromMap(m); err != nil {
			return nil, err
		}
		if d.cred.Version() != V1 {
			return nil, &TokenError{Part: "vc", Reason: "2.0 credentials are secured as vc+jwt, without a vc claim"}
		}
		if err := d.checkV1Claims(); err != nil {
			return nil, err
		}
	case hasCtx:
		if !typIs(j.Header.Type, TypVCJWT) {
			return nil, &TokenError{Part: "typ", Reason: fmt.Sprintf("%q, want %s", j.Header.Type, TypVCJWT)}
		}
		if d.cred, err = fromMap(set); err != nil {
			return nil, err
		}
		if d.cred.Version() != V2 {
			return nil, &TokenError{Part: "@context", Reason: "a vc+jwt payload must be a 2.0 credential"}
		}
		if t.Claims.Issuer != "" && t.Claims.Issuer != d.cred.Issuer.ID {
			return nil, &TokenError{Part: "iss", Reason: fmt.Sprintf("%q is not the issuer %q", t.Claims.Issuer, d.cred.Issuer.ID)}
		}
		d.cred.Extra = dropClaims(d.cred.Extra)
	default:
		return nil, &TokenError{Part: "vc", Reason: "the payload has neither a vc claim nor a credential"}
	}
	if j.Header.KeyID == "" {
		return nil, &TokenError{Part: "kid", Reason: "missing"}
	}
	if err := did.CheckKeyIssuer(j.Header.KeyID, d.cred.Issuer.ID); err != nil {
		return nil, &TokenError{Part: "kid", Reason: "not a key of the issuer", Err: err}
	}
	return d, nil
}

// checkV1Claims checks that the JWT claims mirror the credential (VC Data Model 1.1 §6.3.1).
func (d *decoded) checkV1Claims() error {
	c, cl := d.cred, d.claims
	if cl.Issuer != "" && cl.Issuer != c.Issuer.ID {
		return &TokenError{Part: "iss", Reason: fmt.Sprintf("%q is not the issuer %q", cl.Issuer, c.Issuer.ID)}
	}
	if cl.ID != "" && c.ID != "" && cl.ID != c.ID {
		return &TokenError{Part: "jti", Reason: fmt.Sprintf("%q is not the credential id %q", cl.ID, c.ID)}
	}
	if cl.Subject != "" && len(c.CredentialSubject) == 1 {
		if id := c.CredentialSubject[0].ID(); id != "" && id != cl.Subject {
			return &TokenError{Part: "sub", Reason: fmt.Sprintf("%q is not the subject %q", cl.Subject, id)}
		}
	}
	return nil
}

// Defaults of NewVerifier.
const DefaultLeeway = jose.DefaultLeeway

// Verifier verifies secured credentials and presentations: signature (the key resolved
// from the kid, listed under assertionMethod of the issuer's DID), data model, validity
// period, and optionally status and schema. Safe for concurrent use. Build one with
// NewVerifier: the methods of a zero Verifier return a *NotConstructedError.
type Verifier struct {
	resolver *did.Resolver
	now      func() time.Time
	leeway   time.Duration
	aud      string
	status   StatusListFetcher
	schemas  *schemaCache
}

type verifierConfig struct {
	now     func() time.Time
	leeway  time.Duration
	aud     string
	status  StatusListFetcher
	schemas SchemaLoader
}

// VerifierOption configures NewVerifier.
type VerifierOption func(*verifierConfig)

// WithClock sets the verifier's clock. Defaults to time.Now.
func WithClock(now func() time.Time) VerifierOption { return func(c *verifierConfig) { c.now = now } }

// WithLeeway sets the tolerated clock skew; it must not be negative. Defaults to
// DefaultLeeway.
func WithLeeway(d time.Duration) VerifierOption { return func(c *verifierConfig) { c.leeway = d } }

// WithAudience names the verifier for tokens that carry an aud claim. A token addressed to
// someone is rejected by a verifier with no audience. Defaults to none.
func WithAudience(aud string) VerifierOption { return func(c *verifierConfig) { c.aud = aud } }

// WithStatusCheck makes Verify check credentialStatus entries (BitstringStatusListEntry,
// StatusList2021Entry) by fetching status list credentials with f. Once set, an entry of
// an unknown type fails verification. Defaults to not checking status.
func WithStatusCheck(f StatusListFetcher) VerifierOption {
	return func(c *verifierConfig) { c.status = f }
}

// WithSchemaCheck makes Verify validate credentials against their credentialSchema entries
// (JsonSchema, JsonSchema2023) loaded with l. Once set, an entry of an unknown type fails
// verification. Defaults to not checking schemas.
func WithSchemaCheck(l SchemaLoader) VerifierOption {
	return func(c *verifierConfig) { c.schemas = l }
}

// NewVerifier returns a verifier that resolves issuers with r. A nil r and invalid options
// are reported as *OptionError.
func NewVerifier(r *did.Resolver, opts ...VerifierOption) (*Verifier, error) {
	if r == nil {
		return nil, &OptionError{Option: "r", Reason: "nil resolver"}
	}
	cfg := verifierConfig{now: time.Now, leeway: DefaultLeeway}
	for i, o := range opts {
		if o == nil {
			return nil, &OptionError{Option: "VerifierOption", Value: i, Reason: "nil option"}
		}
		o(&cfg)
	}
	switch {
	case cfg.now == nil:
		return nil, &OptionError{Option: "WithClock", Reason: "nil clock"}
	case cfg.leeway < 0:
		return nil, &OptionError{Option: "WithLeeway", Value: cfg.leeway, Reason: "negative"}
	}
	v := &Verifier{resolver: r, now: cfg.now, leeway: cfg.leeway, aud: cfg.aud, status: cfg.status}
	if cfg.schemas != nil {
		v.schemas = newSchemaCache(cfg.schemas)
	}
	return v, nil
}

// errVerifierNotConstructed is the error of a zero Verifier.
var errVerifierNotConstructed = &NotConstructedError{Type: "vc.Verifier", Constructor: "vc.NewVerifier"}

func (v *Verifier) constructed() bool { return v != nil && v.resolver != nil }

// Verify verifies a secured credential and returns it.
func (v *Verifier) Verify(ctx context.Context, token string) (*Credential, error) {
	if !v.constructed() {
		return nil, errVerifierNotConstructed
	}
	d, err := decode(token)
	if err != nil {
		return nil, err
	}
	signer, err := v.verifySignature(ctx, d.jws, did.AssertionMethod)
	if err != nil {
		return nil, err
	}
	if signer != d.cred.Issuer.ID {
		return nil, &TokenError{Part: "kid", Reason: fmt.Sprintf("signed by %s, not by the issuer %s", signer, d.cred.Issuer.ID), Err: did.ErrNotAuthorized}
	}
	if err := v.checkTimes(d, false); err != nil {
		return nil, err
	}
	if v.schemas != nil {
		if err := v.schemas.check(ctx, d.cred); err != nil {
			return nil, err
		}
	}
	if v.status != nil {
		if err := v.checkStatus(ctx, d.cred); err != nil {
			return nil, err
		}
	}
	return d.cred, nil
}

// verifySignature verifies the JWS with the key its kid names, listed under rel, and
// returns the DID that signed: the controller of the verifying method, as the resolver
// reports it (the kid's DID; a method controlled by another DID is refused).
func (v *Verifier) verifySignature(ctx context.Context, j *jose.JWS, rel did.Relationship) (string, error) {
	vm, err := v.resolver.Verify(ctx, j, did.WithPurpose(rel))
	if err != nil {
		return "", err
	}
	return vm.Controller, nil
}

// checkTimes validates the JWT claims and the credential's validity period. A token that
// names an audience must name the verifier's; requireAud (presentations) also demands one
// when the verifier has an audience.
func (v *Verifier) checkTimes(d *decoded, requireAud bool) error {
	now := v.now()
	opts := []jose.ValidateOption{jose.WithClock(func() time.Time { return now }), jose.WithLeeway(v.leeway)}
	if v.aud != "" && (requireAud || len(d.claims.Audience) > 0) {
		opts = append(opts, jose.WithAudience(v.aud))
	}
	if err := d.claims.Validate(opts...); err != nil {
		switch {
		case isErr(err, jose.ErrTokenExpired):
			return fmt.Errorf("%w: %v", ErrExpired, err)
		case isErr(err, jose.ErrTokenNotYetValid), isErr(err, jose.ErrTokenIssuedInFuture):
			return fmt.Errorf("%w: %v", ErrNotYetValid, err)
		}
		return &TokenError{Part: "claims", Reason: "invalid", Err: err}
	}
	return checkValidity(d.cred, now, v.leeway)
}

func checkValidity(c *Credential, now time.Time, leeway time.Duration) error {
	from, until := c.ValidityPeriod()
	if !from.IsZero() && now.Add(leeway).Before(from) {
		return fmt.Errorf("%w: valid from %s", ErrNotYetValid, formatDate(from))
	}
	if !until.IsZero() && !now.Before(until.Add(leeway)) {
		return fmt.Errorf("%w: valid until %s", ErrExpired, formatDate(until))
	}
	return nil
}
