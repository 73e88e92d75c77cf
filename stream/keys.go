package stream

import (
	"fmt"
	"sort"
)

// entry is the state of one key.
type entry[K comparable, S any] struct {
	key        K
	prev, next *entry[K, S] // LRU list: least recently updated first
	due        int64        // time of the entry's pending timer, maxTime if none
	seq        uint64       // update sequence number: the LRU order, persisted
	skey       string       // store key, once encoded
	flags      uint8
	st         S
}

const (
	fDirty     uint8 = 1 << iota // changed since the last checkpoint
	fPersisted                   // the store holds a version of it
	fRemoved                     // no longer in the table
	fLinger                      // empty, kept only to save re-creating it
)

// keyTable holds every key's state, in a map and in least-recently-updated order, bounded by
// WithMaxKeys, with one pending timer per key and the bookkeeping of incremental checkpoints.
type keyTable[K comparable, S any] struct {
	rt      *runtime
	m       map[K]*entry[K, S]
	head    *entry[K, S]
	tail    *entry[K, S]
	last    *entry[K, S] // the entry most recently looked up: bursts of one key skip the map
	n       int          // entries in the map
	linger  int          // of which lingering
	seq     uint64
	timers  timerQueue[*entry[K, S]]
	dirty   []*entry[K, S]
	deleted []string
	track   bool                 // checkpointing: keep dirty and deleted lists
	gran    int64                // timers are rounded up to a multiple of gran (0: exact)
	dropped func(e *entry[K, S]) // told when an entry's state is evicted
}

func (t *keyTable[K, S]) init(rt *runtime) {
	t.rt = rt
	t.m = make(map[K]*entry[K, S])
	t.timers.init(&rt.timerMin)
	t.track = rt.cfg.store != nil
}

func (t *keyTable[K, S]) live() int { return t.n - t.linger }

// get returns the entry of k, updated as by upsert, or nil if k has none.
func (t *keyTable[K, S]) get(k K) *entry[K, S] {
	if e := t.last; e != nil && e.key == k && e.flags&fRemoved == 0 {
		return t.upsert(k)
	}
	if _, ok := t.m[k]; !ok {
		return nil
	}
	return t.upsert(k)
}

// upsert returns the entry of k, creating it if needed; it returns nil when the key bound
// refuses a new key. The entry is moved to the most recently updated end.
func (t *keyTable[K, S]) upsert(k K) *entry[K, S] {
	if e := t.last; e != nil && e.key == k && e.flags&(fRemoved|fLinger) == 0 {
		if t.tail != e {
			t.touch(e)
		} else {
			t.seq++
			e.seq = t.seq
			t.markDirty(e)
		}
		return e
	}
	if e, ok := t.m[k]; ok {
		t.last = e
		if e.flags&fLinger != 0 {
			e.flags &^= fLinger
			t.linger--
		}
		t.touch(e)
		return e
	}
	if t.n >= t.rt.cfg.maxKeys {
		switch h := t.head; {
		case h != nil && h.flags&fLinger != 0:
			t.remove(h)
		case t.rt.cfg.eviction == EvictLRU && h != nil:
			t.rt.c.evicted++
			if t.dropped != nil {
				t.dropped(h)
			}
			t.remove(h)
		default:
			t.rt.c.refused++
			return nil
		}
	}
	e := &entry[K, S]{key: k, due: maxTime}
	t.m[k] = e
	t.last = e
	t.n++
	t.pushBack(e)
	t.seq++
	e.seq = t.seq
	t.markDirty(e)
	return e
}

// touch records an update of e: it becomes the most recently updated and is checkpointed next.
func (t *keyTable[K, S]) touch(e *entry[K, S]) {
	t.seq++
	e.seq = t.seq
	if t.tail != e {
		t.unlink(e)
		t.pushBack(e)
	}
	t.markDirty(e)
}

func (t *keyTable[K, S]) markDirty(e *entry[K, S]) {
	if t.track && e.flags&fDirty == 0 {
		e.flags |= fDirty
		t.dirty = append(t.dirty, e)
	}
}

func (t *keyTable[K, S]) pushBack(e *entry[K, S]) {
	e.prev, e.next = t.tail, nil
	if t.tail != nil {
		t.tail.next = e
	} else {
		t.head = e
	}
	t.tail = e
}

func (t *keyTable[K, S]) unlink(e *entry[K, S]) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		t.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

// remove deletes e from the table (and, at the next checkpoint, from the store).
func (t *keyTable[K, S]) remove(e *entry[K, S]) {
	if e.flags&fRemoved != 0 {
		return
	}
	delete(t.m, e.key)
	t.unlink(e)
	if t.last == e {
		t.last = nil
	}
	t.n--
	if e.flags&fLinger != 0 {
		t.linger--
	}
	t.forget(e)
	e.flags |= fRemoved
}

// forget schedules the deletion of e's stored version.
func (t *keyTable[K, S]) forget(e *entry[K, S]) {
	if t.track && e.flags&fPersisted != 0 {
		t.deleted = append(t.deleted, e.skey)
		e.flags &^= fPersisted
	}
}

