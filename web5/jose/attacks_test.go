package jose

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
)

// TestAttacks lists the attacks on parsing and verifying JOSE objects, one named row each:
// headers, claim sets and keys that say one thing two ways, algorithm confusion, malleable
// signatures, stale tokens and hostile sizes.
func TestAttacks(t *testing.T) {
	ctx := context.Background()
	keys := map[Curve]JWK{}
	signers := map[Curve]Signer{}
	for _, c := range []Curve{Ed25519, Secp256k1, P256, P384, P521} {
		k, err := generate(c)
		if err != nil {
			t.Fatal(err)
		}
		keys[c] = k
		if signers[c], err = NewSigner(k); err != nil {
			t.Fatal(err)
		}
	}
	pub := func(c Curve) JWK { return keys[c].Public() }
	sign := func(c Curve, header, payload string) string {
		input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
		sig, err := signers[c].Sign(ctx, []byte(input))
		if err != nil {
			t.Fatal(err)
		}
		return input + "." + b64.EncodeToString(sig)
	}
	flipS := func(tok string, n *big.Int) string {
		parts := strings.Split(tok, ".")
		sig, _ := b64.DecodeString(parts[2])
		half := len(sig) / 2
		s := new(big.Int).SetBytes(sig[half:])
		high := append(append([]byte(nil), sig[:half]...), new(big.Int).Sub(n, s).FillBytes(make([]byte, half))...)
		return parts[0] + "." + parts[1] + "." + b64.EncodeToString(high)
	}
	// withMember returns the public key of c with one member replaced.
	withMember := func(c Curve, member string, value []byte) JWK {
		k := pub(c)
		switch member {
		case "x":
			k.X = b64.EncodeToString(value)
		case "y":
			k.Y = b64.EncodeToString(value)
		}
		return k
	}
	coord := func(c Curve, member string) []byte {
		k := pub(c)
		v := k.X
		if member == "y" {
			v = k.Y
		}
		b, _ := b64.DecodeString(v)
		return b
	}
	verify := func(tok string, k JWK) error {
		j, err := ParseJWS(tok)
		if err != nil {
			return err
		}
		return j.Verify(k)
	}

	type row struct {
		name string
		err  func() error
		want []error
	}
	dupHeader := func(members string) func() error {
		return func() error { return verify(sign(Ed25519, `{"alg":"EdDSA",`+members+`}`, "x"), pub(Ed25519)) }
	}
	dupClaims := func(claims string) func() error {
		return func() error { _, err := ParseJWT(sign(Ed25519, `{"alg":"EdDSA"}`, claims)); return err }
	}
	rows := []row{
		{"header kid and KID", dupHeader(`"kid":"a","KID":"b"`), []error{ErrDuplicateMember, ErrMalformed}},
		{"header KID and kid", dupHeader(`"KID":"b","kid":"a"`), []error{ErrDuplicateMember}},
		{"header kid and Kid", dupHeader(`"kid":"a","Kid":"b"`), []error{ErrDuplicateMember}},
		{"header kid and Kelvin-sign kid (escaped)", dupHeader(`"kid":"a","\u212Aid":"b"`), []error{ErrDuplicateMember}},
		{"header kid and Kelvin-sign kid (raw)", dupHeader("\"kid\":\"a\",\"\u212Aid\":\"b\""), []error{ErrDuplicateMember}},
		{"header kid twice", dupHeader(`"kid":"a","kid":"b"`), []error{ErrDuplicateMember}},
		{"header alg and Alg", dupHeader(`"Alg":"none"`), []error{ErrDuplicateMember}},
		{"header typ and TYP", dupHeader(`"typ":"JWT","TYP":"vc+jwt"`), []error{ErrDuplicateMember}},
		{"header KID alone (not the kid, read as one by case-insensitive readers)", dupHeader(`"KID":"did:example:alice#0"`), []error{ErrMalformed}},
		{"header Alg alone", func() error { return verify(sign(Ed25519, `{"Alg":"EdDSA","alg":"EdDSA"}`, "x"), pub(Ed25519)) }, []error{ErrDuplicateMember}},
		{"claims iss and ISS", dupClaims(`{"iss":"a","ISS":"b"}`), []error{ErrDuplicateMember}},
		{"claims ISS alone", dupClaims(`{"ISS":"did:example:alice"}`), []error{ErrInvalidClaim}},
		{"claims exp twice", dupClaims(`{"exp":1,"exp":99999999999}`), []error{ErrDuplicateMember}},
		{"claims nested members in two cases", dupClaims(`{"vc":{"issuer":"a","Issuer":"b"}}`), []error{ErrDuplicateMember}},
		{"JWK x and X", func() error {
			_, err := ParseJWK([]byte(`{"kty":"OKP","crv":"Ed25519","x":` + q(pub(Ed25519).X) + `,"X":"AAAA"}`))
			return err
		}, []error{ErrDuplicateMember}},
		{"JWK with only X (names are case-sensitive)", func() error {
			_, err := ParseJWK([]byte(`{"kty":"OKP","crv":"Ed25519","X":` + q(pub(Ed25519).X) + `}`))
			return err
		}, []error{ErrInvalidKey}},
		{"DecodeClaims: ISS fills no Issuer", func() error {
			tok, err := ParseJWT(sign(Ed25519, `{"alg":"EdDSA"}`, `{"ISS":"did:example:mallory"}`))
			if err != nil {
				return err
			}
			var c Claims
			return tok.DecodeClaims(&c)
		}, []error{ErrInvalidClaim}},
		{"signing a header parameter named KID", func() error {
			_, err := SignJWS(ctx, signers[Ed25519], []byte("x"), WithHeader("KID", "did:example:alice#0"))
			return err
		}, nil},
		{"signing two header parameters differing in case", func() error {
			_, err := SignJWS(ctx, signers[Ed25519], []byte("x"), WithHeader("nonce", "a"), WithHeader("Nonce", "b"))
			return err
		}, []error{ErrDuplicateMember}},
		{"signing claims iss and ISS", func() error {
			_, err := SignJWT(ctx, signers[Ed25519], map[string]any{"iss": "a", "ISS": "b"})
			return err
		}, []error{ErrDuplicateMember}},
		{"alg none", func() error { return verify(b64.EncodeToString([]byte(`{"alg":"none"}`))+".eA.AA", pub(Ed25519)) }, []error{ErrUnsupportedAlgorithm}},
		{"HS256 keyed with the public key", func() error {
			input := b64.EncodeToString([]byte(`{"alg":"HS256"}`)) + "." + b64.EncodeToString([]byte("x"))
			mac := hmac.New(sha256.New, []byte(pub(Ed25519).X))
			mac.Write([]byte(input))
			return verify(input+"."+b64.EncodeToString(mac.Sum(nil)), pub(Ed25519))
		}, []error{ErrUnsupportedAlgorithm}},
		{"RS256", func() error { return verify(sign(Ed25519, `{"alg":"RS256"}`, "x"), pub(Ed25519)) }, []error{ErrUnsupportedAlgorithm}},
		{"curve swap: ES256K header on an Ed25519 key", func() error { return verify(sign(Secp256k1, `{"alg":"ES256K"}`, "x"), pub(Ed25519)) }, []error{ErrAlgorithmMismatch}},
		{"curve swap: ES256 header on a secp256k1 key", func() error { return verify(sign(Secp256k1, `{"alg":"ES256"}`, "x"), pub(Secp256k1)) }, []error{ErrAlgorithmMismatch}},
		{"curve swap: ES256K header on a P-256 key", func() error { return verify(sign(P256, `{"alg":"ES256K"}`, "x"), pub(P256)) }, []error{ErrAlgorithmMismatch}},
		{"curve swap: EdDSA header on a P-256 key", func() error { return verify(sign(Ed25519, `{"alg":"EdDSA"}`, "x"), pub(P256)) }, []error{ErrAlgorithmMismatch}},
		{"curve swap: ES256 header on a P-384 key", func() error { return verify(sign(P256, `{"alg":"ES256"}`, "x"), pub(P384)) }, []error{ErrAlgorithmMismatch}},
		{"curve swap: ES384 header on a P-256 key", func() error { return verify(sign(P384, `{"alg":"ES384"}`, "x"), pub(P256)) }, []error{ErrAlgorithmMismatch}},
		{"curve swap: ES512 header on a P-384 key", func() error { return verify(sign(P521, `{"alg":"ES512"}`, "x"), pub(P384)) }, []error{ErrAlgorithmMismatch}},
		{"curve swap: ES384 header on a P-521 key", func() error { return verify(sign(P384, `{"alg":"ES384"}`, "x"), pub(P521)) }, []error{ErrAlgorithmMismatch}},
		{"alg ES521 (not a JWS algorithm)", func() error { return verify(sign(P521, `{"alg":"ES521"}`, "x"), pub(P521)) }, []error{ErrUnsupportedAlgorithm}},
		{"key alg ES384 pinned, header ES512", func() error {
			k := pub(P521)
			k.Algorithm = AlgES384
			return verify(sign(P521, `{"alg":"ES512"}`, "x"), k)
		}, []error{ErrAlgorithmMismatch}},
		{"P-384 signature verified as P-521 (same bytes, other curve)", func() error {
			tok := sign(P384, `{"alg":"ES384"}`, "x")
			parts := strings.Split(tok, ".")
			return verify(b64.EncodeToString([]byte(`{"alg":"ES512"}`))+"."+parts[1]+"."+parts[2], pub(P521))
		}, []error{ErrInvalidSignature}},
		{"P-384 x of 32 bytes (a P-256-sized coordinate)", func() error { return withMember(P384, "x", coord(P256, "x")).Validate() }, []error{ErrInvalidKey}},
		{"P-521 x of 65 bytes (leading zero byte dropped)", func() error { return withMember(P521, "x", coord(P521, "x")[1:]).Validate() }, []error{ErrInvalidKey}},
		{"P-521 y of 67 bytes (zero byte prepended)", func() error { return withMember(P521, "y", append([]byte{0}, coord(P521, "y")...)).Validate() }, []error{ErrInvalidKey}},
		{"P-384 point off the curve", func() error {
			y := coord(P384, "y")
			y[len(y)-1] ^= 1
			return withMember(P384, "y", y).Validate()
		}, []error{ErrInvalidKey}},
		{"P-521 point off the curve", func() error {
			x := coord(P521, "x")
			x[len(x)-1] ^= 1
			return withMember(P521, "x", x).Validate()
		}, []error{ErrInvalidKey}},
		{"P-384 coordinate at the field prime", func() error {
			return withMember(P384, "x", elliptic.P384().Params().P.FillBytes(make([]byte, 48))).Validate()
		}, []error{ErrInvalidKey}},
		{"P-384 key under crv P-521", func() error {
			k := pub(P384)
			k.Curve = P521
			return k.Validate()
		}, []error{ErrInvalidKey}},
		{"P-521 private scalar of another key", func() error {
			k := keys[P521]
			other, _ := generate(P521)
			k.D = other.D
			return k.Validate()
		}, []error{ErrInvalidKey}},
		{"P-384 private scalar equal to the group order", func() error {
			k := keys[P384]
			k.D = b64.EncodeToString(elliptic.P384().Params().N.FillBytes(make([]byte, 48)))
			return k.Validate()
		}, []error{ErrInvalidKey}},
		{"P-384 compressed point with x not on the curve", func() error {
			x := coord(P384, "x")
			for i := 0; i < 256; i++ { // find an x with no y on the curve
				x[len(x)-1] = byte(i)
				if _, err := PublicJWK(P384, append([]byte{2}, x...)); err != nil {
					return err
				}
			}
			return nil
		}, []error{ErrInvalidKey}},
		{"truncated ES384 signature", func() error {
			parts := strings.Split(sign(P384, `{"alg":"ES384"}`, "x"), ".")
			sig, _ := b64.DecodeString(parts[2])
			return verify(parts[0]+"."+parts[1]+"."+b64.EncodeToString(sig[:95]), pub(P384))
		}, []error{ErrInvalidSignature}},
		{"ES512 signature with S = 0", func() error {
			parts := strings.Split(sign(P521, `{"alg":"ES512"}`, "x"), ".")
			sig, _ := b64.DecodeString(parts[2])
			zero := append(append([]byte(nil), sig[:66]...), make([]byte, 66)...)
			return verify(parts[0]+"."+parts[1]+"."+b64.EncodeToString(zero), pub(P521))
		}, []error{ErrInvalidSignature}},
		{"Ed25519 key y = p (non-canonical encoding of 0)", func() error {
			raw := bytes.Repeat([]byte{0xff}, 32)
			raw[0], raw[31] = 0xed, 0x7f
			_, err := PublicJWK(Ed25519, raw)
			return err
		}, []error{ErrInvalidKey}},
		{"Ed25519 key y = p + 1 (non-canonical encoding of the identity)", func() error {
			raw := bytes.Repeat([]byte{0xff}, 32)
			raw[0], raw[31] = 0xee, 0x7f
			_, err := PublicJWK(Ed25519, raw)
			return err
		}, []error{ErrInvalidKey}},
		{"Ed25519 identity point", func() error {
			raw := make([]byte, 32)
			raw[0] = 1
			_, err := PublicJWK(Ed25519, raw)
			return err
		}, []error{ErrInvalidKey}},
		{"Ed25519 identity with the sign bit (x = 0, negative)", func() error {
			raw := make([]byte, 32)
			raw[0], raw[31] = 1, 0x80
			_, err := PublicJWK(Ed25519, raw)
			return err
		}, []error{ErrInvalidKey}},
		{"Ed25519 (0, -1) with the sign bit (x = 0, negative)", func() error {
			raw := bytes.Repeat([]byte{0xff}, 32)
			raw[0] = 0xec // y = p - 1, sign bit set
			_, err := PublicJWK(Ed25519, raw)
			return err
		}, []error{ErrInvalidKey}},
		{"X25519 derived from a key that is not Ed25519", func() error { _, err := X25519FromEd25519(pub(P256)); return err }, []error{ErrInvalidKey}},
		{"X25519 derived from the Ed25519 identity", func() error {
			_, err := X25519FromEd25519(JWK{KeyType: KeyTypeOKP, Curve: Ed25519, X: b64.EncodeToString(append([]byte{1}, make([]byte, 31)...))})
			return err
		}, []error{ErrInvalidKey}},
		{"verifying with a private key", func() error { return verify(sign(Ed25519, `{"alg":"EdDSA"}`, "x"), keys[Ed25519]) }, []error{ErrPublicKeyExpected}},
		{"Mallory's signature under Alice's key", func() error {
			other, _ := generate(Ed25519)
			return verify(sign(Ed25519, `{"alg":"EdDSA"}`, "x"), other.Public())
		}, []error{ErrInvalidSignature}},
		{"high-S ES256K signature", func() error {
			tok := sign(Secp256k1, `{"alg":"ES256K"}`, "x")
			if err := verify(tok, pub(Secp256k1)); err != nil {
				t.Fatalf("the low-S original: %v", err)
			}
			return verify(flipS(tok, btcec.S256().N), pub(Secp256k1))
		}, []error{ErrHighS, ErrInvalidSignature}},
		{"S = 0 and S = n", func() error {
			tok := sign(Secp256k1, `{"alg":"ES256K"}`, "x")
			parts := strings.Split(tok, ".")
			sig, _ := b64.DecodeString(parts[2])
			zero := append(append([]byte(nil), sig[:32]...), make([]byte, 32)...)
			if err := verify(parts[0]+"."+parts[1]+"."+b64.EncodeToString(zero), pub(Secp256k1)); !errors.Is(err, ErrInvalidSignature) {
				return errors.New("S = 0 not refused")
			}
			n := append(append([]byte(nil), sig[:32]...), btcec.S256().N.Bytes()...)
			return verify(parts[0]+"."+parts[1]+"."+b64.EncodeToString(n), pub(Secp256k1))
		}, []error{ErrInvalidSignature}},
		{"truncated ECDSA signature", func() error {
			parts := strings.Split(sign(P256, `{"alg":"ES256"}`, "x"), ".")
			sig, _ := b64.DecodeString(parts[2])
			return verify(parts[0]+"."+parts[1]+"."+b64.EncodeToString(sig[:63]), pub(P256))
		}, []error{ErrInvalidSignature}},
		{"expired token", func() error {
			c := Claims{Expiry: NewNumericDate(time.Unix(1000, 0))}
			return c.Validate()
		}, []error{ErrTokenExpired}},
		{"not-yet-valid token", func() error {
			c := Claims{NotBefore: NewNumericDate(time.Now().Add(time.Hour))}
			return c.Validate()
		}, []error{ErrTokenNotYetValid}},
		{"token issued in the future", func() error {
			c := Claims{IssuedAt: NewNumericDate(time.Now().Add(time.Hour))}
			return c.Validate()
		}, []error{ErrTokenIssuedInFuture}},
		{"token for another audience", func() error {
			c := Claims{Audience: Audience{"did:example:other"}}
			return c.Validate(WithAudience("did:example:me"))
		}, []error{ErrInvalidClaim}},
		{"claim of the wrong type", dupClaims(`{"exp":"tomorrow"}`), []error{ErrInvalidClaim}},
		{"100k-deep header", func() error {
			return verify(sign(Ed25519, `{"alg":"EdDSA","x":`+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`}`, "x"), pub(Ed25519))
		}, []error{ErrMalformed}},
		{"100k-deep claims", dupClaims(`{"x":` + strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000) + `}`), []error{ErrInvalidClaim}},
		{"token over MaxTokenSize", func() error { _, err := ParseJWS(strings.Repeat("a", MaxTokenSize+1)); return err }, []error{ErrMalformed}},
		{"critical extension", func() error { return verify(sign(Ed25519, `{"alg":"EdDSA","crit":["x"],"x":1}`, "x"), pub(Ed25519)) }, []error{ErrMalformed}},
		{"unencoded payload (b64 false)", func() error { return verify(sign(Ed25519, `{"alg":"EdDSA","b64":false}`, "x"), pub(Ed25519)) }, []error{ErrMalformed}},
		{"JWE (five parts)", func() error { _, err := ParseJWS("a.b.c.d.e"); return err }, []error{ErrMalformed}},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Fatalf("refused with %v, want an error matching %v", err, w)
				}
			}
		})
	}

	// Decided, not an oversight: ES256, ES384 and ES512 accept the high-S twin (see the
	// package documentation), while the package's own signatures are low-S.
	for _, c := range []struct {
		crv   Curve
		alg   string
		curve elliptic.Curve
	}{{P256, AlgES256, elliptic.P256()}, {P384, AlgES384, elliptic.P384()}, {P521, AlgES512, elliptic.P521()}} {
		t.Run(c.alg+" high-S twin verifies; own signatures are low-S", func(t *testing.T) {
			n := c.curve.Params().N
			for range 16 {
				tok := sign(c.crv, `{"alg":"`+c.alg+`"}`, "x")
				sig, _ := b64.DecodeString(strings.Split(tok, ".")[2])
				if new(big.Int).SetBytes(sig[len(sig)/2:]).Cmp(new(big.Int).Rsh(n, 1)) > 0 {
					t.Fatal("the signer produced a high-S signature")
				}
				if err := verify(flipS(tok, n), pub(c.crv)); err != nil {
					t.Fatalf("high-S %s: %v", c.alg, err)
				}
			}
		})
	}
}

func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
