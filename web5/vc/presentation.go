package vc

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/internal/fastjson"
	"github.com/anya-org/anya-go/web5/jose"
)

// envelopePrefix starts the id of an EnvelopedVerifiableCredential holding a vc+jwt.
const envelopePrefix = "data:application/vc+jwt,"

// Presentation is a verifiable presentation (1.1 or 2.0) of secured credentials.
// VerifiableCredential holds the credentials' JWTs; in a 2.0 presentation they travel as
// EnvelopedVerifiableCredential objects. Other properties (presentation_submission, ...)
// are kept, raw, in Extra.
type Presentation struct {
	Context              []any
	ID                   string
	Type                 []string
	Holder               string
	VerifiableCredential []string
	Extra                map[string]any
}

// Version returns the data model version, from the first @context entry.
func (p *Presentation) Version() Version {
	if len(p.Context) > 0 && p.Context[0] == ContextV2 {
		return V2
	}
	return V1
}

// PresentationOption configures the presentation NewPresentation builds.
type PresentationOption func(*presentationConfig)

type presentationConfig struct {
	v2    bool
	types []string
	props []property
}

type property struct {
	name  string
	value any
}

// WithPresentationVersion chooses the data model. Defaults to V1.
func WithPresentationVersion(v Version) PresentationOption {
	return func(c *presentationConfig) { c.v2 = v == V2 }
}

// WithPresentationType adds types after VerifiablePresentation. Defaults to none.
func WithPresentationType(types ...string) PresentationOption {
	return func(c *presentationConfig) { c.types = append(c.types, types...) }
}

// WithProperty sets another property, such as "presentation_submission"; its value must
// marshal to JSON (NewPresentation reports an *OptionError otherwise). Defaults to none.
func WithProperty(name string, value any) PresentationOption {
	return func(c *presentationConfig) { c.props = append(c.props, property{name, value}) }
}

// NewPresentation returns a presentation by holder of the given secured credentials.
func NewPresentation(holder string, credentials []string, opts ...PresentationOption) (*Presentation, error) {
	var cfg presentationConfig
	for i, o := range opts {
		if o == nil {
			return nil, &OptionError{Option: "PresentationOption", Value: i, Reason: "nil option"}
		}
		o(&cfg)
	}
	p := &Presentation{
		Context:              []any{ContextV1},
		ID:                   NewUUID(),
		Type:                 append([]string{TypePresentation}, cfg.types...),
		Holder:               holder,
		VerifiableCredential: credentials,
	}
	if cfg.v2 {
		p.Context[0] = ContextV2
	}
	for _, pr := range cfg.props {
		b, err := json.Marshal(pr.value)
		if err != nil {
			return nil, &OptionError{Option: "WithProperty", Value: pr.name, Reason: "value does not marshal to JSON", Err: err}
		}
		v, err := fastjson.Unmarshal(b)
		if err != nil {
			return nil, &OptionError{Option: "WithProperty", Value: pr.name, Reason: "value is not JSON the package reads", Err: err}
		}
		if p.Extra == nil {
			p.Extra = map[string]any{}
		}
		p.Extra[pr.name] = v
	}
	raw, err := p.MarshalJSON()
	if err != nil {
		return nil, err
	}
	if _, err := ParsePresentation(raw); err != nil {
		return nil, err
	}
	return p, nil
}

// MarshalJSON writes the presentation; 2.0 credentials are written as envelopes.
func (p Presentation) MarshalJSON() ([]byte, error) {
	var w objWriter
	w.field("@context", p.Context)
	if p.ID != "" {
		w.field("id", p.ID)
	}
	w.field("type", p.Type)
	if p.Holder != "" {
		w.field("holder", p.Holder)
	}
	if p.VerifiableCredential != nil {
		if p.Version() == V2 {
			env := make([]map[string]any, len(p.VerifiableCredential))
			for i, c := range p.VerifiableCredential {
				env[i] = map[string]any{"@context": ContextV2, "id": envelopePrefix + c, "type": TypeEnvelopedCredential}
			}
			w.field("verifiableCredential", env)
		} else {
			w.field("verifiableCredential", p.VerifiableCredential)
		}
	}
	w.extra(p.Extra)
	return w.finish()
}

