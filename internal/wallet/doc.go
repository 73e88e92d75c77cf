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
// The wallet keeps a view of each address's coins: read from the chain when unknown, updated by
// Sent after each of its own payments (spent coins out, change in), and forgotten by Invalidate
// when something else may have changed them — a block, a reorg, a transaction the chain refused.
// A stale view can only offer a coin that is gone; the chain refuses such a transaction before
// it is recorded, and the caller invalidates the view and builds again. Coin selection, change and fees are
// bitcoin.CreatePSBT's; the P2WPKH inputs are signed with txscript (BIP-143), and the chain's
// test-accept checks the scripts before a send is recorded.
//
// # Concurrency
//
// Build is safe for concurrent use. Two payments from one address must not pick the same coins,
// so callers hold Lock for the address from Build until the transaction is recorded or
// broadcast; Lock is fair to context cancellation.
package wallet
