package jose

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/anya-org/anya-go/web5/internal/fastjson"
)

// Key types (the kty member).
const (
	KeyTypeOKP = "OKP" // octet key pair: Ed25519, X25519
	KeyTypeEC  = "EC"  // elliptic curve: secp256k1, P-256, P-384, P-521
)

// Curve names a supported curve (the crv member of a JWK).
type Curve string

// Supported curves.
const (
	Ed25519   Curve = "Ed25519"
	Secp256k1 Curve = "secp256k1"
	P256      Curve = "P-256"
	P384      Curve = "P-384"
	P521      Curve = "P-521"
	X25519    Curve = "X25519"
)

// Signature algorithms (the alg header parameter).
const (
	// AlgEdDSA is EdDSA (RFC 8037), used with Ed25519 keys. Signers emit it.
	AlgEdDSA = "EdDSA"
	// AlgEd25519 is the fully-specified Ed25519 algorithm (RFC 9864); verification accepts
	// it as a synonym of EdDSA for Ed25519 keys.
	AlgEd25519 = "Ed25519"
	// AlgES256K is ECDSA over secp256k1 with SHA-256 (RFC 8812).
	AlgES256K = "ES256K"
	// AlgES256 is ECDSA over P-256 with SHA-256 (RFC 7518).
	AlgES256 = "ES256"
	// AlgES384 is ECDSA over P-384 with SHA-384 (RFC 7518).
	AlgES384 = "ES384"
	// AlgES512 is ECDSA over P-521 with SHA-512 (RFC 7518).
	AlgES512 = "ES512"
)

// b64 is the unpadded base64url encoding JOSE uses everywhere. Strict mode rejects
// encodings with non-zero trailing bits, so every value has exactly one textual form.
var b64 = base64.RawURLEncoding.Strict()

// JWK is a JSON Web Key (RFC 7517) on one of the supported curves. A JWK with D set is a
// private key; its String, GoString and LogValue never reveal D.
type JWK struct {
	KeyType   string   `json:"kty"`
	Curve     Curve    `json:"crv,omitempty"`
	X         string   `json:"x,omitempty"`
	Y         string   `json:"y,omitempty"`
	D         string   `json:"d,omitempty"`
	KeyID     string   `json:"kid,omitempty"`
	Algorithm string   `json:"alg,omitempty"`
	Use       string   `json:"use,omitempty"`
	KeyOps    []string `json:"key_ops,omitempty"`
}

// ParseJWK decodes and validates a JWK from JSON (see UnmarshalJSON).
func ParseJWK(data []byte) (JWK, error) {
	var k JWK
	if err := k.UnmarshalJSON(data); err != nil {
		return JWK{}, err
	}
	if err := k.Validate(); err != nil {
		return JWK{}, err
	}
	return k, nil
}

// UnmarshalJSON reads a JWK with the package's strict JSON reader: member names are
// matched exactly (RFC 7517 names are case-sensitive; encoding/json's default would take
// "X" for "x"), a name repeated exactly or under case folding is a *DuplicateMemberError,
// and unknown members are ignored. It does not validate the key: see Validate.
func (k *JWK) UnmarshalJSON(data []byte) error {
	v, err := fastjson.Unmarshal(data)
	if err != nil {
		var de *fastjson.DuplicateKeyError
		if errors.As(err, &de) {
			return &DuplicateMemberError{Object: "jwk", Name: de.Name, Previous: de.Previous}
		}
		return keyErr("jwk", err.Error())
	}
	m, ok := v.(map[string]any)
	if !ok {
		return keyErr("jwk", "not a JSON object")
	}
	var out JWK
	var crv string
	for _, f := range [...]struct {
		name string
		dst  *string
	}{{"kty", &out.KeyType}, {"crv", &crv}, {"x", &out.X}, {"y", &out.Y}, {"d", &out.D}, {"kid", &out.KeyID}, {"alg", &out.Algorithm}, {"use", &out.Use}} {
		x, present := m[f.name]
		if !present {
			continue
		}
		s, isStr := x.(string)
		if !isStr {
			return keyErr(f.name, "not a string")
		}
		*f.dst = s
	}
	out.Curve = Curve(crv)
	if x, present := m["key_ops"]; present {
		list, isList := x.([]any)
		if !isList {
			return keyErr("key_ops", "not a list of strings")
		}
		out.KeyOps = make([]string, len(list))
		for i, e := range list {
			s, isStr := e.(string)
			if !isStr {
				return keyErr("key_ops", "not a list of strings")
			}
			out.KeyOps[i] = s
		}
	}
	*k = out
	return nil
}

// IsPrivate reports whether the key carries a private part.
func (k JWK) IsPrivate() bool { return k.D != "" }

// Public returns the key without its private part.
func (k JWK) Public() JWK {
	k.D = ""
	k.KeyOps = publicOps(k.KeyOps)
	return k
}

func publicOps(ops []string) []string {
	if ops == nil {
		return nil
	}
	out := make([]string, 0, len(ops))
	for _, op := range ops {
		switch op {
		case "sign", "decrypt", "unwrapKey", "deriveKey", "deriveBits":
			if op == "sign" {
				out = append(out, "verify")
			}
			continue
		}
		out = append(out, op)
	}
	return out
}

