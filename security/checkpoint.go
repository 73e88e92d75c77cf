package security

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TypeSignedHead is the "typ" of a signed head's JWS header. A JWS of any other type — a
// credential or token signed by the same key — is not a signed head.
const TypeSignedHead = "anya-audit-head+jwt"

// AlgEdDSA is the JWS algorithm of Ed25519 signatures (RFC 8037).
const AlgEdDSA = "EdDSA"

// MaxSignedHeadBytes bounds the string form of a signed head that ParseSignedHead reads.
const MaxSignedHeadBytes = 4096

// Signer signs checkpoints with the host's key. Algorithm is the JWS "alg" of its signatures,
// KeyID the "kid" that names its key to a Verifier, and Sign returns the signature over data
// (for EdDSA, the 64-byte Ed25519 signature). Signers from the SDK's web5/jose package have this
// method set, so a host can sign checkpoints with a key held by a jose.KeyManager.
//
// Implementations MUST be safe for concurrent use and MUST return ctx.Err() when ctx is done
// before the work starts.
type Signer interface {
	Algorithm() string
	KeyID() string
	Sign(ctx context.Context, data []byte) ([]byte, error)
}

// Verifier checks the signature of a signed head. ParseSignedHead has already refused malformed
// tokens and "alg": "none"; the verifier decides which keys and algorithms it trusts.
//
// Implementations MUST refuse an alg that is not the one their key for kid signs with (never
// "trying" the signature as another algorithm), MUST refuse a kid they do not hold, and MUST
// be safe for concurrent use.
type Verifier interface {
	Verify(ctx context.Context, alg, kid string, signingInput, signature []byte) error
}

// VerifierFunc adapts a function to Verifier.
type VerifierFunc func(ctx context.Context, alg, kid string, signingInput, signature []byte) error

// Verify calls f.
func (f VerifierFunc) Verify(ctx context.Context, alg, kid string, signingInput, signature []byte) error {
	return f(ctx, alg, kid, signingInput, signature)
}

// Ed25519Signer signs with an Ed25519 private key held in the process. Create it with
// NewEd25519Signer: a zero Ed25519Signer has no key, and its Sign returns a
// *NotConstructedError.
type Ed25519Signer struct {
	key ed25519.PrivateKey
	kid string
}

// NewEd25519Signer returns a Signer over key that names it kid (for example the DID URL of the
// host's verification method). It refuses a key of the wrong size and an empty kid with an error
// wrapping ErrInvalidKey.
func NewEd25519Signer(key ed25519.PrivateKey, kid string) (*Ed25519Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: an Ed25519 private key has %d bytes, not %d", ErrInvalidKey, ed25519.PrivateKeySize, len(key))
	}
	if kid == "" {
		return nil, fmt.Errorf("%w: empty key ID", ErrInvalidKey)
	}
	return &Ed25519Signer{key: bytes.Clone(key), kid: kid}, nil
}

// Algorithm returns AlgEdDSA.
func (s *Ed25519Signer) Algorithm() string { return AlgEdDSA }

// KeyID returns the key's kid.
func (s *Ed25519Signer) KeyID() string { return s.kid }

// Sign signs data.
func (s *Ed25519Signer) Sign(ctx context.Context, data []byte) ([]byte, error) {
	if len(s.key) != ed25519.PrivateKeySize {
		return nil, &NotConstructedError{Type: "Ed25519Signer", Constructor: "NewEd25519Signer"}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return ed25519.Sign(s.key, data), nil
}

// Ed25519Verifier verifies EdDSA signatures by one Ed25519 public key. A host that rotates its
// key combines several in a VerifierFunc that picks by kid. Create it with NewEd25519Verifier: a
// zero Ed25519Verifier has no key, and its Verify returns a *NotConstructedError.
type Ed25519Verifier struct {
	key ed25519.PublicKey
	kid string
}

// NewEd25519Verifier returns a Verifier that accepts EdDSA signatures by key under kid, and
// nothing else. It refuses a key of the wrong size and an empty kid with an error wrapping
// ErrInvalidKey.
func NewEd25519Verifier(key ed25519.PublicKey, kid string) (*Ed25519Verifier, error) {
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: an Ed25519 public key has %d bytes, not %d", ErrInvalidKey, ed25519.PublicKeySize, len(key))
	}
	if kid == "" {
		return nil, fmt.Errorf("%w: empty key ID", ErrInvalidKey)
	}
	return &Ed25519Verifier{key: bytes.Clone(key), kid: kid}, nil
}

