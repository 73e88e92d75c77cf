package bitcoin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"go.opentelemetry.io/otel/trace"
)

// Notifier defaults.
const (
	// DefaultSafetyLimit is the reorg depth the Notifier handles as routine: deeper reorgs are
	// reported as a [DeepReorg], and registrations are final once their block is buried
	// deeper than it. 144 blocks is a day of blocks, lnd's ReorgSafetyLimit.
	DefaultSafetyLimit = 144
	// DefaultRetryMin and DefaultRetryMax bound the backoff between attempts to catch up with
	// a chain whose queries fail (a node that went away).
	DefaultRetryMin = 100 * time.Millisecond
	DefaultRetryMax = 5 * time.Second
	// MaxSafetyLimit bounds [WithSafetyLimit].
	MaxSafetyLimit = 10_000
)

// publisher receives every event of the Notifier's own stream, in order, from its loop.
type publisher interface {
	publish(ctx context.Context, topic, key string, payload any) error
}

// viewBlock is a block of the Notifier's processed main chain.
type viewBlock struct {
	BlockStamp
	header wire.BlockHeader
}

// Notifier watches a [Chain] and delivers reorg-safe block, confirmation, spend and mempool
// events. It owns one goroutine that follows the chain (plus one per open registration
// channel); all methods are safe for concurrent use. Close it when done. Create it with
// [NewNotifier]: the methods of a zero Notifier that can fail return a [*NotConstructedError].
//
// The Notifier keeps its own view of the main chain: the last SafetyLimit+1 blocks it
// processed. Every tip update from the chain (and every failed attempt, after a backoff)
// makes it catch up from its last processed block: it finds the fork point, emits a
// disconnect for every block it processed that is no longer on the main chain, tip first,
// then a connect for every new block, in height order. So a chain that drops and regains its
// node yields no gap and no duplicate.
type Notifier struct {
	chain     Chain
	limit     int32
	log       *slog.Logger
	retryMin  time.Duration
	retryMax  time.Duration
	publisher publisher

	tel *notifierTelemetry // nil unless traced or metered
	// chainTip is the height of the chain's best block as last seen: from a tip update or
	// the Notifier's own query. Lag is chainTip minus the view's tip.
	chainTip atomic.Int32

	mu      sync.RWMutex
	view    []viewBlock // ascending, contiguous; the last is the tip
	changed chan struct{}
	closed  bool

	pendMu  sync.Mutex
	pendTip *ChainUpdate
	pendTxs []*wire.MsgTx
	wake    chan struct{}

	reqs      chan func(context.Context)
	quit      chan struct{}
	done      chan struct{}
	cancel    context.CancelFunc
	closeOnce sync.Once
	unsub     func()
	wg        sync.WaitGroup

	// Owned by the loop goroutine.
	nextID  uint64
	confs   map[uint64]*confReg
	spends  map[uint64]*spendReg
	watches map[uint64]*mempoolWatch
	tracked map[chainhash.Hash]trackedTx
	// unwound counts the blocks disconnected since the last connect, from unwindFrom.
	unwound      int32
	unwindFrom   BlockStamp
	deepReported bool
	trackSeq     uint64

	boxMu sync.Mutex
	boxes map[uint64]func() // abort functions of the mailboxes whose pump still runs
}

// NewNotifier starts a Notifier on c. It fails if the checkpoint is unknown to the chain or
// the chain cannot be queried.
func NewNotifier(ctx context.Context, c Chain, opts ...Option) (*Notifier, error) {
	cfg, err := newConfig(forNotifier, opts)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, &FieldError{Field: "chain", Reason: "nil Chain"}
	}
	start := cfg.checkpoint
	if start.IsZero() {
		best, err := c.BestBlock(ctx)
		if err != nil {
			return nil, fmt.Errorf("bitcoin: notifier start: %w", err)
		}
		start = best
	}
	hdr, err := c.BlockHeader(ctx, start.Hash)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, &OptionError{Option: "WithCheckpoint", Value: start, Reason: "the block is unknown to the chain"}
		}
		return nil, fmt.Errorf("bitcoin: notifier start: %w", err)
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	n := &Notifier{
		chain:     c,
		limit:     cfg.limit,
		log:       cfg.log,
		retryMin:  cfg.retryMin,
		retryMax:  cfg.retryMax,
		publisher: cfg.publisher,
		view:      []viewBlock{{BlockStamp: start, header: hdr}},
		changed:   make(chan struct{}),
		wake:      make(chan struct{}, 1),
		reqs:      make(chan func(context.Context)),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
		cancel:    cancel,
		confs:     make(map[uint64]*confReg),
		spends:    make(map[uint64]*spendReg),
		watches:   make(map[uint64]*mempoolWatch),
		tracked:   make(map[chainhash.Hash]trackedTx),
		boxes:     make(map[uint64]func()),
	}
	n.chainTip.Store(start.Height)
	if n.tel, err = newNotifierTelemetry(&cfg, n); err != nil {
		cancel()
		return nil, err
	}
	n.unsub = c.Subscribe(n.onUpdate)
	n.poke()
	go n.loop(loopCtx)
	return n, nil
}

