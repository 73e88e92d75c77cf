package jose

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"github.com/anya-org/anya-go/web5/internal/fastjson"
)

// Header is the protected header of a JWS. Parameters other than these can be read from
// JWS.RawHeader.
type Header struct {
	Algorithm   string   `json:"alg"`
	KeyID       string   `json:"kid,omitempty"`
	Type        string   `json:"typ,omitempty"`
	ContentType string   `json:"cty,omitempty"`
	Critical    []string `json:"crit,omitempty"`
	// B64 is RFC 7797's b64 parameter; an unencoded payload (false) is not supported and
	// is rejected by ParseJWS.
	B64 *bool `json:"b64,omitempty"`
}

// JWS is a parsed compact JSON Web Signature. Parsing does not verify it: call Verify.
type JWS struct {
	Header    Header
	Payload   []byte
	Signature []byte
	// Detached reports that the payload travelled outside the compact form.
	Detached bool

	signingInput string
	header       []byte // the decoded protected header; Header's strings share it, so it is never handed out
}

// RawHeader returns a copy of the decoded protected header JSON (nil for a JWS that was not
// parsed).
func (j *JWS) RawHeader() []byte {
	if j == nil {
		return nil
	}
	return append([]byte(nil), j.header...)
}

// SigningInput returns the bytes the signature covers: BASE64URL(header) "." BASE64URL(payload).
func (j *JWS) SigningInput() string {
	if j == nil {
		return ""
	}
	return j.signingInput
}

// Verify checks the signature with public key pub. The header's alg must fit the key
// (see VerifySignature): "none", HMAC and mismatched algorithms are rejected. A JWS that
// was not parsed (a zero JWS, a JWT without one) does not verify.
func (j *JWS) Verify(pub JWK) error {
	if j == nil || j.signingInput == "" {
		return malformed("jws", "no token: parse one with ParseJWS")
	}
	return VerifySignature(pub, j.Header.Algorithm, view(j.signingInput), j.Signature)
}

