package jose

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"hash"
	"math/big"

	"github.com/btcsuite/btcd/btcec/v2"
	becdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"
)

// key is a parsed JWK: the typed crypto key for its curve, public and maybe private.
type key struct {
	curve  Curve
	edPub  ed25519.PublicKey
	edPriv ed25519.PrivateKey
	k1Pub  *btcec.PublicKey
	k1Priv *btcec.PrivateKey
	ecPub  *ecdsa.PublicKey // P-256, P-384, P-521
	ecPriv *ecdsa.PrivateKey
	xPub   *ecdh.PublicKey
	xPriv  *ecdh.PrivateKey
}

// parseKey validates k and returns its typed form.
func parseKey(k JWK) (*key, error) {
	switch k.KeyType {
	case KeyTypeOKP:
		switch k.Curve {
		case Ed25519, X25519:
		case "":
			return nil, keyErr("crv", "missing")
		default:
			return nil, &KeyError{Field: "crv", Reason: fmt.Sprintf("%q is not an OKP curve this package supports", k.Curve), Err: ErrUnsupportedKey}
		}
		if k.Y != "" {
			return nil, keyErr("y", "OKP keys have no y")
		}
	case KeyTypeEC:
		switch k.Curve {
		case Secp256k1, P256, P384, P521:
		case "":
			return nil, keyErr("crv", "missing")
		default:
			return nil, &KeyError{Field: "crv", Reason: fmt.Sprintf("%q is not an EC curve this package supports", k.Curve), Err: ErrUnsupportedKey}
		}
	case "":
		return nil, keyErr("kty", "missing")
	default:
		return nil, &KeyError{Field: "kty", Reason: fmt.Sprintf("%q", k.KeyType), Err: ErrUnsupportedKey}
	}
	switch k.Curve {
	case Ed25519:
		return parseEd25519(k)
	case X25519:
		return parseX25519(k)
	case Secp256k1:
		return parseSecp256k1(k)
	default:
		return parseNIST(k)
	}
}

