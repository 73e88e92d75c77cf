package diddht

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/jose"
)

// Method is the method name.
const Method = "dht"

// DefaultTTL is the TTL of the records Marshal writes (the specification's recommendation).
const DefaultTTL = 7200

// MaxPacketSize is the largest DNS packet a BEP44 item carries.
const MaxPacketSize = 1000

var b64 = base64.RawURLEncoding.Strict()

// keyTypes is the key type index of the did:dht registry: index → curve and default alg.
var keyTypes = [...]struct {
	curve jose.Curve
	alg   string
}{
	{jose.Ed25519, jose.AlgEdDSA},
	{jose.Secp256k1, jose.AlgES256K},
	{jose.P256, jose.AlgES256},
	{jose.X25519, "ECDH-ES+A256KW"},
}

func keyTypeIndex(c jose.Curve) int {
	for i, kt := range keyTypes {
		if kt.curve == c {
			return i
		}
	}
	return -1
}

// relationship record names, in the order the root record lists them.
var relNames = [...]struct {
	name string
	rel  did.Relationship
}{
	{"auth", did.Authentication},
	{"asm", did.AssertionMethod},
	{"agm", did.KeyAgreement},
	{"inv", did.CapabilityInvocation},
	{"del", did.CapabilityDelegation},
}

// Record is one DNS resource record of a packet. Data holds the TXT strings (joined when
// read) or the NS name.
type Record struct {
	Name string   `json:"name"`
	Type string   `json:"type"`
	TTL  uint32   `json:"ttl"`
	Data []string `json:"rdata"`
}

// Previous links a DID to the one it replaced: the old DID and its identity key's
// signature over the new identity key (the _prv record).
type Previous struct {
	DID       string
	Signature []byte
}

// Verify checks that the previous DID's identity key signed the new identity key.
func (p *Previous) Verify(newIdentity ed25519.PublicKey) error {
	d, err := did.Parse(p.DID)
	if err != nil {
		return err
	}
	old, err := IdentityKey(d)
	if err != nil {
		return err
	}
	if len(p.Signature) != ed25519.SignatureSize || !ed25519.Verify(old, newIdentity, p.Signature) {
		return ErrInvalidSignature
	}
	return nil
}

// Packet is the DNS representation of a did:dht document, with what travels beside the
// document in the same packet.
type Packet struct {
	Document *did.Document // nil when Deactivated
	// Types are type-index values (the _typ record).
	Types []int
	// Gateways are the host names of authoritative gateways (NS records).
	Gateways []string
	// Previous is the DID this one replaced, if any.
	Previous *Previous
	// Deactivated marks a deactivated DID: the root record reads "deactivated".
	Deactivated bool
	// TTL of the records; Marshal writes DefaultTTL when zero.
	TTL uint32
}