// Verify checks an EdDSA signature by the verifier's key. Another alg, another kid, a signature
// of the wrong size or one whose S is not reduced (a malleated signature) is refused.
func (v *Ed25519Verifier) Verify(ctx context.Context, alg, kid string, signingInput, signature []byte) error {
	if len(v.key) != ed25519.PublicKeySize {
		return &NotConstructedError{Type: "Ed25519Verifier", Constructor: "NewEd25519Verifier"}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	switch {
	case alg != AlgEdDSA:
		return fmt.Errorf("algorithm %q is not %s, the algorithm of key %q", alg, AlgEdDSA, v.kid)
	case kid != v.kid:
		return fmt.Errorf("unknown key %q", kid)
	case len(signature) != ed25519.SignatureSize || !ed25519.Verify(v.key, signingInput, signature):
		return errors.New("signature does not verify")
	}
	return nil
}

var (
	_ Verifier = (*Ed25519Verifier)(nil)
	_ Verifier = VerifierFunc(nil)
	_ Signer   = (*Ed25519Signer)(nil)
)

// Checkpoint is a head kept outside the log, which AuditLog.Verify checks the log against: a
// Head the host stored somewhere the log's writer cannot reach, or a *SignedHead, whose
// signature verified when it was parsed.
type Checkpoint interface {
	Checkpoint() Head
}

// Checkpoint returns h: a stored Head is a checkpoint.
func (h Head) Checkpoint() Head { return h }

// ParseHead reads the string form of a head, "<seq>:<64 lowercase hex digits>" (Head.String).
// A malformed one is refused with an error wrapping ErrInvalidHead.
func ParseHead(s string) (Head, error) {
	seqText, hashText, ok := strings.Cut(s, ":")
	if !ok {
		return Head{}, fmt.Errorf("%w: %q has no ':'", ErrInvalidHead, truncate(s))
	}
	seq, ok := parseUint(seqText)
	if !ok {
		return Head{}, fmt.Errorf("%w: position %q is not a decimal integer below 2^63", ErrInvalidHead, truncate(seqText))
	}
	h := Head{Seq: seq}
	if !parseHash(hashText, &h.Hash) {
		return Head{}, fmt.Errorf("%w: hash %q is not 64 lowercase hex digits", ErrInvalidHead, truncate(hashText))
	}
	return h, nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// parseUint reads a decimal integer in 0..2^63-1 written without sign, leading zeros, fraction
// or exponent.
func parseUint(s string) (uint64, bool) {
	if s == "" || len(s) > 19 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return uint64(n), err == nil
}

func parseHash(s string, out *[32]byte) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	_, err := hex.Decode(out[:], []byte(s))
	return err == nil
}

// SignedHead is a head signed by the host's key: a compact JWS whose header is
// {"alg", "kid", "typ": TypeSignedHead} and whose payload is {"seq", "hash", "iat"} (the
// position and hex hash of the newest entry, and the time of signing in seconds since 1970).
// Its values are the ones whose signature verified (ParseSignedHead) or were signed (SignHead);
// String returns the token to store or publish.
type SignedHead struct {
	head     Head
	issuedAt time.Time
	alg, kid string
	token    string
}

// Head returns the signed position and hash.
func (s *SignedHead) Head() Head { return s.head }

// Checkpoint returns the signed head: a signed head is a checkpoint for AuditLog.Verify.
func (s *SignedHead) Checkpoint() Head { return s.head }

// IssuedAt returns when the head was signed (to the second).
func (s *SignedHead) IssuedAt() time.Time { return s.issuedAt }

// KeyID returns the kid of the key that signed it.
func (s *SignedHead) KeyID() string { return s.kid }

// Algorithm returns the JWS algorithm of its signature.
func (s *SignedHead) Algorithm() string { return s.alg }

// String returns the compact JWS.
func (s *SignedHead) String() string { return s.token }

type headHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

type headPayload struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
	Iat  int64  `json:"iat"`
}

