package diddht

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/jose"
)

// CreateOption adds to a did:dht document built by Create or NewDocument (a per-call option
// of the package's one shape).
type CreateOption func(*createConfig)

func createCfg(opts []CreateOption) (createConfig, error) {
	var cfg createConfig
	for i, o := range opts {
		if o == nil {
			return cfg, &did.OptionError{Option: "CreateOption", Value: i, Reason: "nil option"}
		}
		o(&cfg)
	}
	return cfg, nil
}

type createConfig struct {
	vms        []vmSpec
	services   []did.Service
	controller []string
	aka        []string
	types      []int
	gateways   []string
}

type vmSpec struct {
	vm    did.VerificationMethod
	curve jose.Curve // set: generate a key of this curve in the key manager (Create only)
	rels  []did.Relationship
}

// WithVerificationMethod adds a verification method holding a public key (whose private
// key lives elsewhere). vm.ID may be a fragment ("sig", "#sig") or empty for the JWK
// thumbprint; vm.Controller defaults to the DID; vm.Type is always JsonWebKey. Defaults to
// no method besides the identity key.
func WithVerificationMethod(vm did.VerificationMethod, rels ...did.Relationship) CreateOption {
	return func(c *createConfig) { c.vms = append(c.vms, vmSpec{vm: vm, rels: rels}) }
}

// WithKey makes Create generate a key on curve crv in the key manager and add it as a
// verification method with the given fragment id ("" for the thumbprint). Defaults to no
// key besides the identity key.
func WithKey(crv jose.Curve, id string, rels ...did.Relationship) CreateOption {
	return func(c *createConfig) {
		c.vms = append(c.vms, vmSpec{vm: did.VerificationMethod{ID: id}, curve: crv, rels: rels})
	}
}

// WithService adds a service; id is a fragment ("dwn" or "#dwn"). Defaults to no services.
func WithService(id, typ string, endpoints ...string) CreateOption {
	return func(c *createConfig) {
		eps := make([]any, len(endpoints))
		for i, e := range endpoints {
			eps[i] = e
		}
		c.services = append(c.services, did.Service{ID: id, Type: typ, ServiceEndpoint: eps})
	}
}

// WithController sets the document's controllers. Defaults to none.
func WithController(dids ...string) CreateOption {
	return func(c *createConfig) { c.controller = append(c.controller, dids...) }
}

// WithAlsoKnownAs sets the document's alsoKnownAs. Defaults to none.
func WithAlsoKnownAs(ids ...string) CreateOption {
	return func(c *createConfig) { c.aka = append(c.aka, ids...) }
}

// WithTypes sets type-index values (published in the _typ record, kept in the bearer
// DID's metadata under "types"). Defaults to none.
func WithTypes(types ...int) CreateOption {
	return func(c *createConfig) { c.types = append(c.types, types...) }
}

// WithGateways names authoritative gateways (published as NS records, kept in the bearer
// DID's metadata under "gateways"). Defaults to none.
func WithGateways(hosts ...string) CreateOption {
	return func(c *createConfig) { c.gateways = append(c.gateways, hosts...) }
}

// NewDocument builds the document of the did:dht whose identity key is identity (a public
// Ed25519 JWK), as the specification's Create step 2 says: the identity key is method
// "0" (JWK kid "0") under authentication, assertionMethod, capabilityInvocation and
// capabilityDelegation; every other key's id is its given id or its JWK thumbprint, and
// its JWK carries that kid and an alg. Options that generate keys (WithKey) are rejected:
// use Create.
func NewDocument(identity jose.JWK, opts ...CreateOption) (*did.Document, error) {
	cfg, err := createCfg(opts)
	if err != nil {
		return nil, err
	}
	for _, s := range cfg.vms {
		if s.curve != "" {
			return nil, &did.OptionError{Option: "WithKey", Value: s.curve, Reason: "NewDocument does not generate keys; use Create"}
		}
	}
	return buildDocument(identity, cfg)
}

