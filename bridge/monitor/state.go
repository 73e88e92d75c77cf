package monitor

import (
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go/bitcoin"
)

// entry is what the monitor remembers of a transaction: that it is being or was scored (so
// it is scored once across the mempool and its block), its alert, and where it confirmed.
type entry struct {
	inflight bool   // a batch is scoring it
	scored   bool   // scored; a transaction confirmed without an alert is forgotten instead
	alertID  string // its standing alert, "" for none
	alert    *Alert
	block    bitcoin.BlockStamp // the block it confirmed in; zero while unconfirmed
	// retractions counts the alerts of this transaction retracted so far: the next alert's
	// ID differs from theirs.
	retractions uint32
	seq         uint64 // position in the unconfirmed queue
}

// pending is an alert whose block was disconnected: it is retracted unless the transaction is
// back in the mempool or the new chain.
type pending struct {
	alert *Alert
	block bitcoin.BlockStamp // the disconnected block
	left  int32              // connects left before the alert is considered standing
}

// state is the monitor's memory, guarded by Monitor.mu.
type state struct {
	txs map[chainhash.Hash]*entry
	// alerted holds, per processed block still within the safety limit, the transactions
	// whose alerts a disconnect of the block would put in doubt.
	alerted map[chainhash.Hash][]chainhash.Hash
	heights map[chainhash.Hash]int32
	pending map[chainhash.Hash]*pending
	// queue orders unconfirmed entries oldest first, for the MaxTracked bound.
	queue []queued
	head  int
	seq   uint64
}

type queued struct {
	txid chainhash.Hash
	seq  uint64
}

func (s *state) init() {
	s.txs = map[chainhash.Hash]*entry{}
	s.alerted = map[chainhash.Hash][]chainhash.Hash{}
	s.heights = map[chainhash.Hash]int32{}
	s.pending = map[chainhash.Hash]*pending{}
}

// enqueue puts an unconfirmed entry at the back of the queue.
func (s *state) enqueue(txid chainhash.Hash, e *entry) {
	s.seq++
	e.seq = s.seq
	s.queue = append(s.queue, queued{txid, s.seq})
}

// trim forgets the oldest unconfirmed entries beyond max (those not in flight and not
// confirmed since they were queued).
func (s *state) trim(max int) {
	for len(s.txs) > max && s.head < len(s.queue) {
		q := s.queue[s.head]
		s.queue[s.head] = queued{}
		s.head++
		if e := s.txs[q.txid]; e != nil && e.seq == q.seq && !e.inflight && e.block.IsZero() {
			delete(s.txs, q.txid)
		}
	}
	if s.head > 1024 && s.head*2 > len(s.queue) {
		s.queue = append(s.queue[:0], s.queue[s.head:]...)
		s.head = 0
	}
}

// expire drops the blocks buried deeper than the safety limit below height, and the
// transactions remembered for them: their alerts are final.
func (s *state) expire(height, safety int32) {
	for hash, h := range s.heights {
		if height-h < safety {
			continue
		}
		for _, txid := range s.alerted[hash] {
			if e := s.txs[txid]; e != nil && e.block.Hash == hash {
				delete(s.txs, txid)
			}
		}
		delete(s.alerted, hash)
		delete(s.heights, hash)
	}
}
