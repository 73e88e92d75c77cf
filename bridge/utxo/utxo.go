package utxo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"golang.org/x/sync/errgroup"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/web5/dwn"
)

// Errors of the package.
var (
	// ErrInvalidOption: a constructor option the bridge refuses (see *OptionError).
	ErrInvalidOption = errors.New("utxo: invalid option")
	// ErrInvalidArgument: a bad DID or address.
	ErrInvalidArgument = errors.New("utxo: invalid argument")
	// ErrBadRecord: a stored UTXO record that cannot be read.
	ErrBadRecord = errors.New("utxo: bad UTXO record")
)

// OptionError names the option New refused. It matches ErrInvalidOption.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("utxo: option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// Chain is what the bridge reads from the chain: a bitcoin.Chain.
type Chain interface {
	Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error)
	BlockHash(ctx context.Context, height int32) (chainhash.Hash, error)
	UTXOs(ctx context.Context, pkScript []byte) ([]bitcoin.UTXO, error)
}

// Records is where the UTXO records are kept: a *bridge.Records.
type Records interface {
	Create(ctx context.Context, tenant, path string, data any, opts ...bridge.WriteOption) (*dwn.Record, error)
	Update(ctx context.Context, tenant string, rec *dwn.Record, data any) (*dwn.Record, error)
	Query(ctx context.Context, tenant, path string, f dwn.Filter) ([]*dwn.Record, error)
	Delete(ctx context.Context, tenant, id string) error
}

var _ Records = (*bridge.Records)(nil)

// Checkpoints keeps the last block the bridge applied: a *bridge.Checkpoint.
type Checkpoints interface {
	Load(ctx context.Context) (bitcoin.BlockStamp, error)
	Save(ctx context.Context, b bitcoin.BlockStamp) error
}

var _ Checkpoints = (*bridge.Checkpoint)(nil)

// Blocks is a source of block events from a checkpoint: a *bitcoin.Notifier.
type Blocks interface {
	Blocks(ctx context.Context, from bitcoin.BlockStamp) iter.Seq2[bitcoin.BlockEvent, error]
}

var _ Blocks = (*bitcoin.Notifier)(nil)

// Coin is one output in a UTXO record.
type Coin struct {
	OutPoint wire.OutPoint  `json:"-"`
	Value    btcutil.Amount `json:"value"`
	Height   int32          `json:"height"`
	// Block is the hash of the block that created the output.
	Block    chainhash.Hash `json:"block"`
	Coinbase bool           `json:"coinbase,omitempty"`
	// SpentIn and SpentHeight name the block that spent the output (spent coins only).
	SpentIn     *chainhash.Hash `json:"spentIn,omitempty"`
	SpentHeight int32           `json:"spentHeight,omitempty"`
}

type coinJSON struct {
	OutPoint string `json:"outpoint"`
	coinAlias
}

type coinAlias Coin

// MarshalJSON writes the outpoint as "txid:index".
func (c Coin) MarshalJSON() ([]byte, error) {
	return json.Marshal(coinJSON{OutPoint: c.OutPoint.String(), coinAlias: coinAlias(c)})
}

// UnmarshalJSON reads a coin.
func (c *Coin) UnmarshalJSON(b []byte) error {
	var j coinJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	op, err := wire.NewOutPointFromString(j.OutPoint)
	if err != nil {
		return fmt.Errorf("outpoint %q: %w", j.OutPoint, err)
	}
	*c = Coin(j.coinAlias)
	c.OutPoint = *op
	return nil
}

// Set is the data of a UTXO record: the confirmed unspent outputs of one address linked to
// one DID, as of Block, and the outputs spent in the last SafetyLimit blocks (kept so that a
// reorg can restore them).
type Set struct {
	DID     string             `json:"did"`
	Address string             `json:"address"`
	Block   bitcoin.BlockStamp `json:"block"`
	UTXOs   []Coin             `json:"utxos"`
	Spent   []Coin             `json:"spent,omitempty"`
}

// Balance returns the total value of the set's unspent outputs.
func (s Set) Balance() btcutil.Amount {
	var v btcutil.Amount
	for _, c := range s.UTXOs {
		v += c.Value
	}
	return v
}

// entry is one tracked (DID, address) and its record.
type entry struct {
	did    string
	addr   bitcoin.Address
	script string
	rec    *dwn.Record
	utxos  map[wire.OutPoint]Coin
	spent  map[wire.OutPoint]Coin
	block  bitcoin.BlockStamp
}