// checkSigner refuses a signer whose header would not parse back.
func checkSigner(s Signer) error {
	alg, kid := s.Algorithm(), s.KeyID()
	switch {
	case alg == "" || strings.EqualFold(alg, "none"):
		return fmt.Errorf("algorithm %q", alg)
	case kid == "":
		return errors.New("empty key ID")
	case !utf8.ValidString(alg) || !utf8.ValidString(kid):
		return errors.New("algorithm or key ID is not UTF-8")
	}
	return nil
}

// SignHead signs h with s, stamped at (to the second). It refuses a signer without a key ID or
// with algorithm "none", and a head or time the format cannot carry, with an error wrapping
// ErrCheckpoint; a cancelled ctx returns ctx.Err().
func SignHead(ctx context.Context, h Head, at time.Time, s Signer) (*SignedHead, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s == nil {
		return nil, ErrNoSigner
	}
	if err := checkSigner(s); err != nil {
		return nil, fmt.Errorf("%w: signer: %v", ErrCheckpoint, err)
	}
	if h.Seq > 1<<63-1 || at.Unix() < 0 {
		return nil, fmt.Errorf("%w: position %d or time %v out of range", ErrCheckpoint, h.Seq, at)
	}
	hdr, err := json.Marshal(headHeader{Alg: s.Algorithm(), Kid: s.KeyID(), Typ: TypeSignedHead})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	pay, err := json.Marshal(headPayload{Seq: h.Seq, Hash: hex.EncodeToString(h.Hash[:]), Iat: at.Unix()})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hdr) + "." + enc.EncodeToString(pay)
	sig, err := s.Sign(ctx, []byte(input))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: sign: %v", ErrCheckpoint, err)
	}
	if len(sig) == 0 {
		return nil, fmt.Errorf("%w: the signer returned an empty signature", ErrCheckpoint)
	}
	return &SignedHead{head: h, issuedAt: time.Unix(at.Unix(), 0).UTC(), alg: s.Algorithm(), kid: s.KeyID(),
		token: input + "." + enc.EncodeToString(sig)}, nil
}