func parseEd25519(k JWK) (*key, error) {
	x, err := decodeB64("x", k.X, ed25519.PublicKeySize)
	if err != nil {
		return nil, err
	}
	out := &key{curve: Ed25519, edPub: ed25519.PublicKey(x)}
	if k.D == "" {
		return out, nil
	}
	d, err := decodeB64("d", k.D, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	out.edPriv = ed25519.NewKeyFromSeed(d)
	if subtle.ConstantTimeCompare(out.edPriv.Public().(ed25519.PublicKey), x) != 1 {
		return nil, keyErr("d", "does not match x")
	}
	return out, nil
}

func parseX25519(k JWK) (*key, error) {
	x, err := decodeB64("x", k.X, 32)
	if err != nil {
		return nil, err
	}
	pub, err := ecdh.X25519().NewPublicKey(x)
	if err != nil {
		return nil, keyErr("x", err.Error())
	}
	out := &key{curve: X25519, xPub: pub}
	if k.D == "" {
		return out, nil
	}
	d, err := decodeB64("d", k.D, 32)
	if err != nil {
		return nil, err
	}
	priv, err := ecdh.X25519().NewPrivateKey(d)
	if err != nil {
		return nil, keyErr("d", err.Error())
	}
	if !priv.PublicKey().Equal(pub) {
		return nil, keyErr("d", "does not match x")
	}
	out.xPriv = priv
	return out, nil
}

// uncompressedPoint returns the SEC 1 uncompressed encoding (0x04 || x || y) of an EC JWK
// whose coordinates are n bytes each (RFC 7518 §6.2.1.2: exactly the size of the field).
func uncompressedPoint(k JWK, n int) ([]byte, error) {
	x, err := decodeB64("x", k.X, n)
	if err != nil {
		return nil, err
	}
	y, err := decodeB64("y", k.Y, n)
	if err != nil {
		return nil, err
	}
	raw := make([]byte, 1+2*n)
	raw[0] = 4
	copy(raw[1:], x)
	copy(raw[1+n:], y)
	return raw, nil
}

// nistCurves are the NIST curves, with the size in bytes of a coordinate (and of a private
// scalar) and the hash their JWS algorithm uses.
var nistCurves = map[Curve]struct {
	curve elliptic.Curve
	size  int
	hash  func() hash.Hash
}{
	P256: {elliptic.P256(), 32, sha256.New},
	P384: {elliptic.P384(), 48, sha512.New384},
	P521: {elliptic.P521(), 66, sha512.New},
}

func parseSecp256k1(k JWK) (*key, error) {
	raw, err := uncompressedPoint(k, 32)
	if err != nil {
		return nil, err
	}
	pub, err := btcec.ParsePubKey(raw)
	if err != nil {
		return nil, keyErr("x", "point is not on secp256k1")
	}
	out := &key{curve: Secp256k1, k1Pub: pub}
	if k.D == "" {
		return out, nil
	}
	d, err := decodeB64("d", k.D, 32)
	if err != nil {
		return nil, err
	}
	var s btcec.ModNScalar
	if overflow := s.SetByteSlice(d); overflow || s.IsZero() {
		return nil, keyErr("d", "scalar is zero or not below the group order")
	}
	priv, derived := btcec.PrivKeyFromBytes(d)
	if !derived.IsEqual(pub) {
		return nil, keyErr("d", "does not match x and y")
	}
	out.k1Priv = priv
	return out, nil
}

func parseNIST(k JWK) (*key, error) {
	nc := nistCurves[k.Curve]
	raw, err := uncompressedPoint(k, nc.size)
	if err != nil {
		return nil, err
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(nc.curve, raw)
	if err != nil {
		return nil, keyErr("x", "point is not on "+string(k.Curve))
	}
	out := &key{curve: k.Curve, ecPub: pub}
	if k.D == "" {
		return out, nil
	}
	d, err := decodeB64("d", k.D, nc.size)
	if err != nil {
		return nil, err
	}
	priv, err := ecdsa.ParseRawPrivateKey(nc.curve, d)
	if err != nil {
		return nil, keyErr("d", "scalar is zero or not below the group order")
	}
	if !priv.PublicKey.Equal(pub) {
		return nil, keyErr("d", "does not match x and y")
	}
	out.ecPriv = priv
	return out, nil
}

// sign signs data with the private key.
func (k *key) sign(data []byte) ([]byte, error) {
	switch k.curve {
	case Ed25519:
		if k.edPriv == nil {
			return nil, ErrPrivateKeyExpected
		}
		return ed25519.Sign(k.edPriv, data), nil
	case Secp256k1:
		if k.k1Priv == nil {
			return nil, ErrPrivateKeyExpected
		}
		h := sha256.Sum256(data)
		// SignCompact is RFC 6979 deterministic and canonical (low-S); drop the recovery byte.
		sig := becdsa.SignCompact(k.k1Priv, h[:], true)
		return sig[1:], nil
	case P256, P384, P521:
		if k.ecPriv == nil {
			return nil, ErrPrivateKeyExpected
		}
		nc := nistCurves[k.curve]
		h := nc.hash()
		h.Write(data)
		r, s, err := ecdsa.Sign(rand.Reader, k.ecPriv, h.Sum(nil))
		if err != nil {
			return nil, fmt.Errorf("jose: sign: %w", err)
		}
		// Emit the low-S form, as for ES256K, so the SDK's own tokens have one signature.
		if n := nc.curve.Params().N; s.Cmp(new(big.Int).Rsh(n, 1)) > 0 {
			s.Sub(n, s)
		}
		out := make([]byte, 2*nc.size)
		r.FillBytes(out[:nc.size])
		s.FillBytes(out[nc.size:])
		return out, nil
	}
	return nil, fmt.Errorf("%w: %s keys do not sign", ErrUnsupportedAlgorithm, k.curve)
}

// verify checks a raw signature (R||S for ECDSA) over data.
func (k *key) verify(data, sig []byte) error {
	switch k.curve {
	case Ed25519:
		if len(sig) != ed25519.SignatureSize || !ed25519.Verify(k.edPub, data, sig) {
			return ErrInvalidSignature
		}
		return nil
	case Secp256k1:
		if len(sig) != 64 {
			return ErrInvalidSignature
		}
		var r, s btcec.ModNScalar
		if o := r.SetByteSlice(sig[:32]); o || r.IsZero() {
			return ErrInvalidSignature
		}
		if o := s.SetByteSlice(sig[32:]); o || s.IsZero() {
			return ErrInvalidSignature
		}
		if s.IsOverHalfOrder() {
			// (r, n-s) verifies whenever (r, s) does: accepting both would let anyone turn
			// a signed token into a second, different one.
			return &SignatureError{Algorithm: AlgES256K, Reason: "S is above half the group order (only low-S signatures are accepted)", Err: ErrHighS}
		}
		h := sha256.Sum256(data)
		if !becdsa.NewSignature(&r, &s).Verify(h[:], k.k1Pub) {
			return ErrInvalidSignature
		}
		return nil
	case P256, P384, P521:
		nc := nistCurves[k.curve]
		if len(sig) != 2*nc.size {
			return ErrInvalidSignature
		}
		h := nc.hash()
		h.Write(data)
		r := new(big.Int).SetBytes(sig[:nc.size])
		s := new(big.Int).SetBytes(sig[nc.size:])
		if !ecdsa.Verify(k.ecPub, h.Sum(nil), r, s) {
			return ErrInvalidSignature
		}
		return nil
	}
	return fmt.Errorf("%w: %s keys do not sign", ErrUnsupportedAlgorithm, k.curve)
}

// VerifySignature checks sig over data with the public key pub and algorithm alg.
// ECDSA signatures are the 64-byte R||S form JWS uses. An ES256K signature must be low-S
// (a high-S one is a *SignatureError matching ErrHighS); ES256 accepts both forms (see the
// package documentation). It returns an error matching ErrInvalidSignature when
// the signature does not verify, and another error when the key or algorithm is unusable:
// a private key (pass the public key), "none", HMAC, or an algorithm that does not fit the
// key type.
func VerifySignature(pub JWK, alg string, data, sig []byte) error {
	if pub.IsPrivate() {
		return ErrPublicKeyExpected
	}
	if err := checkAlgorithm(pub, alg); err != nil {
		return err
	}
	k, err := parseKey(pub)
	if err != nil {
		return err
	}
	return k.verify(data, sig)
}

// Signer signs bytes with one key. Algorithm is the JWS alg it produces and KeyID the kid
// a JWS header carries for it.
type Signer interface {
	Algorithm() string
	KeyID() string
	Sign(ctx context.Context, data []byte) ([]byte, error)
}

// keySigner is a Signer over a private key held in the process.
type keySigner struct {
	k     *key
	alg   string
	keyID string
}

// NewSigner returns a Signer for the private key k. The signer's KeyID is k.KeyID; its
// algorithm is the one AlgorithmFor gives for the key's curve.
func NewSigner(k JWK) (Signer, error) {
	if !k.IsPrivate() {
		return nil, ErrPrivateKeyExpected
	}
	pk, err := parseKey(k)
	if err != nil {
		return nil, err
	}
	alg := AlgorithmFor(k.Curve)
	if alg == "" {
		return nil, fmt.Errorf("%w: %s keys do not sign", ErrUnsupportedAlgorithm, k.Curve)
	}
	return &keySigner{k: pk, alg: alg, keyID: k.KeyID}, nil
}

func (s *keySigner) Algorithm() string { return s.alg }
func (s *keySigner) KeyID() string     { return s.keyID }
func (s *keySigner) Sign(ctx context.Context, data []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.k.sign(data)
}

// generate creates a new private key on curve c.
func generate(c Curve) (JWK, error) {
	switch c {
	case Ed25519:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return JWK{}, err
		}
		return JWK{KeyType: KeyTypeOKP, Curve: Ed25519, X: b64.EncodeToString(pub), D: b64.EncodeToString(priv.Seed())}, nil
	case X25519:
		priv, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			return JWK{}, err
		}
		return JWK{KeyType: KeyTypeOKP, Curve: X25519, X: b64.EncodeToString(priv.PublicKey().Bytes()), D: b64.EncodeToString(priv.Bytes())}, nil
	case Secp256k1:
		priv, err := btcec.NewPrivateKey()
		if err != nil {
			return JWK{}, err
		}
		raw := priv.PubKey().SerializeUncompressed()
		d := priv.Key.Bytes()
		return JWK{KeyType: KeyTypeEC, Curve: Secp256k1, X: b64.EncodeToString(raw[1:33]), Y: b64.EncodeToString(raw[33:]), D: b64.EncodeToString(d[:])}, nil
	case P256, P384, P521:
		nc := nistCurves[c]
		priv, err := ecdsa.GenerateKey(nc.curve, rand.Reader)
		if err != nil {
			return JWK{}, err
		}
		raw, err := priv.PublicKey.Bytes()
		if err != nil {
			return JWK{}, err
		}
		d, err := priv.Bytes()
		if err != nil {
			return JWK{}, err
		}
		return JWK{KeyType: KeyTypeEC, Curve: c, X: b64.EncodeToString(raw[1 : 1+nc.size]), Y: b64.EncodeToString(raw[1+nc.size:]), D: b64.EncodeToString(d)}, nil
	}
	return JWK{}, &KeyError{Field: "crv", Reason: fmt.Sprintf("%q", c), Err: ErrUnsupportedKey}
}