func (e *entry) set() Set {
	s := Set{DID: e.did, Address: e.addr.String(), Block: e.block, UTXOs: make([]Coin, 0, len(e.utxos))}
	for _, c := range e.utxos {
		s.UTXOs = append(s.UTXOs, c)
	}
	for _, c := range e.spent {
		s.Spent = append(s.Spent, c)
	}
	order := func(a, b Coin) int {
		if a.Height != b.Height {
			return int(a.Height - b.Height)
		}
		if c := slices.Compare(a.OutPoint.Hash[:], b.OutPoint.Hash[:]); c != 0 {
			return c
		}
		return int(a.OutPoint.Index) - int(b.OutPoint.Index)
	}
	slices.SortFunc(s.UTXOs, order)
	slices.SortFunc(s.Spent, order)
	return s
}

// Option configures New.
type Option func(*config)

type config struct {
	checkpoints Checkpoints
	concurrency int
	safety      int32
	log         *slog.Logger
}

// DefaultConcurrency is how many records the bridge writes at once, per core.
const DefaultConcurrency = 4

// WithCheckpoints sets where the last applied block is kept (a *bridge.Checkpoint in the
// host's store). Defaults to memory only: a restarted bridge then starts at the chain's tip.
func WithCheckpoints(c Checkpoints) Option { return func(cfg *config) { cfg.checkpoints = c } }

// WithConcurrency sets how many records the bridge writes at once. Defaults to
// DefaultConcurrency × GOMAXPROCS.
func WithConcurrency(n int) Option { return func(c *config) { c.concurrency = n } }

// WithSafetyLimit sets how many blocks spent outputs are kept in a record to undo a reorg.
// Defaults to bitcoin.DefaultSafetyLimit.
func WithSafetyLimit(blocks int32) Option { return func(c *config) { c.safety = blocks } }

// WithLogger sets the logger. Defaults to a silent one.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Bridge keeps the confirmed UTXOs of tracked (DID, address) pairs as records (bridge.PathUTXOs)
// in each DID's store, applying every block connected and undoing every block disconnected.
// It is safe for concurrent use; blocks and tracking changes are applied one at a time.
type Bridge struct {
	chain   Chain
	records Records
	cfg     config

	mu       sync.Mutex
	byScript map[string][]*entry
	byCoin   map[wire.OutPoint][]*entry // unspent tracked outputs
	byKey    map[string]*entry          // did + "\n" + address
	loaded   map[string]bool            // tenants whose records were loaded
	cp       bitcoin.BlockStamp
	cpLoaded bool
}

// New returns a bridge reading chain and writing through records.
func New(chain Chain, records Records, opts ...Option) (*Bridge, error) {
	if chain == nil {
		return nil, &OptionError{Option: "chain", Value: nil, Reason: "nil"}
	}
	if records == nil {
		return nil, &OptionError{Option: "records", Value: nil, Reason: "nil"}
	}
	cfg := config{concurrency: DefaultConcurrency * runtime.GOMAXPROCS(0), safety: bitcoin.DefaultSafetyLimit, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.concurrency < 1:
		return nil, &OptionError{Option: "WithConcurrency", Value: cfg.concurrency, Reason: "must be at least 1"}
	case cfg.safety < 1:
		return nil, &OptionError{Option: "WithSafetyLimit", Value: cfg.safety, Reason: "must be at least 1"}
	case cfg.log == nil:
		return nil, &OptionError{Option: "WithLogger", Value: nil, Reason: "nil logger"}
	}
	return &Bridge{chain: chain, records: records, cfg: cfg, byScript: map[string][]*entry{},
		byCoin: map[wire.OutPoint][]*entry{}, byKey: map[string]*entry{}, loaded: map[string]bool{}}, nil
}

func key(d string, a bitcoin.Address) string { return d + "\n" + a.String() }

func (b *Bridge) index(e *entry) {
	b.byKey[key(e.did, e.addr)] = e
	b.byScript[e.script] = append(b.byScript[e.script], e)
	for op := range e.utxos {
		b.byCoin[op] = append(b.byCoin[op], e)
	}
}

func (b *Bridge) unindexCoin(op wire.OutPoint, e *entry) {
	l := slices.DeleteFunc(b.byCoin[op], func(x *entry) bool { return x == e })
	if len(l) == 0 {
		delete(b.byCoin, op)
	} else {
		b.byCoin[op] = l
	}
}

