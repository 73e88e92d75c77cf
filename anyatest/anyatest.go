package anyatest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/jose"
)

// Defaults of New and Start.
const (
	// DefaultIdentities is how many identities an environment has.
	DefaultIdentities = 2
	// DefaultFunding is what each identity is funded with, in satoshis (1 BTC).
	DefaultFunding = 100_000_000
	// MaxIdentities bounds WithFundedIdentities.
	MaxIdentities = 100
)

var (
	// ErrInvalidOption is wrapped by the *OptionError of an invalid option.
	ErrInvalidOption = errors.New("anyatest: invalid option")
	// ErrNotConstructed is wrapped by the *NotConstructedError of a zero Env's methods.
	ErrNotConstructed = errors.New("anyatest: not constructed")
)

// OptionError names an option whose value New or Start refuses.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("anyatest: invalid option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// NotConstructedError is returned by the methods of an Env that New or Start did not create. It
// matches ErrNotConstructed.
type NotConstructedError struct {
	Type        string // "Env"
	Constructor string // "New or Start"
}

func (e *NotConstructedError) Error() string {
	return "anyatest: a zero " + e.Type + " is not usable: create it with anyatest." + e.Constructor
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

// Option configures New and Start.
type Option func(*config)

type config struct {
	identities int
	funding    int64
	link       bool
	manager    []anya.Option
}

// WithFundedIdentities gives the environment n identities (1 to MaxIdentities), each funded
// with amountSat satoshis on the embedded chain (0: not funded). Defaults to DefaultIdentities
// identities funded with DefaultFunding each.
func WithFundedIdentities(n int, amountSat int64) Option {
	return func(c *config) { c.identities, c.funding = n, amountSat }
}

// WithoutLinks leaves the identities' addresses unlinked to their DIDs: their payments do not
// verify (anya.ReasonNoLink) until the test links them (anya.Manager.LinkIdentity). Defaults to
// linking every identity.
func WithoutLinks() Option {
	return func(c *config) { c.link = false }
}

// WithManagerOptions passes options to anya.New (a clock, a bus, a data directory, trusted
// issuers, ...). They must leave the Manager on an embedded simchain. Defaults to none: anya.New
// on embedded defaults.
func WithManagerOptions(opts ...anya.Option) Option {
	return func(c *config) { c.manager = append(c.manager, opts...) }
}

// Env is a Manager with identities ready to pay.
type Env struct {
	// Manager is the Manager, on an embedded simchain.
	Manager *anya.Manager
	// Identities are the environment's identities, in the order they were created.
	Identities []*Identity
}

// Identity is an identity of the environment: registered with the Manager, funded, and linked
// unless WithoutLinks.
type Identity struct {
	*anya.Identity // its DID (with its signer) and P2WPKH Address
	// Key is the Bitcoin key of Address. The Manager's wallet holds it too.
	Key *btcec.PrivateKey
	// Link is the address-link credential linking Address to the DID; nil WithoutLinks.
	Link *anya.Link
	// FundingTxid is the transaction that funded Address; "" when not funded.
	FundingTxid string
}

// New returns an environment for t — a Manager on the embedded simchain with identities that
// are ready to pay — or fails t. The Manager is closed when t ends.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	env, err := Start(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("anyatest: close the Manager: %v", err)
		}
	})
	return env
}

// Start returns an environment as New does, for programs and examples: the caller closes it
// with Close.
func Start(ctx context.Context, opts ...Option) (*Env, error) {
	cfg := config{identities: DefaultIdentities, funding: DefaultFunding, link: true}
	for _, o := range opts {
		if o == nil {
			return nil, &OptionError{Option: "Option", Reason: "nil option"}
		}
		o(&cfg)
	}
	switch {
	case cfg.identities < 1 || cfg.identities > MaxIdentities:
		return nil, &OptionError{Option: "WithFundedIdentities", Value: cfg.identities, Reason: fmt.Sprintf("want 1 to %d identities", MaxIdentities)}
	case cfg.funding < 0:
		return nil, &OptionError{Option: "WithFundedIdentities", Value: cfg.funding, Reason: "a negative amount"}
	}
	m, err := anya.New(cfg.manager...)
	if err != nil {
		return nil, err
	}
	env := &Env{Manager: m}
	if _, err := m.EmbeddedChain(); err != nil {
		_ = m.Close()
		return nil, &OptionError{Option: "WithManagerOptions", Reason: "the Manager must run on an embedded simchain: " + err.Error()}
	}
	for range cfg.identities {
		id, err := env.newIdentity(ctx, cfg)
		if err != nil {
			_ = m.Close()
			return nil, err
		}
		env.Identities = append(env.Identities, id)
	}
	return env, nil
}

func (e *Env) newIdentity(ctx context.Context, cfg config) (*Identity, error) {
	b, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		return nil, err
	}
	key, err := btcec.NewPrivateKey()
	if err != nil {
		return nil, err
	}
	id, err := e.Manager.AddIdentity(ctx, b, key)
	if err != nil {
		return nil, err
	}
	out := &Identity{Identity: id, Key: key}
	if cfg.funding > 0 {
		if out.FundingTxid, err = e.Manager.Fund(ctx, id.Address.String(), cfg.funding); err != nil {
			return nil, fmt.Errorf("anyatest: fund %s: %w", id.Address, err)
		}
	}
	if cfg.link {
		if out.Link, err = e.Manager.LinkIdentity(ctx, id); err != nil {
			return nil, fmt.Errorf("anyatest: link %s: %w", id.Address, err)
		}
	}
	return out, nil
}

// Pay makes the verified payment paymentID of amountSat from from's address to to's (Manager.Pay).
func (e *Env) Pay(ctx context.Context, paymentID string, from, to *Identity, amountSat int64) (*anya.Payment, error) {
	if e == nil || e.Manager == nil {
		return nil, &NotConstructedError{Type: "Env", Constructor: "New or Start"}
	}
	if from == nil || to == nil {
		return nil, &anya.OpError{Op: "anyatest.Pay", Field: "identity", Reason: "nil identity", Err: nil}
	}
	return e.Manager.Pay(ctx, anya.TriProtocol{PaymentID: paymentID, SenderDID: from.String(), SenderAddress: from.Address.String(),
		RecipientAddress: to.Address.String(), AmountSat: amountSat})
}

// Mine mines n blocks on the embedded chain, confirming the payments in its mempool.
func (e *Env) Mine(n int) error {
	if e == nil || e.Manager == nil {
		return &NotConstructedError{Type: "Env", Constructor: "New or Start"}
	}
	sim, err := e.Manager.EmbeddedChain()
	if err != nil {
		return err
	}
	_, err = sim.Mine(n)
	return err
}

// Close closes the Manager. It is idempotent.
func (e *Env) Close() error {
	if e == nil || e.Manager == nil {
		return &NotConstructedError{Type: "Env", Constructor: "New or Start"}
	}
	return e.Manager.Close()
}
