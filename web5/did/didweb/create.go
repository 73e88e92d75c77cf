package didweb

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/jose"
)

// NewDID returns the did:web of a host — a domain name or an IP address, with an optional
// ":port" (an IPv6 address in brackets: "[::1]:8443") — and optional path segments. The
// port's colon is percent-encoded (%3A), the segments are joined with ':', and any byte of
// a segment that is not a letter, a digit, '.', '-' or '_' is percent-encoded:
//
//	NewDID("example.com")                      → did:web:example.com
//	NewDID("example.com:3000", "user", "alice") → did:web:example.com%3A3000:user:alice
//
// A host that is not a domain name or IP address, a port outside 1–65535, and an empty,
// "." or ".." segment or one holding '/', '\', '?' or '#' are invalidDid errors.
func NewDID(host string, path ...string) (did.DID, error) {
	name, port := host, ""
	if h, p, err := net.SplitHostPort(host); err == nil {
		if p == "" {
			return did.DID{}, did.NewError(did.CodeInvalidDID, host, fmt.Errorf("empty port"))
		}
		name, port = h, p
	} else if strings.Count(host, ":") > 1 && !strings.HasPrefix(host, "[") {
		return did.DID{}, did.NewError(did.CodeInvalidDID, host, fmt.Errorf("an IPv6 address must be in brackets"))
	}
	if !validHost(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")) {
		return did.DID{}, did.NewError(did.CodeInvalidDID, host, fmt.Errorf("%q is not a domain name or IP address", name))
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 || strconv.Itoa(n) != port {
			return did.DID{}, did.NewError(did.CodeInvalidDID, host, fmt.Errorf("bad port %q", port))
		}
	}
	if strings.Contains(name, ":") && !strings.HasPrefix(name, "[") {
		name = "[" + name + "]" // an IPv6 address with a port: SplitHostPort dropped the brackets
	}
	id := escape(name)
	if port != "" {
		id += "%3A" + port
	}
	for _, seg := range path {
		id += ":" + escape(seg)
	}
	d := did.DID{Method: Method, ID: id}
	if _, err := documentURL(d, false); err != nil {
		return did.DID{}, err
	}
	if _, err := did.Parse(d.String()); err != nil {
		return did.DID{}, did.NewError(did.CodeInvalidDID, d.String(), err)
	}
	return d, nil
}

// escape percent-encodes every byte of s that is not a DID idchar other than '%'.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// CreateOption adds to the document NewDocument and Create build (a per-call option of the
// package's one shape).
type CreateOption func(*createConfig)

type createConfig struct {
	keys       []keySpec
	services   []did.Service
	controller []string
	aka        []string
}

type keySpec struct {
	pub   jose.JWK
	curve jose.Curve // set: generate a key of this curve in the key manager (Create only)
	id    string
	rels  []did.Relationship
}

// WithPublicKey adds a verification method holding pub (whose private key lives elsewhere)
// with the fragment id ("key-1" or "#key-1"; "" for the key's RFC 7638 thumbprint), listed
// under rels — by default under authentication, assertionMethod, capabilityInvocation and
// capabilityDelegation for a signing key and under keyAgreement for an X25519 key. Defaults
// to no such method.
func WithPublicKey(pub jose.JWK, id string, rels ...did.Relationship) CreateOption {
	return func(c *createConfig) { c.keys = append(c.keys, keySpec{pub: pub, id: id, rels: rels}) }
}

