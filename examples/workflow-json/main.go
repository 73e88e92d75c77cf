// Command workflow-json defines a workflow twice — in JSON (cautious_payment.json) and in Go
// (cautiousPayment) — shows that both are the same definition, and runs it on a Manager, whose
// verified-payment operations it calls with a stricter risk limit, an amount cap and a nested
// output.
//
//	go run ./examples/workflow-json
package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/workflow"
)

//go:embed cautious_payment.json
var cautiousPaymentJSON []byte

// cautiousPayment is the Go twin of cautious_payment.json.
func cautiousPayment() *workflow.Definition {
	ms := func(n int) workflow.Duration { return workflow.Duration(time.Duration(n) * time.Millisecond) }
	return &workflow.Definition{
		Name:    "cautious_payment",
		Version: "1",
		Description: "A stricter verified payment: the sender must verify, the fraud risk must stay below 0.3 and the amount " +
			"within the input's cap; the output summarises the run in nested objects and lists.",
		Inputs: map[string]workflow.Field{
			"payment_id":        {Type: workflow.TypeString, Required: true},
			"sender_did":        {Type: workflow.TypeString, Required: true},
			"sender_address":    {Type: workflow.TypeString, Required: true},
			"recipient_address": {Type: workflow.TypeString, Required: true},
			"amount_sat":        {Type: workflow.TypeInteger, Required: true},
			"cap_sat":           {Type: workflow.TypeInteger, Required: true, Description: "the largest amount this payment may send"},
		},
		Steps: []workflow.Step{
			{
				ID:          "verify_sender",
				Operation:   workflow.OpVerifyIdentity,
				Input:       map[string]any{"did": "{{input.sender_did}}", "address": "{{input.sender_address}}"},
				TerminateIf: "!steps.verify_sender.sender_verified",
				Timeout:     ms(10_000),
				Retry:       &workflow.Retry{MaxAttempts: 3, Backoff: ms(100)},
			},
			{
				ID:        "fraud_assessment",
				Operation: workflow.OpAssessRisk,
				Input: map[string]any{
					"amount_sat":         "{{input.amount_sat}}",
					"recipient_address":  "{{input.recipient_address}}",
					"verification_score": "{{steps.verify_sender.verification_score}}",
				},
				Timeout: ms(5_000),
			},
			{
				ID:        "send_payment",
				Operation: workflow.OpSendPayment,
				If:        "steps.verify_sender.sender_verified && steps.fraud_assessment.risk_score < 0.3 && input.amount_sat <= input.cap_sat",
				Input: map[string]any{
					"payment_id":   "{{input.payment_id}}",
					"from_address": "{{input.sender_address}}",
					"to_address":   "{{input.recipient_address}}",
					"amount_sat":   "{{input.amount_sat}}",
					"risk_score":   "{{steps.fraud_assessment.risk_score}}",
				},
				Timeout: ms(30_000),
				Retry:   &workflow.Retry{MaxAttempts: 10, Backoff: ms(200), MaxBackoff: ms(5_000)},
			},
			{
				ID:        "record_payment",
				Operation: workflow.OpRecordPayment,
				If:        "has(steps.send_payment.txid)",
				Input: map[string]any{
					"did":        "{{input.sender_did}}",
					"payment_id": "{{input.payment_id}}",
					"txid":       "{{steps.send_payment.txid}}",
					"to_address": "{{input.recipient_address}}",
					"amount_sat": "{{input.amount_sat}}",
					"risk_score": "{{steps.fraud_assessment.risk_score}}",
				},
				Retry: &workflow.Retry{MaxAttempts: 10, Backoff: ms(200)},
			},
		},
		Output: map[string]any{
			"summary": map[string]any{
				"verified": "{{steps.verify_sender.sender_verified}}",
				"risk":     "{{steps.fraud_assessment.risk_score}}",
				"txid":     "{{steps.send_payment.txid}}",
				"legs":     []any{"{{input.sender_address}}", "{{input.recipient_address}}"},
			},
			"note": "payment {{input.payment_id}} of {{input.amount_sat}} sat",
		},
	}
}

// same reports whether two definitions are the same, compared in the JSON form they marshal to.
func same(a, b *workflow.Definition) (bool, error) {
	ja, err := json.Marshal(a)
	if err != nil {
		return false, err
	}
	jb, err := json.Marshal(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ja, jb), nil
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	fromJSON, err := workflow.Parse(cautiousPaymentJSON)
	if err != nil {
		return err
	}
	twin := cautiousPayment()
	eq, err := same(fromJSON, twin)
	if err != nil {
		return err
	}
	if !eq {
		return errors.New("cautious_payment.json and its Go twin differ")
	}
	p("cautious_payment.json and its Go twin are the same definition (%d steps)", len(twin.Steps))

	m, err := anya.New()
	if err != nil {
		return err
	}
	defer m.Close()
	// The Manager's engine knows the verified payment's operations: the definition is checked
	// against them (operations, references, CEL types) when it is registered.
	if err := m.Workflows().Register(fromJSON); err != nil {
		return err
	}

	alice, err := m.NewIdentity(ctx)
	if err != nil {
		return err
	}
	shop, err := m.NewIdentity(ctx)
	if err != nil {
		return err
	}
	sim := m.Chain().(*simchain.Chain)
	if _, err := sim.Mine(1, simchain.PayTo(alice.Address.PkScript())); err != nil {
		return err
	}
	if _, err := sim.Mine(100); err != nil {
		return err
	}
	ch, err := m.Challenge(alice.String(), alice.Address.String())
	if err != nil {
		return err
	}
	sig, err := alice.SignChallenge(ch)
	if err != nil {
		return err
	}
	if _, err := m.Execute(ctx, anya.BitcoinToWeb5{DID: alice.String(), Address: alice.Address.String(), Challenge: ch, Signature: sig}); err != nil {
		return err
	}
	// A host's own run: the security context (who pays, with which verified link) is the
	// host's to give.
	sc, err := m.SecurityContext(ctx, alice.String(), alice.Address.String(), "")
	if err != nil {
		return err
	}
	ctx = security.NewContext(ctx, sc)

	for _, pay := range []struct {
		id          string
		amount, cap int64
	}{{"c-1", 20_000, 50_000}, {"c-2", 80_000, 50_000}} {
		res, err := m.Workflows().Run(ctx, "cautious_payment", pay.id, map[string]any{
			"payment_id": pay.id, "sender_did": alice.String(), "sender_address": alice.Address.String(),
			"recipient_address": shop.Address.String(), "amount_sat": pay.amount, "cap_sat": pay.cap,
		})
		if err != nil {
			return err
		}
		summary, _ := res.Output["summary"].(map[string]any)
		sent := summary["txid"] != nil
		p("%s: %s, amount %d, cap %d, sent %v, note %q, legs %d", pay.id, res.Status, pay.amount, pay.cap, sent,
			res.Output["note"], len(summary["legs"].([]any)))
		for _, s := range res.Steps {
			p("  %-16s %s", s.ID, s.Status)
		}
	}
	return nil
}
