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
package simchain