// String describes the key without revealing a private part.
func (k JWK) String() string {
	s := fmt.Sprintf("JWK{kty:%s crv:%s x:%s", k.KeyType, k.Curve, k.X)
	if k.Y != "" {
		s += " y:" + k.Y
	}
	if k.KeyID != "" {
		s += " kid:" + k.KeyID
	}
	if k.D != "" {
		s += " d:REDACTED"
	}
	return s + "}"
}

// GoString is String, so %#v does not print the private part either.
func (k JWK) GoString() string { return k.String() }

// LogValue makes slog print the key without its private part.
func (k JWK) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("kty", k.KeyType), slog.String("crv", string(k.Curve)), slog.String("x", k.X)}
	if k.KeyID != "" {
		attrs = append(attrs, slog.String("kid", k.KeyID))
	}
	if k.D != "" {
		attrs = append(attrs, slog.String("d", "REDACTED"))
	}
	return slog.GroupValue(attrs...)
}

// Validate checks that the key is well formed: a supported kty/crv pair, coordinates of
// the right length that lie on the curve, and a private part (if any) that is a valid
// scalar matching the public part.
func (k JWK) Validate() error {
	_, err := parseKey(k)
	return err
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of the key, base64url encoded.
func (k JWK) Thumbprint() (string, error) {
	var s string
	switch k.KeyType {
	case KeyTypeOKP:
		if k.Curve == "" || k.X == "" {
			return "", keyErr("jwk", "OKP key needs crv and x")
		}
		s = `{"crv":` + jsonString(string(k.Curve)) + `,"kty":"OKP","x":` + jsonString(k.X) + `}`
	case KeyTypeEC:
		if k.Curve == "" || k.X == "" || k.Y == "" {
			return "", keyErr("jwk", "EC key needs crv, x and y")
		}
		s = `{"crv":` + jsonString(string(k.Curve)) + `,"kty":"EC","x":` + jsonString(k.X) + `,"y":` + jsonString(k.Y) + `}`
	default:
		return "", &KeyError{Field: "kty", Reason: fmt.Sprintf("%q", k.KeyType), Err: ErrUnsupportedKey}
	}
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:]), nil
}

// jsonString encodes s as a JSON string. Members of supported keys are base64url or curve
// names, which need no escaping; anything else is escaped by encoding/json.
func jsonString(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			plain = false
			break
		}
	}
	if plain {
		return `"` + s + `"`
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// AlgorithmFor returns the signature algorithm signers use for keys on curve c, or "" for
// curves that do not sign (X25519).
func AlgorithmFor(c Curve) string {
	switch c {
	case Ed25519:
		return AlgEdDSA
	case Secp256k1:
		return AlgES256K
	case P256:
		return AlgES256
	case P384:
		return AlgES384
	case P521:
		return AlgES512
	}
	return ""
}

// checkAlgorithm reports whether alg may be used to verify with key k.
// It rejects "none", every HMAC and RSA algorithm, and any algorithm that does not fit the
// key type, and honours the key's own alg, use and key_ops members.
func checkAlgorithm(k JWK, alg string) error {
	switch alg {
	case AlgEdDSA, AlgEd25519, AlgES256K, AlgES256, AlgES384, AlgES512:
	case "":
		return &TokenError{Part: "alg", Reason: "missing", Err: ErrUnsupportedAlgorithm}
	default:
		return &TokenError{Part: "alg", Reason: fmt.Sprintf("%q is not accepted", alg), Err: ErrUnsupportedAlgorithm}
	}
	var want Curve
	switch alg {
	case AlgEdDSA, AlgEd25519:
		want = Ed25519
	case AlgES256K:
		want = Secp256k1
	case AlgES256:
		want = P256
	case AlgES384:
		want = P384
	case AlgES512:
		want = P521
	}
	if k.Curve != want {
		return &TokenError{Part: "alg", Reason: fmt.Sprintf("%s cannot be used with a %s key", alg, k.Curve), Err: ErrAlgorithmMismatch}
	}
	if k.Algorithm != "" && k.Algorithm != alg && !(isEd25519Alg(k.Algorithm) && isEd25519Alg(alg)) {
		return &TokenError{Part: "alg", Reason: fmt.Sprintf("%s does not match the key's alg %s", alg, k.Algorithm), Err: ErrAlgorithmMismatch}
	}
	if k.Use != "" && k.Use != "sig" {
		return &TokenError{Part: "alg", Reason: fmt.Sprintf("key use is %q", k.Use), Err: ErrAlgorithmMismatch}
	}
	if k.KeyOps != nil && !containsString(k.KeyOps, "verify") {
		return &TokenError{Part: "alg", Reason: "key_ops does not allow verify", Err: ErrAlgorithmMismatch}
	}
	return nil
}

func isEd25519Alg(a string) bool { return a == AlgEdDSA || a == AlgEd25519 }

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// decodeB64 decodes a base64url member of exactly n bytes.
func decodeB64(field, s string, n int) ([]byte, error) {
	if s == "" {
		return nil, keyErr(field, "missing")
	}
	if strings.ContainsAny(s, "=+/") {
		return nil, keyErr(field, "not unpadded base64url")
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, keyErr(field, "not base64url")
	}
	if len(b) != n {
		return nil, keyErr(field, fmt.Sprintf("%d bytes, want %d", len(b), n))
	}
	return b, nil
}
