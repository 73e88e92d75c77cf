package natssend

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/internal/natsx"
	"github.com/anya-org/anya-go/internal/sendstore"
)

// Defaults of New.
const (
	// DefaultBucket is the KV bucket of the records and reservations.
	DefaultBucket = "anya_sends"
	// DefaultReplicas is the bucket's replication factor (1: a single server).
	DefaultReplicas = 1
	// maxMemory bounds each of the store's memories (records, reservations); a full one is
	// forgotten at once.
	maxMemory = 1 << 16
	// lookups bounds the reservation lookups one Reserved makes at once.
	lookups = 16
)

// ErrInvalidOption is wrapped by the *OptionError New returns.
var ErrInvalidOption = errors.New("natssend: invalid option")

// OptionError names an option whose value New refuses.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("natssend: invalid option %s(%v): %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// Option configures New.
type Option func(*config)

type config struct {
	bucket   string
	replicas int
	storage  jetstream.StorageType
}

// WithBucket names the KV bucket. Hosts sharing their sends use the same bucket. Defaults to
// DefaultBucket.
func WithBucket(name string) Option { return func(c *config) { c.bucket = name } }

// WithReplicas sets the bucket's replication factor in a JetStream cluster (1, 3 or 5).
// Defaults to DefaultReplicas.
func WithReplicas(n int) Option { return func(c *config) { c.replicas = n } }

// WithMemoryStorage keeps the bucket in memory: lost when the server stops (the store is then
// not durable). Defaults to file storage.
func WithMemoryStorage() Option { return func(c *config) { c.storage = jetstream.MemoryStorage } }

func (c *config) validate() error {
	switch {
	case c.bucket == "" || len(c.bucket) > 64 || strings.Trim(c.bucket, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "":
		return &OptionError{Option: "WithBucket", Value: c.bucket, Reason: "want 1 to 64 of A-Z a-z 0-9 _ -"}
	case c.replicas < 1 || c.replicas > 5:
		return &OptionError{Option: "WithReplicas", Value: c.replicas, Reason: "want 1 to 5"}
	}
	return nil
}

// Store is a sendstore.Store on a NATS JetStream KV bucket, which hosts share. It is safe for
// concurrent use. It does not own the connection: Close only makes further calls fail.
type Store struct {
	js  jetstream.JetStream
	kv  jetstream.KeyValue
	cfg config

	mu     sync.RWMutex // read-held by calls, write-held by Close
	closed bool

	memMu   sync.Mutex
	records map[string]bitcoin.SendRecord // key → record: records never change
	coins   map[wire.OutPoint]string      // outpoint → the key reserving it: reservations are never removed
}

var _ sendstore.Store = (*Store)(nil)

// New returns a store on js, creating its KV bucket (with atomic batches enabled) if it does
// not exist.
func New(ctx context.Context, js jetstream.JetStream, opts ...Option) (*Store, error) {
	if js == nil {
		return nil, &OptionError{Option: "js", Reason: "nil JetStream"}
	}
	cfg := config{bucket: DefaultBucket, replicas: DefaultReplicas, storage: jetstream.FileStorage}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	kv, err := natsx.OpenKV(ctx, js, natsx.KVConfig{KeyValueConfig: jetstream.KeyValueConfig{
		Bucket: cfg.bucket, Description: "anya send records and coin reservations", History: 1,
		Storage: cfg.storage, Replicas: cfg.replicas,
	}, Batch: true})
	if err != nil {
		return nil, fmt.Errorf("natssend: bucket %s: %w", cfg.bucket, err)
	}
	return &Store{js: js, kv: kv, cfg: cfg, records: map[string]bitcoin.SendRecord{}, coins: map[wire.OutPoint]string{}}, nil
}

// Keys of the bucket: "send.<key>" (a record) and "coin.<txid>_<index>" (a reservation, whose
// value is the key of the record spending it), names escaped with natsx.EscapeKey.
func sendKey(key string) string { return "send." + natsx.EscapeKey(key) }

func coinKey(op wire.OutPoint) string {
	return "coin." + op.Hash.String() + "_" + strconv.FormatUint(uint64(op.Index), 10)
}

// recordJSON is the value of a record's key.
type recordJSON struct {
	Txid    string `json:"txid"`
	Raw     []byte `json:"raw"`
	Created int64  `json:"created"`
}

func encode(rec bitcoin.SendRecord) ([]byte, error) {
	return json.Marshal(recordJSON{Txid: hex.EncodeToString(rec.Txid[:]), Raw: rec.RawTx, Created: rec.Created.UnixNano()})
}

// decode reads a stored record; its bytes come from the server and are checked.
func decode(key string, data []byte) (bitcoin.SendRecord, error) {
	var j recordJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return bitcoin.SendRecord{}, fmt.Errorf("natssend: record of %q: %w", key, err)
	}
	txid, err := hex.DecodeString(j.Txid)
	if err != nil || len(txid) != chainhash.HashSize {
		return bitcoin.SendRecord{}, fmt.Errorf("natssend: record of %q holds txid %q", key, j.Txid)
	}
	rec := bitcoin.SendRecord{Key: key, RawTx: j.Raw, Created: time.Unix(0, j.Created).UTC()}
	copy(rec.Txid[:], txid)
	return rec, nil
}