// ParseSignedHead reads a signed head's string form and verifies its signature with v. The
// token is parsed once, strictly, and the head returned is the one whose signature verified:
//
//   - three base64url segments without padding, line breaks or non-canonical trailing bits, at
//     most MaxSignedHeadBytes in all;
//   - a header of exactly "alg", "kid" and "typ" (TypeSignedHead), all strings, and a payload of
//     exactly "seq" and "iat" (decimal integers in 0..2^63-1) and "hash" (64 lowercase hex
//     digits): duplicate members, members whose names differ only by case or Unicode folding,
//     unknown members, nested values, invalid UTF-8 and trailing data are refused;
//   - "alg": "none" is refused in any spelling before v is asked; v refuses algorithms and keys
//     it does not hold.
//
// A malformed token is refused with a *SignedHeadError wrapping ErrInvalidSignedHead, one whose
// signature v refuses with a *SignedHeadError wrapping ErrSignature; a cancelled ctx returns
// ctx.Err().
func ParseSignedHead(ctx context.Context, s string, v Verifier) (*SignedHead, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return &SignedHeadError{Reason: fmt.Sprintf(format, args...), Err: ErrInvalidSignedHead}
	}
	if len(s) > MaxSignedHeadBytes {
		return nil, bad("%d bytes, more than %d", len(s), MaxSignedHeadBytes)
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, bad("%d segments, not 3", len(parts))
	}
	var raw [3][]byte
	for i, p := range parts {
		b, err := decodeSegment(p)
		if err != nil {
			return nil, bad("segment %d: %v", i+1, err)
		}
		raw[i] = b
	}
	hm, err := strictObject(raw[0], "alg", "kid", "typ")
	if err != nil {
		return nil, bad("header: %v", err)
	}
	var hdr headHeader
	for _, f := range []struct {
		name string
		out  *string
	}{{"alg", &hdr.Alg}, {"kid", &hdr.Kid}, {"typ", &hdr.Typ}} {
		str, ok := hm[f.name].(string)
		if !ok {
			return nil, bad("header: %q is not a string", f.name)
		}
		*f.out = str
	}
	switch {
	case strings.EqualFold(hdr.Alg, "none") || hdr.Alg == "":
		return nil, bad("algorithm %q: a signed head must be signed", hdr.Alg)
	case hdr.Typ != TypeSignedHead:
		return nil, bad("type %q, not %q", hdr.Typ, TypeSignedHead)
	case hdr.Kid == "":
		return nil, bad("empty key ID")
	case len(raw[2]) == 0:
		return nil, bad("empty signature")
	}
	if v == nil {
		return nil, &SignedHeadError{Reason: "no verifier", Err: ErrSignature}
	}
	input := s[:len(parts[0])+1+len(parts[1])]
	if err := v.Verify(ctx, hdr.Alg, hdr.Kid, []byte(input), raw[2]); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &SignedHeadError{Reason: fmt.Sprintf("key %q, algorithm %s", hdr.Kid, hdr.Alg), Err: ErrSignature, Cause: err}
	}
	pm, err := strictObject(raw[1], "seq", "hash", "iat")
	if err != nil {
		return nil, bad("payload: %v", err)
	}
	sh := &SignedHead{alg: hdr.Alg, kid: hdr.Kid, token: s}
	seq, ok1 := pm["seq"].(json.Number)
	iat, ok2 := pm["iat"].(json.Number)
	hash, ok3 := pm["hash"].(string)
	if !ok1 || !ok2 || !ok3 {
		return nil, bad("payload: seq and iat must be numbers, hash a string")
	}
	if sh.head.Seq, ok1 = parseUint(string(seq)); !ok1 {
		return nil, bad("payload: seq %s is not an integer in 0..2^63-1", truncate(string(seq)))
	}
	secs, ok := parseUint(string(iat))
	if !ok {
		return nil, bad("payload: iat %s is not an integer in 0..2^63-1", truncate(string(iat)))
	}
	sh.issuedAt = time.Unix(int64(secs), 0).UTC()
	if !parseHash(hash, &sh.head.Hash) {
		return nil, bad("payload: hash %q is not 64 lowercase hex digits", truncate(hash))
	}
	return sh, nil
}

// decodeSegment decodes unpadded base64url, refusing any byte outside the alphabet (the
// decoder would skip line breaks) and non-canonical trailing bits.
func decodeSegment(p string) ([]byte, error) {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, fmt.Errorf("byte %q at %d is not base64url", c, i)
		}
	}
	return base64.RawURLEncoding.Strict().DecodeString(p)
}

// strictObject reads a JSON object whose members are exactly names, each a string or a number
// (kept as json.Number text). Duplicate members, members whose names fold to the same name
// (case, Unicode simple folding), unknown or missing members, nested values, invalid UTF-8 and
// anything after the object are refused.
func strictObject(b []byte, names ...string) (map[string]any, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	out := make(map[string]any, len(names))
	var seen []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name := t.(string) // inside an object the decoder only yields string keys
		for _, prev := range seen {
			if strings.EqualFold(prev, name) {
				if prev == name {
					return nil, fmt.Errorf("member %q appears twice", name)
				}
				return nil, fmt.Errorf("members %q and %q differ only by case", prev, name)
			}
		}
		seen = append(seen, name)
		known := false
		for _, n := range names {
			known = known || n == name
		}
		if !known {
			return nil, fmt.Errorf("unknown member %q", truncate(name))
		}
		v, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch v.(type) {
		case string, json.Number:
			out[name] = v
		default:
			return nil, fmt.Errorf("member %q is not a string or a number", name)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the object")
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("member %q is missing", n)
		}
	}
	return out, nil
}