// Load reads the UTXO records kept in the stores of dids, so that a restarted bridge
// resumes tracking their addresses. Loading a DID twice reads it once.
func (b *Bridge) Load(ctx context.Context, dids ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.load(ctx, dids...)
}

// Reload forgets what the bridge holds of dids and reads their records again: for a bridge
// that takes over from another writer of the same stores (hosts sharing them, one applying the
// blocks at a time), or that learns another one tracked or untracked an address. An address
// whose record is gone is no longer tracked.
func (b *Bridge) Reload(ctx context.Context, dids ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, d := range dids {
		for _, e := range b.byKey {
			if e.did == d {
				b.drop(e)
			}
		}
		delete(b.loaded, d)
	}
	return b.load(ctx, dids...)
}

// Addresses returns the addresses the bridge tracks for d.
func (b *Bridge) Addresses(d string) []bitcoin.Address {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []bitcoin.Address
	for _, e := range b.byKey {
		if e.did == d {
			out = append(out, e.addr)
		}
	}
	slices.SortFunc(out, func(x, y bitcoin.Address) int { return strings.Compare(x.String(), y.String()) })
	return out
}

func (b *Bridge) load(ctx context.Context, dids ...string) error {
	var errs []error
	for _, d := range dids {
		if b.loaded[d] {
			continue
		}
		recs, err := b.records.Query(ctx, d, bridge.PathUTXOs, dwn.Filter{})
		if err != nil {
			return err
		}
		for _, rec := range recs {
			e, err := decode(rec, d)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if old, ok := b.byKey[key(e.did, e.addr)]; ok {
				// Two records for one address (a crash between writes): keep the newer.
				if old.rec.DateUpdated >= rec.DateUpdated {
					continue
				}
				b.drop(old)
			}
			b.index(e)
		}
		b.loaded[d] = true
	}
	return errors.Join(errs...)
}

func decode(rec *dwn.Record, tenant string) (*entry, error) {
	var s Set
	if err := json.Unmarshal(rec.Data, &s); err != nil {
		return nil, fmt.Errorf("%w: %s in %s: %v", ErrBadRecord, rec.ID, tenant, err)
	}
	if s.DID != tenant {
		return nil, fmt.Errorf("%w: %s in %s names DID %s", ErrBadRecord, rec.ID, tenant, s.DID)
	}
	addr, err := bitcoin.DecodeAddress(s.Address)
	if err != nil {
		return nil, fmt.Errorf("%w: %s in %s: %v", ErrBadRecord, rec.ID, tenant, err)
	}
	e := &entry{did: s.DID, addr: addr, script: string(addr.PkScript()), rec: rec, block: s.Block,
		utxos: make(map[wire.OutPoint]Coin, len(s.UTXOs)), spent: make(map[wire.OutPoint]Coin, len(s.Spent))}
	for _, c := range s.UTXOs {
		e.utxos[c.OutPoint] = c
	}
	for _, c := range s.Spent {
		e.spent[c.OutPoint] = c
	}
	return e, nil
}

func (b *Bridge) drop(e *entry) {
	delete(b.byKey, key(e.did, e.addr))
	l := slices.DeleteFunc(b.byScript[e.script], func(x *entry) bool { return x == e })
	if len(l) == 0 {
		delete(b.byScript, e.script)
	} else {
		b.byScript[e.script] = l
	}
	for op := range e.utxos {
		b.unindexCoin(op, e)
	}
}

// Track starts keeping addr's UTXOs in d's store: it writes the record with the address's
// confirmed UTXOs as the chain has them now, then follows the blocks. Tracking a pair again
// changes nothing.
func (b *Bridge) Track(ctx context.Context, d string, addr bitcoin.Address) error {
	if d == "" || addr.IsZero() {
		return fmt.Errorf("%w: a DID and an address are needed", ErrInvalidArgument)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.byKey[key(d, addr)]; ok {
		return nil
	}
	if err := b.loadCheckpoint(ctx); err != nil {
		return err
	}
	list, err := b.chain.UTXOs(ctx, addr.PkScript())
	if err != nil {
		return err
	}
	e := &entry{did: d, addr: addr, script: string(addr.PkScript()), utxos: map[wire.OutPoint]Coin{}, spent: map[wire.OutPoint]Coin{}, block: b.cp}
	hashes := map[int32]chainhash.Hash{}
	for _, u := range list {
		if u.Height <= 0 {
			continue // unconfirmed
		}
		h, ok := hashes[u.Height]
		if !ok {
			if h, err = b.chain.BlockHash(ctx, u.Height); err != nil {
				return err
			}
			hashes[u.Height] = h
		}
		e.utxos[u.OutPoint] = Coin{OutPoint: u.OutPoint, Value: u.Value, Height: u.Height, Block: h, Coinbase: u.Coinbase}
	}
	rec, err := b.records.Create(ctx, d, bridge.PathUTXOs, e.set())
	if err != nil {
		return err
	}
	e.rec = rec
	b.index(e)
	return nil
}

// Untrack stops keeping addr's UTXOs in d's store and deletes the record.
func (b *Bridge) Untrack(ctx context.Context, d string, addr bitcoin.Address) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.byKey[key(d, addr)]
	if !ok {
		return nil
	}
	if err := b.records.Delete(ctx, d, e.rec.ID); err != nil {
		return err
	}
	b.drop(e)
	return nil
}