// Records returns the resource records of the packet.
func (p *Packet) Records() ([]Record, error) {
	if p.Document == nil {
		return nil, fmt.Errorf("%w: no document", ErrUnsupported)
	}
	doc := p.Document
	d, err := did.Parse(doc.ID)
	if err != nil {
		return nil, err
	}
	identity, err := IdentityKey(d)
	if err != nil {
		return nil, err
	}
	ttl := p.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	root := "_did." + d.ID + "."
	var recs []Record
	for _, g := range p.Gateways {
		g = strings.TrimSuffix(g, ".") + "."
		recs = append(recs, Record{Name: root, Type: "NS", TTL: ttl, Data: []string{g}})
	}
	if p.Deactivated {
		return append(recs, Record{Name: root, Type: "TXT", TTL: ttl, Data: []string{"deactivated"}}), nil
	}
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	if doc.Context != nil {
		return nil, fmt.Errorf("%w: did:dht documents have no @context", ErrUnsupported)
	}

	aliases := make(map[string]string, len(doc.VerificationMethod)) // absolute vm id → kN
	var keyRecs []Record
	vmList := make([]string, 0, len(doc.VerificationMethod))
	for i := range doc.VerificationMethod {
		vm := &doc.VerificationMethod[i]
		abs := doc.AbsoluteRef(vm.ID)
		frag, ok := strings.CutPrefix(abs, doc.ID+"#")
		if !ok || frag == "" {
			return nil, fmt.Errorf("%w: verification method %q is not a fragment of the DID", ErrUnsupported, vm.ID)
		}
		if vm.PublicKeyJwk == nil {
			return nil, fmt.Errorf("%w: verification method %q has no publicKeyJwk", ErrUnsupported, vm.ID)
		}
		k := *vm.PublicKeyJwk
		t := keyTypeIndex(k.Curve)
		if t < 0 {
			return nil, fmt.Errorf("%w: key type %s", ErrUnsupported, k.Curve)
		}
		raw, err := k.PublicKeyBytes()
		if err != nil {
			return nil, err
		}
		var props []string
		if i == 0 {
			if frag != "0" || k.Curve != jose.Ed25519 || string(raw) != string(identity) {
				return nil, fmt.Errorf("%w: the first verification method must be the identity key with id 0", ErrUnsupported)
			}
		} else {
			tp, err := k.Thumbprint()
			if err != nil {
				return nil, err
			}
			if frag == "0" {
				return nil, fmt.Errorf("%w: only the identity key has id 0", ErrUnsupported)
			}
			if frag != tp {
				if strings.ContainsAny(frag, ";,=") {
					return nil, fmt.Errorf("%w: verification method id %q", ErrUnsupported, frag)
				}
				props = append(props, "id="+frag)
			}
		}
		props = append(props, "t="+strconv.Itoa(t), "k="+b64.EncodeToString(raw))
		if k.Algorithm != "" && k.Algorithm != keyTypes[t].alg {
			props = append(props, "a="+k.Algorithm)
		}
		if vm.Controller != doc.ID {
			if strings.ContainsAny(vm.Controller, ";,") {
				return nil, fmt.Errorf("%w: controller %q", ErrUnsupported, vm.Controller)
			}
			props = append(props, "c="+vm.Controller)
		}
		alias := "k" + strconv.Itoa(i)
		aliases[abs] = alias
		vmList = append(vmList, alias)
		keyRecs = append(keyRecs, Record{Name: "_" + alias + "._did.", Type: "TXT", TTL: ttl, Data: []string{strings.Join(props, ";")}})
	}
	if len(vmList) == 0 {
		return nil, fmt.Errorf("%w: no identity key", ErrUnsupported)
	}
	rootProps := []string{"v=0", "vm=" + strings.Join(vmList, ",")}
	for _, rn := range relNames {
		refs := doc.Relationship(rn.rel)
		if len(refs) == 0 {
			continue
		}
		list := make([]string, 0, len(refs))
		for _, ref := range refs {
			alias, ok := aliases[doc.AbsoluteRef(ref)]
			if !ok {
				return nil, fmt.Errorf("%w: %s references %q outside the document", ErrUnsupported, rn.rel, ref)
			}
			list = append(list, alias)
		}
		rootProps = append(rootProps, rn.name+"="+strings.Join(list, ","))
	}
	var svcRecs []Record
	if len(doc.Service) > 0 {
		svcList := make([]string, 0, len(doc.Service))
		for i, s := range doc.Service {
			frag, ok := strings.CutPrefix(doc.AbsoluteRef(s.ID), doc.ID+"#")
			if !ok || frag == "" || strings.ContainsAny(frag, ";,=") || strings.ContainsAny(s.Type, ";,") {
				return nil, fmt.Errorf("%w: service %q", ErrUnsupported, s.ID)
			}
			eps, err := stringEndpoints(s)
			if err != nil {
				return nil, err
			}
			alias := "s" + strconv.Itoa(i)
			svcList = append(svcList, alias)
			svcRecs = append(svcRecs, Record{Name: "_" + alias + "._did.", Type: "TXT", TTL: ttl,
				Data: []string{"id=" + frag + ";t=" + s.Type + ";se=" + strings.Join(eps, ",")}})
		}
		rootProps = append(rootProps, "svc="+strings.Join(svcList, ","))
	}
	recs = append(recs, Record{Name: root, Type: "TXT", TTL: ttl, Data: []string{strings.Join(rootProps, ";")}})
	if p.Previous != nil {
		if err := p.Previous.Verify(identity); err != nil {
			return nil, fmt.Errorf("diddht: previous DID: %w", err)
		}
		recs = append(recs, Record{Name: "_prv._did.", Type: "TXT", TTL: ttl, Data: []string{"id=" + p.Previous.DID + ";s=" + b64.EncodeToString(p.Previous.Signature)}})
	}
	if len(doc.Controller) > 0 {
		if err := noCommas(doc.Controller); err != nil {
			return nil, err
		}
		recs = append(recs, Record{Name: "_cnt._did.", Type: "TXT", TTL: ttl, Data: []string{strings.Join(doc.Controller, ",")}})
	}
	if len(doc.AlsoKnownAs) > 0 {
		if err := noCommas(doc.AlsoKnownAs); err != nil {
			return nil, err
		}
		recs = append(recs, Record{Name: "_aka._did.", Type: "TXT", TTL: ttl, Data: []string{strings.Join(doc.AlsoKnownAs, ",")}})
	}
	recs = append(recs, keyRecs...)
	recs = append(recs, svcRecs...)
	if len(p.Types) > 0 {
		ts := make([]string, len(p.Types))
		for i, t := range p.Types {
			if t < 0 {
				return nil, fmt.Errorf("%w: negative type %d", ErrUnsupported, t)
			}
			ts[i] = strconv.Itoa(t)
		}
		recs = append(recs, Record{Name: "_typ._did.", Type: "TXT", TTL: ttl, Data: []string{"id=" + strings.Join(ts, ",")}})
	}
	return recs, nil
}

