package jose

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"math/big"

	"github.com/btcsuite/btcd/btcec/v2"
	becdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"
)

// key is a parsed JWK: the typed crypto key for its curve, public and maybe private.
type key struct {
	curve    Curve
	edPub    ed25519.PublicKey
	edPriv   ed25519.PrivateKey
	k1Pub    *btcec.PublicKey
	k1Priv   *btcec.PrivateKey
	p256Pub  *ecdsa.PublicKey
	p256Priv *ecdsa.PrivateKey
	xPub     *ecdh.PublicKey
	xPriv    *ecdh.PrivateKey
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
		case Secp256k1, P256:
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
		return parseP256(k)
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

// uncompressedPoint returns the SEC 1 uncompressed encoding (0x04 || x || y) of an EC JWK's
// 32-byte coordinates.
func uncompressedPoint(k JWK) ([]byte, error) {
	x, err := decodeB64("x", k.X, 32)
	if err != nil {
		return nil, err
	}
	y, err := decodeB64("y", k.Y, 32)
	if err != nil {
		return nil, err
	}
	raw := make([]byte, 65)
	raw[0] = 4
	copy(raw[1:], x)
	copy(raw[33:], y)
	return raw, nil
}

func parseSecp256k1(k JWK) (*key, error) {
	raw, err := uncompressedPoint(k)
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

func parseP256(k JWK) (*key, error) {
	raw, err := uncompressedPoint(k)
	if err != nil {
		return nil, err
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return nil, keyErr("x", "point is not on P-256")
	}
	out := &key{curve: P256, p256Pub: pub}
	if k.D == "" {
		return out, nil
	}
	d, err := decodeB64("d", k.D, 32)
	if err != nil {
		return nil, err
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		return nil, keyErr("d", "scalar is zero or not below the group order")
	}
	if !priv.PublicKey.Equal(pub) {
		return nil, keyErr("d", "does not match x and y")
	}
	out.p256Priv = priv
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
	case P256:
		if k.p256Priv == nil {
			return nil, ErrPrivateKeyExpected
		}
		h := sha256.Sum256(data)
		r, s, err := ecdsa.Sign(rand.Reader, k.p256Priv, h[:])
		if err != nil {
			return nil, fmt.Errorf("jose: sign: %w", err)
		}
		// Emit the low-S form, as for ES256K, so the SDK's own tokens have one signature.
		if n := elliptic.P256().Params().N; s.Cmp(new(big.Int).Rsh(n, 1)) > 0 {
			s.Sub(n, s)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
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
	case P256:
		if len(sig) != 64 {
			return ErrInvalidSignature
		}
		h := sha256.Sum256(data)
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(k.p256Pub, h[:], r, s) {
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
	case P256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
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
		return JWK{KeyType: KeyTypeEC, Curve: P256, X: b64.EncodeToString(raw[1:33]), Y: b64.EncodeToString(raw[33:]), D: b64.EncodeToString(d)}, nil
	}
	return JWK{}, &KeyError{Field: "crv", Reason: fmt.Sprintf("%q", c), Err: ErrUnsupportedKey}
}

// PublicJWK builds the public JWK of a raw public key on curve c: 32 bytes for Ed25519 and
// X25519, a 33-byte compressed or 65-byte uncompressed SEC1 point for secp256k1 and P-256.
// The point is checked to lie on the curve.
func PublicJWK(c Curve, raw []byte) (JWK, error) {
	switch c {
	case Ed25519:
		if len(raw) != ed25519.PublicKeySize {
			return JWK{}, keyErr("x", fmt.Sprintf("Ed25519 public key is %d bytes, want 32", len(raw)))
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
	case P256:
		u, err := p256Uncompressed(raw)
		if err != nil {
			return JWK{}, err
		}
		return JWK{KeyType: KeyTypeEC, Curve: P256, X: b64.EncodeToString(u[1:33]), Y: b64.EncodeToString(u[33:])}, nil
	}
	return JWK{}, &KeyError{Field: "crv", Reason: fmt.Sprintf("%q", c), Err: ErrUnsupportedKey}
}

// PublicKeyBytes returns the raw public key: 32 bytes for Ed25519 and X25519, the 33-byte
// compressed SEC1 point for secp256k1 and P-256.
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
		u, err := pk.p256Pub.Bytes()
		if err != nil {
			return nil, keyErr("x", err.Error())
		}
		out := make([]byte, 33)
		out[0] = 2 | u[64]&1
		copy(out[1:], u[1:33])
		return out, nil
	}
}

// p256Uncompressed returns the 65-byte uncompressed form of a P-256 point given compressed
// or uncompressed, validating it.
func p256Uncompressed(raw []byte) ([]byte, error) {
	var u []byte
	switch {
	case len(raw) == 65 && raw[0] == 4:
		u = raw
	case len(raw) == 33 && (raw[0] == 2 || raw[0] == 3):
		params := elliptic.P256().Params()
		p := params.P
		x := new(big.Int).SetBytes(raw[1:])
		if x.Cmp(p) >= 0 {
			return nil, keyErr("x", "P-256 x coordinate out of range")
		}
		// y² = x³ - 3x + b (mod p); p ≡ 3 (mod 4) so y = (y²)^((p+1)/4).
		y2 := new(big.Int).Exp(x, big.NewInt(3), p)
		y2.Sub(y2, new(big.Int).Mul(x, big.NewInt(3)))
		y2.Add(y2, params.B)
		y2.Mod(y2, p)
		e := new(big.Int).Add(p, big.NewInt(1))
		e.Rsh(e, 2)
		y := new(big.Int).Exp(y2, e, p)
		if y.Bit(0) != uint(raw[0]&1) {
			y.Sub(p, y)
		}
		u = make([]byte, 65)
		u[0] = 4
		x.FillBytes(u[1:33])
		y.FillBytes(u[33:])
	default:
		return nil, keyErr("x", fmt.Sprintf("P-256 point of %d bytes is neither compressed nor uncompressed", len(raw)))
	}
	if _, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), u); err != nil {
		return nil, keyErr("x", "point is not on P-256")
	}
	return u, nil
}