// ParsePresentation decodes a presentation and checks its data model.
func ParsePresentation(data []byte) (*Presentation, error) {
	v, err := fastjson.Unmarshal(data)
	if err != nil {
		return nil, invalid("presentation", "%v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("presentation", "not a JSON object")
	}
	return presentationFromMap(m)
}

func presentationFromMap(raw map[string]any) (*Presentation, error) {
	p := &Presentation{}
	switch x := raw["@context"].(type) {
	case []any:
		p.Context = x
	case string:
		p.Context = []any{x}
	}
	if len(p.Context) == 0 {
		return nil, invalid("@context", "missing or empty")
	}
	if p.Context[0] != ContextV1 && p.Context[0] != ContextV2 {
		return nil, invalid("@context", "first item must be %s or %s", ContextV1, ContextV2)
	}
	if r, ok := raw["id"]; ok {
		id, isStr := r.(string)
		if !isStr || !isURI(id) {
			return nil, invalid("id", "must be a URI")
		}
		p.ID = id
	}
	r, ok := raw["type"]
	if !ok {
		return nil, invalid("type", "missing")
	}
	types, err := stringOrList("type", r)
	if err != nil {
		return nil, err
	}
	if err := checkTypes(types); err != nil {
		return nil, err
	}
	p.Type = types
	if !containsStr(types, TypePresentation) {
		return nil, invalid("type", "must include %s", TypePresentation)
	}
	if r, ok := raw["holder"]; ok {
		h, isStr := r.(string)
		if obj, isObj := r.(map[string]any); isObj {
			h, isStr = obj["id"].(string)
		}
		if !isStr || !isURI(h) {
			return nil, invalid("holder", "must be a URI or an object with an id")
		}
		p.Holder = h
	}
	if r, ok := raw["verifiableCredential"]; ok && r != nil {
		items, isList := r.([]any)
		if !isList {
			items = []any{r}
		}
		p.VerifiableCredential = make([]string, 0, len(items))
		for _, it := range items {
			tok, err := credentialToken(it)
			if err != nil {
				return nil, err
			}
			p.VerifiableCredential = append(p.VerifiableCredential, tok)
		}
	}
	for k, v := range raw {
		switch k {
		case "@context", "id", "type", "holder", "verifiableCredential":
			continue
		}
		if p.Extra == nil {
			p.Extra = map[string]any{}
		}
		p.Extra[k] = v
	}
	return p, nil
}

// credentialToken reads a verifiableCredential item: a JWT string or an
// EnvelopedVerifiableCredential holding one.
func credentialToken(it any) (string, error) {
	switch x := it.(type) {
	case string:
		return x, nil
	case map[string]any:
		id, _ := x["id"].(string)
		if strings.HasPrefix(id, envelopePrefix) && x["type"] == TypeEnvelopedCredential {
			return strings.TrimPrefix(id, envelopePrefix), nil
		}
	}
	return "", invalid("verifiableCredential", "items must be secured credentials (JWT strings or %s); embedded-proof credentials are not supported", TypeEnvelopedCredential)
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// WithAudienceClaim sets the aud of a signed presentation (the verifier it is meant for).
// Defaults to none.
func WithAudienceClaim(aud ...string) SignOption {
	return func(c *signConfig) { c.aud = append(c.aud, aud...) }
}

// WithNonce sets the nonce of a signed presentation (the verifier's challenge). Defaults to
// none.
func WithNonce(nonce string) SignOption { return func(c *signConfig) { c.nonce = nonce } }

// ExpiresIn sets a signed presentation's exp to d after signing. Defaults to no exp.
func ExpiresIn(d time.Duration) SignOption { return func(c *signConfig) { c.expires = d } }

type presentationClaims struct {
	jose.Claims
	Nonce string        `json:"nonce,omitempty"`
	VP    *Presentation `json:"vp,omitempty"`
}

// Sign secures the presentation with the holder's key (by default the first key under
// authentication): a JWT with the presentation in the vp claim for 1.1, a vp+jwt whose
// payload is the presentation for 2.0. The holder must be the bearer DID.
func (p *Presentation) Sign(ctx context.Context, holder *did.BearerDID, opts ...SignOption) (string, error) {
	cfg, err := signCfg(opts)
	if err != nil {
		return "", err
	}
	if holder == nil {
		return "", &OptionError{Option: "holder", Reason: "nil"}
	}
	if p.Holder != holder.String() {
		return "", invalid("holder", "%q is not the signing DID %s", p.Holder, holder)
	}
	signer, err := holder.Signer(ctx, append([]did.SignerOption{did.ForRelationship(did.Authentication)}, cfg.signer...)...)
	if err != nil {
		return "", err
	}
	now := cfg.at
	claims := jose.Claims{Issuer: holder.String(), Audience: cfg.aud, IssuedAt: jose.NewNumericDate(now), NotBefore: jose.NewNumericDate(now), ID: p.ID}
	if cfg.expires > 0 {
		claims.Expiry = jose.NewNumericDate(now.Add(cfg.expires))
	}
	if p.Version() == V2 {
		body, err := p.MarshalJSON()
		if err != nil {
			return "", err
		}
		var obj map[string]json.RawMessage
		_ = json.Unmarshal(body, &obj)
		cb, _ := json.Marshal(claims)
		var cm map[string]json.RawMessage
		_ = json.Unmarshal(cb, &cm)
		delete(cm, "jti")
		for k, v := range cm {
			obj[k] = v
		}
		if cfg.nonce != "" {
			obj["nonce"], _ = json.Marshal(cfg.nonce)
		}
		payload, err := json.Marshal(obj)
		if err != nil {
			return "", err
		}
		return jose.SignJWS(ctx, signer, payload, jose.WithType(TypVPJWT), jose.WithContentType("vp"))
	}
	return jose.SignJWT(ctx, signer, presentationClaims{Claims: claims, Nonce: cfg.nonce, VP: p}, jose.WithType(TypJWT))
}

// PresentationCheck configures one VerifyPresentation call.
type PresentationCheck func(*presentationCheck)

type presentationCheck struct {
	nonce    string
	hasNonce bool
}

// ExpectNonce requires the presentation's nonce to be n. Defaults to no nonce check.
func ExpectNonce(n string) PresentationCheck {
	return func(c *presentationCheck) { c.nonce = n; c.hasNonce = true }
}

// VerifyPresentation verifies a secured presentation — the holder's signature with a key
// under authentication of the holder's DID, its aud (WithAudience), nonce (ExpectNonce) and
// validity period — and then every credential in it, which are returned in order.
func (v *Verifier) VerifyPresentation(ctx context.Context, token string, checks ...PresentationCheck) (*Presentation, []*Credential, error) {
	if !v.constructed() {
		return nil, nil, errVerifierNotConstructed
	}
	var pc presentationCheck
	for i, c := range checks {
		if c == nil {
			return nil, nil, &OptionError{Option: "PresentationCheck", Value: i, Reason: "nil check"}
		}
		c(&pc)
	}
	t, err := jose.ParseJWT(token)
	if err != nil {
		return nil, nil, &TokenError{Part: "jwt", Reason: "malformed", Err: err}
	}
	j, set := t.JWS, t.ClaimSet
	var p *Presentation
	vpv, hasVP := set["vp"]
	_, hasCtx := set["@context"]
	switch {
	case hasVP:
		if !typIs(j.Header.Type, "jwt") && !typIs(j.Header.Type, TypVPJWT) {
			return nil, nil, &TokenError{Part: "typ", Reason: fmt.Sprintf("%q, want %s", j.Header.Type, TypJWT)}
		}
		m, ok := vpv.(map[string]any)
		if !ok {
			return nil, nil, &TokenError{Part: "vp", Reason: "not a JSON object"}
		}
		if p, err = presentationFromMap(m); err != nil {
			return nil, nil, err
		}
	case hasCtx:
		if !typIs(j.Header.Type, TypVPJWT) {
			return nil, nil, &TokenError{Part: "typ", Reason: fmt.Sprintf("%q, want %s", j.Header.Type, TypVPJWT)}
		}
		if p, err = presentationFromMap(set); err != nil {
			return nil, nil, err
		}
		p.Extra = dropClaims(p.Extra)
	default:
		return nil, nil, &TokenError{Part: "vp", Reason: "the payload has neither a vp claim nor a presentation"}
	}
	pl := struct {
		jose.Claims
		Nonce string
	}{Claims: t.Claims}
	if n, ok := set["nonce"]; ok {
		if pl.Nonce, ok = n.(string); !ok {
			return nil, nil, &TokenError{Part: "nonce", Reason: "not a string"}
		}
	}
	holder := p.Holder
	if holder == "" {
		holder = pl.Issuer
		p.Holder = holder
	}
	if pl.Issuer != "" && pl.Issuer != holder {
		return nil, nil, &TokenError{Part: "iss", Reason: fmt.Sprintf("%q is not the holder %q", pl.Issuer, holder)}
	}
	if err := did.CheckKeyIssuer(j.Header.KeyID, holder); err != nil {
		return nil, nil, &TokenError{Part: "kid", Reason: "not a key of the holder", Err: err}
	}
	signer, err := v.verifySignature(ctx, j, did.Authentication)
	if err != nil {
		return nil, nil, err
	}
	if signer != holder {
		return nil, nil, &TokenError{Part: "kid", Reason: fmt.Sprintf("signed by %s, not by the holder %s", signer, holder), Err: did.ErrNotAuthorized}
	}
	if err := v.checkTimes(&decoded{claims: pl.Claims, cred: &Credential{}}, true); err != nil {
		return nil, nil, err
	}
	if pc.hasNonce && pl.Nonce != pc.nonce {
		return nil, nil, &TokenError{Part: "nonce", Reason: "does not match the expected nonce"}
	}
	creds := make([]*Credential, 0, len(p.VerifiableCredential))
	for i, tok := range p.VerifiableCredential {
		c, err := v.Verify(ctx, tok)
		if err != nil {
			return nil, nil, fmt.Errorf("vc: presentation credential %d: %w", i, err)
		}
		creds = append(creds, c)
	}
	return p, creds, nil
}
