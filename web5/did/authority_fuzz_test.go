package did

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/anya-org/anya-go/web5/internal/jsonoracle"
	"github.com/anya-org/anya-go/web5/jose"
)

// FuzzVerifyAuthority is the differential target for JWS and JWT: the protected header and
// the payload are fuzzed, the token is signed by Alice or by Mallory, and whenever
// verification succeeds, the identity it reports must be the DID whose key signed, that
// key must be the one the returned method holds, every other reading of the kid (and, for
// a JWT, of iss) must agree with the verified one, and the header and claims must hold no
// member name twice, exactly or in another letter case.
func FuzzVerifyAuthority(f *testing.F) {
	ctx := context.Background()
	alice := bearer(f, "did:test:alice", jose.Ed25519, jose.Secp256k1)
	mallory := bearer(f, "did:test:mallory", jose.Ed25519)
	r := newResolver(f, &staticMethod{docs: map[string]*Document{alice.DID.String(): alice.Document, mallory.DID.String(): mallory.Document}}, WithoutCache())
	aliceEd, _ := alice.Signer(ctx, WithMethod("#key-0"))
	aliceK1, _ := alice.Signer(ctx, WithMethod("#key-1"))
	mallorySigner, _ := mallory.Signer(ctx)
	signers := []jose.Signer{aliceEd, aliceK1, mallorySigner}
	owner := []string{"did:test:alice", "did:test:alice", "did:test:mallory"}

	for _, s := range []struct {
		header, payload string
		signer          byte
	}{
		{`{"alg":"EdDSA","kid":"did:test:alice#key-0"}`, `{"iss":"did:test:alice"}`, 0},
		{`{"alg":"ES256K","kid":"did:test:alice#key-1","typ":"JWT"}`, `{"iss":"did:test:alice","sub":"x"}`, 1},
		{`{"alg":"EdDSA","kid":"did:test:mallory#key-0","KID":"did:test:alice#key-0"}`, `{"iss":"did:test:alice"}`, 2},
		{`{"alg":"EdDSA","KID":"did:test:alice#key-0","kid":"did:test:mallory#key-0"}`, `{"iss":"did:test:mallory","ISS":"did:test:alice"}`, 2},
		{`{"alg":"EdDSA","kid":"did:test:mallory#key-0","\u212Aid":"did:test:alice#key-0"}`, `{"iss":"did:test:mallory"}`, 2},
		{`{"alg":"EdDSA","kid":"did:test:alice#key-0"}`, `{"iss":"did:test:alice"}`, 2},
	} {
		f.Add([]byte(s.header), []byte(s.payload), s.signer)
	}
	b64 := base64.RawURLEncoding
	f.Fuzz(func(t *testing.T, header, payload []byte, who byte) {
		i := int(who) % len(signers)
		input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
		sig, err := signers[i].Sign(ctx, []byte(input))
		if err != nil {
			t.Fatal(err)
		}
		tok := input + "." + b64.EncodeToString(sig)
		check := func(j *jose.JWS, vm *VerificationMethod) {
			if vm.Controller != owner[i] {
				t.Fatalf("signed by %s, verified as %s", owner[i], vm.Controller)
			}
			if vm.ID != signers[i].KeyID() {
				t.Fatalf("signed with %s, verified with %s", signers[i].KeyID(), vm.ID)
			}
			if name, prev, dup := jsonoracle.FoldDuplicate(header); dup {
				t.Fatalf("header with %q and %q verified", prev, name)
			}
			if kid, ok := jsonoracle.Member(header, "kid"); !ok || kid != j.Header.KeyID {
				t.Fatalf("encoding/json reads kid %v, the verifier %q", kid, j.Header.KeyID)
			}
		}
		if j, vm, err := r.VerifyJWS(ctx, tok); err == nil {
			check(j, vm)
		}
		if jwt, vm, err := r.VerifyJWT(ctx, tok); err == nil {
			check(jwt.JWS, vm)
			if name, prev, dup := jsonoracle.FoldDuplicate(payload); dup {
				t.Fatalf("claims with %q and %q verified", prev, name)
			}
			if iss, ok := jsonoracle.Member(payload, "iss"); !ok || iss != vm.Controller {
				t.Fatalf("encoding/json reads iss %v, the verifier's signer is %s", iss, vm.Controller)
			}
		}
	})
}