func (s *Store) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return sendstore.ErrClosed
	}
	return nil
}

// fail returns ctx.Err() when ctx ended during a call, err otherwise.
func fail(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

func cloneRecord(r bitcoin.SendRecord) bitcoin.SendRecord {
	r.RawTx = bytes.Clone(r.RawTx)
	return r
}

// Get implements bitcoin.SendStore.
func (s *Store) Get(ctx context.Context, key string) (bitcoin.SendRecord, error) {
	if err := s.enter(ctx); err != nil {
		return bitcoin.SendRecord{}, err
	}
	defer s.mu.RUnlock()
	rec, err := s.get(ctx, key)
	return rec, fail(ctx, err)
}

func (s *Store) get(ctx context.Context, key string) (bitcoin.SendRecord, error) {
	s.memMu.Lock()
	rec, ok := s.records[key]
	s.memMu.Unlock()
	if ok {
		return cloneRecord(rec), nil
	}
	e, err := s.kv.Get(ctx, sendKey(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return bitcoin.SendRecord{}, fmt.Errorf("natssend: key %q: %w", key, bitcoin.ErrNotFound)
	}
	if err != nil {
		return bitcoin.SendRecord{}, fmt.Errorf("natssend: get %q: %w", key, err)
	}
	rec, err = decode(key, e.Value())
	if err != nil {
		return bitcoin.SendRecord{}, err
	}
	s.remember(rec, nil)
	return cloneRecord(rec), nil
}

// remember keeps a stored record, and the coins its transaction reserves.
func (s *Store) remember(rec bitcoin.SendRecord, spends []wire.OutPoint) {
	s.memMu.Lock()
	defer s.memMu.Unlock()
	if len(s.records) >= maxMemory {
		clear(s.records)
	}
	s.records[rec.Key] = cloneRecord(rec)
	if len(s.coins)+len(spends) > maxMemory {
		clear(s.coins)
	}
	for _, op := range spends {
		s.coins[op] = rec.Key
	}
}

// spends returns the distinct outpoints raw (a serialized transaction) spends; none when raw is
// not a transaction.
func spends(raw []byte) []wire.OutPoint {
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(raw)); err != nil {
		return nil
	}
	seen := make(map[wire.OutPoint]bool, len(tx.TxIn))
	var out []wire.OutPoint
	for _, in := range tx.TxIn {
		if !seen[in.PreviousOutPoint] {
			seen[in.PreviousOutPoint] = true
			out = append(out, in.PreviousOutPoint)
		}
	}
	return out
}

// PutIfAbsent implements bitcoin.SendStore: one JetStream atomic batch creates the record's key
// and the key of every coin its transaction spends, each only if it does not exist. When the
// batch is refused the store reads why: the key has a record (returned, loaded), or a coin is
// reserved by another key (ErrCoinReserved); otherwise a concurrent write was in flight on one
// of the keys, and the batch is made again.
func (s *Store) PutIfAbsent(ctx context.Context, rec bitcoin.SendRecord) (bitcoin.SendRecord, bool, error) {
	if err := s.enter(ctx); err != nil {
		return bitcoin.SendRecord{}, false, err
	}
	defer s.mu.RUnlock()
	stored, loaded, err := s.putIfAbsent(ctx, rec)
	return stored, loaded, fail(ctx, err)
}

func (s *Store) putIfAbsent(ctx context.Context, rec bitcoin.SendRecord) (bitcoin.SendRecord, bool, error) {
	if old, err := s.get(ctx, rec.Key); err == nil {
		return old, true, nil
	} else if !errors.Is(err, bitcoin.ErrNotFound) {
		return bitcoin.SendRecord{}, false, err
	}
	ops := spends(rec.RawTx)
	if len(ops)+1 > natsx.MaxBatch {
		return bitcoin.SendRecord{}, false, fmt.Errorf("natssend: put %q: a transaction of %d inputs is more than a batch holds", rec.Key, len(ops))
	}
	value, err := encode(rec)
	if err != nil {
		return bitcoin.SendRecord{}, false, err
	}
	ws := make([]natsx.Write, 0, len(ops)+1)
	for _, op := range ops {
		ws = append(ws, natsx.Write{Bucket: s.cfg.bucket, Key: coinKey(op), Value: []byte(rec.Key), Expect: true})
	}
	ws = append(ws, natsx.Write{Bucket: s.cfg.bucket, Key: sendKey(rec.Key), Value: value, Expect: true})
	wait := time.Millisecond
	for {
		_, err := natsx.Batch(ctx, s.js, ws)
		if err == nil {
			s.remember(rec, ops)
			return cloneRecord(rec), false, nil
		}
		if !natsx.IsConflict(err) {
			return bitcoin.SendRecord{}, false, fmt.Errorf("natssend: put %q: %w", rec.Key, err)
		}
		if old, err := s.get(ctx, rec.Key); err == nil {
			return old, true, nil
		} else if !errors.Is(err, bitcoin.ErrNotFound) {
			return bitcoin.SendRecord{}, false, err
		}
		taken, err := s.lookup(ctx, ops)
		if err != nil {
			return bitcoin.SendRecord{}, false, err
		}
		for _, op := range ops {
			if k, ok := taken[op]; ok && k != rec.Key {
				return bitcoin.SendRecord{}, false, fmt.Errorf("%w: %s is spent by the transaction of %q", sendstore.ErrCoinReserved, op, k)
			}
		}
		// A write to one of the keys was in flight: try again shortly.
		select {
		case <-ctx.Done():
			return bitcoin.SendRecord{}, false, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// Reserved implements sendstore.Store. Reservations seen before are answered from memory (they
// are never removed); the others are read from the bucket, several at once.
func (s *Store) Reserved(ctx context.Context, ops []wire.OutPoint) (map[wire.OutPoint]string, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	out, err := s.lookup(ctx, ops)
	return out, fail(ctx, err)
}

func (s *Store) lookup(ctx context.Context, ops []wire.OutPoint) (map[wire.OutPoint]string, error) {
	out := map[wire.OutPoint]string{}
	var unknown []wire.OutPoint
	s.memMu.Lock()
	for _, op := range ops {
		if k, ok := s.coins[op]; ok {
			out[op] = k
		} else {
			unknown = append(unknown, op)
		}
	}
	s.memMu.Unlock()
	if len(unknown) == 0 {
		return out, nil
	}
	keys := make([]string, len(unknown))
	errs := make([]error, len(unknown))
	sem := make(chan struct{}, lookups)
	var wg sync.WaitGroup
	for i, op := range unknown {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			e, err := s.kv.Get(ctx, coinKey(op))
			switch {
			case errors.Is(err, jetstream.ErrKeyNotFound):
			case err != nil:
				errs[i] = fmt.Errorf("natssend: reservation of %s: %w", op, err)
			default:
				keys[i] = string(e.Value())
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.memMu.Lock()
	defer s.memMu.Unlock()
	if len(s.coins)+len(unknown) > maxMemory {
		clear(s.coins)
	}
	for i, op := range unknown {
		if keys[i] != "" {
			out[op] = keys[i]
			s.coins[op] = keys[i]
		}
	}
	return out, nil
}

// Close makes further calls return sendstore.ErrClosed. It does not close the connection. It
// is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}
