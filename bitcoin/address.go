package bitcoin

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/btcutil/bech32"
	"github.com/btcsuite/btcd/txscript"
)

// AddressType is the kind of output an address pays to.
type AddressType uint8

// The address types. A P2SH-wrapped P2WPKH address is a P2SH address: the wrapping is not
// visible in the address (NewP2SHP2WPKH builds one).
const (
	P2PKH          AddressType = iota + 1 // pay to public key hash, base58 "1…"/"m…"
	P2SH                                  // pay to script hash, base58 "3…"/"2…"
	P2WPKH                                // segwit v0 key hash, bech32 "bc1q…"
	P2WSH                                 // segwit v0 script hash, bech32 "bc1q…"
	P2TR                                  // segwit v1 taproot, bech32m "bc1p…"
	WitnessUnknown                        // a future segwit version (2–16), bech32m
)

// String returns the type's lower-case name, e.g. "p2wpkh".
func (t AddressType) String() string {
	switch t {
	case P2PKH:
		return "p2pkh"
	case P2SH:
		return "p2sh"
	case P2WPKH:
		return "p2wpkh"
	case P2WSH:
		return "p2wsh"
	case P2TR:
		return "p2tr"
	case WitnessUnknown:
		return "witness_unknown"
	}
	return fmt.Sprintf("AddressType(%d)", uint8(t))
}

// Address is a decoded Bitcoin address bound to a network. The zero Address is invalid;
// obtain one from ParseAddress, DecodeAddress, AddressFromScript or a New… constructor.
// Addresses are immutable values.
type Address struct {
	typ     AddressType
	net     Network
	version byte   // witness version
	program []byte // hash160, sha256, x-only key or witness program
}

// Type returns the kind of output the address pays to.
func (a Address) Type() AddressType { return a.typ }

// Network returns the network the address was parsed or built for.
func (a Address) Network() Network { return a.net }

// IsZero reports whether a is the zero Address.
func (a Address) IsZero() bool { return a.typ == 0 }

// Program returns a copy of the address payload: the 20-byte hash of P2PKH, P2SH and
// P2WPKH, the 32-byte script hash of P2WSH, the 32-byte output key of P2TR.
func (a Address) Program() []byte { return bytes.Clone(a.program) }

// WitnessVersion returns the segwit version, 0 for P2PKH and P2SH.
func (a Address) WitnessVersion() int { return int(a.version) }

// Equal reports whether a and b encode the same output on the same network.
func (a Address) Equal(b Address) bool {
	return a.typ == b.typ && a.net == b.net && a.version == b.version && bytes.Equal(a.program, b.program)
}

// PkScript returns the output script (scriptPubKey) paying to the address.
func (a Address) PkScript() []byte {
	switch a.typ {
	case P2PKH:
		return p2pkhScript(a.program)
	case P2SH:
		return p2shScript(a.program)
	case P2WPKH, P2WSH, P2TR, WitnessUnknown:
		return witnessScript(a.version, a.program)
	}
	return nil
}

// String returns the address in its standard encoding: base58check for P2PKH and P2SH,
// bech32 for segwit v0, bech32m for v1 and later.
func (a Address) String() string {
	switch a.typ {
	case P2PKH:
		return base58.CheckEncode(a.program, a.net.pkhVersion())
	case P2SH:
		return base58.CheckEncode(a.program, a.net.shVersion())
	case P2WPKH, P2WSH, P2TR, WitnessUnknown:
		conv, err := bech32.ConvertBits(a.program, 8, 5, true)
		if err != nil {
			return ""
		}
		data := append([]byte{a.version}, conv...)
		var s string
		if a.version == 0 {
			s, err = bech32.Encode(a.net.hrp(), data)
		} else {
			s, err = bech32.EncodeM(a.net.hrp(), data)
		}
		if err != nil {
			return ""
		}
		return s
	}
	return ""
}

// BtcutilAddress returns the address as a btcutil.Address, for btcd APIs such as
// rpcclient.
func (a Address) BtcutilAddress() (btcutil.Address, error) {
	if a.IsZero() {
		return nil, fmt.Errorf("%w: zero Address", ErrInvalidAddress)
	}
	b, err := btcutil.DecodeAddress(a.String(), a.net.Params())
	if err != nil {
		return nil, newAddressError(a.String(), a.net, ErrInvalidAddress, err.Error())
	}
	return b, nil
}

// MarshalText implements encoding.TextMarshaler.
func (a Address) MarshalText() ([]byte, error) {
	if a.IsZero() {
		return nil, fmt.Errorf("%w: zero Address", ErrInvalidAddress)
	}
	return []byte(a.String()), nil
}

