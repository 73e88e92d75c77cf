package bitcoin

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"
)

// followBatch bounds the events a follower computes before delivering them.
const followBatch = 64

// follower moves a subscriber's cursor toward the Notifier's view, block by block. Each
// subscriber has its own, so a slow subscriber only delays itself and costs no memory: when
// it falls behind the view's window it reads the older blocks from the chain.
type follower struct {
	n         *Notifier
	delivered []viewBlock // the last blocks delivered, ascending; the last is the cursor
	failures  int
	// unwound counts the disconnects delivered since the last connect, from unwindFrom; see
	// Notifier.unwind for the DeepReorg rule.
	unwound      int32
	unwindFrom   BlockStamp
	deepReported bool
}

func (n *Notifier) newFollower(ctx context.Context, from BlockStamp) (*follower, error) {
	if from.Height < 0 {
		return nil, &FieldError{Field: "from", Reason: "negative height"}
	}
	if from.IsZero() {
		n.mu.RLock()
		closed := n.closed
		tip := n.view[len(n.view)-1]
		n.mu.RUnlock()
		if closed {
			return nil, ErrClosed
		}
		return &follower{n: n, delivered: []viewBlock{tip}}, nil
	}
	hdr, err := n.chain.BlockHeader(ctx, from.Hash)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, &FieldError{Field: "from", Reason: fmt.Sprintf("block %s is unknown to the chain", from.Hash)}
		}
		return nil, err
	}
	return &follower{n: n, delivered: []viewBlock{{BlockStamp: from, header: hdr}}}, nil
}

func (f *follower) cursor() viewBlock { return f.delivered[len(f.delivered)-1] }

// apply moves the cursor over a delivered event.
func (f *follower) apply(ev BlockEvent) {
	switch e := ev.(type) {
	case DeepReorg:
		f.deepReported = true
	case BlockConnected:
		f.unwound, f.deepReported = 0, false
		f.delivered = append(f.delivered, viewBlock{BlockStamp: e.Stamp(), header: e.Header})
		if over := len(f.delivered) - int(f.n.limit) - 1; over > 0 {
			f.delivered = append(f.delivered[:0:0], f.delivered[over:]...)
		}
	case BlockDisconnected:
		if f.unwound == 0 {
			f.unwindFrom = e.Stamp()
		}
		f.unwound++
		if len(f.delivered) > 1 {
			f.delivered = f.delivered[:len(f.delivered)-1]
		} else {
			// Below the remembered window: the parent's header is not at hand, only its hash.
			f.delivered = []viewBlock{{BlockStamp: BlockStamp{Height: e.Height - 1, Hash: e.Header.PrevBlock}}}
		}
	}
}

// step returns the next events toward the view, or none and the channel that signals the
// next change of the view.
func (f *follower) step(ctx context.Context) ([]BlockEvent, <-chan struct{}, error) {
	n := f.n
	n.mu.RLock()
	if n.closed {
		n.mu.RUnlock()
		return nil, nil, ErrClosed
	}
	changed := n.changed
	vtip := n.view[len(n.view)-1]
	n.mu.RUnlock()

	cur := f.cursor()
	if cur.Hash == vtip.Hash {
		return nil, changed, nil
	}
	if cur.header == (viewBlock{}).header {
		hdr, err := n.chain.BlockHeader(ctx, cur.Hash)
		if err != nil {
			return nil, changed, err
		}
		f.delivered[len(f.delivered)-1].header = hdr
	}
	fork, orphans, err := n.findFork(ctx, n.mainHash, f.delivered)
	if err != nil {
		return nil, changed, err
	}
	var evs []BlockEvent
	if len(orphans) > 0 {
		if depth := f.unwound + int32(len(orphans)); !f.deepReported && depth > n.limit {
			from := f.unwindFrom
			if f.unwound == 0 {
				from = cur.BlockStamp
			}
			evs = append(evs, DeepReorg{Depth: depth, Fork: fork.BlockStamp, OldTip: from, SafetyLimit: n.limit})
		}
		for _, o := range orphans {
			evs = append(evs, BlockDisconnected{Height: o.Height, Hash: o.Hash, Header: o.header})
		}
		return evs, changed, nil
	}
	prev := cur.Hash
	for h := cur.Height + 1; h <= vtip.Height && len(evs) < followBatch; h++ {
		b, err := n.mainBlockHeader(ctx, h)
		if errors.Is(err, ErrNotFound) {
			break // the view moved back meanwhile
		}
		if err != nil {
			if len(evs) > 0 {
				break
			}
			return nil, changed, err
		}
		if b.header.PrevBlock != prev {
			break // the view reorganized meanwhile: the next step sees the fork
		}
		evs = append(evs, BlockConnected{Height: b.Height, Hash: b.Hash, Header: b.header})
		prev = b.Hash
	}
	return evs, changed, nil
}

