package dwn_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/internal/jsonoracle"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/web5test"
)

// FuzzProcessAuthority is the differential target for records-store messages: the
// protected header and the signed payload of a write are fuzzed and signed by Alice (the
// tenant) or by Bob (a stranger to the tenant), and whenever the node accepts the
// message, the record's author must be the DID whose key signed, the header must name
// that key under every reading (encoding/json's case-insensitive one included), no signed
// object may hold a member name twice (exactly or in another letter case), and Bob must
// never have written into Alice's tenant.
func FuzzProcessAuthority(f *testing.F) {
	ctx := context.Background()
	alice, bob := web5test.Alice(f), web5test.Bob(f)
	tenant := alice.String()
	as, _ := alice.Signer(ctx)
	bs, _ := bob.Signer(ctx)
	signers := []jose.Signer{as, bs}
	authors := []*did.BearerDID{alice, bob}
	net := web5test.NewNetwork(f)
	resolver := net.Resolver(f)
	// One write per author: its record ID binds its author; the signature is replaced.
	writes := make([]map[string]any, len(authors))
	payloads := make([][]byte, len(authors))
	for i, a := range authors {
		m, err := dwn.NewWrite(ctx, a, tenant, dwn.Write{DataFormat: "text/plain", Data: []byte("x")})
		if err != nil {
			f.Fatal(err)
		}
		raw, _ := json.Marshal(m)
		_ = json.Unmarshal(raw, &writes[i])
		p, _ := base64.RawURLEncoding.DecodeString(writes[i]["authorization"].(map[string]any)["signature"].(map[string]any)["payload"].(string))
		payloads[i] = p
	}
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	f.Add([]byte(`{"alg":"EdDSA","kid":`+q(as.KeyID())+`}`), payloads[0], byte(0), byte(0))
	f.Add([]byte(`{"alg":"ES256K","kid":`+q(bs.KeyID())+`}`), payloads[1], byte(1), byte(1))
	f.Add([]byte(`{"alg":"ES256K","kid":`+q(bs.KeyID())+`,"KID":`+q(as.KeyID())+`}`), payloads[0], byte(1), byte(0))
	f.Add([]byte(`{"alg":"ES256K","KID":`+q(as.KeyID())+`,"kid":`+q(bs.KeyID())+`}`), payloads[0], byte(1), byte(0))
	f.Add([]byte(`{"alg":"ES256K","kid":`+q(bs.KeyID())+`,"\u212Aid":`+q(as.KeyID())+`}`), payloads[1], byte(1), byte(1))
	f.Fuzz(func(t *testing.T, header, payload []byte, who, msg byte) {
		i, k := int(who)%len(signers), int(msg)%len(writes)
		h, p := base64.RawURLEncoding.EncodeToString(header), base64.RawURLEncoding.EncodeToString(payload)
		sig, err := signers[i].Sign(ctx, []byte(h+"."+p))
		if err != nil {
			t.Fatal(err)
		}
		w := map[string]any{}
		for key, v := range writes[k] {
			w[key] = v
		}
		w["authorization"] = map[string]any{"signature": map[string]any{"payload": p,
			"signatures": []any{map[string]any{"protected": h, "signature": base64.RawURLEncoding.EncodeToString(sig)}}}}
		raw, _ := json.Marshal(w)
		m, err := dwn.ParseMessage(raw)
		if err != nil {
			return
		}
		node, err := dwn.New(resolver, dwn.WithStore(dwn.NewMemoryStore()))
		if err != nil {
			t.Fatal(err)
		}
		defer node.Close()
		reply, err := node.Process(ctx, tenant, m)
		if err != nil {
			return
		}
		if got, want := reply.Record.Author, authors[i].String(); got != want {
			t.Fatalf("signed by %s, stored as written by %s", want, got)
		}
		if i != 0 {
			t.Fatalf("%s wrote into %s's tenant", authors[i], tenant)
		}
		for _, part := range [][]byte{header, payload} {
			if name, prev, dup := jsonoracle.FoldDuplicate(part); dup {
				t.Fatalf("%q and %q in an accepted message", prev, name)
			}
		}
		if kid, ok := jsonoracle.Member(header, "kid"); !ok || kid != signers[i].KeyID() {
			t.Fatalf("encoding/json reads kid %v; signed with %s", kid, signers[i].KeyID())
		}
		if tn, _ := jsonoracle.Member(payload, "tenant"); tn != tenant {
			t.Fatalf("encoding/json reads tenant %v; accepted for %s", tn, tenant)
		}
	})
}