// ParseAddress decodes s as an address of network net. An address encoded for another
// network is rejected with an *AddressError wrapping ErrWrongNetwork. Testnet and signet
// share every encoding, and regtest shares the base58 ones with them ("m…", "n…", "2…"),
// so such addresses parse for each of those networks; bech32 regtest addresses ("bcrt1…")
// parse only for regtest.
func ParseAddress(s string, net Network) (Address, error) {
	if err := net.check(); err != nil {
		return Address{}, err
	}
	a, nets, err := decodeAddress(s)
	if err != nil {
		return Address{}, err
	}
	for _, n := range nets {
		if n == net {
			a.net = net
			return a, nil
		}
	}
	return Address{}, newAddressError(s, net, ErrWrongNetwork, "encoded for "+nets[0].String())
}

// DecodeAddress decodes s and infers its network: mainnet for "1…", "3…" and "bc1…";
// regtest for "bcrt1…"; simnet for "sb1…", "S…" and "s…"; testnet for "m…", "n…", "2…" and
// "tb1…" (which signet, and for base58 regtest, share — use ParseAddress to bind one of those).
func DecodeAddress(s string) (Address, error) {
	a, nets, err := decodeAddress(s)
	if err != nil {
		return Address{}, err
	}
	a.net = nets[0]
	return a, nil
}

// decodeAddress decodes s and returns the networks whose encoding it uses, most likely first.
func decodeAddress(s string) (Address, []Network, error) {
	if s == "" {
		return Address{}, nil, newAddressError(s, 0, ErrInvalidAddress, "empty")
	}
	lower := strings.ToLower(s)
	for _, hrp := range []struct {
		prefix string
		nets   []Network
	}{
		{"bc1", []Network{Mainnet}},
		{"tb1", []Network{Testnet, Signet}},
		{"bcrt1", []Network{Regtest}},
		{"sb1", []Network{Simnet}},
	} {
		if strings.HasPrefix(lower, hrp.prefix) {
			a, err := decodeSegwit(s, hrp.prefix[:len(hrp.prefix)-1])
			return a, hrp.nets, err
		}
	}
	payload, version, err := base58.CheckDecode(s)
	if err != nil {
		return Address{}, nil, newAddressError(s, 0, ErrInvalidAddress, "not bech32 and not base58check: "+err.Error())
	}
	if len(payload) != 20 {
		return Address{}, nil, newAddressError(s, 0, ErrInvalidAddress, fmt.Sprintf("base58 payload is %d bytes, want 20", len(payload)))
	}
	test := []Network{Testnet, Signet, Regtest}
	switch version {
	case 0x00:
		return Address{typ: P2PKH, program: payload}, []Network{Mainnet}, nil
	case 0x05:
		return Address{typ: P2SH, program: payload}, []Network{Mainnet}, nil
	case 0x6f:
		return Address{typ: P2PKH, program: payload}, test, nil
	case 0xc4:
		return Address{typ: P2SH, program: payload}, test, nil
	case 0x3f:
		return Address{typ: P2PKH, program: payload}, []Network{Simnet}, nil
	case 0x7b:
		return Address{typ: P2SH, program: payload}, []Network{Simnet}, nil
	}
	return Address{}, nil, newAddressError(s, 0, ErrInvalidAddress, fmt.Sprintf("unknown base58 version byte 0x%02x", version))
}

func decodeSegwit(s, wantHRP string) (Address, error) {
	hrp, data, enc, err := bech32.DecodeGeneric(s)
	if err != nil {
		return Address{}, newAddressError(s, 0, ErrInvalidAddress, err.Error())
	}
	if hrp != wantHRP {
		return Address{}, newAddressError(s, 0, ErrInvalidAddress, "unknown human-readable part "+hrp)
	}
	if len(data) < 1 {
		return Address{}, newAddressError(s, 0, ErrInvalidAddress, "no witness version")
	}
	version := data[0]
	if version > 16 {
		return Address{}, newAddressError(s, 0, ErrInvalidAddress, fmt.Sprintf("witness version %d > 16", version))
	}
	program, err := bech32.ConvertBits(data[1:], 5, 8, false)
	if err != nil {
		return Address{}, newAddressError(s, 0, ErrInvalidAddress, err.Error())
	}
	if len(program) < 2 || len(program) > 40 {
		return Address{}, newAddressError(s, 0, ErrInvalidAddress, fmt.Sprintf("witness program is %d bytes", len(program)))
	}
	if version == 0 && enc != bech32.Version0 || version != 0 && enc != bech32.VersionM {
		return Address{}, newAddressError(s, 0, ErrInvalidAddress, "wrong checksum variant for witness version (BIP-350)")
	}
	a := Address{version: version, program: program}
	switch {
	case version == 0 && len(program) == 20:
		a.typ = P2WPKH
	case version == 0 && len(program) == 32:
		a.typ = P2WSH
	case version == 0:
		return Address{}, newAddressError(s, 0, ErrInvalidAddress, fmt.Sprintf("segwit v0 program is %d bytes, want 20 or 32", len(program)))
	case version == 1 && len(program) == 32:
		a.typ = P2TR
	default:
		a.typ = WitnessUnknown
	}
	return a, nil
}