// PublicJWK builds the public JWK of a raw public key on curve c: 32 bytes for Ed25519 and
// X25519, a compressed or uncompressed SEC 1 point for secp256k1, P-256, P-384 and P-521
// (33 or 65, 33 or 65, 49 or 97, 67 or 133 bytes). An EC point is checked to lie on the
// curve. An Ed25519 key is checked to be canonically encoded (y below the field prime) and
// not the identity point; whether its 32 bytes name a point of the curve — a square root,
// which would triple the cost of reading a did:key — is checked by crypto/ed25519 when a
// signature is verified with it: a key that is no point verifies no signature.
func PublicJWK(c Curve, raw []byte) (JWK, error) {
	switch c {
	case Ed25519:
		if len(raw) != ed25519.PublicKeySize {
			return JWK{}, keyErr("x", fmt.Sprintf("Ed25519 public key is %d bytes, want 32", len(raw)))
		}
		if _, err := edwardsY(raw); err != nil {
			return JWK{}, err
		}
		return JWK{KeyType: KeyTypeOKP, Curve: Ed25519, X: b64.EncodeToString(raw)}, nil
	case X25519:
		if _, err := ecdh.X25519().NewPublicKey(raw); err != nil {
			return JWK{}, keyErr("x", err.Error())
		}
		return JWK{KeyType: KeyTypeOKP, Curve: X25519, X: b64.EncodeToString(raw)}, nil
	case Secp256k1:
		pub, err := btcec.ParsePubKey(raw)
		if err != nil {
			return JWK{}, keyErr("x", "not a secp256k1 point: "+err.Error())
		}
		u := pub.SerializeUncompressed()
		return JWK{KeyType: KeyTypeEC, Curve: Secp256k1, X: b64.EncodeToString(u[1:33]), Y: b64.EncodeToString(u[33:])}, nil
	case P256, P384, P521:
		u, err := nistUncompressed(c, raw)
		if err != nil {
			return JWK{}, err
		}
		n := nistCurves[c].size
		return JWK{KeyType: KeyTypeEC, Curve: c, X: b64.EncodeToString(u[1 : 1+n]), Y: b64.EncodeToString(u[1+n:])}, nil
	}
	return JWK{}, &KeyError{Field: "crv", Reason: fmt.Sprintf("%q", c), Err: ErrUnsupportedKey}
}