// WithKey makes Create generate a key on curve crv in its key manager and add it as
// WithPublicKey does. NewDocument refuses it. Defaults to one Ed25519 key when no key is
// given to Create.
func WithKey(crv jose.Curve, id string, rels ...did.Relationship) CreateOption {
	return func(c *createConfig) { c.keys = append(c.keys, keySpec{curve: crv, id: id, rels: rels}) }
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

// WithController sets the document's controllers. Defaults to none (the DID controls
// itself).
func WithController(dids ...string) CreateOption {
	return func(c *createConfig) { c.controller = append(c.controller, dids...) }
}

// WithAlsoKnownAs sets the document's alsoKnownAs. Defaults to none.
func WithAlsoKnownAs(ids ...string) CreateOption {
	return func(c *createConfig) { c.aka = append(c.aka, ids...) }
}

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

// NewDocument builds the document of the did:web d from public keys (WithPublicKey) and
// services: verification methods of type JsonWebKey controlled by d, whose JWKs carry the
// alg their curve signs with. Serve it at its URL (DocumentURL), for example with a
// Handler. Invalid options are *did.OptionError values; a d that is not a valid did:web is
// an invalidDid error.
func NewDocument(d did.DID, opts ...CreateOption) (*did.Document, error) {
	cfg, err := createCfg(opts)
	if err != nil {
		return nil, err
	}
	for _, k := range cfg.keys {
		if k.curve != "" {
			return nil, &did.OptionError{Option: "WithKey", Value: k.curve, Reason: "NewDocument generates no keys: use Create, or WithPublicKey"}
		}
	}
	return buildDocument(d, cfg)
}

func buildDocument(d did.DID, cfg createConfig) (*did.Document, error) {
	if _, err := documentURL(d, false); err != nil {
		return nil, err
	}
	if _, err := did.Parse(d.String()); err != nil {
		return nil, did.NewError(did.CodeInvalidDID, d.String(), err)
	}
	id := d.String()
	doc := &did.Document{Context: []any{did.ContextV1}, ID: id, Controller: cfg.controller, AlsoKnownAs: cfg.aka}
	for i, k := range cfg.keys {
		if k.pub.IsPrivate() {
			return nil, &did.OptionError{Option: "WithPublicKey", Value: i, Reason: "a private key: pass its public part"}
		}
		if err := k.pub.Validate(); err != nil {
			return nil, &did.OptionError{Option: "WithPublicKey", Value: i, Reason: err.Error()}
		}
		pub := jose.JWK{KeyType: k.pub.KeyType, Curve: k.pub.Curve, X: k.pub.X, Y: k.pub.Y, Algorithm: jose.AlgorithmFor(k.pub.Curve)}
		frag := strings.TrimPrefix(k.id, "#")
		if frag == "" {
			tp, err := pub.Thumbprint()
			if err != nil {
				return nil, err
			}
			frag = tp
		}
		rels := k.rels
		if len(rels) == 0 {
			rels = []did.Relationship{did.Authentication, did.AssertionMethod, did.CapabilityInvocation, did.CapabilityDelegation}
			if pub.Curve == jose.X25519 {
				rels = []did.Relationship{did.KeyAgreement}
			}
		}
		vmID := id + "#" + frag
		if _, dup := doc.FindMethod(vmID); dup {
			return nil, &did.OptionError{Option: "WithPublicKey", Value: frag, Reason: "verification method id given twice"}
		}
		doc.AddVerificationMethod(did.VerificationMethod{ID: vmID, Type: did.TypeJsonWebKey, Controller: id, PublicKeyJwk: &pub}, rels...)
	}
	for _, s := range cfg.services {
		frag := strings.TrimPrefix(s.ID, "#")
		if frag == "" {
			return nil, &did.OptionError{Option: "WithService", Value: s.ID, Reason: "a service needs an id"}
		}
		s.ID = id + "#" + frag
		doc.Service = append(doc.Service, s)
	}
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	return doc, nil
}

// Create generates the keys of a did:web in km (WithKey; one Ed25519 key if no key is
// given) and returns the bearer DID with its document (NewDocument). The DID is not
// published: serve its Document at DocumentURL(d), for example with a Handler.
func Create(ctx context.Context, km jose.KeyManager, d did.DID, opts ...CreateOption) (*did.BearerDID, error) {
	if km == nil {
		return nil, &did.OptionError{Option: "km", Reason: "nil"}
	}
	cfg, err := createCfg(opts)
	if err != nil {
		return nil, err
	}
	if _, err := documentURL(d, false); err != nil {
		return nil, err
	}
	if len(cfg.keys) == 0 {
		cfg.keys = []keySpec{{curve: jose.Ed25519}}
	}
	keyIDs := map[int]string{}
	for i, k := range cfg.keys {
		if k.curve == "" {
			continue
		}
		keyID, err := km.GenerateKey(ctx, k.curve)
		if err != nil {
			return nil, err
		}
		pub, err := km.PublicKey(ctx, keyID)
		if err != nil {
			return nil, err
		}
		cfg.keys[i].pub, keyIDs[i] = pub, keyID
	}
	doc, err := buildDocument(d, cfg)
	if err != nil {
		return nil, err
	}
	bound := map[string]string{}
	for i, keyID := range keyIDs {
		bound[doc.VerificationMethod[i].ID] = keyID
	}
	return did.NewBearerDID(ctx, doc, km, bound)
}
