package did

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/anya-org/anya-go/web5/jose"
)

// VerifyOption configures VerifyJWS and VerifyJWT.
type VerifyOption func(*verifyConfig)

type verifyConfig struct {
	rel      Relationship
	anyRel   bool
	detached []byte
	hasDet   bool
	claims   []jose.ValidateOption
}

// WithPurpose requires the signing key to be listed under rel. Defaults to AssertionMethod.
func WithPurpose(rel Relationship) VerifyOption {
	return func(c *verifyConfig) { c.rel = rel; c.anyRel = false }
}

// WithAnyPurpose accepts any verification method of the DID, listed under a relationship
// or not. Defaults to requiring AssertionMethod.
func WithAnyPurpose() VerifyOption { return func(c *verifyConfig) { c.anyRel = true } }

// WithDetachedPayload supplies the payload of a JWS with a detached payload. Defaults to the
// payload the token carries.
func WithDetachedPayload(payload []byte) VerifyOption {
	return func(c *verifyConfig) { c.detached = payload; c.hasDet = true }
}

// WithClaimsValidation passes options to jose.Claims.Validate in VerifyJWT (clock, leeway,
// audience, ...). Defaults to jose's defaults.
func WithClaimsValidation(opts ...jose.ValidateOption) VerifyOption {
	return func(c *verifyConfig) { c.claims = append(c.claims, opts...) }
}

func (r *Resolver) verifyCfg(opts []VerifyOption) (verifyConfig, error) {
	cfg := verifyConfig{rel: AssertionMethod}
	if !r.constructed() {
		return cfg, errNotConstructed
	}
	for _, o := range opts {
		if o == nil {
			return cfg, &OptionError{Option: "VerifyOption", Reason: "nil option"}
		}
		o(&cfg)
	}
	if cfg.anyRel {
		cfg.rel = ""
	}
	return cfg, nil
}

// VerifyJWS verifies a compact JWS signed by a DID: the header's kid must be an absolute
// DID URL naming a verification method of that DID (listed under the purpose, by default
// assertionMethod) and controlled by it; the method's key must fit the header's alg. It
// returns the JWS and the verification method that signed it (see Verify): the signer is
// its Controller.
func (r *Resolver) VerifyJWS(ctx context.Context, token string, opts ...VerifyOption) (*jose.JWS, *VerificationMethod, error) {
	cfg, err := r.verifyCfg(opts)
	if err != nil {
		return nil, nil, err
	}
	var popts []jose.ParseOption
	if cfg.hasDet {
		popts = append(popts, jose.WithDetachedPayload(cfg.detached))
	}
	j, err := jose.ParseJWS(token, popts...)
	if err != nil {
		return nil, nil, err
	}
	vm, err := r.verifyParsed(ctx, j, cfg.rel)
	if err != nil {
		return nil, nil, err
	}
	return j, vm, nil
}

// Verify verifies the signature of a parsed JWS (or JWT) as VerifyJWS does and returns
// the verification method whose key verified it. That method is the only source of the
// signer's identity: its Controller is the DID that signed, the DID of the kid, whose
// document lists the method under the purpose. A method controlled by another DID is
// refused (ErrNotAuthorized): a document naming someone else as controller of its own key
// must not let its author speak as them. The method is a copy with an absolute ID.
// WithDetachedPayload does not apply (the JWS is already parsed).
func (r *Resolver) Verify(ctx context.Context, j *jose.JWS, opts ...VerifyOption) (*VerificationMethod, error) {
	cfg, err := r.verifyCfg(opts)
	if err != nil {
		return nil, err
	}
	if j == nil {
		return nil, &jose.TokenError{Part: "jws", Reason: "nil", Err: jose.ErrMalformed}
	}
	return r.verifyParsed(ctx, j, cfg.rel)
}

func (r *Resolver) verifyParsed(ctx context.Context, j *jose.JWS, rel Relationship) (*VerificationMethod, error) {
	kid := j.Header.KeyID
	if kid == "" {
		return nil, &jose.TokenError{Part: "kid", Reason: "missing", Err: jose.ErrMalformed}
	}
	vm, doc, err := r.VerificationMethod(ctx, kid, rel)
	if err != nil {
		return nil, err
	}
	signer, _, _ := strings.Cut(kid, "#")
	if vm.Controller != signer {
		return nil, fmt.Errorf("%w: %s is controlled by %s, not by the DID that lists it", ErrNotAuthorized, clip(kid), clip(vm.Controller))
	}
	pub, err := vm.PublicKey()
	if err != nil {
		return nil, err
	}
	if err := j.Verify(pub); err != nil {
		return nil, err
	}
	out := *vm
	out.ID = doc.AbsoluteRef(vm.ID)
	if vm.PublicKeyJwk != nil {
		k := *vm.PublicKeyJwk
		k.KeyOps = slices.Clone(k.KeyOps)
		out.PublicKeyJwk = &k
	}
	return &out, nil
}

// VerifyJWT verifies a JWT signed by a DID, as VerifyJWS does, then binds it to its
// issuer and validates its claims: iss must be present and the kid must dereference within
// the issuer's DID (a key of another DID is rejected even if its signature is good), so
// the returned method's Controller is the issuer.
func (r *Resolver) VerifyJWT(ctx context.Context, token string, opts ...VerifyOption) (*jose.JWT, *VerificationMethod, error) {
	cfg, err := r.verifyCfg(opts)
	if err != nil {
		return nil, nil, err
	}
	var popts []jose.ParseOption
	if cfg.hasDet {
		popts = append(popts, jose.WithDetachedPayload(cfg.detached))
	}
	t, err := jose.ParseJWT(token, popts...)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckKeyIssuer(t.Header.KeyID, t.Claims.Issuer); err != nil {
		return nil, nil, err
	}
	vm, err := r.verifyParsed(ctx, t.JWS, cfg.rel)
	if err != nil {
		return nil, nil, err
	}
	if err := t.Claims.Validate(cfg.claims...); err != nil {
		return nil, nil, err
	}
	return t, vm, nil
}

// CheckKeyIssuer checks that kid, a DID URL, names a key of the DID issuer.
func CheckKeyIssuer(kid, issuer string) error {
	if issuer == "" {
		return &jose.TokenError{Part: "iss", Reason: "missing", Err: jose.ErrInvalidClaim}
	}
	u, err := ParseURL(kid)
	if err != nil {
		return NewError(CodeInvalidDIDURL, kid, err)
	}
	iss, err := Parse(issuer)
	if err != nil {
		return &jose.TokenError{Part: "iss", Reason: "not a DID", Err: jose.ErrInvalidClaim}
	}
	if u.DID != iss {
		return fmt.Errorf("%w: kid %s is not a key of the issuer %s", ErrNotAuthorized, clip(kid), clip(issuer))
	}
	return nil
}