// PublicKeyBytes returns the raw public key: 32 bytes for Ed25519 and X25519, the compressed
// SEC 1 point for secp256k1 and P-256 (33 bytes), P-384 (49 bytes) and P-521 (67 bytes).
func (k JWK) PublicKeyBytes() ([]byte, error) {
	pk, err := parseKey(k.Public())
	if err != nil {
		return nil, err
	}
	switch pk.curve {
	case Ed25519:
		return append([]byte(nil), pk.edPub...), nil
	case X25519:
		return pk.xPub.Bytes(), nil
	case Secp256k1:
		return pk.k1Pub.SerializeCompressed(), nil
	default:
		u, err := pk.ecPub.Bytes()
		if err != nil {
			return nil, keyErr("x", err.Error())
		}
		n := nistCurves[pk.curve].size
		out := make([]byte, 1+n)
		out[0] = 2 | u[len(u)-1]&1
		copy(out[1:], u[1:1+n])
		return out, nil
	}
}

// nistUncompressed returns the uncompressed SEC 1 form of a point on NIST curve c given
// compressed or uncompressed, validating it.
func nistUncompressed(c Curve, raw []byte) ([]byte, error) {
	nc := nistCurves[c]
	var u []byte
	switch {
	case len(raw) == 1+2*nc.size && raw[0] == 4:
		u = raw
	case len(raw) == 1+nc.size && (raw[0] == 2 || raw[0] == 3):
		x, y := elliptic.UnmarshalCompressed(nc.curve, raw)
		if x == nil {
			return nil, keyErr("x", "point is not on "+string(c))
		}
		u = make([]byte, 1+2*nc.size)
		u[0] = 4
		x.FillBytes(u[1 : 1+nc.size])
		y.FillBytes(u[1+nc.size:])
	default:
		return nil, keyErr("x", fmt.Sprintf("%s point of %d bytes is neither compressed nor uncompressed", c, len(raw)))
	}
	if _, err := ecdsa.ParseUncompressedPublicKey(nc.curve, u); err != nil {
		return nil, keyErr("x", "point is not on "+string(c))
	}
	return u, nil
}
