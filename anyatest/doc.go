// Package anyatest is the Manager's test kit: it gives a downstream test an anya.Manager on the
// embedded regtest simchain with identities that are ready to pay — registered, funded and
// with their address linked to their DID — in one call, closed when the test ends.
//
//	func TestCheckout(t *testing.T) {
//		env := anyatest.New(t, anyatest.WithFundedIdentities(2, 1_000_000))
//		alice, shop := env.Identities[0], env.Identities[1]
//		pay, err := env.Pay(t.Context(), "order-1", alice, shop, 25_000)
//		// pay.Outcome == anya.OutcomeSent
//	}
//
// # Identities
//
// Each Identity is a did:key (Ed25519) with a new secp256k1 Bitcoin key, registered with the
// Manager (anya.Manager.AddIdentity), so that the Manager's wallet pays from its P2WPKH address
// and the identity can sign as its DID. Unlike the identities anya.Manager.NewIdentity creates,
// the test holds the keys: Identity.Key is the Bitcoin key, Identity.DID signs. Each is funded
// with anya.Manager.Fund — one confirmed coin of the amount asked — and, unless WithoutLinks,
// linked (anya.Manager.LinkIdentity): Identity.Link is its address-link credential.
//
// # Lifecycle
//
// New fails the test (t.Fatal) when the environment cannot be built and closes the Manager in
// t.Cleanup; Start returns an error instead and leaves closing to the caller (Env.Close), for
// programs and examples. The Manager is on embedded defaults unless WithManagerOptions adds
// options (a clock, a bus, a data directory, ...); it must stay on an embedded simchain, which
// Fund needs.
//
// # Conventions
//
// The SDK has one option style. A constructor takes options of one type, Option, a
// func(*config) over an unexported configuration: it applies the defaults, then the options in
// order, then validates the whole configuration once and returns a typed *OptionError naming
// the offending option, its value and the reason (it matches the package's ErrInvalidOption
// with errors.Is). Option constructors never fail and never panic, and each option's
// documentation ends with its default. Time comes from WithClock(now func() time.Time),
// time.Now by default; timers and sleeps use package time, so tests fake time with
// testing/synctest. Logs go to WithLogger(*slog.Logger), silent by default. The zero value of an
// exported type either works as documented or returns an error naming its constructor (it
// matches the package's ErrNotConstructed with errors.Is); it never panics.
package anyatest