func buildDocument(identity jose.JWK, cfg createConfig) (*did.Document, error) {
	if identity.Curve != jose.Ed25519 || identity.IsPrivate() {
		return nil, &did.OptionError{Option: "identity", Reason: "must be a public Ed25519 JWK"}
	}
	raw, err := identity.PublicKeyBytes()
	if err != nil {
		return nil, err
	}
	id := "did:" + Method + ":" + Suffix(ed25519.PublicKey(raw))
	idKey := jose.JWK{KeyType: jose.KeyTypeOKP, Curve: jose.Ed25519, X: identity.X, Algorithm: jose.AlgEdDSA, KeyID: "0"}
	doc := &did.Document{ID: id, Controller: cfg.controller, AlsoKnownAs: cfg.aka}
	doc.AddVerificationMethod(did.VerificationMethod{ID: id + "#0", Type: did.TypeJsonWebKey, Controller: id, PublicKeyJwk: &idKey},
		did.Authentication, did.AssertionMethod, did.CapabilityInvocation, did.CapabilityDelegation)
	for _, s := range cfg.vms {
		if s.vm.PublicKeyJwk == nil {
			return nil, &did.OptionError{Option: "WithVerificationMethod", Value: s.vm.ID, Reason: "no publicKeyJwk"}
		}
		k := s.vm.PublicKeyJwk.Public()
		t := keyTypeIndex(k.Curve)
		if t < 0 {
			return nil, &did.OptionError{Option: "WithVerificationMethod", Value: k.Curve, Reason: "key type not in the did:dht registry"}
		}
		if err := k.Validate(); err != nil {
			return nil, err
		}
		frag := strings.TrimPrefix(strings.TrimPrefix(s.vm.ID, id), "#")
		if frag == "" {
			if frag, err = k.Thumbprint(); err != nil {
				return nil, err
			}
		}
		if k.Algorithm == "" {
			k.Algorithm = keyTypes[t].alg
		}
		k.KeyID = frag
		k.KeyOps, k.Use = nil, ""
		ctrl := s.vm.Controller
		if ctrl == "" {
			ctrl = id
		}
		doc.AddVerificationMethod(did.VerificationMethod{ID: id + "#" + frag, Type: did.TypeJsonWebKey, Controller: ctrl, PublicKeyJwk: &k}, s.rels...)
	}
	for _, s := range cfg.services {
		s.ID = id + "#" + strings.TrimPrefix(strings.TrimPrefix(s.ID, id), "#")
		doc.Service = append(doc.Service, s)
	}
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	p := &Packet{Document: doc, Types: cfg.types, Gateways: cfg.gateways}
	if _, err := p.Marshal(); err != nil {
		return nil, err
	}
	return doc, nil
}

// Create generates an identity key (and any WithKey keys) in km and returns the bearer
// DID. The DID is not published: call Client.Publish.
func Create(ctx context.Context, km jose.KeyManager, opts ...CreateOption) (*did.BearerDID, error) {
	if km == nil {
		return nil, &did.OptionError{Option: "km", Reason: "nil"}
	}
	cfg, err := createCfg(opts)
	if err != nil {
		return nil, err
	}
	idKeyID, err := km.GenerateKey(ctx, jose.Ed25519)
	if err != nil {
		return nil, err
	}
	identity, err := km.PublicKey(ctx, idKeyID)
	if err != nil {
		return nil, err
	}
	keyIDs := map[string]string{"#0": idKeyID}
	for i := range cfg.vms {
		s := &cfg.vms[i]
		if s.curve == "" {
			continue
		}
		keyID, err := km.GenerateKey(ctx, s.curve)
		if err != nil {
			return nil, err
		}
		pub, err := km.PublicKey(ctx, keyID)
		if err != nil {
			return nil, err
		}
		pub.KeyID = ""
		s.vm.PublicKeyJwk = &pub
		if s.vm.ID == "" {
			if s.vm.ID, err = pub.Thumbprint(); err != nil {
				return nil, err
			}
		}
		keyIDs["#"+strings.TrimPrefix(s.vm.ID, "#")] = keyID
	}
	doc, err := buildDocument(identity, cfg)
	if err != nil {
		return nil, err
	}
	b, err := did.NewBearerDID(ctx, doc, km, keyIDs)
	if err != nil {
		return nil, err
	}
	b.Metadata = map[string]any{"published": false}
	if len(cfg.types) > 0 {
		b.Metadata["types"] = cfg.types
	}
	if len(cfg.gateways) > 0 {
		b.Metadata["gateways"] = cfg.gateways
	}
	return b, nil
}

// packetOf returns the packet to publish for a bearer DID: its document with the types and
// gateways kept in its metadata.
func packetOf(b *did.BearerDID) (*Packet, error) {
	if b.DID.Method != Method {
		return nil, fmt.Errorf("%w: %s is not a did:dht", ErrUnsupported, b.DID)
	}
	p := &Packet{Document: b.Document}
	var err error
	if p.Types, err = intList(b.Metadata["types"]); err != nil {
		return nil, err
	}
	if p.Gateways, err = stringList(b.Metadata["gateways"]); err != nil {
		return nil, err
	}
	return p, nil
}

// intList reads metadata that went through JSON ([]any of float64) or not ([]int).
func intList(v any) ([]int, error) {
	switch l := v.(type) {
	case nil:
		return nil, nil
	case []int:
		return l, nil
	case []any:
		out := make([]int, 0, len(l))
		for _, e := range l {
			f, ok := e.(float64)
			if !ok || f != float64(int(f)) || f < 0 {
				return nil, fmt.Errorf("%w: metadata type %v is not a non-negative integer", ErrUnsupported, e)
			}
			out = append(out, int(f))
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: metadata types is %T", ErrUnsupported, v)
}

func stringList(v any) ([]string, error) {
	switch l := v.(type) {
	case nil:
		return nil, nil
	case []string:
		return l, nil
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%w: metadata gateway %v is not a string", ErrUnsupported, e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: metadata gateways is %T", ErrUnsupported, v)
}
