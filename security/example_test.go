package security_test

import (
	"context"
	"errors"
	"fmt"

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
