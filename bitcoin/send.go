package bitcoin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// MaxSendKeyLen bounds the length of a [Sender] idempotency key.
const MaxSendKeyLen = 256

// Broadcast submits a signed transaction and returns its txid. It is idempotent: a
// transaction the chain already has (in the mempool or the main chain) is not sent again and
// its txid is returned. Otherwise the chain's test-accept check runs first, so a transaction
// the mempool would refuse fails with a [*RejectError] before anything is sent. A transaction
// with outputs outside 0..btcutil.MaxSatoshi (or summing above it) is refused with an
// [*AmountError] before the chain is asked anything.
func Broadcast(ctx context.Context, c Chain, tx *wire.MsgTx) (chainhash.Hash, error) {
	if c == nil {
		return chainhash.Hash{}, &FieldError{Field: "chain", Reason: "nil Chain"}
	}
	if tx == nil {
		return chainhash.Hash{}, &FieldError{Field: "tx", Reason: "nil transaction"}
	}
	if err := CheckTxAmounts(tx); err != nil {
		return chainhash.Hash{}, err
	}
	txid := tx.TxHash()
	_, err := c.Tx(ctx, txid)
	if err == nil {
		return txid, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return chainhash.Hash{}, err
	}
	if err := c.TestAccept(ctx, tx); err != nil {
		return chainhash.Hash{}, err
	}
	return c.Broadcast(ctx, tx)
}

// SendRecord binds an idempotency key to the transaction sent for it.
type SendRecord struct {
	Key     string         `json:"key"`
	Txid    chainhash.Hash `json:"txid"`
	RawTx   []byte         `json:"rawTx"` // the signed transaction, serialized with witness
	Created time.Time      `json:"created"`
}

// SendStore keeps the [Sender]'s key→transaction records.
//
// Contract (bitcointest.RunSendStoreSuite checks it): implementations MUST be safe for
// concurrent use; PutIfAbsent MUST be atomic per key (of concurrent calls for one key exactly
// one stores its record and the others get that record back with loaded true); records MUST
// never change once stored; Get of an unknown key MUST return an error matching
// [ErrNotFound]; a durable store MUST have made the record durable when PutIfAbsent returns.
type SendStore interface {
	// Get returns the record stored under key.
	Get(ctx context.Context, key string) (SendRecord, error)
	// PutIfAbsent stores rec under rec.Key unless the key has a record. It returns the record
	// stored under the key after the call and whether it was already there.
	PutIfAbsent(ctx context.Context, rec SendRecord) (stored SendRecord, loaded bool, err error)
}

// MemSendStore is an in-memory [SendStore]. The zero value is ready to use.
type MemSendStore struct {
	mu   sync.Mutex
	recs map[string]SendRecord
}

var _ SendStore = (*MemSendStore)(nil)

// NewMemSendStore returns an empty in-memory store.
func NewMemSendStore() *MemSendStore { return &MemSendStore{} }