// AddressFromScript returns the address paying to the output script pkScript on net.
// Scripts without an address form (bare multisig, OP_RETURN, …) return an *AddressError
// wrapping ErrInvalidAddress.
func AddressFromScript(pkScript []byte, net Network) (Address, error) {
	if err := net.check(); err != nil {
		return Address{}, err
	}
	prog := bytes.Clone(pkScript)
	switch classify(pkScript) {
	case classP2PKH:
		return Address{typ: P2PKH, net: net, program: prog[3:23]}, nil
	case classP2SH:
		return Address{typ: P2SH, net: net, program: prog[2:22]}, nil
	case classP2WPKH:
		return Address{typ: P2WPKH, net: net, program: prog[2:]}, nil
	case classP2WSH:
		return Address{typ: P2WSH, net: net, program: prog[2:]}, nil
	case classP2TR:
		return Address{typ: P2TR, net: net, version: 1, program: prog[2:]}, nil
	case classWitnessUnknown:
		v, p, _ := witnessProgram(prog)
		if v == 1 && len(p) == 32 {
			return Address{typ: P2TR, net: net, version: 1, program: p}, nil
		}
		return Address{typ: WitnessUnknown, net: net, version: v, program: p}, nil
	}
	return Address{}, &AddressError{Address: fmt.Sprintf("script %x", truncate(pkScript, 40)), Network: net,
		Reason: "script has no address form", Err: ErrInvalidAddress}
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func checkPubKey(pub *btcec.PublicKey) error {
	if pub == nil {
		return fmt.Errorf("%w: nil public key", ErrInvalidKey)
	}
	return nil
}

// NewP2PKH returns the P2PKH address of pub's compressed serialization.
func NewP2PKH(pub *btcec.PublicKey, net Network) (Address, error) {
	if err := firstErr(net.check(), checkPubKey(pub)); err != nil {
		return Address{}, err
	}
	return Address{typ: P2PKH, net: net, program: hash160(pub.SerializeCompressed())}, nil
}

// NewP2WPKH returns the native segwit v0 address of pub (BIP-84's address type).
func NewP2WPKH(pub *btcec.PublicKey, net Network) (Address, error) {
	if err := firstErr(net.check(), checkPubKey(pub)); err != nil {
		return Address{}, err
	}
	return Address{typ: P2WPKH, net: net, program: hash160(pub.SerializeCompressed())}, nil
}

// NewP2SHP2WPKH returns the P2SH address wrapping pub's P2WPKH script (BIP-49's type).
func NewP2SHP2WPKH(pub *btcec.PublicKey, net Network) (Address, error) {
	if err := firstErr(net.check(), checkPubKey(pub)); err != nil {
		return Address{}, err
	}
	redeem := p2wpkhScript(hash160(pub.SerializeCompressed()))
	return Address{typ: P2SH, net: net, program: hash160(redeem)}, nil
}

// NewP2SH returns the P2SH address of redeemScript.
func NewP2SH(redeemScript []byte, net Network) (Address, error) {
	if err := net.check(); err != nil {
		return Address{}, err
	}
	if len(redeemScript) == 0 || len(redeemScript) > txscript.MaxScriptElementSize {
		return Address{}, fmt.Errorf("%w: redeem script is %d bytes", ErrUnsupportedScript, len(redeemScript))
	}
	return Address{typ: P2SH, net: net, program: hash160(redeemScript)}, nil
}

// NewP2WSH returns the native segwit v0 address of witnessScript.
func NewP2WSH(witnessScript []byte, net Network) (Address, error) {
	if err := net.check(); err != nil {
		return Address{}, err
	}
	if len(witnessScript) == 0 || len(witnessScript) > txscript.MaxScriptSize {
		return Address{}, fmt.Errorf("%w: witness script is %d bytes", ErrUnsupportedScript, len(witnessScript))
	}
	s := p2wshScript(witnessScript)
	return Address{typ: P2WSH, net: net, program: s[2:]}, nil
}

// NewP2TR returns the taproot address whose output key is internalKey tweaked by
// merkleRoot (BIP-341). A nil merkleRoot commits to no script path, as BIP-86 prescribes for
// single-key outputs.
func NewP2TR(internalKey *btcec.PublicKey, merkleRoot []byte, net Network) (Address, error) {
	if err := firstErr(net.check(), checkPubKey(internalKey)); err != nil {
		return Address{}, err
	}
	if merkleRoot != nil && len(merkleRoot) != 32 {
		return Address{}, fmt.Errorf("%w: merkle root is %d bytes, want 32", ErrUnsupportedScript, len(merkleRoot))
	}
	out := txscript.ComputeTaprootOutputKey(internalKey, merkleRoot)
	return Address{typ: P2TR, net: net, version: 1, program: schnorr.SerializePubKey(out)}, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