// view returns the bytes of s without copying them, for callees that only read.
func view(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// ParseOption changes how ParseJWS and ParseJWT read a token.
type ParseOption func(*parseConfig)

type parseConfig struct {
	detached []byte
	hasDet   bool
}

// WithDetachedPayload supplies the payload of a JWS serialized with a detached payload
// (header..signature, RFC 7515 appendix F). A token with an embedded payload is then
// rejected. Defaults to reading the payload from the token.
func WithDetachedPayload(payload []byte) ParseOption {
	return func(c *parseConfig) { c.detached = payload; c.hasDet = true }
}

func parseCfg(opts []ParseOption) (parseConfig, error) {
	var cfg parseConfig
	for _, o := range opts {
		if o == nil {
			return cfg, &OptionError{Option: "ParseOption", Reason: "nil option"}
		}
		o(&cfg)
	}
	return cfg, nil
}

// MaxTokenSize bounds the length of a compact token ParseJWS accepts.
const MaxTokenSize = 1 << 20

// ParseJWS parses a compact JWS. It checks the structure (three base64url parts, a JSON
// object header with an alg) but not the signature.
func ParseJWS(token string, opts ...ParseOption) (*JWS, error) {
	cfg, err := parseCfg(opts)
	if err != nil {
		return nil, err
	}
	if len(token) > MaxTokenSize {
		return nil, malformed("token", "too large")
	}
	d1 := strings.IndexByte(token, '.')
	if d1 < 0 {
		return nil, malformed("token", "not three dot-separated parts")
	}
	d2 := strings.IndexByte(token[d1+1:], '.')
	if d2 < 0 {
		return nil, malformed("token", "not three dot-separated parts")
	}
	d2 += d1 + 1
	if strings.IndexByte(token[d2+1:], '.') >= 0 {
		return nil, malformed("token", "more than three parts (JWE is not supported)")
	}
	// One buffer for the three decoded parts.
	pPart, sPart := token[d1+1:d2], token[d2+1:]
	buf := make([]byte, b64.DecodedLen(d1)+b64.DecodedLen(len(pPart))+b64.DecodedLen(len(sPart)))
	n, err := b64.Decode(buf, view(token[:d1]))
	if err != nil || n == 0 {
		return nil, malformed("header", "not base64url")
	}
	hb := buf[:n:n]
	buf = buf[n:]
	j := &JWS{header: hb}
	if err := decodeHeader(hb, &j.Header); err != nil {
		return nil, err
	}
	if cfg.hasDet {
		if pPart != "" {
			return nil, malformed("payload", "a detached payload was given but the token carries one")
		}
		j.Payload = cfg.detached
		j.Detached = true
		j.signingInput = token[:d1+1] + b64.EncodeToString(cfg.detached)
	} else {
		if n, err = b64.Decode(buf, view(pPart)); err != nil {
			return nil, malformed("payload", "not base64url")
		}
		j.Payload = buf[:n:n]
		buf = buf[n:]
		j.signingInput = token[:d2]
	}
	if n, err = b64.Decode(buf, view(sPart)); err != nil {
		return nil, malformed("signature", "not base64url")
	}
	j.Signature = buf[:n:n]
	if len(j.Signature) == 0 {
		return nil, malformed("signature", "empty")
	}
	return j, nil
}

func decodeHeader(hb []byte, h *Header) error {
	v, err := fastjson.UnmarshalOwned(hb)
	if err != nil {
		return jsonErr("header", err, ErrMalformed)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return malformed("header", "not a JSON object")
	}
	if err := caseVariants("header", m, registeredHeaders[:]); err != nil {
		return err
	}
	str := func(name string, dst *string) error {
		x, present := m[name]
		if !present {
			return nil
		}
		s, ok := x.(string)
		if !ok {
			return &TokenError{Part: name, Reason: "not a string", Err: ErrMalformed}
		}
		*dst = s
		return nil
	}
	for _, f := range [...]struct {
		name string
		dst  *string
	}{{"alg", &h.Algorithm}, {"kid", &h.KeyID}, {"typ", &h.Type}, {"cty", &h.ContentType}} {
		if err := str(f.name, f.dst); err != nil {
			return err
		}
	}
	if h.Algorithm == "" {
		return &TokenError{Part: "alg", Reason: "missing", Err: ErrMalformed}
	}
	if crit, present := m["crit"]; present {
		return &TokenError{Part: "crit", Reason: fmt.Sprintf("extensions %v are not understood", crit), Err: ErrMalformed}
	}
	if b, present := m["b64"]; present {
		bv, ok := b.(bool)
		if !ok || !bv {
			return &TokenError{Part: "b64", Reason: "unencoded payloads are not supported", Err: ErrMalformed}
		}
		h.B64 = &bv
	}
	return nil
}

// registeredHeaders are the header parameter names of RFC 7515 §4.1 and RFC 7797.
var registeredHeaders = [...]string{"alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "b64"}

// caseVariants refuses a member of m whose name equals one of names only under case
// folding ("KID" without "kid"): names are case-sensitive, so it is not the registered
// parameter, but a reader matching names case-insensitively (encoding/json) would take it
// for one.
func caseVariants(object string, m map[string]any, names []string) error {
	for k := range m {
		for _, r := range names {
			if k != r && strings.EqualFold(k, r) {
				return &TokenError{Part: object + "." + k, Reason: fmt.Sprintf("differs from %q only in letter case", r), Err: ErrMalformed}
			}
		}
	}
	return nil
}

// SignOption changes the header or serialization SignJWS and SignJWT produce.
type SignOption func(*signConfig)

type signConfig struct {
	typ, cty, kid string
	kidSet        bool
	detached      bool
	extra         map[string]any
	extraOrder    []string
}

// WithType sets the typ header parameter. Defaults to none for SignJWS and "JWT" for
// SignJWT.
func WithType(typ string) SignOption { return func(c *signConfig) { c.typ = typ } }

// WithContentType sets the cty header parameter. Defaults to none.
func WithContentType(cty string) SignOption { return func(c *signConfig) { c.cty = cty } }

// WithKeyID overrides the kid header parameter. Defaults to the signer's KeyID.
func WithKeyID(kid string) SignOption {
	return func(c *signConfig) { c.kid = kid; c.kidSet = true }
}

// WithDetached produces header..signature, leaving the payload out of the token. Defaults
// to embedding the payload.
func WithDetached() SignOption { return func(c *signConfig) { c.detached = true } }

// WithHeader adds a header parameter. alg, kid, typ, cty, crit and b64 cannot be set this
// way, in any letter case (SignJWS refuses them with an *OptionError), and two parameters
// may not differ only in case (a *DuplicateMemberError). Defaults to no other parameters.
func WithHeader(name string, value any) SignOption {
	return func(c *signConfig) {
		if c.extra == nil {
			c.extra = make(map[string]any)
		}
		if _, seen := c.extra[name]; !seen {
			c.extraOrder = append(c.extraOrder, name)
		}
		c.extra[name] = value
	}
}

// signCfg applies the options and checks the header parameters they add.
func signCfg(opts []SignOption) (signConfig, error) {
	var cfg signConfig
	for _, o := range opts {
		if o == nil {
			return cfg, &OptionError{Option: "SignOption", Reason: "nil option"}
		}
		o(&cfg)
	}
	for i, n := range cfg.extraOrder {
		for _, r := range [...]string{"alg", "kid", "typ", "cty", "crit", "b64"} {
			if strings.EqualFold(n, r) {
				return cfg, &OptionError{Option: "WithHeader", Value: n, Reason: "a parameter the package sets itself"}
			}
		}
		for _, m := range cfg.extraOrder[:i] {
			if strings.EqualFold(n, m) {
				// Verifiers refuse such a header: it is not produced.
				return cfg, &DuplicateMemberError{Object: "header", Name: n, Previous: m}
			}
		}
	}
	return cfg, nil
}

// SignJWS signs payload with s and returns the compact serialization.
func SignJWS(ctx context.Context, s Signer, payload []byte, opts ...SignOption) (string, error) {
	cfg, err := signCfg(opts)
	if err != nil {
		return "", err
	}
	alg := s.Algorithm()
	switch alg {
	case AlgEdDSA, AlgEd25519, AlgES256K, AlgES256, AlgES384, AlgES512:
	default:
		return "", fmt.Errorf("%w: signer algorithm %q", ErrUnsupportedAlgorithm, alg)
	}
	kid := s.KeyID()
	if cfg.kidSet {
		kid = cfg.kid
	}
	hdr, err := buildHeader(alg, kid, cfg)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(hdr) + "." + b64.EncodeToString(payload)
	sig, err := s.Sign(ctx, []byte(input))
	if err != nil {
		return "", err
	}
	if cfg.detached {
		input = input[:strings.IndexByte(input, '.')+1]
	}
	return input + "." + b64.EncodeToString(sig), nil
}

func buildHeader(alg, kid string, cfg signConfig) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"alg":`)
	buf.WriteString(jsonString(alg))
	if kid != "" {
		buf.WriteString(`,"kid":`)
		buf.WriteString(jsonString(kid))
	}
	if cfg.typ != "" {
		buf.WriteString(`,"typ":`)
		buf.WriteString(jsonString(cfg.typ))
	}
	if cfg.cty != "" {
		buf.WriteString(`,"cty":`)
		buf.WriteString(jsonString(cfg.cty))
	}
	names := slices.Clone(cfg.extraOrder)
	sort.Strings(names)
	for _, n := range names {
		v, err := json.Marshal(cfg.extra[n])
		if err != nil {
			return nil, &OptionError{Option: "WithHeader", Value: n, Reason: "value does not marshal to JSON: " + err.Error()}
		}
		buf.WriteByte(',')
		buf.WriteString(jsonString(n))
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
