package vc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/anya-org/anya-go/web5/internal/jsonoracle"
	"github.com/anya-org/anya-go/web5/jose"
)

// FuzzVerifyAuthority is the differential target for VC-JWT and vc+jwt: header and payload
// are fuzzed, the token is signed by Alice or by Mallory, and whenever Verify accepts it,
// the credential's issuer must be the DID whose key signed, encoding/json must read the
// same kid and the same issuer (of the vc claim or of the vc+jwt payload), no object of
// header or payload may hold a member name twice (exactly or in another letter case), and
// the types must be unique and non-empty.
func FuzzVerifyAuthority(f *testing.F) {
	ctx := context.Background()
	alice, mallory := bearer(f, jose.Ed25519), bearer(f, jose.Ed25519)
	as, _ := alice.Signer(ctx)
	ms, _ := mallory.Signer(ctx)
	signers := []jose.Signer{as, ms}
	owners := []string{alice.String(), mallory.String()}
	v := vectorVerifier(f, WithClock(at(t0)))
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	v1 := func(iss string) string {
		return `{"iss":` + q(iss) + `,"nbf":1700000000,"vc":{"@context":["` + ContextV1 + `"],"type":["VerifiableCredential","X"],"issuer":` + q(iss) +
			`,"issuanceDate":"2023-11-14T22:13:20Z","credentialSubject":{"id":"did:example:s"}}}`
	}
	v2 := func(iss string) string {
		return `{"@context":["` + ContextV2 + `"],"type":["VerifiableCredential"],"issuer":` + q(iss) + `,"credentialSubject":{"id":"did:example:s"}}`
	}
	for _, s := range []struct {
		header, payload string
		who             byte
	}{
		{`{"alg":"EdDSA","kid":` + q(as.KeyID()) + `,"typ":"JWT"}`, v1(alice.String()), 0},
		{`{"alg":"EdDSA","kid":` + q(as.KeyID()) + `,"typ":"vc+jwt"}`, v2(alice.String()), 0},
		{`{"alg":"EdDSA","kid":` + q(ms.KeyID()) + `,"KID":` + q(as.KeyID()) + `,"typ":"JWT"}`, v1(alice.String()), 1},
		{`{"alg":"EdDSA","kid":` + q(ms.KeyID()) + `,"typ":"JWT"}`, v1(mallory.String())[:len(v1(mallory.String()))-2] + `,"Issuer":` + q(alice.String()) + `}}`, 1},
		{`{"alg":"EdDSA","kid":` + q(ms.KeyID()) + `,"typ":"vc+jwt"}`, v2(mallory.String()), 1},
	} {
		f.Add([]byte(s.header), []byte(s.payload), s.who)
	}
	b64 := base64.RawURLEncoding

	f.Fuzz(func(t *testing.T, header, payload []byte, who byte) {
		i := int(who) % len(signers)
		input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
		sig, err := signers[i].Sign(ctx, []byte(input))
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Verify(ctx, input+"."+b64.EncodeToString(sig))
		if err != nil {
			return
		}
		if c.Issuer.ID != owners[i] {
			t.Fatalf("signed by %s, verified as issued by %s", owners[i], c.Issuer.ID)
		}
		for _, part := range [][]byte{header, payload} {
			if name, prev, dup := jsonoracle.FoldDuplicate(part); dup {
				t.Fatalf("%q and %q in a verified token", prev, name)
			}
		}
		if kid, ok := jsonoracle.Member(header, "kid"); !ok || kid != signers[i].KeyID() {
			t.Fatalf("encoding/json reads kid %v; signed with %s", kid, signers[i].KeyID())
		}
		cred := payload
		if vc, ok := jsonoracle.Member(payload, "vc"); ok {
			cred, _ = json.Marshal(vc)
		}
		iss, _ := jsonoracle.Member(cred, "issuer")
		if m, isObj := iss.(map[string]any); isObj {
			iss = m["id"]
		}
		if iss != c.Issuer.ID {
			t.Fatalf("encoding/json reads issuer %v, the verifier %s", iss, c.Issuer.ID)
		}
		seen := map[string]bool{}
		for _, ty := range c.Type {
			if ty == "" || seen[ty] {
				t.Fatalf("types %q verified", c.Type)
			}
			seen[ty] = true
		}
	})
}
