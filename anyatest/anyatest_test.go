package anyatest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/anyatest"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bus"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// New gives a test identities that are registered, funded, linked and hold their keys, and
// payments between them go through.
func TestNew(t *testing.T) {
	ctx := t.Context()
	env := anyatest.New(t, anyatest.WithFundedIdentities(3, 2_000_000))
	if len(env.Identities) != 3 {
		t.Fatalf("%d identities", len(env.Identities))
	}
	for i, id := range env.Identities {
		confirmed, unconfirmed, err := env.Manager.Balance(ctx, id.Address.String())
		if err != nil || confirmed != 2_000_000 || unconfirmed != 0 || id.FundingTxid == "" {
			t.Errorf("identity %d: %d confirmed, %d unconfirmed, %v", i, confirmed, unconfirmed, err)
		}
		// The test holds the key of the address.
		if a, err := bitcoin.NewP2WPKH(id.Key.PubKey(), env.Manager.Network()); err != nil || a.String() != id.Address.String() {
			t.Errorf("identity %d: key for %v, address %s", i, a, id.Address)
		}
		v, err := env.Manager.VerifyLink(ctx, anya.VerifyLink{DID: id.String(), Address: id.Address.String()})
		if err != nil || !v.Verified || id.Link == nil || id.Link.DID != id.String() {
			t.Errorf("identity %d: link %+v, verification %+v %v", i, id.Link, v, err)
		}
		if got, err := env.Manager.Identity(id.String()); err != nil || got.Address.String() != id.Address.String() {
			t.Errorf("identity %d: not registered: %v", i, err)
		}
	}
	alice, bob := env.Identities[0], env.Identities[1]
	p, err := env.Pay(ctx, "kit-1", alice, bob, 50_000)
	if err != nil || p.Outcome != anya.OutcomeSent {
		t.Fatalf("payment: %+v %v", p, err)
	}
	confirmed := make(chan anya.PaymentEvent, 1)
	if _, err := bus.Subscribe(env.Manager.Bus(), anya.TopicPaymentConfirmed, func(_ context.Context, e bus.Envelope[anya.PaymentEvent]) error {
		confirmed <- e.Payload
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := env.Mine(1); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-confirmed:
		if ev.PaymentID != "kit-1" {
			t.Fatalf("confirmed %+v", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("not confirmed after a block")
	}
	if p, err := env.Manager.Payment(ctx, "kit-1"); err != nil || p.Confirmation.Status != anya.PaymentConfirmed {
		t.Fatalf("stored payment after the block: %+v %v", p, err)
	}
}

// WithoutLinks leaves the identities to link: their payments say so.
func TestWithoutLinks(t *testing.T) {
	env := anyatest.New(t, anyatest.WithFundedIdentities(2, 0), anyatest.WithoutLinks())
	a, b := env.Identities[0], env.Identities[1]
	if a.Link != nil || a.FundingTxid != "" {
		t.Fatalf("identity %+v: linked or funded", a)
	}
	p, err := env.Pay(t.Context(), "kit-unlinked", a, b, 10_000)
	if err != nil || p.Outcome != anya.OutcomeUnverified || p.Refusal.Reason != anya.ReasonNoLink {
		t.Fatalf("payment of an unlinked identity: %+v %v", p, err)
	}
}

// Bad options are typed errors naming the option; a Manager off the embedded chain is refused;
// the zero Env refuses its methods.
func TestStartRefusals(t *testing.T) {
	ctx := t.Context()
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	for name, c := range map[string]struct {
		opts   []anyatest.Option
		option string
	}{
		"no identities":       {[]anyatest.Option{anyatest.WithFundedIdentities(0, 1)}, "WithFundedIdentities"},
		"too many identities": {[]anyatest.Option{anyatest.WithFundedIdentities(anyatest.MaxIdentities+1, 1)}, "WithFundedIdentities"},
		"negative amount":     {[]anyatest.Option{anyatest.WithFundedIdentities(1, -1)}, "WithFundedIdentities"},
		"nil option":          {[]anyatest.Option{nil}, "Option"},
		"another chain":       {[]anyatest.Option{anyatest.WithManagerOptions(anya.WithChain(notSim{sim}))}, "WithManagerOptions"},
	} {
		env, err := anyatest.Start(ctx, c.opts...)
		var oe *anyatest.OptionError
		if !errors.As(err, &oe) || oe.Option != c.option || !errors.Is(err, anyatest.ErrInvalidOption) || env != nil {
			t.Errorf("%s: %v, want an *OptionError naming %s", name, err, c.option)
		}
	}
	if _, err := anyatest.Start(ctx, anyatest.WithManagerOptions(anya.WithFeeRate(1))); !errors.Is(err, anya.ErrInvalidOption) {
		t.Errorf("an invalid Manager option: %v", err)
	}
	var zero anyatest.Env
	if err := zero.Close(); !errors.Is(err, anyatest.ErrNotConstructed) {
		t.Errorf("zero Env Close: %v", err)
	}
	if err := zero.Mine(1); !errors.Is(err, anyatest.ErrNotConstructed) {
		t.Errorf("zero Env Mine: %v", err)
	}
	if _, err := zero.Pay(ctx, "x", nil, nil, 1); !errors.Is(err, anyatest.ErrNotConstructed) {
		t.Errorf("zero Env Pay: %v", err)
	}
}

// notSim is a chain that is not a simchain.
type notSim struct{ bitcoin.Chain }
