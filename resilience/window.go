package resilience

import (
	"sync"
	"sync/atomic"
	"time"
)

// window holds the outcomes a closed breaker judges.
type window interface {
	// record adds outcome o of a call that ended at now, and returns the window's counts and
	// whether they changed.
	record(now int64, o outcome) (calls, fails, slow int64, changed bool)
	// counts returns the window's counts at now.
	counts(now int64) (calls, fails, slow int64)
}

// countWindow holds the outcomes of the last len(slots) calls, without a lock: each call
// swaps its outcome into the next slot and adjusts the counts by the difference with the
// outcome it replaced. Under contention the counts can lag the slots for an instant, never
// drift from them.
type countWindow struct {
	pos   atomic.Int64
	_     [56]byte
	fails atomic.Int64
	slow  atomic.Int64
	slots []atomic.Uint32
}

func newCountWindow(n int) *countWindow {
	return &countWindow{slots: make([]atomic.Uint32, n)}
}

func (w *countWindow) record(_ int64, o outcome) (calls, fails, slow int64, changed bool) {
	size := int64(len(w.slots))
	// A success entering a full window of successes would replace a success: the window would
	// not change. Skipping the write keeps the healthy path free of shared writes. A failure
	// recorded concurrently is ordered after this success, which is as valid an order as any
	// for concurrent calls.
	if o == outcomeSuccess && w.fails.Load() == 0 && w.slow.Load() == 0 && w.pos.Load() >= size {
		return 0, 0, 0, false
	}
	n := w.pos.Add(1)
	old := outcome(w.slots[(n-1)%size].Swap(uint32(o)))
	if old == o && n > size {
		return 0, 0, 0, false
	}
	if d := o.failed() - old.failed(); d != 0 {
		fails = w.fails.Add(d)
	} else {
		fails = w.fails.Load()
	}
	if d := o.slow() - old.slow(); d != 0 {
		slow = w.slow.Add(d)
	} else {
		slow = w.slow.Load()
	}
	return min(n, size), max(fails, 0), max(slow, 0), true
}

func (w *countWindow) counts(int64) (calls, fails, slow int64) {
	return min(w.pos.Load(), int64(len(w.slots))), max(w.fails.Load(), 0), max(w.slow.Load(), 0)
}

// timeWindow holds the outcomes of the calls that ended in the last len(buckets) buckets of
// bucket nanoseconds each, with running totals.
type timeWindow struct {
	mu      sync.Mutex
	bucket  int64
	head    int64 // the newest bucket's number: now / bucket
	buckets []timeBucket
	total   timeBucket
}

type timeBucket struct{ calls, fails, slow int64 }

func newTimeWindow(d time.Duration, buckets int) *timeWindow {
	return &timeWindow{bucket: int64(d) / int64(buckets), buckets: make([]timeBucket, buckets)}
}

// advance drops the buckets that have slid out of the window at now.
func (w *timeWindow) advance(now int64) {
	e := now / w.bucket
	if e <= w.head {
		return
	}
	n := int64(len(w.buckets))
	if e-w.head >= n {
		clear(w.buckets)
		w.total = timeBucket{}
	} else {
		for k := w.head + 1; k <= e; k++ {
			b := &w.buckets[k%n]
			w.total.calls -= b.calls
			w.total.fails -= b.fails
			w.total.slow -= b.slow
			*b = timeBucket{}
		}
	}
	w.head = e
}

func (w *timeWindow) record(now int64, o outcome) (calls, fails, slow int64, changed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance(now)
	b := &w.buckets[w.head%int64(len(w.buckets))]
	b.calls++
	b.fails += o.failed()
	b.slow += o.slow()
	w.total.calls++
	w.total.fails += o.failed()
	w.total.slow += o.slow()
	return w.total.calls, w.total.fails, w.total.slow, true
}

func (w *timeWindow) counts(now int64) (calls, fails, slow int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance(now)
	return w.total.calls, w.total.fails, w.total.slow
}
