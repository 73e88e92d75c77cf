// Package wallet holds the Bitcoin keys a host pays from and builds signed payments from their
// coins on a bitcoin.Chain. It is the anya package's signer for the verified payment.
//
// # Keys
//
// Keys are P2WPKH (BIP-84's address type) and live only in memory: a Wallet never serializes,
// logs or returns a private key.
//
// # Coins
//
// Coins are the chain's unspent outputs paying a key's address, mempool included, without
// immature coinbases and without coins reserved by a recorded send of another idempotency key
// (the Reserved function, backed by the send store), so that a transaction recorded before a
// crash and not yet broadcast keeps its coins.
//
// The wallet keeps a view of each address's coins: read from the chain when unknown, and
// forgotten by Invalidate when something else may have changed them — a block, a reorg, a
// transaction the chain refused. A view whose load overlapped an invalidation is not kept (each
// invalidation bumps the address's generation), so a view never silently predates what an
// invalidation reported.
//
// # Pending transactions
//
// On top of the view the wallet applies its pending transactions: each transaction recorded for
// sending (Recorded, before it is broadcast) until a block holds it (Confirmed). The coins they
// spend are gone at once and their outputs paying the wallet's addresses — the change — are
// spendable at once, so the next payment from an address sees the last one's change whether or
// not its broadcast has returned. A transaction spending such change can only enter a mempool
// after its parent: Unbroadcast names the pending ancestors the chain is not known to hold,
// parents first, for the caller to broadcast (the recorded bytes, under their own keys) before
// the child. The chain's verdicts are noted with Accepted and Rejected; the change of a refused
// transaction, and of its descendants, is no longer offered. PendingTxs lists them all, for a
// caller that rebroadcasts what a node forgot (btcd keeps no mempool across a restart).
//
// A payment the coins cannot pay fails with a *ShortageError: coin selection's
// *bitcoin.InsufficientFundsError, and the coins of the address that recorded transactions of
// other idempotency keys hold — outpoint, value, key, and the holding transaction's state.
//
// Coin selection, change and fees are bitcoin.CreatePSBT's; the P2WPKH inputs are signed with
// txscript (BIP-143), and the chain's test-accept checks the scripts before a send is recorded.
//
// # Concurrency
//
// Every method is safe for concurrent use. Two payments from one address must not pick the same
// coins, so callers hold Lock for the address from Build until the transaction is recorded and
// broadcast: payments from one address queue, each built on the previous one's change. Lock is
// fair to context cancellation.
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
//
// New takes its chain, fee rate and reservation lookup as arguments (no options). The zero Wallet
// has no chain: the methods that need one return a *NotConstructedError naming New.
package wallet