func noCommas(l []string) error {
	for _, s := range l {
		if strings.ContainsAny(s, ",") || s == "" {
			return fmt.Errorf("%w: %q in a comma-separated record", ErrUnsupported, s)
		}
	}
	return nil
}

func stringEndpoints(s did.Service) ([]string, error) {
	var eps []string
	switch v := s.ServiceEndpoint.(type) {
	case string:
		eps = []string{v}
	case []string:
		eps = v
	case []any:
		for _, e := range v {
			str, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%w: service %q has a non-string endpoint", ErrUnsupported, s.ID)
			}
			eps = append(eps, str)
		}
	default:
		return nil, fmt.Errorf("%w: service %q endpoint is not a string or a list of strings", ErrUnsupported, s.ID)
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("%w: service %q has no endpoint", ErrUnsupported, s.ID)
	}
	for _, e := range eps {
		if e == "" || strings.ContainsAny(e, ",;") {
			return nil, fmt.Errorf("%w: service endpoint %q", ErrUnsupported, e)
		}
	}
	return eps, nil
}

// Marshal encodes the packet as a compressed DNS message with the Authoritative Answer
// flag set. It fails with ErrTooLarge over MaxPacketSize bytes.
func (p *Packet) Marshal() ([]byte, error) {
	recs, err := p.Records()
	if err != nil {
		return nil, err
	}
	return MarshalRecords(recs)
}

// MarshalRecords encodes resource records as a compressed, authoritative DNS response.
func MarshalRecords(recs []Record) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{Response: true, Authoritative: true})
	b.EnableCompression()
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	for _, r := range recs {
		name, err := dnsmessage.NewName(r.Name)
		if err != nil {
			return nil, fmt.Errorf("%w: name %q: %v", ErrUnsupported, r.Name, err)
		}
		h := dnsmessage.ResourceHeader{Name: name, Class: dnsmessage.ClassINET, TTL: r.TTL}
		switch r.Type {
		case "TXT":
			var chunks []string
			for _, s := range r.Data {
				for len(s) > 255 {
					chunks = append(chunks, s[:255])
					s = s[255:]
				}
				chunks = append(chunks, s)
			}
			err = b.TXTResource(h, dnsmessage.TXTResource{TXT: chunks})
		case "NS":
			var ns dnsmessage.Name
			if len(r.Data) != 1 {
				return nil, fmt.Errorf("%w: NS record with %d names", ErrUnsupported, len(r.Data))
			}
			if ns, err = dnsmessage.NewName(r.Data[0]); err == nil {
				err = b.NSResource(h, dnsmessage.NSResource{NS: ns})
			}
		default:
			return nil, fmt.Errorf("%w: record type %q", ErrUnsupported, r.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: record %s: %v", ErrUnsupported, r.Name, err)
		}
	}
	msg, err := b.Finish()
	if err != nil {
		return nil, err
	}
	if len(msg) > MaxPacketSize {
		return nil, fmt.Errorf("%w (%d bytes)", ErrTooLarge, len(msg))
	}
	return msg, nil
}

