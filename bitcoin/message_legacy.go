package bitcoin

import (
	"bytes"
	"encoding/base64"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// Legacy message signing: Bitcoin Core's signmessage/verifymessage and the BIP-137
// extension of its header byte to segwit addresses.

const legacyMagic = "Bitcoin Signed Message:\n"

// legacyHash is double-SHA256 of the magic and the message, each with a compact size.
func legacyHash(msg string) []byte {
	var b bytes.Buffer
	_ = wire.WriteVarString(&b, 0, legacyMagic)
	_ = wire.WriteVarString(&b, 0, msg)
	return chainhash.DoubleHashB(b.Bytes())
}

// BIP-137 header bytes: 27 + recovery id, plus 4 for a compressed P2PKH key, 8 for
// P2SH-P2WPKH, 12 for P2WPKH.
const (
	headerP2PKHUncompressed = 27
	headerP2PKHCompressed   = 31
	headerP2SHP2WPKH        = 35
	headerP2WPKH            = 39
)

// SignMessageLegacy returns the base64 compact signature of msg by key for addr
// (BIP-137): a P2PKH address of the key's compressed form, its P2SH-P2WPKH or its P2WPKH.
// Prefer SignMessage (BIP-322) for new signatures.
func SignMessageLegacy(key *btcec.PrivateKey, addr Address, msg string) (string, error) {
	if key == nil {
		return "", fmt.Errorf("%w: nil private key", ErrInvalidKey)
	}
	pub := key.PubKey()
	var header byte
	var want Address
	var err error
	switch addr.Type() {
	case P2PKH:
		header = headerP2PKHCompressed
		want, err = NewP2PKH(pub, addr.Network())
	case P2SH:
		header = headerP2SHP2WPKH
		want, err = NewP2SHP2WPKH(pub, addr.Network())
	case P2WPKH:
		header = headerP2WPKH
		want, err = NewP2WPKH(pub, addr.Network())
	default:
		return "", fmt.Errorf("%w: legacy signatures cover P2PKH, P2SH-P2WPKH and P2WPKH, not %s", ErrAddressNoKey, addr.Type())
	}
	if err != nil {
		return "", err
	}
	if !want.Equal(addr) {
		return "", fmt.Errorf("%w: the key does not control %s", ErrInvalidKey, addr)
	}
	sig := ecdsa.SignCompact(key, legacyHash(msg), true)
	sig[0] = sig[0] - headerP2PKHCompressed + header
	return base64.StdEncoding.EncodeToString(sig), nil
}

// signLegacy is BIP-322's legacy format: P2PKH only.
func signLegacy(key *btcec.PrivateKey, addr Address, msg string) (string, error) {
	pub := key.PubKey()
	if want, _ := NewP2PKH(pub, addr.Network()); !want.Equal(addr) {
		// An uncompressed key's P2PKH address.
		if !bytes.Equal(addr.program, hash160(pub.SerializeUncompressed())) {
			return "", fmt.Errorf("%w: the key does not control %s", ErrInvalidKey, addr)
		}
		sig := ecdsa.SignCompact(key, legacyHash(msg), false)
		return base64.StdEncoding.EncodeToString(sig), nil
	}
	return SignMessageLegacy(key, addr, msg)
}

// VerifyMessageLegacy checks a legacy signature of msg for addr and returns nil when it is
// valid. It follows Bitcoin Core's verifymessage for P2PKH addresses and accepts the BIP-137
// headers for P2SH-P2WPKH (35–38) and P2WPKH (39–42). Errors, in Core's order:
// ErrAddressNoKey (an address type with no key, or a P2SH/P2WPKH address without a BIP-137
// segwit signature), *SignatureError (not 65 bytes of base64), ErrPubKeyNotRecovered,
// ErrNotSigned. Unlike Core, it also refuses, with a *SignatureError, a signature whose s is
// above half the group order: the malleated twin of a genuine signature.
func VerifyMessageLegacy(addr Address, msg, sig string) error {
	switch addr.Type() {
	case P2PKH, P2SH, P2WPKH:
	default:
		return fmt.Errorf("%w: %s", ErrAddressNoKey, addr.Type())
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(raw) != 65 {
		if addr.Type() != P2PKH {
			return fmt.Errorf("%w: %s address without a BIP-137 segwit signature", ErrAddressNoKey, addr.Type())
		}
		if err != nil {
			return &SignatureError{Format: FormatLegacy, Reason: "error decoding signature as base64: " + err.Error()}
		}
		return &SignatureError{Format: FormatLegacy, Reason: fmt.Sprintf("signature is %d bytes, want 65", len(raw))}
	}
	// (r, n-s) recovers the same key as (r, s): a second valid signature that no honest
	// signer makes (they all produce low s). Refusing it keeps signatures unmalleable.
	var sv btcec.ModNScalar
	if overflow := sv.SetByteSlice(raw[33:65]); overflow || sv.IsOverHalfOrder() {
		return &SignatureError{Format: FormatLegacy, Reason: "high-S signature (a malleated copy of a low-S one)"}
	}
	header := raw[0]
	kind := P2PKH
	switch {
	case header >= headerP2SHP2WPKH && header < headerP2WPKH:
		kind = P2SH
	case header >= headerP2WPKH && header < headerP2WPKH+4:
		kind = P2WPKH
	}
	if kind == P2PKH && addr.Type() != P2PKH {
		return fmt.Errorf("%w: %s address with a P2PKH signature header", ErrAddressNoKey, addr.Type())
	}
	// Normalise the header to btcec's 27–34 range; segwit headers are compressed keys.
	norm := bytes.Clone(raw)
	if kind != P2PKH {
		norm[0] = headerP2PKHCompressed + (header-headerP2PKHUncompressed)&3
	}
	pub, compressed, err := ecdsa.RecoverCompact(norm, legacyHash(msg))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPubKeyNotRecovered, err)
	}
	var got Address
	switch kind {
	case P2PKH:
		ser := pub.SerializeUncompressed()
		if compressed {
			ser = pub.SerializeCompressed()
		}
		got = Address{typ: P2PKH, net: addr.net, program: hash160(ser)}
	case P2SH:
		got, _ = NewP2SHP2WPKH(pub, addr.net)
	case P2WPKH:
		got, _ = NewP2WPKH(pub, addr.net)
	}
	if !got.Equal(addr) {
		return ErrNotSigned
	}
	return nil
}
