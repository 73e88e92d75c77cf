package bitcoin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
)

// HardenedOffset is added to a child index to derive a hardened child (written i' or ih).
const HardenedOffset uint32 = hdkeychain.HardenedKeyStart

// Purpose is a BIP-43 purpose: the first level of a derivation path, which fixes the
// address type of the account below it.
type Purpose uint32

// The purposes the package derives addresses for.
const (
	BIP44 Purpose = 44 // P2PKH
	BIP49 Purpose = 49 // P2SH-P2WPKH
	BIP84 Purpose = 84 // P2WPKH
	BIP86 Purpose = 86 // P2TR, single key (BIP-86 tweak)
)

// Path returns the derivation path m/purpose'/coin'/account'/change/index for net
// (coin 0 on mainnet, 1 elsewhere).
func (p Purpose) Path(net Network, account, change, index uint32) string {
	return fmt.Sprintf("m/%d'/%d'/%d'/%d/%d", uint32(p), net.coinType(), account, change, index)
}

// AddressType returns the address type the purpose derives.
func (p Purpose) AddressType() AddressType {
	switch p {
	case BIP44:
		return P2PKH
	case BIP49:
		return P2SH
	case BIP84:
		return P2WPKH
	case BIP86:
		return P2TR
	}
	return 0
}

// extended key version bytes: BIP-32 and the SLIP-132 variants BIP-49/84 wallets print.
type hdVersion struct {
	priv, pub [4]byte
	purpose   Purpose // 0 for plain BIP-32 (xprv/tprv)
	mainnet   bool
}

func hdVersions() []hdVersion {
	return []hdVersion{
		{[4]byte{0x04, 0x88, 0xad, 0xe4}, [4]byte{0x04, 0x88, 0xb2, 0x1e}, 0, true},      // xprv xpub
		{[4]byte{0x04, 0x35, 0x83, 0x94}, [4]byte{0x04, 0x35, 0x87, 0xcf}, 0, false},     // tprv tpub
		{[4]byte{0x04, 0x9d, 0x78, 0x78}, [4]byte{0x04, 0x9d, 0x7c, 0xb2}, BIP49, true},  // yprv ypub
		{[4]byte{0x04, 0x4a, 0x4e, 0x28}, [4]byte{0x04, 0x4a, 0x52, 0x62}, BIP49, false}, // uprv upub
		{[4]byte{0x04, 0xb2, 0x43, 0x0c}, [4]byte{0x04, 0xb2, 0x47, 0x46}, BIP84, true},  // zprv zpub
		{[4]byte{0x04, 0x5f, 0x18, 0xbc}, [4]byte{0x04, 0x5f, 0x1c, 0xf6}, BIP84, false}, // vprv vpub
	}
}

func versionFor(purpose Purpose, net Network) hdVersion {
	for _, v := range hdVersions() {
		if v.purpose == purpose && v.mainnet == (net == Mainnet) {
			return v
		}
	}
	return versionFor(0, net)
}

// HDKey is a BIP-32 extended key, private or public, bound to a network. Keys derived from
// a master key remember their origin (master fingerprint and path) for PSBT key origins.
//
// String returns the extended public key: an HDKey never prints its private part unless
// ExtendedPrivateKey is called.
//
// Create it with [NewMasterKey] or [ParseHDKey]: a zero HDKey holds no key (its accessors
// return zero values, String the empty string) and its methods that can fail return a
// [*NotConstructedError].
type HDKey struct {
	key     *hdkeychain.ExtendedKey // always with plain BIP-32 version bytes of net
	net     Network
	purpose Purpose // SLIP-132 serialization family the key was parsed with, 0 for BIP-32
	// origin, when known: fingerprint of the master key and path from it.
	masterFP  uint32
	path      []uint32
	hasOrigin bool
}

// constructed returns a [*NotConstructedError] for a zero HDKey.
func (k *HDKey) constructed() error {
	if k == nil || k.key == nil {
		return notConstructed("HDKey", "NewMasterKey or ParseHDKey")
	}
	return nil
}

// NewMasterKey derives a BIP-32 master key from seed (16 to 64 bytes).
func NewMasterKey(seed []byte, net Network) (*HDKey, error) {
	if err := net.check(); err != nil {
		return nil, err
	}
	k, err := hdkeychain.NewMaster(seed, net.Params())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	pub, _ := k.ECPubKey()
	return &HDKey{key: k, net: net, masterFP: fingerprint(pub), hasOrigin: true}, nil
}