// ParseRecords decodes the TXT and NS records of a DNS message (other record types are
// skipped); multi-string TXT records are joined into one string.
func ParseRecords(msg []byte) ([]Record, error) {
	if len(msg) > MaxPacketSize {
		return nil, fmt.Errorf("%w (%d bytes)", ErrTooLarge, len(msg))
	}
	var p dnsmessage.Parser
	if _, err := p.Start(msg); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPacket, err)
	}
	if err := p.SkipAllQuestions(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPacket, err)
	}
	var recs []Record
	sections := []func() (dnsmessage.ResourceHeader, error){p.AnswerHeader, p.AuthorityHeader, p.AdditionalHeader}
	skips := []func() error{p.SkipAnswer, p.SkipAuthority, p.SkipAdditional}
	for si, next := range sections {
		for {
			h, err := next()
			if err == dnsmessage.ErrSectionDone {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrInvalidPacket, err)
			}
			name := strings.ToLower(h.Name.String())
			switch h.Type {
			case dnsmessage.TypeTXT:
				txt, err := p.TXTResource()
				if err != nil {
					return nil, fmt.Errorf("%w: %v", ErrInvalidPacket, err)
				}
				recs = append(recs, Record{Name: name, Type: "TXT", TTL: h.TTL, Data: []string{strings.Join(txt.TXT, "")}})
			case dnsmessage.TypeNS:
				ns, err := p.NSResource()
				if err != nil {
					return nil, fmt.Errorf("%w: %v", ErrInvalidPacket, err)
				}
				recs = append(recs, Record{Name: name, Type: "NS", TTL: h.TTL, Data: []string{strings.ToLower(ns.NS.String())}})
			default:
				if err := skips[si](); err != nil {
					return nil, fmt.Errorf("%w: %v", ErrInvalidPacket, err)
				}
			}
		}
	}
	return recs, nil
}

// ParsePacket decodes the DNS message of did d and rebuilds its document, following the
// specification's Read algorithm: k0 must be the identity key of the DID (id "0"); other
// keys take their id from the record or their JWK thumbprint; every id is expanded to an
// absolute DID URL; EC keys must be compressed points.
func ParsePacket(d did.DID, msg []byte) (*Packet, error) {
	recs, err := ParseRecords(msg)
	if err != nil {
		return nil, err
	}
	return PacketFromRecords(d, recs)
}

