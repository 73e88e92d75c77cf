// Package utxo keeps the confirmed UTXOs of linked addresses as records in the linked DID's
// store (bridge.PathUTXOs), following the chain block by block and undoing what a reorg takes
// back.
//
// # Records
//
// Each tracked (DID, address) pair has one record whose data is a [Set]: the address's
// confirmed unspent outputs (each with the height and hash of the block that created it) as of
// the last block applied, and the outputs it spent during the last safety-limit blocks
// ([WithSafetyLimit]), kept so that a reorg can restore them. [Bridge.Track] writes the record
// from the chain's UTXO set; from then on every block updates it.
//
// # Blocks
//
// [Bridge.Apply] takes the Notifier's block events in order. A connect adds the block's
// outputs paying tracked addresses and moves the tracked outputs its inputs spend to the spent
// list; a disconnect moves back what its block spent and removes what it created. Both are
// set operations on outpoints, so applying an event twice changes nothing — which is what
// makes a restart safe: the checkpoint ([WithCheckpoints], a *bridge.Checkpoint in the host's
// store) moves only after every record of a block is written, and a block replayed after a
// crash finds the records it had already written unchanged. Only the records a block touches
// are written, several at once ([WithConcurrency]).
//
// [Bridge.Run] follows a [Blocks] source (a *bitcoin.Notifier) from the checkpoint: a host
// that was down replays every block it missed. [Bridge.Load] reads the records of the DIDs
// the host serves at start.
//
// # Performance
//
// BenchmarkBlock1000 applies a block touching 1,000 linked addresses of 1,000 different DIDs
// (1,000 signed, verified record writes under grants); it reports wall and CPU time per block.
package utxo
