package security_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/anya-org/anya-go/security"
)

func Example() {
	ctx := context.Background()
	audit, err := security.OpenAuditLog(ctx, ":memory:")
	if err != nil {
		panic(err)
	}
	defer audit.Close()
	bs, err := security.New([]security.Boundary{{
		From: security.ML, To: security.Bitcoin,
		Actions: []string{"bitcoin.send_payment"}, PaymentActions: []string{"bitcoin.send_payment"},
		Fields: map[string]security.Field{
			"amount_sat": {Type: security.TypeInteger, Required: true},
			"risk_score": {Type: security.TypeNumber, Required: true},
		},
		Inbound: []security.Policy{{Name: "cap", Expr: "data.amount_sat <= 100000", Message: "over the cap"}},
	}}, security.WithAudit(audit))
	if err != nil {
		panic(err)
	}
	alice := &security.Context{Principal: "did:key:z6MkAlice", Credentials: []security.Credential{
		{Issuer: "did:web:kyc.example", Subject: "did:key:z6MkAlice"},
	}}
	payment := map[string]any{"amount_sat": 50_000, "risk_score": 0.1}

	_, err = bs.Cross(security.NewContext(ctx, alice), "ml", "bitcoin", "bitcoin.send_payment", payment)
	fmt.Println("verified sender:", err)
	_, err = bs.Cross(ctx, "ml", "bitcoin", "bitcoin.send_payment", payment)
	fmt.Println("no identity:", errors.Is(err, security.ErrUnverifiedIdentity))
	_, err = bs.Cross(security.NewContext(ctx, alice), "ml", "bitcoin", "bitcoin.send_payment",
		map[string]any{"amount_sat": 50_000, "risk_score": 0.1, "approved": true})
	fmt.Println("ML approves:", errors.Is(err, security.ErrPrivilege))
	_, err = bs.Cross(ctx, "web5", "ml", "ml.assess_risk", map[string]any{})
	fmt.Println("undefined:", errors.Is(err, security.ErrUndefinedBoundary))

	rep, err := audit.Verify(ctx, nil)
	fmt.Println("audited:", rep.Entries, err)
	// Output:
	// verified sender: <nil>
	// no identity: true
	// ML approves: true
	// undefined: true
	// audited: 4 <nil>
}

// The host signs checkpoints of its audit log and keeps them outside it; Verify given the newest
// one proves the log intact up to it, and a head signed by any other key is refused.
func ExampleAuditLog_Checkpoint() {
	ctx := context.Background()
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // the host's key
	signer, _ := security.NewEd25519Signer(key, "did:web:host.example#audit")
	verifier, _ := security.NewEd25519Verifier(key.Public().(ed25519.PublicKey), "did:web:host.example#audit")

	var stored []string // the host's own store, out of the log writer's reach
	publish := security.CheckpointPublisherFunc(func(ctx context.Context, h *security.SignedHead) error {
		stored = append(stored, h.String())
		return nil
	})
	audit, err := security.OpenAuditLog(ctx, ":memory:", security.WithCheckpointSigner(signer),
		security.WithCheckpointPublisher(publish), security.WithCheckpointEvery(3))
	if err != nil {
		panic(err)
	}
	defer audit.Close()
	for _, d := range []string{"allow", "deny", "allow", "allow"} {
		if _, err := audit.Append(ctx, security.Entry{Kind: security.KindDecision, Decision: d}); err != nil {
			panic(err)
		}
	}
	head, err := security.ParseSignedHead(ctx, stored[len(stored)-1], verifier)
	if err != nil {
		panic(err)
	}
	rep, err := audit.Verify(ctx, head)
	fmt.Println("checkpoints:", len(stored), "intact up to:", rep.Checkpoint.Seq, err)

	// A forged head, signed by another key, is refused.
	mallory := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	other, _ := security.NewEd25519Signer(mallory, "did:web:host.example#audit")
	forged, _ := security.SignHead(ctx, head.Head(), time.Unix(0, 0), other)
	_, err = security.ParseSignedHead(ctx, forged.String(), verifier)
	fmt.Println("forged head:", errors.Is(err, security.ErrSignature))
	// Output:
	// checkpoints: 1 intact up to: 3 <nil>
	// forged head: true
}

// New and OpenAuditLog take one Option type: WithClock and WithLogger configure both, the
// others one of them, and an option given to the constructor it does not configure is refused
// by name. A zero Boundaries refuses every crossing, naming New.
func ExampleOption() {
	_, err := security.New(security.DefaultBoundaries(), security.WithCheckpointEvery(100))
	fmt.Println(err)

	var zero security.Boundaries
	_, err = zero.Cross(context.Background(), "ml", "bitcoin", security.ActionSendPayment, map[string]any{"score": 0.1})
	fmt.Println(err, errors.Is(err, security.ErrNotConstructed))
	// Output:
	// security: invalid option WithCheckpointEvery(100): does not apply to Boundaries (it configures an AuditLog)
	// security: a zero Boundaries is not usable: create it with security.New true
}