// PacketFromRecords rebuilds a packet from records (see ParsePacket).
func PacketFromRecords(d did.DID, recs []Record) (*Packet, error) {
	identity, err := IdentityKey(d)
	if err != nil {
		return nil, err
	}
	id := d.String()
	rootName := "_did." + strings.ToLower(d.ID) + "."
	byName := make(map[string]Record, len(recs))
	p := &Packet{}
	var root *Record
	for i := range recs {
		r := recs[i]
		switch {
		case r.Name == rootName && r.Type == "NS":
			p.Gateways = append(p.Gateways, strings.TrimSuffix(r.Data[0], "."))
		case r.Name == rootName && r.Type == "TXT":
			if root != nil {
				return nil, fmt.Errorf("%w: two root records", ErrInvalidPacket)
			}
			root = &recs[i]
		case r.Type == "TXT" && strings.HasSuffix(r.Name, "._did."):
			if _, dup := byName[r.Name]; dup {
				return nil, fmt.Errorf("%w: record %s appears twice", ErrInvalidPacket, r.Name)
			}
			byName[r.Name] = r
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no root record for _did.%s", ErrInvalidPacket, d.ID)
	}
	p.TTL = root.TTL
	rootData := strings.Join(root.Data, "")
	if rootData == "deactivated" {
		p.Deactivated = true
		return p, nil
	}
	props, err := parseProps(rootData)
	if err != nil {
		return nil, err
	}
	if v, ok := props["v"]; !ok || v != "0" {
		return nil, fmt.Errorf("%w: root record version %q, want 0", ErrInvalidPacket, v)
	}
	doc := &did.Document{ID: id}
	p.Document = doc

	vmIDs := make(map[string]string) // kN → absolute vm id
	vms := splitList(props["vm"])
	if len(vms) == 0 || vms[0] != "k0" {
		return nil, fmt.Errorf("%w: vm must start with k0", ErrInvalidPacket)
	}
	for i, alias := range vms {
		if _, dup := vmIDs[alias]; dup {
			return nil, fmt.Errorf("%w: vm lists %s twice", ErrInvalidPacket, alias)
		}
		r, ok := byName["_"+alias+"._did."]
		if !ok || !isAlias(alias, 'k') {
			return nil, fmt.Errorf("%w: no record for key %s", ErrInvalidPacket, alias)
		}
		vm, err := keyRecord(id, i == 0, identity, strings.Join(r.Data, ""))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalidPacket, alias, err)
		}
		if _, ok := doc.FindMethod(vm.ID); ok {
			return nil, fmt.Errorf("%w: verification method id %s used twice", ErrInvalidPacket, vm.ID)
		}
		vmIDs[alias] = vm.ID
		doc.VerificationMethod = append(doc.VerificationMethod, vm)
	}
	for _, rn := range relNames {
		for _, alias := range splitList(props[rn.name]) {
			vmID, ok := vmIDs[alias]
			if !ok {
				return nil, fmt.Errorf("%w: %s references unknown key %s", ErrInvalidPacket, rn.name, alias)
			}
			ptr := relPtr(doc, rn.rel)
			*ptr = append(*ptr, vmID)
		}
	}
	seenSvc := make(map[string]bool)
	for _, alias := range splitList(props["svc"]) {
		r, ok := byName["_"+alias+"._did."]
		if !ok || !isAlias(alias, 's') || seenSvc[alias] {
			return nil, fmt.Errorf("%w: no record for service %s", ErrInvalidPacket, alias)
		}
		seenSvc[alias] = true
		sp, err := parseProps(strings.Join(r.Data, ""))
		if err != nil {
			return nil, err
		}
		if sp["id"] == "" || sp["t"] == "" || sp["se"] == "" {
			return nil, fmt.Errorf("%w: service %s needs id, t and se", ErrInvalidPacket, alias)
		}
		var eps []any
		for _, e := range strings.Split(sp["se"], ",") {
			if e == "" {
				return nil, fmt.Errorf("%w: service %s has an empty endpoint", ErrInvalidPacket, alias)
			}
			eps = append(eps, e)
		}
		doc.Service = append(doc.Service, did.Service{ID: id + "#" + strings.TrimPrefix(sp["id"], "#"), Type: sp["t"], ServiceEndpoint: eps})
	}
	if r, ok := byName["_cnt._did."]; ok {
		doc.Controller = splitList(strings.Join(r.Data, ""))
	}
	if r, ok := byName["_aka._did."]; ok {
		doc.AlsoKnownAs = splitList(strings.Join(r.Data, ""))
	}
	if r, ok := byName["_typ._did."]; ok {
		tp, err := parseProps(strings.Join(r.Data, ""))
		if err != nil {
			return nil, err
		}
		for _, s := range splitList(tp["id"]) {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%w: type %q", ErrInvalidPacket, s)
			}
			p.Types = append(p.Types, n)
		}
		sort.Ints(p.Types)
	}
	if r, ok := byName["_prv._did."]; ok {
		pp, err := parseProps(strings.Join(r.Data, ""))
		if err != nil {
			return nil, err
		}
		sig, err := b64.DecodeString(pp["s"])
		if err != nil || pp["id"] == "" {
			return nil, fmt.Errorf("%w: _prv record needs id and a base64url s", ErrInvalidPacket)
		}
		p.Previous = &Previous{DID: pp["id"], Signature: sig}
	}
	if err := doc.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPacket, err)
	}
	return p, nil
}

