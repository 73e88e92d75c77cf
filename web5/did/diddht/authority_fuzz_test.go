package diddht

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/jose"
)

// foldDuplicates reads a DNS packet with dnsmessage alone and reports whether two TXT
// records of the DID (names under _did.) have names equal but for letter case, or the
// root record (which is always read) holds two properties whose names are.
func foldDuplicates(msg []byte) bool {
	var p dnsmessage.Parser
	if _, err := p.Start(msg); err != nil {
		return false
	}
	_ = p.SkipAllQuestions()
	var names []string
	for {
		h, err := p.AnswerHeader()
		if err != nil {
			return false
		}
		if h.Type != dnsmessage.TypeTXT {
			if p.SkipAnswer() != nil {
				return false
			}
			continue
		}
		txt, err := p.TXTResource()
		if err != nil {
			return false
		}
		name := h.Name.String()
		lower := strings.ToLower(name)
		if !strings.HasSuffix(lower, "._did.") && !strings.HasPrefix(lower, "_did.") {
			continue
		}
		for _, n := range names {
			if strings.EqualFold(n, name) {
				return true
			}
		}
		names = append(names, name)
		if !strings.HasPrefix(lower, "_did.") {
			continue
		}
		var keys []string
		for _, prop := range strings.Split(strings.Join(txt.TXT, ""), ";") {
			k, _, _ := strings.Cut(prop, "=")
			for _, prev := range keys {
				if strings.EqualFold(prev, k) && k != "" {
					return true
				}
			}
			keys = append(keys, k)
		}
	}
}

// FuzzResolveAuthority is the differential target for did:dht records: the DNS packet is
// fuzzed and signed as a BEP44 item by Alice's identity key or by Mallory's, and whenever
// Alice's DID resolves from it, the signer must have been Alice's identity key, the
// document must be Alice's with the identity key as method #0, every method must belong to
// Alice's document, and no record name or property name may appear twice, exactly or in
// another letter case.
func FuzzResolveAuthority(f *testing.F) {
	ctx := context.Background()
	alice, err := Create(ctx, jose.NewMemoryKeyManager(), WithKey(jose.Secp256k1, "sig", did.AssertionMethod), WithService("dwn", "DecentralizedWebNode", "https://dwn.example"))
	if err != nil {
		f.Fatal(err)
	}
	mallory, err := Create(ctx, jose.NewMemoryKeyManager())
	if err != nil {
		f.Fatal(err)
	}
	as, _ := alice.Signer(ctx, did.WithMethod("#0"))
	ms, _ := mallory.Signer(ctx, did.WithMethod("#0"))
	signers := []jose.Signer{as, ms}
	identity, _ := IdentityKey(alice.DID)
	for _, b := range []*did.BearerDID{alice, mallory} {
		p, _ := packetOf(b)
		v, err := p.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(v, byte(0))
		f.Add(v, byte(1))
	}
	var served []byte
	c, err := NewClient("http://gateway.invalid", WithHTTPClient(&http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Status: "200 OK", Body: ioNopCloser(served), Request: r}, nil
	})}))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v []byte, who byte) {
		i := int(who) % len(signers)
		m, err := SignMessage(ctx, signers[i], 1_700_000_000, v)
		if err != nil {
			return
		}
		served, _ = m.MarshalBinary()
		res, err := c.Resolve(ctx, alice.DID)
		if err != nil {
			return
		}
		if i != 0 {
			t.Fatal("Alice's DID resolved from a record Mallory signed")
		}
		if res.DocumentMetadata.Deactivated {
			return
		}
		doc := res.Document
		if doc.ID != alice.DID.String() {
			t.Fatalf("document %s for %s", doc.ID, alice.DID)
		}
		k0, ok := doc.FindMethod("#0")
		if !ok {
			t.Fatal("no identity key")
		}
		raw, err := k0.PublicKeyJwk.PublicKeyBytes()
		if err != nil || string(raw) != string(identity) {
			t.Fatal("method #0 is not the identity key")
		}
		for _, vm := range doc.VerificationMethod {
			if !strings.HasPrefix(vm.ID, doc.ID+"#") {
				t.Fatalf("method %s outside the document", vm.ID)
			}
		}
		if foldDuplicates(v) {
			t.Fatal("a packet naming a record or property twice resolved")
		}
	})
}