// constructed returns a [*NotConstructedError] for a zero Notifier.
func (n *Notifier) constructed() error {
	if n == nil || n.chain == nil {
		return notConstructed("Notifier", "NewNotifier")
	}
	return nil
}

// SafetyLimit returns the configured reorg safety limit (0 for a zero Notifier).
func (n *Notifier) SafetyLimit() int32 {
	if n == nil {
		return 0
	}
	return n.limit
}

// Tip returns the last block the Notifier processed (the zero BlockStamp for a zero
// Notifier).
func (n *Notifier) Tip() BlockStamp {
	if n.constructed() != nil {
		return BlockStamp{}
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.view[len(n.view)-1].BlockStamp
}

// Lag returns how many blocks the chain's tip, as last seen — from the chain's latest tip
// update or the Notifier's own query of its best block — is ahead of the last block the
// Notifier processed ([Notifier.Tip]): 0 when it has caught up (and for a zero Notifier).
// A Notifier that cannot reach its chain keeps the lag it last saw.
func (n *Notifier) Lag() int32 {
	if n.constructed() != nil {
		return 0
	}
	return max(0, n.chainTip.Load()-n.Tip().Height)
}

// Close stops the Notifier: the loop and every registration goroutine end, every
// registration and subscription channel is closed (undelivered events are dropped) and later
// calls fail with [ErrClosed]. It does not close the Chain. It is idempotent, and does
// nothing on a zero Notifier.
func (n *Notifier) Close() error {
	if n.constructed() != nil {
		return nil
	}
	n.closeOnce.Do(func() {
		n.unsub()
		close(n.quit)
		n.cancel()
		<-n.done
		n.mu.Lock()
		n.closed = true
		close(n.changed)
		n.mu.Unlock()
		n.wg.Wait()
		n.tel.close()
	})
	return nil
}

// onUpdate is the Chain's handler: it only records and wakes the loop.
func (n *Notifier) onUpdate(u ChainUpdate) {
	n.pendMu.Lock()
	switch u.Kind {
	case UpdateTip:
		n.pendTip = &u
		n.chainTip.Store(u.Tip.Height)
	case UpdateMempool:
		if u.Tx != nil {
			n.pendTxs = append(n.pendTxs, u.Tx)
		}
	}
	n.pendMu.Unlock()
	n.poke()
}

func (n *Notifier) poke() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// do runs f on the loop goroutine and waits for it.
func (n *Notifier) do(ctx context.Context, f func(context.Context) error) error {
	errc := make(chan error, 1)
	req := func(lctx context.Context) {
		// The caller's ctx bounds the work too.
		wctx, cancel := context.WithCancel(lctx)
		stop := context.AfterFunc(ctx, cancel)
		errc <- f(wctx)
		stop()
		cancel()
	}
	select {
	case n.reqs <- req:
	case <-n.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-errc:
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	case <-n.done:
		return ErrClosed
	}
}

func (n *Notifier) loop(ctx context.Context) {
	defer close(n.done)
	defer n.abortAll()
	var retry *time.Timer
	var retryC <-chan time.Time
	failures := 0
	for {
		dirty := false
		select {
		case <-n.quit:
			if retry != nil {
				retry.Stop()
			}
			return
		case f := <-n.reqs:
			f(ctx)
		case <-n.wake:
			dirty = true
		case <-retryC:
			retryC = nil
			dirty = true
		}
		if !dirty {
			continue
		}
		n.drainMempool(ctx)
		if err := n.sync(ctx); err != nil {
			if ctx.Err() != nil {
				continue
			}
			n.tel.failed(ctx, err)
			d := n.backoff(failures)
			failures++
			n.log.Warn("bitcoin: notifier catch-up failed; retrying", "err", err, "in", d, "tip", n.Tip())
			if retry == nil {
				retry = time.NewTimer(d)
			} else {
				retry.Reset(d)
			}
			retryC = retry.C
			continue
		}
		failures = 0
	}
}

func (n *Notifier) backoff(failures int) time.Duration {
	d := n.retryMin
	for range min(failures, 30) {
		d *= 2
		if d >= n.retryMax {
			return n.retryMax
		}
	}
	return d
}

func (n *Notifier) abortAll() {
	n.boxMu.Lock()
	aborts := make([]func(), 0, len(n.boxes))
	for _, abort := range n.boxes {
		aborts = append(aborts, abort)
	}
	n.boxMu.Unlock()
	for _, abort := range aborts {
		abort()
	}
}

func (n *Notifier) tip() viewBlock {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.view[len(n.view)-1]
}

// sync brings the view to the chain's best block. It runs on the loop goroutine.
func (n *Notifier) sync(ctx context.Context) (err error) {
	n.pendMu.Lock()
	hint := n.pendTip
	n.pendTip = nil
	n.pendMu.Unlock()

	// Fast path: the update carries the header of the block right on top of our tip.
	if hint != nil && hint.Header != nil {
		tip := n.tip()
		if hint.Tip.Height == tip.Height+1 && hint.Header.PrevBlock == tip.Hash && hint.Header.BlockHash() == hint.Tip.Hash {
			if err := n.connect(ctx, viewBlock{BlockStamp: hint.Tip, header: *hint.Header}); err != nil {
				return err
			}
			return nil
		}
		if hint.Tip.Hash == tip.Hash {
			return nil
		}
	}

	var span trace.Span // of the catch-up, once there is one to do
	defer func() { endSpan(span, err) }()
	for {
		best, err := n.chain.BestBlock(ctx)
		if err != nil {
			return err
		}
		n.chainTip.Store(best.Height)
		tip := n.tip()
		if best.Hash == tip.Hash {
			return nil
		}
		if span == nil {
			ctx, span = n.tel.startCatchUp(ctx, tip.Height, best.Height)
		}
		fork, orphans, err := n.findFork(ctx, func(ctx context.Context, h int32) (chainhash.Hash, error) {
			if h > best.Height {
				return chainhash.Hash{}, ErrNotFound
			}
			return n.chain.BlockHash(ctx, h)
		}, n.viewCopy())
		if err != nil {
			return err
		}
		n.unwind(ctx, fork, orphans, tip)
		for h := fork.Height + 1; h <= best.Height; h++ {
			hash, err := n.chain.BlockHash(ctx, h)
			if errors.Is(err, ErrNotFound) {
				break // the chain got shorter meanwhile: start over
			}
			if err != nil {
				return err
			}
			hdr, err := n.chain.BlockHeader(ctx, hash)
			if err != nil {
				return err
			}
			if hdr.PrevBlock != n.tip().Hash {
				break // the chain reorganized meanwhile: start over
			}
			if err := n.connect(ctx, viewBlock{BlockStamp: BlockStamp{Height: h, Hash: hash}, header: hdr}); err != nil {
				return err
			}
		}
	}
}

func (n *Notifier) viewCopy() []viewBlock {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return append([]viewBlock(nil), n.view...)
}

// findFork walks down from the top of known (ascending, contiguous) until it meets a block
// that mainHash confirms, continuing below known through the chain's headers. It returns the
// fork block and the orphaned blocks, tip first.
func (n *Notifier) findFork(ctx context.Context, mainHash func(context.Context, int32) (chainhash.Hash, error), known []viewBlock) (viewBlock, []viewBlock, error) {
	var orphans []viewBlock
	i := len(known) - 1
	cur := known[i]
	for {
		h, err := mainHash(ctx, cur.Height)
		switch {
		case err == nil && h == cur.Hash:
			return cur, orphans, nil
		case err != nil && !errors.Is(err, ErrNotFound):
			return viewBlock{}, nil, err
		}
		if cur.Height == 0 {
			return viewBlock{}, nil, fmt.Errorf("bitcoin: block %s at height 0 is not the chain's genesis block: wrong network or checkpoint", cur.Hash)
		}
		orphans = append(orphans, cur)
		if i > 0 {
			i--
			cur = known[i]
			continue
		}
		parent := cur.header.PrevBlock
		hdr, err := n.chain.BlockHeader(ctx, parent)
		if err != nil {
			return viewBlock{}, nil, err
		}
		cur = viewBlock{BlockStamp: BlockStamp{Height: cur.Height - 1, Hash: parent}, header: hdr}
	}
}

// publish hands an event of the Notifier's own stream to the publisher, if any.
func (n *Notifier) publish(ctx context.Context, topic, key string, payload any) {
	if n.publisher == nil {
		return
	}
	if err := n.publisher.publish(ctx, topic, key, payload); err != nil && ctx.Err() == nil {
		n.log.Error("bitcoin: publish failed", "topic", topic, "key", key, "err", err)
	}
}

// setView replaces the view and wakes the block followers. Loop goroutine only.
func (n *Notifier) setView(v []viewBlock) {
	if over := len(v) - int(n.limit) - 1; over > 0 {
		v = append(v[:0:0], v[over:]...)
	}
	n.mu.Lock()
	n.view = v
	close(n.changed)
	n.changed = make(chan struct{})
	n.mu.Unlock()
}

// connect processes a block on top of the view. Loop goroutine only.
func (n *Notifier) connect(ctx context.Context, b viewBlock) (err error) {
	ctx, span := n.tel.startBlock(ctx, changeConnected, b.Height)
	defer func() { endSpan(span, err) }()
	var block *wire.MsgBlock
	if n.needBlocks() {
		var err error
		block, err = n.chain.Block(ctx, b.Hash)
		if err != nil {
			return err
		}
	}
	v := n.viewCopy()
	n.setView(append(v, b))
	n.unwound, n.deepReported = 0, false
	n.tel.processed(ctx, changeConnected)
	n.publish(ctx, TopicBlockConnected, b.Hash.String(), BlockConnected{Height: b.Height, Hash: b.Hash, Header: b.header})
	n.blockConnected(ctx, b.BlockStamp, block)
	return nil
}

// unwind disconnects orphans (tip first) down to fork: the view drops them in one step, then
// their events follow in order. A DeepReorg comes first once the blocks unwound since the
// last connect exceed the safety limit: before all the disconnects when the whole reorg is
// seen at once, before the crossing batch when the backend was caught mid-reorg. Loop
// goroutine only.
func (n *Notifier) unwind(ctx context.Context, fork viewBlock, orphans []viewBlock, tip viewBlock) {
	if len(orphans) == 0 {
		return
	}
	if n.unwound == 0 {
		n.unwindFrom = tip.BlockStamp
	}
	n.unwound += int32(len(orphans))
	if !n.deepReported && n.unwound > n.limit {
		n.deepReported = true
		ev := DeepReorg{Depth: n.unwound, Fork: fork.BlockStamp, OldTip: n.unwindFrom, SafetyLimit: n.limit}
		n.log.Warn("bitcoin: deep reorg", "depth", ev.Depth, "fork", ev.Fork, "oldTip", ev.OldTip)
		n.tel.deepReorg(ctx, ev.Depth)
		n.publish(ctx, TopicDeepReorg, ev.OldTip.Hash.String(), ev)
	}
	v := n.viewCopy()
	for len(v) > 0 && v[len(v)-1].Height > fork.Height {
		v = v[:len(v)-1]
	}
	if len(v) == 0 {
		v = []viewBlock{fork}
	}
	n.setView(v)
	for _, o := range orphans {
		bctx, span := n.tel.startBlock(ctx, changeDisconnected, o.Height)
		n.tel.processed(bctx, changeDisconnected)
		n.publish(bctx, TopicBlockDisconnected, o.Hash.String(), BlockDisconnected{Height: o.Height, Hash: o.Hash, Header: o.header})
		n.blockDisconnected(bctx, o.BlockStamp)
		endSpan(span, nil)
	}
}

// mainHash is the hash of the view's main-chain block at h: from the view, or from the chain
// below it.
func (n *Notifier) mainHash(ctx context.Context, h int32) (chainhash.Hash, error) {
	n.mu.RLock()
	first, last := n.view[0], n.view[len(n.view)-1]
	if h > last.Height {
		n.mu.RUnlock()
		return chainhash.Hash{}, ErrNotFound
	}
	if h >= first.Height {
		hash := n.view[h-first.Height].Hash
		n.mu.RUnlock()
		return hash, nil
	}
	n.mu.RUnlock()
	return n.chain.BlockHash(ctx, h)
}
