package didbtc

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/did/didjwk"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/did/didpkh"
	"github.com/anya-org/anya-go/web5/jose"
)

// Fragment is the verification method fragment AddKey gives the Bitcoin key ("#btc").
const Fragment = "btc"

// Errors of the package.
var (
	// ErrNoBitcoinKey: the DID document has no secp256k1 verification method.
	ErrNoBitcoinKey = errors.New("didbtc: the DID has no Bitcoin key")
	// ErrImmutableDocument: the DID's document is derived from the DID (did:jwk, did:key) and
	// cannot take another key.
	ErrImmutableDocument = errors.New("didbtc: the DID's document cannot take another key")
	// ErrUnsupportedMethod: the DID method cannot publish a Bitcoin key.
	ErrUnsupportedMethod = errors.New("didbtc: DID method not supported")
	// ErrInvalidArgument: a nil key or document, an invalid network or address type.
	ErrInvalidArgument = errors.New("didbtc: invalid argument")
)

// NoKeyError reports a DID whose document has no Bitcoin key. It matches ErrNoBitcoinKey.
type NoKeyError struct{ DID string }

func (e *NoKeyError) Error() string {
	return fmt.Sprintf("didbtc: %s has no Bitcoin (secp256k1) key", e.DID)
}

// Is reports whether target is ErrNoBitcoinKey.
func (e *NoKeyError) Is(target error) bool { return target == ErrNoBitcoinKey }

// Key is a Bitcoin key published in a DID document.
type Key struct {
	// MethodID is the absolute ID of the verification method holding the key.
	MethodID string
	// PublicKey is the secp256k1 public key.
	PublicKey *btcec.PublicKey
	// Claimed are the addresses of alsoKnownAs did:pkh entries that derive from this key, on
	// the network Keys was asked for.
	Claimed []bitcoin.Address
}

// AddressTypes are the address types derived from a single key, in the order Key.Addresses
// returns them.
var addressTypes = []bitcoin.AddressType{bitcoin.P2WPKH, bitcoin.P2TR, bitcoin.P2SH, bitcoin.P2PKH}

// Address returns the key's address of type t on net: P2PKH, P2SH (P2SH-P2WPKH), P2WPKH or P2TR
// (BIP-86: the key as internal key, no script path).
func (k Key) Address(t bitcoin.AddressType, net bitcoin.Network) (bitcoin.Address, error) {
	return address(k.PublicKey, t, net)
}

func address(pub *btcec.PublicKey, t bitcoin.AddressType, net bitcoin.Network) (bitcoin.Address, error) {
	if pub == nil {
		return bitcoin.Address{}, fmt.Errorf("%w: nil key", ErrInvalidArgument)
	}
	switch t {
	case bitcoin.P2PKH:
		return bitcoin.NewP2PKH(pub, net)
	case bitcoin.P2SH:
		return bitcoin.NewP2SHP2WPKH(pub, net)
	case bitcoin.P2WPKH:
		return bitcoin.NewP2WPKH(pub, net)
	case bitcoin.P2TR:
		return bitcoin.NewP2TR(pub, nil, net)
	}
	return bitcoin.Address{}, fmt.Errorf("%w: no single-key address of type %s", ErrInvalidArgument, t)
}