// mainBlockHeader is the view's main-chain block at h with its header: from the view, or
// from the chain below it.
func (n *Notifier) mainBlockHeader(ctx context.Context, h int32) (viewBlock, error) {
	n.mu.RLock()
	first, last := n.view[0], n.view[len(n.view)-1]
	if h > last.Height {
		n.mu.RUnlock()
		return viewBlock{}, ErrNotFound
	}
	if h >= first.Height {
		b := n.view[h-first.Height]
		n.mu.RUnlock()
		return b, nil
	}
	n.mu.RUnlock()
	hash, err := n.chain.BlockHash(ctx, h)
	if err != nil {
		return viewBlock{}, err
	}
	hdr, err := n.chain.BlockHeader(ctx, hash)
	if err != nil {
		return viewBlock{}, err
	}
	return viewBlock{BlockStamp: BlockStamp{Height: h, Hash: hash}, header: hdr}, nil
}

// wait blocks until the view changes, or, after a failed step, until the retry backoff
// elapses.
func (f *follower) wait(ctx context.Context, changed <-chan struct{}, failed bool) error {
	var timer <-chan time.Time
	if failed {
		t := time.NewTimer(f.n.backoff(f.failures))
		defer t.Stop()
		timer = t.C
		f.failures++
	} else {
		f.failures = 0
	}
	select {
	case <-changed:
		return nil
	case <-timer:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Blocks returns the block events after from, as an iterator: first the replay from the
// checkpoint to the Notifier's tip (disconnects first if from was reorged out), then live
// events, forever. A zero from starts at the Notifier's current tip. The iterator ends, after
// yielding a nil event with the error, when ctx is done (ctx.Err()), the Notifier closes
// ([ErrClosed]) or from is unknown; chain failures on the way are retried, not yielded.
//
// The events are the Notifier's view of the chain, the same sequence its bus stream carries;
// every iterator keeps its own cursor, so a slow consumer delays only itself.
func (n *Notifier) Blocks(ctx context.Context, from BlockStamp) iter.Seq2[BlockEvent, error] {
	return func(yield func(BlockEvent, error) bool) {
		if err := n.constructed(); err != nil {
			yield(nil, err)
			return
		}
		f, err := n.newFollower(ctx, from)
		if err != nil {
			yield(nil, err)
			return
		}
		for {
			evs, changed, err := f.step(ctx)
			if errors.Is(err, ErrClosed) {
				yield(nil, err)
				return
			}
			if err != nil && ctx.Err() != nil {
				yield(nil, ctx.Err())
				return
			}
			if err != nil {
				n.log.Warn("bitcoin: block subscriber catch-up failed; retrying", "err", err)
			}
			for _, ev := range evs {
				if !yield(ev, nil) {
					return
				}
				f.apply(ev)
			}
			if len(evs) > 0 {
				continue
			}
			if err := f.wait(ctx, changed, err != nil); err != nil {
				yield(nil, err)
				return
			}
		}
	}
}

// SubscribeBlocks is [Notifier.Blocks] as a channel: a goroutine delivers the events after
// from (zero: after the current tip) on Events until Cancel or Close. Err reports
// [ErrClosed] after Close.
func (n *Notifier) SubscribeBlocks(ctx context.Context, from BlockStamp) (*Registration[BlockEvent], error) {
	if err := n.constructed(); err != nil {
		return nil, err
	}
	f, err := n.newFollower(ctx, from)
	if err != nil {
		return nil, err
	}
	ch := make(chan BlockEvent)
	subCtx, cancel := context.WithCancel(context.Background())
	reg := &Registration[BlockEvent]{events: ch, cancel: cancel}
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		cancel()
		return nil, ErrClosed
	}
	// Registered under the read lock: Close cannot start waiting for the group before.
	n.wg.Go(func() {
		select {
		case <-n.quit:
			reg.setErr(ErrClosed)
			cancel()
		case <-subCtx.Done():
		}
	})
	n.wg.Go(func() {
		defer close(ch)
		defer cancel()
		for {
			evs, changed, err := f.step(subCtx)
			if errors.Is(err, ErrClosed) {
				reg.setErr(ErrClosed)
				return
			}
			if subCtx.Err() != nil {
				return
			}
			if err != nil {
				n.log.Warn("bitcoin: block subscriber catch-up failed; retrying", "err", err)
			}
			for _, ev := range evs {
				select {
				case ch <- ev:
					f.apply(ev)
				case <-subCtx.Done():
					return
				}
			}
			if len(evs) > 0 {
				continue
			}
			if f.wait(subCtx, changed, err != nil) != nil {
				return
			}
		}
	})
	return reg, nil
}