func relPtr(doc *did.Document, r did.Relationship) *[]string {
	switch r {
	case did.Authentication:
		return &doc.Authentication
	case did.AssertionMethod:
		return &doc.AssertionMethod
	case did.KeyAgreement:
		return &doc.KeyAgreement
	case did.CapabilityInvocation:
		return &doc.CapabilityInvocation
	default:
		return &doc.CapabilityDelegation
	}
}

func isAlias(a string, prefix byte) bool {
	if len(a) < 2 || a[0] != prefix {
		return false
	}
	n, err := strconv.Atoi(a[1:])
	return err == nil && n >= 0 && strconv.Itoa(n) == a[1:]
}

func keyRecord(docID string, identityKey bool, identity ed25519.PublicKey, data string) (did.VerificationMethod, error) {
	kp, err := parseProps(data)
	if err != nil {
		return did.VerificationMethod{}, err
	}
	t, err := strconv.Atoi(kp["t"])
	if err != nil || t < 0 || t >= len(keyTypes) || kp["t"] != strconv.Itoa(t) {
		return did.VerificationMethod{}, fmt.Errorf("unknown key type %q", kp["t"])
	}
	raw, err := b64.DecodeString(kp["k"])
	if err != nil {
		return did.VerificationMethod{}, fmt.Errorf("key is not base64url")
	}
	kt := keyTypes[t]
	if (kt.curve == jose.Secp256k1 || kt.curve == jose.P256) && len(raw) != 33 {
		return did.VerificationMethod{}, fmt.Errorf("%s key must be a 33-byte compressed point, got %d bytes", kt.curve, len(raw))
	}
	k, err := jose.PublicJWK(kt.curve, raw)
	if err != nil {
		return did.VerificationMethod{}, err
	}
	k.Algorithm = kt.alg
	if a, ok := kp["a"]; ok {
		if a == "" {
			return did.VerificationMethod{}, fmt.Errorf("empty alg")
		}
		k.Algorithm = a
	}
	var frag string
	switch {
	case identityKey:
		if kt.curve != jose.Ed25519 || string(raw) != string(identity) {
			return did.VerificationMethod{}, fmt.Errorf("k0 is not the identity key of the DID")
		}
		if v, ok := kp["id"]; ok && v != "0" {
			return did.VerificationMethod{}, fmt.Errorf("the identity key's id must be 0")
		}
		frag = "0"
	case kp["id"] != "":
		frag = strings.TrimPrefix(kp["id"], "#")
		if frag == "0" {
			return did.VerificationMethod{}, fmt.Errorf("only the identity key has id 0")
		}
	default:
		if frag, err = k.Thumbprint(); err != nil {
			return did.VerificationMethod{}, err
		}
	}
	k.KeyID = frag
	ctrl := docID
	if c, ok := kp["c"]; ok {
		if _, err := did.Parse(c); err != nil {
			return did.VerificationMethod{}, fmt.Errorf("controller: %v", err)
		}
		ctrl = c
	}
	return did.VerificationMethod{ID: docID + "#" + frag, Type: did.TypeJsonWebKey, Controller: ctrl, PublicKeyJwk: &k}, nil
}

// parseProps reads "a=1;b=2" (values keep any "=" after the first).
func parseProps(s string) (map[string]string, error) {
	out := make(map[string]string)
	for _, part := range strings.Split(s, ";") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: property %q is not key=value", ErrInvalidPacket, clip(part))
		}
		for prev := range out {
			// Property names are matched exactly; two that differ only in case would be
			// read differently by readers that fold case (as DNS does for names).
			if strings.EqualFold(prev, k) {
				return nil, fmt.Errorf("%w: property %q repeated", ErrInvalidPacket, k)
			}
		}
		out[k] = v
	}
	return out, nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
