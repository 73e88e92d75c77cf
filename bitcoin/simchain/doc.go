// Package simchain is an embedded, in-process Bitcoin chain that implements bitcoin.Chain for
// demos and downstream unit tests.
//
// It is not a mock. A [Chain] keeps a real UTXO set, checks every transaction with btcd's
// consensus sanity rules, validates every input with txscript (standard verification flags:
// P2SH, segwit and taproot are active from the first block), enforces fees ≥ 0, coinbase
// maturity, lock times and BIP-68 sequence locks, and refuses double spends. Accepted
// transactions wait in a mempool until [Chain.Mine] puts them in blocks with a real coinbase
// (BIP-34 height, subsidy plus fees, a BIP-141 witness commitment when needed), real merkle
// roots and a header that meets the network's proof-of-work limit.
//
// # Reorgs
//
// [Chain.Reorg] disconnects the top blocks and mines a replacement branch; transactions of
// the orphaned blocks go back to the mempool when they are still valid, as on a real node.
// [MineOption] values choose the payout script and keep chosen transactions out of the new
// blocks, and [Chain.Evict] removes a transaction (and its descendants) from the mempool so a
// conflicting one can be mined instead.
//
// # Determinism
//
// Nothing depends on the wall clock or randomness: block timestamps advance by a fixed
// interval from the genesis block and every mined block carries a counter in its coinbase,
// so the same calls produce the same block hashes.
//
// # Networks
//
// Only networks without difficulty retargeting (regtest) are accepted, because mining really
// solves the proof of work at the network's limit.
//
// # Options and zero values
//
// [New] takes [Option] values ([WithParams], [WithCoinbaseScript], [WithBlockInterval]);
// [Chain.Mine] and [Chain.Reorg] take per-call [MineOption] values ([PayTo], [Exclude]) of
// the same shape. An invalid one is reported as a [*bitcoin.OptionError] (the package's
// [ErrInvalidOption] is bitcoin's), and a zero [Chain] returns a
// [*bitcoin.NotConstructedError] ([ErrNotConstructed]) naming New.
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
package simchain
