// Package bitcointest is the test kit of package bitcoin, for this module and for downstream
// projects (like net/http/httptest).
//
// # Conformance suites
//
// [RunChainSuite] checks a bitcoin.Chain backend against the contract documented on the
// interface (blocks and headers, idempotent broadcast, rejections, UTXOs, watch updates,
// reorgs, mempool, concurrency, contexts, Close) and runs a bitcoin.Notifier on it through a
// reorg. Every backend passes it with a one-line test: simchain with [NewSimBackend], rpcchain
// against a live btcd with [Btcd.Backend]. [RunSendStoreSuite] does the same for
// bitcoin.SendStore implementations.
//
// # A real node
//
// [StartBtcd] runs btcd in regtest (or simnet, [WithNetwork]) on loopback, in a temporary data
// directory, with --txindex --addrindex --notls, mining to a key of the test. The binary comes
// from $ANYA_BTCD ([BtcdEnv]), else `go build github.com/btcsuite/btcd` at the version the
// test depends on, cached in the user cache directory. [Btcd.MineTo] ([SegwitHeight] for
// witness tests), [Btcd.Generate], [Btcd.Reorg] (invalidateblock), [Btcd.Kill],
// [Btcd.Stop] and [Btcd.Start] drive it. Note that btcd deletes a regtest chain when it
// starts; restart tests that need the chain back use simnet.
//
// # Funded wallets
//
// [Wallet] is a one-key P2WPKH wallet on any bitcoin.Chain: coin selection, change and
// txscript signing, enough to fund scripts ([Wallet.Fund]) and spend outputs in tests.
// [NewSim] returns a simchain with a funded wallet, and [Sim.NewFundedWallet] more wallets,
// for downstream unit tests that need a chain without a node; [Sim.SimChain] is the
// simchain itself, and [Sim.Mine] stops between blocks once its context is done.
//
// # Waiting
//
// [Next], [WaitFor] and [WaitTip] wait for an event or a height, failing the test after
// [DefaultWait] instead of hanging.
//
// # Options and zero values
//
// [StartBtcd] takes [Option] values ([WithArgs], [WithNetwork], [WithMiningKey]); an invalid
// one fails the test with a [*bitcoin.OptionError] (the package's [ErrInvalidOption] is
// bitcoin's). [NewSim] takes simchain's options. A zero [Sim], [Wallet] or [Btcd] returns,
// or fails the test with, a [*bitcoin.NotConstructedError] ([ErrNotConstructed]) naming its
// constructor.
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
package bitcointest