// Addresses returns the key's single-key addresses on net: P2WPKH, P2TR, P2SH-P2WPKH, P2PKH.
func (k Key) Addresses(net bitcoin.Network) ([]bitcoin.Address, error) {
	out := make([]bitcoin.Address, 0, len(addressTypes))
	for _, t := range addressTypes {
		a, err := k.Address(t, net)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Owns reports whether addr is one of the key's single-key addresses.
func (k Key) Owns(addr bitcoin.Address) bool {
	if addr.IsZero() || k.PublicKey == nil {
		return false
	}
	a, err := k.Address(addr.Type(), addr.Network())
	return err == nil && a.Equal(addr)
}

// Keys returns the Bitcoin keys of a resolved DID document for net: every secp256k1
// verification method, those with a claimed did:pkh first, then in document order. A document
// without one is a *NoKeyError.
func Keys(doc *did.Document, net bitcoin.Network) ([]Key, error) {
	if doc == nil {
		return nil, fmt.Errorf("%w: nil document", ErrInvalidArgument)
	}
	if !net.Valid() {
		return nil, fmt.Errorf("%w: network %d", ErrInvalidArgument, net)
	}
	var keys []Key
	for i := range doc.VerificationMethod {
		vm := &doc.VerificationMethod[i]
		jwk, err := vm.PublicKey()
		if err != nil || jwk.Curve != jose.Secp256k1 {
			continue
		}
		raw, err := jwk.PublicKeyBytes()
		if err != nil {
			continue
		}
		pub, err := btcec.ParsePubKey(raw)
		if err != nil {
			continue
		}
		keys = append(keys, Key{MethodID: doc.AbsoluteRef(vm.ID), PublicKey: pub})
	}
	if len(keys) == 0 {
		return nil, &NoKeyError{DID: doc.ID}
	}
	chain := didpkh.ChainOf(net.Params())
	for _, aka := range doc.AlsoKnownAs {
		d, err := did.Parse(aka)
		if err != nil || d.Method != didpkh.Method {
			continue
		}
		c, acct, err := didpkh.Account(d)
		if err != nil || c != chain {
			continue
		}
		addr, err := bitcoin.ParseAddress(acct, net)
		if err != nil {
			continue
		}
		for i := range keys {
			if keys[i].Owns(addr) && !contains(keys[i].Claimed, addr) {
				keys[i].Claimed = append(keys[i].Claimed, addr)
				break
			}
		}
	}
	claimed := make([]Key, 0, len(keys))
	var rest []Key
	for _, k := range keys {
		if len(k.Claimed) > 0 {
			claimed = append(claimed, k)
		} else {
			rest = append(rest, k)
		}
	}
	return append(claimed, rest...), nil
}

func contains(list []bitcoin.Address, a bitcoin.Address) bool {
	for _, x := range list {
		if x.Equal(a) {
			return true
		}
	}
	return false
}

// Primary returns the identity's main Bitcoin key: the first of Keys.
func Primary(doc *did.Document, net bitcoin.Network) (Key, error) {
	keys, err := Keys(doc, net)
	if err != nil {
		return Key{}, err
	}
	return keys[0], nil
}

// Option configures AddKey and Publish.
type Option func(*config)

type config struct {
	addrType bitcoin.AddressType
	rels     []did.Relationship
}

// WithAddressType sets the address type whose did:pkh is listed in alsoKnownAs (P2PKH,
// P2SH (the P2SH-wrapped P2WPKH), P2WPKH or P2TR). Defaults to bitcoin.P2WPKH.
func WithAddressType(t bitcoin.AddressType) Option { return func(c *config) { c.addrType = t } }

// WithRelationships lists the key's verification method under rels. Defaults to none: the key
// signs Bitcoin transactions, not as the DID.
func WithRelationships(rels ...did.Relationship) Option {
	return func(c *config) { c.rels = append(c.rels, rels...) }
}

// AddKey returns b with pub as its Bitcoin key on net.
//
// For a did:dht it returns a new bearer DID (same key manager and key bindings, same metadata)
// whose document has the verification method #btc and the did:pkh of the key's address in
// alsoKnownAs, replacing an earlier #btc and did:pkh entries of the same network. Publish the
// result (or use Publish) to make it resolvable.
//
// For a did:jwk or did:key, whose document cannot change, pub must be the DID's own key: b is
// returned unchanged; another key is ErrImmutableDocument. Other methods are
// ErrUnsupportedMethod.
func AddKey(ctx context.Context, b *did.BearerDID, pub *btcec.PublicKey, net bitcoin.Network, opts ...Option) (*did.BearerDID, error) {
	if b == nil || b.Document == nil || pub == nil {
		return nil, fmt.Errorf("%w: nil bearer DID or key", ErrInvalidArgument)
	}
	cfg := config{addrType: bitcoin.P2WPKH}
	for _, o := range opts {
		o(&cfg)
	}
	addr, err := address(pub, cfg.addrType, net)
	if err != nil {
		return nil, err
	}
	switch b.DID.Method {
	case didjwk.Method, didkey.Method:
		keys, err := Keys(b.Document, net)
		if err == nil {
			for _, k := range keys {
				if k.PublicKey.IsEqual(pub) {
					return b, nil
				}
			}
		}
		return nil, fmt.Errorf("%w: %s is a did:%s; create the identity with NewDID from its Bitcoin key", ErrImmutableDocument, b.DID, b.DID.Method)
	case diddht.Method:
	default:
		return nil, fmt.Errorf("%w: did:%s", ErrUnsupportedMethod, b.DID.Method)
	}
	jwk, err := jose.PublicJWK(jose.Secp256k1, pub.SerializeCompressed())
	if err != nil {
		return nil, err
	}
	jwk.Algorithm, jwk.KeyID = jose.AlgorithmFor(jose.Secp256k1), Fragment
	pkh, err := didpkh.FromAddress(didpkh.ChainOf(net.Params()), addr.String())
	if err != nil {
		return nil, err
	}
	doc := cloneDocument(b.Document)
	id := doc.ID + "#" + Fragment
	// Drop an earlier Bitcoin key and the did:pkh entries of this network.
	vms := doc.VerificationMethod[:0]
	for _, vm := range doc.VerificationMethod {
		if doc.AbsoluteRef(vm.ID) != id {
			vms = append(vms, vm)
		}
	}
	doc.VerificationMethod = vms
	for _, r := range did.AllRelationships() {
		setRelationship(doc, r, without(doc.Relationship(r), doc, id))
	}
	prefix := "did:" + didpkh.Method + ":" + didpkh.Namespace + ":" + string(didpkh.ChainOf(net.Params())) + ":"
	aka := doc.AlsoKnownAs[:0]
	for _, a := range doc.AlsoKnownAs {
		if !strings.HasPrefix(a, prefix) {
			aka = append(aka, a)
		}
	}
	doc.AlsoKnownAs = append(aka, pkh.String())
	doc.AddVerificationMethod(did.VerificationMethod{ID: id, Type: did.TypeJsonWebKey, Controller: doc.ID, PublicKeyJwk: &jwk}, cfg.rels...)
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	if _, err := (&diddht.Packet{Document: doc}).Marshal(); err != nil {
		return nil, err
	}
	bindings := map[string]string{}
	for _, vm := range doc.VerificationMethod {
		abs := doc.AbsoluteRef(vm.ID)
		if keyID, ok := b.KeyID(abs); ok && abs != id {
			bindings[abs] = keyID
		}
	}
	// The key manager may hold the Bitcoin key too (NewDID imports it): bind it when it does.
	if tp, err := jwk.Thumbprint(); err == nil {
		if held, err := b.KeyManager.PublicKey(ctx, tp); err == nil && held.X == jwk.X && held.Y == jwk.Y {
			bindings[id] = tp
		}
	}
	nb, err := did.NewBearerDID(ctx, doc, b.KeyManager, bindings)
	if err != nil {
		return nil, err
	}
	nb.Metadata = b.Metadata
	return nb, nil
}

// Publisher publishes a bearer DID's document: a *diddht.Client.
type Publisher interface {
	Publish(ctx context.Context, b *did.BearerDID) error
}

var _ Publisher = (*diddht.Client)(nil)

// Publish is AddKey followed, when the document changed, by p.Publish. It returns the bearer
// DID to use from now on.
func Publish(ctx context.Context, p Publisher, b *did.BearerDID, pub *btcec.PublicKey, net bitcoin.Network, opts ...Option) (*did.BearerDID, error) {
	nb, err := AddKey(ctx, b, pub, net, opts...)
	if err != nil {
		return nil, err
	}
	if nb == b {
		return b, nil
	}
	if p == nil {
		return nil, fmt.Errorf("%w: nil publisher", ErrInvalidArgument)
	}
	if err := p.Publish(ctx, nb); err != nil {
		return nil, err
	}
	return nb, nil
}

// NewDID creates a did:jwk or did:key (method "jwk" or "key") whose key is the secp256k1
// Bitcoin key priv, importing priv into km (a jose.KeyImporter; nil means a new
// jose.MemoryKeyManager). The DID then signs JWS with ES256K and its document carries the
// Bitcoin key.
func NewDID(ctx context.Context, km jose.KeyManager, priv *btcec.PrivateKey, method string) (*did.BearerDID, error) {
	if priv == nil {
		return nil, fmt.Errorf("%w: nil key", ErrInvalidArgument)
	}
	if km == nil {
		km = jose.NewMemoryKeyManager()
	}
	imp, ok := km.(jose.KeyImporter)
	if !ok {
		return nil, fmt.Errorf("%w: the key manager does not import keys", ErrInvalidArgument)
	}
	pub, err := jose.PublicJWK(jose.Secp256k1, priv.PubKey().SerializeCompressed())
	if err != nil {
		return nil, err
	}
	d := priv.Key.Bytes()
	private := pub
	private.D = base64.RawURLEncoding.EncodeToString(d[:])
	clear(d[:])
	keyID, err := imp.ImportKey(ctx, private)
	if err != nil {
		return nil, err
	}
	var doc *did.Document
	switch method {
	case didjwk.Method:
		pub.Use, pub.Algorithm = "sig", jose.AlgorithmFor(jose.Secp256k1)
		id, err := didjwk.FromPublicKey(pub)
		if err != nil {
			return nil, err
		}
		if doc, err = didjwk.Expand(id); err != nil {
			return nil, err
		}
	case didkey.Method:
		id, err := didkey.FromPublicKey(pub)
		if err != nil {
			return nil, err
		}
		if doc, err = didkey.Expand(id); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: did:%s (want jwk or key)", ErrUnsupportedMethod, method)
	}
	return did.NewBearerDID(ctx, doc, km, map[string]string{doc.VerificationMethod[0].ID: keyID})
}

func cloneDocument(d *did.Document) *did.Document {
	c := *d
	c.AlsoKnownAs = append([]string(nil), d.AlsoKnownAs...)
	c.Controller = append(did.OneOrMany(nil), d.Controller...)
	c.VerificationMethod = append([]did.VerificationMethod(nil), d.VerificationMethod...)
	c.Authentication = append([]string(nil), d.Authentication...)
	c.AssertionMethod = append([]string(nil), d.AssertionMethod...)
	c.KeyAgreement = append([]string(nil), d.KeyAgreement...)
	c.CapabilityInvocation = append([]string(nil), d.CapabilityInvocation...)
	c.CapabilityDelegation = append([]string(nil), d.CapabilityDelegation...)
	c.Service = append([]did.Service(nil), d.Service...)
	return &c
}

func without(refs []string, doc *did.Document, id string) []string {
	out := refs[:0:0]
	for _, r := range refs {
		if doc.AbsoluteRef(r) != id {
			out = append(out, r)
		}
	}
	return out
}

func setRelationship(d *did.Document, r did.Relationship, refs []string) {
	if len(refs) == 0 {
		refs = nil
	}
	switch r {
	case did.Authentication:
		d.Authentication = refs
	case did.AssertionMethod:
		d.AssertionMethod = refs
	case did.KeyAgreement:
		d.KeyAgreement = refs
	case did.CapabilityInvocation:
		d.CapabilityInvocation = refs
	case did.CapabilityDelegation:
		d.CapabilityDelegation = refs
	}
}
