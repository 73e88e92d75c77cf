package anya_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/did/didpkh"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/vc"
	"github.com/anya-org/anya-go/workflow"
)

// linkCredential is an address-link credential for id's address, with a valid BIP-322 proof,
// issued by issuer: what a third party that links addresses would issue.
func linkCredential(t *testing.T, e *env, issuer *did.BearerDID, id *anya.Identity, opts ...vc.Option) string {
	t.Helper()
	ch, err := e.m.Challenge(id.String(), id.Address.String())
	if err != nil {
		t.Fatal(err)
	}
	sig, err := id.SignChallenge(ch)
	if err != nil {
		t.Fatal(err)
	}
	pkh, err := didpkh.FromAddress(didpkh.ChainOf(e.m.Chain().Params()), id.Address.String())
	if err != nil {
		t.Fatal(err)
	}
	cred, err := vc.New(issuer.String(), vc.Subject{"id": id.String(), "account": pkh.String(), "caip10": pkh.ID,
		"address": id.Address.String(), "proof": map[string]any{"type": "BIP322", "challenge": ch, "signature": sig}},
		append([]vc.Option{vc.WithType(anya.LinkCredentialType)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	token, err := cred.Sign(e.ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// paymentEvents records the payment events of a bus.
type paymentEvents struct {
	mu  sync.Mutex
	got []bus.Envelope[anya.PaymentEvent]
	new chan struct{}
}

func recordPaymentEvents(t *testing.T, b *bus.Bus) *paymentEvents {
	t.Helper()
	r := &paymentEvents{new: make(chan struct{}, 1)}
	if _, err := bus.Subscribe(b, "anya.payment.>", func(_ context.Context, e bus.Envelope[anya.PaymentEvent]) error {
		r.mu.Lock()
		r.got = append(r.got, e)
		r.mu.Unlock()
		select {
		case r.new <- struct{}{}:
		default:
		}
		return nil
	}, bus.Named("test.payments")); err != nil {
		t.Fatal(err)
	}
	return r
}

// of returns the events of payment id so far.
func (r *paymentEvents) of(id string) []bus.Envelope[anya.PaymentEvent] {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []bus.Envelope[anya.PaymentEvent]
	for _, e := range r.got {
		if e.Payload.PaymentID == id {
			out = append(out, e)
		}
	}
	return out
}

// wait waits until payment id has n events.
func (r *paymentEvents) wait(t *testing.T, id string, n int) []bus.Envelope[anya.PaymentEvent] {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		if evs := r.of(id); len(evs) >= n {
			return evs
		}
		select {
		case <-r.new:
		case <-deadline.C:
			t.Fatalf("payment %s: %d events, want %d: %+v", id, len(r.of(id)), n, r.of(id))
		}
	}
}

// TestUnsentPaymentsSayWhy: one named row per cause of a payment that is not sent. Each
// Payment carries its typed Reason, the stored payment the same, and its one event on the bus
// carries the same Refusal.
func TestUnsentPaymentsSayWhy(t *testing.T) {
	ctx := t.Context()
	issuer := mustFixedDID(t, "trusted link issuer")
	stranger := mustFixedDID(t, "untrusted link issuer")
	// The trusted issuer's revocation list: entry 7 revoked.
	const listURL = "https://issuer.example/status/1"
	list := vc.NewStatusList(0)
	if err := list.Set(7, true); err != nil {
		t.Fatal(err)
	}
	listCred, err := vc.NewStatusListCredential(vc.V1, issuer.String(), listURL, vc.PurposeRevocation, list, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	listToken, err := listCred.Sign(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	fetcher := vc.StatusListFetcherFunc(func(_ context.Context, url string) (string, error) {
		if url != listURL {
			return "", errors.New("no such list")
		}
		return listToken, nil
	})
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	events := recordPaymentEvents(t, b)
	e := newEnv(t, anya.WithBus(b), anya.WithTrustedIssuers(issuer.String()), anya.WithCredentialStatus(fetcher))

	unpublished, err := diddht.Create(ctx, jose.NewMemoryKeyManager()) // never published: resolves nowhere
	if err != nil {
		t.Fatal(err)
	}
	strangerAddr := mustAddr(t, "stranger")
	// bob, linked by no one, with no coins: a payment of his that verifies fails in its send.
	carol, err := e.m.NewIdentity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.link(carol)
	in := map[string]any{"payment_id": "why-no-coins", "sender_did": carol.String(), "sender_address": carol.Address.String(),
		"recipient_address": e.alice.Address.String(), "amount_sat": 10_000}
	if _, err := e.m.Workflows().Run(e.verified(carol), workflow.VerifiedPaymentName, "why-no-coins", in); err == nil {
		t.Fatal("carol's payment without coins was sent")
	}

	pay := func(id string, from *anya.Identity) anya.TriProtocol {
		return anya.TriProtocol{PaymentID: id, SenderDID: from.String(), SenderAddress: from.Address.String(),
			RecipientAddress: e.bob.Address.String(), AmountSat: 25_000}
	}
	for _, c := range []struct {
		name    string
		op      anya.TriProtocol
		outcome anya.Outcome
		reason  anya.Reason
		check   func(*anya.Refusal) bool
	}{
		{"no link at all", pay("why-no-link", e.bob), anya.OutcomeUnverified, anya.ReasonNoLink, nil},
		{"an address the DID did not link", func() anya.TriProtocol {
			op := pay("why-other-address", e.alice)
			op.SenderAddress = strangerAddr
			return op
		}(), anya.OutcomeUnverified, anya.ReasonAddressMismatch, func(r *anya.Refusal) bool { return strings.Contains(r.Message, strangerAddr) }},
		{"a credential linking another address", func() anya.TriProtocol {
			op := pay("why-credential-address", e.alice)
			op.SenderAddress, op.Credential = strangerAddr, e.aliceLink.Credential
			return op
		}(), anya.OutcomeUnverified, anya.ReasonAddressMismatch, nil},
		{"another identity's credential", func() anya.TriProtocol {
			op := pay("why-alices-credential", e.bob)
			op.Credential = e.aliceLink.Credential
			return op
		}(), anya.OutcomeUnverified, anya.ReasonLinkInvalid, nil},
		{"a link from an untrusted issuer", func() anya.TriProtocol {
			op := pay("why-untrusted", e.bob)
			op.Credential = linkCredential(t, e, stranger, e.bob)
			return op
		}(), anya.OutcomeUnverified, anya.ReasonUntrustedIssuer, func(r *anya.Refusal) bool { return strings.Contains(r.Message, stranger.String()) }},
		{"a revoked link", func() anya.TriProtocol {
			op := pay("why-revoked", e.bob)
			op.Credential = linkCredential(t, e, issuer, e.bob, vc.WithStatus(vc.NewStatusEntry(vc.V1, listURL, 7, vc.PurposeRevocation)))
			return op
		}(), anya.OutcomeUnverified, anya.ReasonLinkRevoked, nil},
		{"a DID that does not resolve", func() anya.TriProtocol {
			op := pay("why-unresolvable", e.bob)
			op.SenderDID = unpublished.String()
			return op
		}(), anya.OutcomeUnverified, anya.ReasonDIDUnresolvable, nil},
		{"a risk above the threshold", func() anya.TriProtocol {
			op := pay("why-risky", e.alice)
			op.AmountSat = 100_000_000
			return op
		}(), anya.OutcomeBlocked, anya.ReasonRiskAboveThreshold, func(r *anya.Refusal) bool {
			return r.Threshold == anya.DefaultRiskThreshold && r.Risk >= r.Threshold && r.Step == anya.StepAssessRisk
		}},
		{"coins gone by the send", anya.TriProtocol{PaymentID: "why-no-coins", SenderDID: carol.String(), SenderAddress: carol.Address.String(),
			RecipientAddress: e.alice.Address.String(), AmountSat: 10_000}, anya.OutcomeFailed, anya.ReasonInsufficientFunds,
			func(r *anya.Refusal) bool {
				return r.NeededSat > 10_000 && r.SpendableSat == 0 && r.Step == anya.StepSendPayment && r.Address == carol.Address.String()
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := e.m.Pay(ctx, c.op)
			if c.outcome == anya.OutcomeFailed {
				if !errors.Is(err, anya.ErrPaymentFailed) {
					t.Fatalf("Pay: %v, want ErrPaymentFailed", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if p.Outcome != c.outcome || p.Txid != "" || p.Refusal == nil || p.Refusal.Reason != c.reason || p.Refusal.Message == "" ||
				(c.check != nil && !c.check(p.Refusal)) {
				t.Fatalf("payment %s %+v, want %s with %s", p.Outcome, p.Refusal, c.outcome, c.reason)
			}
			stored, err := e.m.Payment(ctx, c.op.PaymentID)
			if err != nil || !reflect.DeepEqual(stored.Refusal, p.Refusal) {
				t.Fatalf("stored refusal %+v %v, want %+v", stored, err, p.Refusal)
			}
			evs := events.wait(t, c.op.PaymentID, 1)
			ev := evs[0]
			if len(evs) != 1 || ev.Payload.Outcome != c.outcome || !reflect.DeepEqual(ev.Payload.Refusal, p.Refusal) || ev.Payload.Seq != 1 ||
				ev.Topic != "anya.payment."+string(c.outcome) || ev.Payload.DID != c.op.SenderDID {
				t.Fatalf("events %+v", evs)
			}
			if len(p.Events) != 1 || !reflect.DeepEqual(p.Events[0], ev.Payload) {
				t.Fatalf("the payment's events %+v, want the one published %+v", p.Events, ev.Payload)
			}
		})
	}
	// Paying again publishes nothing more: each event once.
	if _, err := e.m.Pay(ctx, pay("why-no-link", e.bob)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Pay(ctx, pay("why-fixed", e.alice)); err != nil { // a sent payment, to let the bus catch up
		t.Fatal(err)
	}
	events.wait(t, "why-fixed", 1)
	if evs := events.of("why-no-link"); len(evs) != 1 {
		t.Fatalf("why-no-link published %d times", len(evs))
	}
}

// A link whose credential has expired: ReasonLinkExpired, until the address is linked again
// (under a new payment ID: the refused one stays refused).
func TestUnsentPaymentLinkExpired(t *testing.T) {
	clock := newTestClock()
	e := newEnv(t, anya.WithClock(clock.Now))
	clock.Advance(anya.DefaultLinkValidity + 24*time.Hour)
	p, err := e.m.Pay(e.ctx, anya.TriProtocol{PaymentID: "expired", SenderDID: e.alice.String(), SenderAddress: e.alice.Address.String(),
		RecipientAddress: e.bob.Address.String(), AmountSat: 25_000})
	if err != nil {
		t.Fatal(err)
	}
	if p.Outcome != anya.OutcomeUnverified || p.Refusal == nil || p.Refusal.Reason != anya.ReasonLinkExpired {
		t.Fatalf("%s %+v, want unverified, link_expired", p.Outcome, p.Refusal)
	}
	if _, err := e.m.LinkIdentity(e.ctx, e.alice); err != nil {
		t.Fatal(err)
	}
	again, err := e.m.Pay(e.ctx, anya.TriProtocol{PaymentID: "expired", SenderDID: e.alice.String(), SenderAddress: e.alice.Address.String(),
		RecipientAddress: e.bob.Address.String(), AmountSat: 25_000})
	if err != nil || !reflect.DeepEqual(again, p) {
		t.Fatalf("the same payment ID after the fix: %+v %v, want the stored refusal", again, err)
	}
	retry, err := e.m.Pay(e.ctx, anya.TriProtocol{PaymentID: "expired.2", SenderDID: e.alice.String(), SenderAddress: e.alice.Address.String(),
		RecipientAddress: e.bob.Address.String(), AmountSat: 25_000})
	if err != nil || retry.Outcome != anya.OutcomeSent || retry.Refusal != nil {
		t.Fatalf("a new payment ID after the fix: %+v %v", retry, err)
	}
}
