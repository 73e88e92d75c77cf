package anya_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/anya-org/anya-go"
)

// FuzzBitcoinToWeb5 feeds arbitrary challenges and signatures to the link operation: it must
// refuse them with a typed error, never panic and never store a link.
func FuzzBitcoinToWeb5(f *testing.F) {
	m, err := anya.New()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = m.Close() })
	ctx := context.Background()
	id, err := m.NewIdentity(ctx)
	if err != nil {
		f.Fatal(err)
	}
	ch, _ := m.Challenge(id.String(), id.Address.String())
	sig, _ := id.SignChallenge(ch)
	f.Add(ch, sig[:len(sig)-2]+"AA")
	f.Add(strings.Replace(ch, "Nonce: ", "Nonce: 0", 1), sig)
	f.Add("anya address link\nDID: x\nAddress: y\nIssued: z\nNonce: n", "smp")
	f.Add(ch+"\n", "")
	f.Add("", "ful"+strings.Repeat("A", 100))
	f.Fuzz(func(t *testing.T, challenge, signature string) {
		if challenge == ch && signature == sig {
			return // the one valid pair
		}
		res, err := m.Execute(ctx, anya.BitcoinToWeb5{DID: id.String(), Address: id.Address.String(), Challenge: challenge, Signature: signature})
		if err == nil {
			t.Fatalf("accepted challenge %q with signature %q: %+v", challenge, signature, res)
		}
		if !errors.Is(err, anya.ErrChallenge) && !errors.Is(err, anya.ErrProof) {
			t.Fatalf("untyped refusal: %v", err)
		}
	})
}

// FuzzVerifyLink feeds arbitrary credentials to the link check: never a panic, never a
// verified link.
func FuzzVerifyLink(f *testing.F) {
	m, err := anya.New()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = m.Close() })
	ctx := context.Background()
	id, err := m.NewIdentity(ctx)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("eyJhbGciOiJFZERTQSJ9.e30.AAAA")
	f.Add("{{input.credential}}")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, credential string) {
		if credential == "" {
			return // no credential: the stored links, of which there are none
		}
		res, err := m.Execute(ctx, anya.VerifyLink{DID: id.String(), Address: id.Address.String(), Credential: credential})
		if err != nil {
			t.Fatalf("a credential is a result, not an error: %v", err)
		}
		if v := res.(*anya.LinkVerification); v.Verified {
			t.Fatalf("verified %q", credential)
		}
	})
}