// ParseHDKey decodes an extended key for net: xprv/xpub (mainnet) or tprv/tpub (the test
// networks), and the SLIP-132 forms yprv/ypub/zprv/zpub and uprv/upub/vprv/vpub that BIP-49
// and BIP-84 wallets print. A key for another network returns ErrWrongNetwork.
func ParseHDKey(s string, net Network) (*HDKey, error) {
	if err := net.check(); err != nil {
		return nil, err
	}
	raw := base58.Decode(s)
	if len(raw) != 82 {
		return nil, fmt.Errorf("%w: extended key does not decode to 82 bytes", ErrInvalidKey)
	}
	var ver [4]byte
	copy(ver[:], raw[:4])
	var match *hdVersion
	for _, v := range hdVersions() {
		if v.priv == ver || v.pub == ver {
			match = &v
			break
		}
	}
	if match == nil {
		return nil, fmt.Errorf("%w: unknown extended key version %x", ErrInvalidKey, ver)
	}
	if match.mainnet != (net == Mainnet) {
		return nil, fmt.Errorf("%w: extended key is not for %s", ErrWrongNetwork, net)
	}
	// hdkeychain checks the checksum and key validity; feed it the plain BIP-32 version.
	plain := versionFor(0, net)
	private := ver == match.priv
	if private {
		copy(raw[:4], plain.priv[:])
	} else {
		copy(raw[:4], plain.pub[:])
	}
	// The checksum covers the version: recompute it over the original bytes first.
	if err := checkBase58Checksum(s); err != nil {
		return nil, err
	}
	k, err := hdkeychain.NewKeyFromString(reencode(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	hk := &HDKey{key: k, net: net, purpose: match.purpose}
	if k.Depth() == 0 {
		pub, err := k.ECPubKey()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		hk.masterFP, hk.hasOrigin = fingerprint(pub), true
	}
	return hk, nil
}

func checkBase58Checksum(s string) error {
	if _, _, err := base58.CheckDecode(s); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return nil
}

// reencode replaces the trailing checksum of an 82-byte extended key.
func reencode(raw []byte) string {
	payload := raw[:78]
	return base58.CheckEncode(payload[1:], payload[0])
}

func fingerprint(pub *btcec.PublicKey) uint32 {
	return binary.BigEndian.Uint32(hash160(pub.SerializeCompressed())[:4])
}

// Network returns the network the key belongs to.
func (k *HDKey) Network() Network {
	if k == nil {
		return 0
	}
	return k.net
}

// IsPrivate reports whether the key holds its private part.
func (k *HDKey) IsPrivate() bool { return k.constructed() == nil && k.key.IsPrivate() }

// Depth returns the number of derivation steps from the master key.
func (k *HDKey) Depth() uint8 {
	if k.constructed() != nil {
		return 0
	}
	return k.key.Depth()
}

// PublicKey returns the key's public key.
func (k *HDKey) PublicKey() *btcec.PublicKey {
	if k.constructed() != nil {
		return nil
	}
	pub, _ := k.key.ECPubKey() // cannot fail: validated when the key was made
	return pub
}

// PrivateKey returns the key's private key, or ErrNoPrivateKey for a public key.
func (k *HDKey) PrivateKey() (*btcec.PrivateKey, error) {
	if err := k.constructed(); err != nil {
		return nil, err
	}
	priv, err := k.key.ECPrivKey()
	if err != nil {
		return nil, ErrNoPrivateKey
	}
	return priv, nil
}

// Fingerprint returns the first four bytes of the key's HASH160 (BIP-32 key identifier).
func (k *HDKey) Fingerprint() uint32 {
	if k.constructed() != nil {
		return 0
	}
	return fingerprint(k.PublicKey())
}

// Origin returns the fingerprint of the master key this key descends from and the path
// from it. ok is false when the key was parsed below the master and its origin is unknown.
func (k *HDKey) Origin() (masterFingerprint uint32, path []uint32, ok bool) {
	if k == nil {
		return 0, nil, false
	}
	return k.masterFP, append([]uint32(nil), k.path...), k.hasOrigin
}

// Public returns the public (neutered) form of the key.
func (k *HDKey) Public() *HDKey {
	if k.constructed() != nil {
		return &HDKey{}
	}
	n, err := k.key.Neuter()
	if err != nil { // only fails on unknown version bytes, which HDKey never holds
		panic(fmt.Sprintf("bitcoin: neuter: %v", err))
	}
	c := *k
	c.key = n
	return &c
}

// Child derives child number i; add HardenedOffset for a hardened child.
func (k *HDKey) Child(i uint32) (*HDKey, error) {
	if err := k.constructed(); err != nil {
		return nil, err
	}
	child, err := k.key.Derive(i)
	if err != nil {
		if errors.Is(err, hdkeychain.ErrDeriveHardFromPublic) {
			return nil, fmt.Errorf("%w: hardened child of a public key", ErrNoPrivateKey)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	c := *k
	c.key = child
	if k.hasOrigin {
		c.path = append(append([]uint32(nil), k.path...), i)
	}
	return &c, nil
}

// Derive follows path from this key. An absolute path ("m/84'/0'/0'/0/5") requires a
// master key; a relative one ("0/5") starts here. Hardened steps are marked with ' or h.
func (k *HDKey) Derive(path string) (*HDKey, error) {
	if err := k.constructed(); err != nil {
		return nil, err
	}
	steps, absolute, err := ParsePath(path)
	if err != nil {
		return nil, err
	}
	if absolute && k.key.Depth() != 0 {
		return nil, fmt.Errorf("%w: absolute path %q from a key at depth %d", ErrInvalidPath, path, k.key.Depth())
	}
	cur := k
	for _, i := range steps {
		if cur, err = cur.Child(i); err != nil {
			return nil, err
		}
	}
	return cur, nil
}

// ParsePath parses a BIP-32 path such as "m/86'/0'/0'/0/1" or "0/1". absolute reports a
// leading "m".
func ParsePath(path string) (steps []uint32, absolute bool, err error) {
	if path == "m" {
		return nil, true, nil
	}
	parts := strings.Split(path, "/")
	if parts[0] == "m" {
		absolute, parts = true, parts[1:]
	}
	for _, p := range parts {
		hard := strings.HasSuffix(p, "'") || strings.HasSuffix(p, "h") || strings.HasSuffix(p, "H")
		if hard {
			p = p[:len(p)-1]
		}
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil || n >= uint64(HardenedOffset) || (len(p) > 1 && p[0] == '0') {
			return nil, false, fmt.Errorf("%w: %q", ErrInvalidPath, path)
		}
		i := uint32(n)
		if hard {
			i += HardenedOffset
		}
		steps = append(steps, i)
	}
	return steps, absolute, nil
}

// DeriveAddress derives the key at purpose's path m/purpose'/coin'/account'/change/index
// from this master key and returns its address with the key.
func (k *HDKey) DeriveAddress(purpose Purpose, account, change, index uint32) (Address, *HDKey, error) {
	if err := k.constructed(); err != nil {
		return Address{}, nil, err
	}
	if purpose.AddressType() == 0 {
		return Address{}, nil, fmt.Errorf("%w: unknown purpose %d", ErrInvalidPath, uint32(purpose))
	}
	child, err := k.Derive(purpose.Path(k.net, account, change, index))
	if err != nil {
		return Address{}, nil, err
	}
	addr, err := child.Address(purpose)
	return addr, child, err
}

// Address returns the address of this key for purpose: P2PKH for BIP44, P2SH-P2WPKH for
// BIP49, P2WPKH for BIP84 and the BIP-86 tweaked P2TR for BIP86.
func (k *HDKey) Address(purpose Purpose) (Address, error) {
	if err := k.constructed(); err != nil {
		return Address{}, err
	}
	pub := k.PublicKey()
	switch purpose {
	case BIP44:
		return NewP2PKH(pub, k.net)
	case BIP49:
		return NewP2SHP2WPKH(pub, k.net)
	case BIP84:
		return NewP2WPKH(pub, k.net)
	case BIP86:
		return NewP2TR(pub, nil, k.net)
	}
	return Address{}, fmt.Errorf("%w: unknown purpose %d", ErrInvalidPath, uint32(purpose))
}

// ExtendedPublicKey returns the serialized extended public key, in the SLIP-132 form
// (ypub/zpub/upub/vpub) if the key was parsed from one, otherwise xpub/tpub.
func (k *HDKey) ExtendedPublicKey() string {
	if k.constructed() != nil {
		return ""
	}
	pub := k.Public()
	return pub.serialize(versionFor(k.purpose, k.net).pub)
}

// ExtendedPrivateKey returns the serialized extended private key (xprv/tprv, or the
// SLIP-132 form it was parsed from), or ErrNoPrivateKey. This is the only way the private
// part of an HDKey is ever serialized.
func (k *HDKey) ExtendedPrivateKey() (string, error) {
	if err := k.constructed(); err != nil {
		return "", err
	}
	if !k.key.IsPrivate() {
		return "", ErrNoPrivateKey
	}
	return k.serialize(versionFor(k.purpose, k.net).priv), nil
}

func (k *HDKey) serialize(version [4]byte) string {
	c, err := k.key.CloneWithVersion(version[:])
	if err != nil {
		return ""
	}
	return c.String()
}

// String returns the extended public key, never the private one.
func (k *HDKey) String() string { return k.ExtendedPublicKey() }