// Set returns the current UTXO set of (d, addr), as its record holds it.
func (b *Bridge) Set(d string, addr bitcoin.Address) (Set, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.byKey[key(d, addr)]
	if !ok {
		return Set{}, false
	}
	return e.set(), true
}

// Checkpoint returns the last block applied.
func (b *Bridge) Checkpoint(ctx context.Context) (bitcoin.BlockStamp, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.loadCheckpoint(ctx); err != nil {
		return bitcoin.BlockStamp{}, err
	}
	return b.cp, nil
}

func (b *Bridge) loadCheckpoint(ctx context.Context) error {
	if b.cpLoaded || b.cfg.checkpoints == nil {
		b.cpLoaded = true
		return nil
	}
	cp, err := b.cfg.checkpoints.Load(ctx)
	if err != nil {
		return err
	}
	b.cp, b.cpLoaded = cp, true
	return nil
}

// change is the new state of one entry after a block.
type change struct {
	e     *entry
	key   string // e's key, the order records are written in
	utxos map[wire.OutPoint]Coin
	spent map[wire.OutPoint]Coin
}

func (b *Bridge) changeOf(m map[*entry]*change, e *entry) *change {
	c, ok := m[e]
	if !ok {
		c = &change{e: e, utxos: maps(e.utxos), spent: maps(e.spent)}
		m[e] = c
	}
	return c
}

