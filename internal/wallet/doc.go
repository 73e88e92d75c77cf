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
// crash and not yet broadcast keeps its coins. Coin selection, change and fees are
// bitcoin.CreatePSBT's; signing and the final script check are bitcoin.PSBT's.
//
// # Concurrency
//
// Build is safe for concurrent use. Two payments from one address must not pick the same coins,
// so callers hold Lock for the address from Build until the transaction is recorded or
// broadcast; Lock is fair to context cancellation.
package wallet