// idle marks e as empty: it stays in the map, so that a key that comes back soon does not cost
// a new entry, and is removed at time until if it does not. An empty entry at the head of the
// least-recently-updated list is removed first when the key bound is reached, without counting
// as an eviction.
func (t *keyTable[K, S]) idle(e *entry[K, S], until int64) {
	if e.flags&fLinger == 0 {
		e.flags |= fLinger
		t.linger++
	}
	t.forget(e)
	e.due = maxTime
	t.schedule(e, until)
}

// schedule makes sure e's timer fires no earlier than at and, with a granularity, no later than
// the next multiple of it: keys whose timers fall close together share one bucket. Timer
// handlers compare the times they find in the state, so firing a little late changes nothing
// but latency.
func (t *keyTable[K, S]) schedule(e *entry[K, S], at int64) {
	if g := t.gran; g > 1 && at < maxTime-g {
		at = (floorDiv(at-1, g) + 1) * g
	}
	if at < e.due {
		e.due = at
		t.timers.add(at, e)
	}
}

// popDue returns the entries whose timer is due at the earliest time, skipping stale timers.
// The caller hands the bucket back with t.timers.recycle.
func (t *keyTable[K, S]) popDue() (int64, []*entry[K, S], *[]*entry[K, S]) {
	at, b := t.timers.pop()
	if b == nil {
		return at, nil, nil
	}
	es := *b
	w := 0
	for _, e := range es {
		if e.flags&fRemoved == 0 && e.due == at {
			e.due = maxTime
			es[w] = e
			w++
		}
	}
	return at, es[:w], b
}

// timerQueue is a min-heap of distinct times, each with the bucket of items due then. Windows
// of many keys that end together share one bucket. Buckets are recycled with their capacity.
type timerQueue[E any] struct {
	heap    []int64
	buckets map[int64]*[]E
	lastAt  int64
	last    *[]E
	free    []*[]E
	min     *int64 // kept equal to the earliest time (maxTime if none)
}

func (q *timerQueue[E]) init(min *int64) {
	q.buckets = make(map[int64]*[]E)
	q.min = min
	*min = maxTime
}

func (q *timerQueue[E]) add(at int64, e E) {
	if q.last != nil && q.lastAt == at {
		*q.last = append(*q.last, e)
		return
	}
	b, ok := q.buckets[at]
	if !ok {
		if n := len(q.free); n > 0 {
			b, q.free = q.free[n-1], q.free[:n-1]
		} else {
			b = new([]E)
		}
		q.buckets[at] = b
		q.push(at)
	}
	*b = append(*b, e)
	q.lastAt, q.last = at, b
}

// pop removes the earliest bucket and returns it; the caller hands it back with recycle once
// done with its items.
func (q *timerQueue[E]) pop() (int64, *[]E) {
	if len(q.heap) == 0 {
		return maxTime, nil
	}
	at := q.heap[0]
	n := len(q.heap) - 1
	q.heap[0] = q.heap[n]
	q.heap = q.heap[:n]
	q.down(0)
	b := q.buckets[at]
	delete(q.buckets, at)
	if q.last == b {
		q.last = nil
	}
	if len(q.heap) > 0 {
		*q.min = q.heap[0]
	} else {
		*q.min = maxTime
	}
	return at, b
}

// recycle takes back a popped bucket.
func (q *timerQueue[E]) recycle(b *[]E) {
	if b == nil {
		return
	}
	clear(*b)
	*b = (*b)[:0]
	q.free = append(q.free, b)
}

func (q *timerQueue[E]) push(at int64) {
	q.heap = append(q.heap, at)
	i := len(q.heap) - 1
	for i > 0 {
		p := (i - 1) / 2
		if q.heap[p] <= at {
			break
		}
		q.heap[i] = q.heap[p]
		i = p
	}
	q.heap[i] = at
	if at < *q.min {
		*q.min = at
	}
}

func (q *timerQueue[E]) down(i int) {
	h := q.heap
	n := len(h)
	if n == 0 {
		return
	}
	x := h[i]
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h[r] < h[l] {
			c = r
		}
		if h[c] >= x {
			break
		}
		h[i] = h[c]
		i = c
	}
	h[i] = x
}

// restore adds an entry read from a checkpoint; restored finishes once all are in.
func (t *keyTable[K, S]) restore(e *entry[K, S]) error {
	if _, dup := t.m[e.key]; dup {
		return fmt.Errorf("key %v restored twice", e.key)
	}
	t.m[e.key] = e
	t.n++
	return nil
}

// restored rebuilds the least-recently-updated order from the entries' sequence numbers, sets
// their timers with arm, and applies the key bound.
func (t *keyTable[K, S]) restored(arm func(e *entry[K, S])) {
	es := make([]*entry[K, S], 0, len(t.m))
	for _, e := range t.m {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].seq < es[j].seq })
	for _, e := range es {
		t.pushBack(e)
		arm(e)
	}
	for t.n > t.rt.cfg.maxKeys && t.head != nil {
		h := t.head
		t.rt.c.evicted++
		if t.dropped != nil {
			t.dropped(h)
		}
		t.remove(h)
	}
}