// Get returns the record stored under key.
func (m *MemSendStore) Get(ctx context.Context, key string) (SendRecord, error) {
	if err := ctx.Err(); err != nil {
		return SendRecord{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.recs[key]
	if !ok {
		return SendRecord{}, fmt.Errorf("bitcoin: send key %q: %w", key, ErrNotFound)
	}
	return cloneRecord(rec), nil
}

// PutIfAbsent stores rec unless its key has a record.
func (m *MemSendStore) PutIfAbsent(ctx context.Context, rec SendRecord) (SendRecord, bool, error) {
	if err := ctx.Err(); err != nil {
		return SendRecord{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.recs[rec.Key]; ok {
		return cloneRecord(old), true, nil
	}
	if m.recs == nil {
		m.recs = make(map[string]SendRecord)
	}
	m.recs[rec.Key] = cloneRecord(rec)
	return cloneRecord(rec), false, nil
}

func cloneRecord(r SendRecord) SendRecord {
	r.RawTx = bytes.Clone(r.RawTx)
	return r
}

// Sender broadcasts transactions under idempotency keys: the first transaction sent for a
// key is recorded before it is broadcast, and a later call with the same key re-sends that
// transaction (a no-op if the chain has it) instead of a new one. It is safe for concurrent
// use and owns no goroutines. Create it with [NewSender]: every method of a zero Sender
// returns a [*NotConstructedError].
type Sender struct {
	chain     Chain
	store     SendStore
	log       *slog.Logger
	now       func() time.Time
	publisher publisher
	tel       *senderTelemetry // nil unless traced or metered
}

// NewSender returns a Sender that broadcasts on c and keeps its records in store.
func NewSender(c Chain, store SendStore, opts ...Option) (*Sender, error) {
	cfg, err := newConfig(forSender, opts)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, &FieldError{Field: "chain", Reason: "nil Chain"}
	}
	if store == nil {
		return nil, &FieldError{Field: "store", Reason: "nil SendStore"}
	}
	tel, err := newSenderTelemetry(&cfg)
	if err != nil {
		return nil, err
	}
	return &Sender{chain: c, store: store, log: cfg.log, now: cfg.now, publisher: cfg.publisher, tel: tel}, nil
}

// constructed returns a [*NotConstructedError] for a zero Sender.
func (s *Sender) constructed() error {
	if s == nil || s.chain == nil {
		return notConstructed("Sender", "NewSender")
	}
	return nil
}

func checkKey(key string) error {
	if key == "" {
		return &FieldError{Field: "key", Reason: "empty idempotency key"}
	}
	if len(key) > MaxSendKeyLen {
		return &FieldError{Field: "key", Reason: fmt.Sprintf("longer than %d bytes", MaxSendKeyLen)}
	}
	return nil
}

// Send broadcasts tx under key and returns its txid.
//
//   - If key has no record, tx is checked with the chain's test-accept (a refused tx fails
//     with a [*RejectError] and leaves the key free), recorded under key, then broadcast.
//   - If key already names tx, tx is re-broadcast idempotently and its txid returned.
//   - If key names another transaction, nothing is sent and the error matches
//     [ErrKeyConflict].
//
// A transaction that passed the check but is refused at broadcast keeps its key: the key is
// never re-bound, so that one key can never lead to two different payments. A transaction
// with outputs out of range is refused with an [*AmountError] before anything is looked up
// or recorded.
func (s *Sender) Send(ctx context.Context, key string, tx *wire.MsgTx) (chainhash.Hash, error) {
	if err := s.constructed(); err != nil {
		return chainhash.Hash{}, err
	}
	if s.tel != nil {
		return s.tel.traced(ctx, func(ctx context.Context, resent *bool) (chainhash.Hash, error) { return s.send(ctx, key, tx, resent) })
	}
	return s.send(ctx, key, tx, nil)
}

// send is Send on a constructed Sender; it sets *resent (if not nil) when key had a record.
func (s *Sender) send(ctx context.Context, key string, tx *wire.MsgTx, resent *bool) (chainhash.Hash, error) {
	if err := checkKey(key); err != nil {
		return chainhash.Hash{}, err
	}
	if tx == nil {
		return chainhash.Hash{}, &FieldError{Field: "tx", Reason: "nil transaction"}
	}
	if err := CheckTxAmounts(tx); err != nil {
		return chainhash.Hash{}, err
	}
	txid := tx.TxHash()
	rec, err := s.store.Get(ctx, key)
	switch {
	case err == nil && rec.Txid != txid:
		return chainhash.Hash{}, fmt.Errorf("%w: key %q names %s, not %s", ErrKeyConflict, key, rec.Txid, txid)
	case err == nil:
		setTrue(resent)
		return s.resend(ctx, rec)
	case !errors.Is(err, ErrNotFound):
		return chainhash.Hash{}, fmt.Errorf("bitcoin: send store: %w", err)
	}
	return s.sendNew(ctx, key, tx)
}

func setTrue(b *bool) {
	if b != nil {
		*b = true
	}
}

// SendFunc is Send for a transaction built on demand: if key already has a record, its
// transaction is re-broadcast and build is not called; otherwise build's transaction is sent
// as by Send.
func (s *Sender) SendFunc(ctx context.Context, key string, build func(context.Context) (*wire.MsgTx, error)) (chainhash.Hash, error) {
	if err := s.constructed(); err != nil {
		return chainhash.Hash{}, err
	}
	if s.tel != nil {
		return s.tel.traced(ctx, func(ctx context.Context, resent *bool) (chainhash.Hash, error) {
			return s.sendFunc(ctx, key, build, resent)
		})
	}
	return s.sendFunc(ctx, key, build, nil)
}

// sendFunc is SendFunc on a constructed Sender; it sets *resent (if not nil) when key had a
// record.
func (s *Sender) sendFunc(ctx context.Context, key string, build func(context.Context) (*wire.MsgTx, error), resent *bool) (chainhash.Hash, error) {
	if err := checkKey(key); err != nil {
		return chainhash.Hash{}, err
	}
	rec, err := s.store.Get(ctx, key)
	switch {
	case err == nil:
		setTrue(resent)
		return s.resend(ctx, rec)
	case !errors.Is(err, ErrNotFound):
		return chainhash.Hash{}, fmt.Errorf("bitcoin: send store: %w", err)
	}
	if build == nil {
		return chainhash.Hash{}, &FieldError{Field: "build", Reason: "nil function"}
	}
	tx, err := build(ctx)
	if err != nil {
		return chainhash.Hash{}, err
	}
	if tx == nil {
		return chainhash.Hash{}, &FieldError{Field: "build", Reason: "returned a nil transaction"}
	}
	if err := CheckTxAmounts(tx); err != nil {
		return chainhash.Hash{}, err
	}
	return s.sendNew(ctx, key, tx)
}

// Record returns the record stored under key (an error matching [ErrNotFound] if none).
func (s *Sender) Record(ctx context.Context, key string) (SendRecord, error) {
	if err := s.constructed(); err != nil {
		return SendRecord{}, err
	}
	return s.store.Get(ctx, key)
}

func (s *Sender) sendNew(ctx context.Context, key string, tx *wire.MsgTx) (chainhash.Hash, error) {
	txid := tx.TxHash()
	known := false
	if _, err := s.chain.Tx(ctx, txid); err == nil {
		known = true
	} else if !errors.Is(err, ErrNotFound) {
		return chainhash.Hash{}, err
	}
	if !known {
		if err := s.chain.TestAccept(ctx, tx); err != nil {
			return chainhash.Hash{}, err
		}
	}
	var raw bytes.Buffer
	if err := tx.Serialize(&raw); err != nil {
		return chainhash.Hash{}, fmt.Errorf("bitcoin: serialize %s: %w", txid, err)
	}
	rec, loaded, err := s.store.PutIfAbsent(ctx, SendRecord{Key: key, Txid: txid, RawTx: raw.Bytes(), Created: s.now()})
	if err != nil {
		return chainhash.Hash{}, fmt.Errorf("bitcoin: send store: %w", err)
	}
	if loaded && rec.Txid != txid {
		return chainhash.Hash{}, fmt.Errorf("%w: key %q names %s, not %s", ErrKeyConflict, key, rec.Txid, txid)
	}
	return s.broadcast(ctx, key, tx)
}

func (s *Sender) resend(ctx context.Context, rec SendRecord) (chainhash.Hash, error) {
	tx, err := DecodeTx(rec.RawTx)
	if err != nil {
		return chainhash.Hash{}, fmt.Errorf("bitcoin: send record %q holds a bad transaction: %w", rec.Key, err)
	}
	if tx.TxHash() != rec.Txid {
		return chainhash.Hash{}, fmt.Errorf("bitcoin: send record %q: transaction is %s, record says %s", rec.Key, tx.TxHash(), rec.Txid)
	}
	return s.broadcast(ctx, rec.Key, tx)
}

func (s *Sender) broadcast(ctx context.Context, key string, tx *wire.MsgTx) (chainhash.Hash, error) {
	txid, err := s.chain.Broadcast(ctx, tx)
	if err != nil {
		s.log.Warn("bitcoin: broadcast failed", "key", key, "txid", tx.TxHash(), "err", err)
		return chainhash.Hash{}, err
	}
	s.log.Info("bitcoin: transaction sent", "key", key, "txid", txid)
	if s.publisher != nil {
		if err := s.publisher.publish(ctx, TopicTxBroadcast, txid.String(), TxBroadcast{Txid: txid, Key: key}); err != nil {
			s.log.Error("bitcoin: publish failed", "topic", TopicTxBroadcast, "err", err)
		}
	}
	return txid, nil
}