func maps(m map[wire.OutPoint]Coin) map[wire.OutPoint]Coin {
	out := make(map[wire.OutPoint]Coin, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Apply applies one block event: a connect adds the outputs paying tracked addresses and
// marks the tracked outputs it spends; a disconnect restores what its block spent and removes
// what it created. Applying an event twice changes nothing. The checkpoint then moves to the
// block (connect) or its parent (disconnect). Other events are ignored.
func (b *Bridge) Apply(ctx context.Context, ev bitcoin.BlockEvent) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.loadCheckpoint(ctx); err != nil {
		return err
	}
	var (
		changes map[*entry]*change
		next    bitcoin.BlockStamp
		err     error
	)
	switch e := ev.(type) {
	case bitcoin.BlockConnected:
		next = e.Stamp()
		changes, err = b.connect(ctx, e)
	case bitcoin.BlockDisconnected:
		next = bitcoin.BlockStamp{Height: e.Height - 1, Hash: e.Header.PrevBlock}
		changes = b.disconnect(e)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	if err := b.write(ctx, changes, next); err != nil {
		return err
	}
	if b.cfg.checkpoints != nil {
		if err := b.cfg.checkpoints.Save(ctx, next); err != nil {
			return err
		}
	}
	b.cp = next
	return nil
}

func (b *Bridge) connect(ctx context.Context, ev bitcoin.BlockConnected) (map[*entry]*change, error) {
	changes := map[*entry]*change{}
	if len(b.byScript) == 0 {
		return changes, nil
	}
	blk, err := b.chain.Block(ctx, ev.Hash)
	if err != nil {
		return nil, fmt.Errorf("utxo: block %s: %w", ev.Hash, err)
	}
	created := map[wire.OutPoint][]*entry{} // tracked outputs created earlier in this block
	for ti, tx := range blk.Transactions {
		if ti > 0 {
			for _, in := range tx.TxIn {
				op := in.PreviousOutPoint
				owners := b.byCoin[op]
				if len(owners) == 0 {
					owners = created[op]
				}
				for _, e := range owners {
					c := b.changeOf(changes, e)
					if coin, ok := c.utxos[op]; ok {
						delete(c.utxos, op)
						coin.SpentIn, coin.SpentHeight = &ev.Hash, ev.Height
						c.spent[op] = coin
					}
				}
			}
		}
		var txid chainhash.Hash
		for vout, out := range tx.TxOut {
			owners := b.byScript[string(out.PkScript)]
			if len(owners) == 0 {
				continue
			}
			if txid == (chainhash.Hash{}) {
				txid = tx.TxHash()
			}
			op := wire.OutPoint{Hash: txid, Index: uint32(vout)}
			for _, e := range owners {
				c := b.changeOf(changes, e)
				if _, spent := c.spent[op]; spent {
					continue // applied before
				}
				c.utxos[op] = Coin{OutPoint: op, Value: btcutil.Amount(out.Value), Height: ev.Height, Block: ev.Hash, Coinbase: ti == 0}
				created[op] = append(created[op], e)
			}
		}
	}
	// Spent outputs older than the safety limit can no longer come back.
	for _, c := range changes {
		for op, coin := range c.spent {
			if coin.SpentHeight <= ev.Height-b.cfg.safety {
				delete(c.spent, op)
			}
		}
	}
	return changes, nil
}

func (b *Bridge) disconnect(ev bitcoin.BlockDisconnected) map[*entry]*change {
	changes := map[*entry]*change{}
	for _, e := range b.byKey {
		for op, coin := range e.spent {
			if coin.SpentIn != nil && *coin.SpentIn == ev.Hash {
				c := b.changeOf(changes, e)
				delete(c.spent, op)
				coin.SpentIn, coin.SpentHeight = nil, 0
				c.utxos[op] = coin
			}
		}
		for op, coin := range e.utxos {
			if coin.Block == ev.Hash {
				c := b.changeOf(changes, e)
				delete(c.utxos, op)
				delete(c.spent, op)
			}
		}
		// Outputs created in the block and spent in the same block.
		for op, coin := range e.spent {
			if coin.Block == ev.Hash {
				c := b.changeOf(changes, e)
				delete(c.spent, op)
				delete(c.utxos, op)
			}
		}
	}
	return changes
}

// write stores the changed records, several at once, and then moves the in-memory state.
func (b *Bridge) write(ctx context.Context, changes map[*entry]*change, at bitcoin.BlockStamp) error {
	if len(changes) == 0 {
		return nil
	}
	list := make([]*change, 0, len(changes))
	for _, c := range changes {
		c.key = key(c.e.did, c.e.addr)
		list = append(list, c)
	}
	slices.SortFunc(list, func(x, y *change) int { return strings.Compare(x.key, y.key) })
	recs := make([]*dwn.Record, len(list))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.cfg.concurrency)
	for i, c := range list {
		g.Go(func() error {
			tmp := entry{did: c.e.did, addr: c.e.addr, utxos: c.utxos, spent: c.spent, block: at}
			var err error
			if c.e.rec == nil {
				recs[i], err = b.records.Create(gctx, c.e.did, bridge.PathUTXOs, tmp.set())
			} else {
				recs[i], err = b.records.Update(gctx, c.e.did, c.e.rec, tmp.set())
			}
			if err != nil {
				return fmt.Errorf("utxo: record of %s in %s: %w", c.e.addr, c.e.did, err)
			}
			return nil
		})
	}
	err := g.Wait()
	// Move the state of every record written, even when others failed: the records are the
	// truth, and applying the block again is harmless.
	for i, c := range list {
		if recs[i] == nil {
			continue
		}
		e := c.e
		for op := range e.utxos {
			if _, ok := c.utxos[op]; !ok {
				b.unindexCoin(op, e)
			}
		}
		for op := range c.utxos {
			if _, ok := e.utxos[op]; !ok {
				b.byCoin[op] = append(b.byCoin[op], e)
			}
		}
		e.rec, e.utxos, e.spent, e.block = recs[i], c.utxos, c.spent, at
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Run applies the block events of src from the checkpoint on (the chain's tip when there is
// none), until ctx is done or an event cannot be applied. It returns ctx.Err() when ctx ends;
// after any other error, calling Run again resumes from the last block applied.
func (b *Bridge) Run(ctx context.Context, src Blocks) error {
	from, err := b.Checkpoint(ctx)
	if err != nil {
		return err
	}
	for ev, err := range src.Blocks(ctx, from) {
		if err != nil {
			return err
		}
		if err := b.Apply(ctx, ev); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
	return ctx.Err()
}
