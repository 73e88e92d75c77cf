package stream

import (
	"encoding/json"
	"fmt"
	goruntime "runtime"
	"slices"
	"sort"
	"sync/atomic"
	"time"
)

// slot is one window of one key.
type slot[P any] struct {
	start, end int64
	fired      bool // emitted at its close (or found nothing to emit) and kept for late events
	emitted    ID   // the last result emitted for it, zero if none
	p          P
}

// winState is a key's windows. The first window lives in the key's entry itself (one): a key
// with one window at a time, tumbling windows' common case, has its window where its entry is,
// without a pointer to follow or an allocation of its own. A key with more windows has them in
// an array of their own.
type winState[P any] struct {
	slots []slot[P] // in one, or in an array of their own
	one   [1]slot[P]
}

// init points an empty state's slots at its inline window.
func (st *winState[P]) init() {
	if st.slots == nil {
		st.slots = st.one[:0:1]
	}
}

// inline reports whether st's windows are in its entry.
func (st *winState[P]) inline() bool {
	return cap(st.slots) > 0 && &st.slots[:1][0] == &st.one[0]
}

// moved clears the inline window once the windows moved to an array of their own (wasInline:
// they were inline before), so that it keeps no events alive.
func (st *winState[P]) moved(wasInline bool) {
	if wasInline && !st.inline() {
		st.one = [1]slot[P]{}
	}
}

// winEngine keeps keyed windows of payload P: it assigns events to windows (creating and, for
// sessions, merging them), fires windows as the watermark passes their end, keeps them for the
// allowed lateness, and checkpoints them. What a window holds and emits is the operator's.
type winEngine[K comparable, P any] struct {
	rt       *runtime
	tbl      keyTable[K, winState[P]]
	keys     keyCodec[K]
	w        Windows
	lateness int64
	linger   int64
	idx      []int32
	lateWM   int64 // the watermark the late event being added is behind

	// hooks
	merge   func(dst, src *P)                                        // sessions: src joins dst
	fire    func(e *entry[K, winState[P]], s *slot[P])               // emits s (Insert, or Update of s.emitted)
	retract func(e *entry[K, winState[P]], start, end int64, id ID)  // withdraws id
	reset   func(p *P)                                               // readies a closed window's state for the key's next window (WithReuse; nil: discard it)
	idOf    func(h *hasher, e *entry[K, winState[P]], s *slot[P]) ID // the ID of the result of s; must only read

	// IDs computed ahead for a large bucket of closing windows (see fireDue)
	pre     []ID
	claims  []atomic.Uint32 // per chunk of pre: claimed by this goroutine or the helper
	preID   ID              // the ID for the window wake is about to fire, zero if not computed ahead
	helper  hasher          // the helper goroutine's
	helper2 hasher          // this goroutine's, for the chunks it claims
}

// parallelIDs is the size of a bucket of closing windows from which their result IDs are
// computed on two goroutines; idChunk is how many of them a goroutine claims at a time.
const (
	parallelIDs = 256
	idChunk     = 64
)

func (w *winEngine[K, P]) init(rt *runtime, ws Windows) {
	w.rt, w.w = rt, ws
	w.tbl.init(rt)
	rt.seq = &w.tbl.seq
	w.keys = newKeyCodec[K]()
	w.lateness = int64(rt.cfg.lateness)
	w.linger = ws.size
	if ws.kind == winSession {
		w.tbl.gran = timerGran(ws.size)
	}
	w.tbl.dropped = func(e *entry[K, winState[P]]) {
		clear(e.st.slots)
		e.st.slots = e.st.slots[:0]
	}
}

func (w *winEngine[K, P]) shape() string { return w.w.String() }

func (w *winEngine[K, P]) live() int { return w.tbl.live() }

// current returns the payload of e's window for an on-time event at t when that window is the
// key's last one and a tumbling window — the common case — and nil otherwise.
func (w *winEngine[K, P]) current(e *entry[K, winState[P]], t int64) *P {
	if w.w.kind != winTumbling {
		return nil
	}
	if n := len(e.st.slots); n > 0 {
		if s := &e.st.slots[n-1]; s.start <= t && t < s.end {
			return &s.p
		}
	}
	return nil
}

// open opens e's window for an on-time event at t and returns its payload when e has no window
// and windows are tumbling — a key's next window, the common case — and returns nil otherwise.
// It does what slotsFor does then, in fewer steps: the window goes into the first place of e's
// slots, whose payload is empty (reset for reuse, or zero).
func (w *winEngine[K, P]) open(e *entry[K, winState[P]], t int64) *P {
	st := &e.st
	if w.w.kind != winTumbling || len(st.slots) != 0 {
		return nil
	}
	st.init()
	if cap(st.slots) == 0 {
		return nil
	}
	start := floorDiv(t, w.w.size) * w.w.size
	st.slots = st.slots[:1]
	s := &st.slots[0]
	s.start, s.end, s.fired, s.emitted = start, start+w.w.size, false, ID{}
	w.tbl.schedule(e, s.end)
	return &s.p
}

// slotsFor returns the indices in e's slots of the windows an event at t belongs to, creating
// them. For a late event (behind the watermark) it leaves out windows past their allowed
// lateness and returns nil if none is left.
func (w *winEngine[K, P]) slotsFor(e *entry[K, winState[P]], t int64, late bool) []int32 {
	w.idx = w.idx[:0]
	st := &e.st
	st.init()
	wasInline := st.inline()
	defer st.moved(wasInline)
	switch w.w.kind {
	case winTumbling, winSliding:
		first := floorDiv(t, w.w.slide) * w.w.slide
		for s := first; s > t-w.w.size; s -= w.w.slide {
			end := s + w.w.size
			if late && end+w.lateness <= w.lateWM {
				continue
			}
			i, ok := w.find(st, s)
			if !ok {
				if n := len(st.slots); i == n && n < cap(st.slots) && w.reset != nil {
					// the key's last closed window, reset for reuse
					st.slots = st.slots[:n+1]
					sl := &st.slots[n]
					sl.start, sl.end, sl.fired, sl.emitted = s, end, false, ID{}
				} else if i == n {
					st.slots = append(st.slots, slot[P]{start: s, end: end})
				} else {
					st.slots = slices.Insert(st.slots, i, slot[P]{start: s, end: end})
				}
				for j := range w.idx {
					if w.idx[j] >= int32(i) {
						w.idx[j]++
					}
				}
				if !late {
					w.tbl.schedule(e, end)
				}
			}
			w.idx = append(w.idx, int32(i))
		}
	case winSession:
		start, end := t, t+w.w.size
		first, n := -1, 0
		for i := range st.slots {
			if s := &st.slots[i]; s.start < end && start < s.end {
				if first < 0 {
					first = i
				}
				n++
			}
		}
		if first < 0 {
			if late && end+w.lateness <= w.lateWM {
				return nil
			}
			i := sort.Search(len(st.slots), func(i int) bool { return st.slots[i].start > start })
			st.slots = slices.Insert(st.slots, i, slot[P]{start: start, end: end})
			if !late {
				w.tbl.schedule(e, end)
			}
			w.idx = append(w.idx, int32(i))
			break
		}
		dst := &st.slots[first]
		dst.start, dst.end = min(dst.start, start), max(dst.end, end)
		for k := 1; k < n; k++ {
			src := &st.slots[first+k]
			dst.end = max(dst.end, src.end)
			w.merge(&dst.p, &src.p)
			if !src.emitted.IsZero() {
				if dst.emitted.IsZero() {
					dst.emitted = src.emitted
				} else {
					w.retract(e, src.start, src.end, src.emitted)
				}
			}
			dst.fired = dst.fired || src.fired
		}
		st.slots = slices.Delete(st.slots, first+1, first+n)
		if !late {
			w.tbl.schedule(e, dst.end)
		}
		w.idx = append(w.idx, int32(first))
	}
	if len(w.idx) > 1 {
		slices.Sort(w.idx)
	}
	return w.idx
}

func (w *winEngine[K, P]) find(st *winState[P], start int64) (int, bool) {
	for i := range st.slots {
		switch s := st.slots[i].start; {
		case s == start:
			return i, true
		case s > start:
			return i, false
		}
	}
	return len(st.slots), false
}

// settle runs after a late event changed e's windows: windows already closed are emitted again
// at once (an Update, or an Insert if they had emitted nothing), windows the event reopened
// wait for the watermark again, and e's timer is set for what is now next.
func (w *winEngine[K, P]) settle(e *entry[K, winState[P]], idx []int32) {
	wm := w.rt.wm
	for _, i := range idx {
		s := &e.st.slots[i]
		if s.end <= wm {
			s.fired = true
			w.fire(e, s)
		} else {
			s.fired = false
		}
	}
	w.reschedule(e)
}

func (w *winEngine[K, P]) reschedule(e *entry[K, winState[P]]) {
	due := int64(maxTime)
	for i := range e.st.slots {
		s := &e.st.slots[i]
		if s.fired {
			due = min(due, s.end+w.lateness)
		} else {
			due = min(due, s.end)
		}
	}
	if due != maxTime {
		w.tbl.schedule(e, due)
	}
}

// fireDue fires the windows of every key whose timer is due at the earliest timer time.
func (w *winEngine[K, P]) fireDue() {
	at, es, bucket := w.tbl.popDue()
	ahead := w.idOf != nil && w.lateness == 0 && len(es) >= parallelIDs && goruntime.GOMAXPROCS(0) > 1
	if ahead {
		// Many windows close at once (tumbling windows over many keys), while the sources
		// wait. Their result IDs are hashed in chunks: this goroutine claims them from the
		// front as it emits the results, a helper goroutine from the back, until they meet.
		// Only a chunk the helper holds is waited for, so a helper that is slow to be scheduled
		// costs nothing: this goroutine then hashes every chunk itself.
		w.rt.helpers.Wait() // the previous bucket's helper, done long ago
		n, nc := len(es), (len(es)+idChunk-1)/idChunk
		if cap(w.pre) < n {
			w.pre = make([]ID, n)
		}
		if cap(w.claims) < nc {
			w.claims = make([]atomic.Uint32, nc)
		}
		w.pre, w.claims = w.pre[:n], w.claims[:nc]
		for c := range w.claims {
			w.claims[c].Store(0)
		}
		w.rt.helpers.Go(func() {
			for c := nc - 1; c >= 0 && w.claims[c].CompareAndSwap(0, 1); c-- {
				w.hashChunk(&w.helper, es, at, c)
			}
		})
	}
	met := false // the helper is done: it held the chunk this goroutine reached, and every later one
	for i, e := range es {
		if w.rt.stopped {
			break
		}
		if ahead {
			if c := i / idChunk; i%idChunk == 0 && !met {
				if w.claims[c].CompareAndSwap(0, 1) {
					w.hashChunk(&w.helper2, es, at, c)
				} else {
					w.rt.helpers.Wait()
					met = true
				}
			}
			w.preID = w.pre[i]
		}
		w.wake(e, at)
		w.preID = ID{}
	}
	if ahead && !met && w.rt.stopped {
		// The run stopped before every chunk was reached: a helper yet to start finds them all
		// taken, one hashing a chunk is waited for before the bucket is recycled.
		for c := range w.claims {
			w.claims[c].CompareAndSwap(0, 1)
		}
		w.rt.helpers.Wait()
	}
	w.tbl.timers.recycle(bucket)
}

// hashChunk computes the result IDs of chunk c of a bucket of closing windows, due at at.
func (w *winEngine[K, P]) hashChunk(h *hasher, es []*entry[K, winState[P]], at int64, c int) {
	end := min((c+1)*idChunk, len(es))
	for i := c * idChunk; i < end; i++ {
		w.pre[i] = w.idAhead(h, es[i], at)
	}
}

// idAhead computes the result ID of e's window if wake will fire it as its one window.
func (w *winEngine[K, P]) idAhead(h *hasher, e *entry[K, winState[P]], at int64) ID {
	if len(e.st.slots) == 1 && !e.st.slots[0].fired && e.st.slots[0].end <= at {
		return w.idOf(h, e, &e.st.slots[0])
	}
	return ID{}
}

// resultID returns the ID of the result of s: computed ahead, or now with h.
func (w *winEngine[K, P]) resultID(h *hasher, e *entry[K, winState[P]], s *slot[P]) ID {
	if id := w.preID; !id.IsZero() {
		w.preID = ID{}
		return id
	}
	return w.idOf(h, e, s)
}

func (w *winEngine[K, P]) wake(e *entry[K, winState[P]], at int64) {
	st := &e.st
	if len(st.slots) == 1 && w.lateness == 0 && st.slots[0].end <= at {
		// the common case: the key's one window closes and goes
		s := &st.slots[0]
		s.fired = true
		w.fire(e, s)
		if w.rt.stopped {
			return
		}
		if w.reset != nil {
			w.reset(&s.p)
		} else {
			*s = slot[P]{}
		}
		st.slots = st.slots[:0]
		w.tbl.markDirty(e)
		w.tbl.idle(e, at+w.linger)
		return
	}
	if len(st.slots) == 0 {
		if e.flags&fLinger != 0 {
			w.tbl.remove(e)
		}
		return
	}
	w.preID = ID{}
	changed := false
	for i := range st.slots {
		if s := &st.slots[i]; !s.fired && s.end <= at {
			s.fired = true
			changed = true
			w.fire(e, s)
			if w.rt.stopped {
				return
			}
		}
	}
	// Drop the windows kept long enough; with a reset hook they stay behind the live ones,
	// ready for the key's next windows.
	n := 0
	for i := range st.slots {
		if s := &st.slots[i]; s.fired && s.end+w.lateness <= at {
			changed = true
			continue
		}
		if n != i {
			st.slots[n], st.slots[i] = st.slots[i], st.slots[n]
		}
		n++
	}
	for i := n; i < len(st.slots); i++ {
		if w.reset != nil {
			w.reset(&st.slots[i].p)
		} else {
			st.slots[i] = slot[P]{}
		}
	}
	st.slots = st.slots[:n]
	if changed {
		w.tbl.markDirty(e)
	}
	if len(st.slots) == 0 {
		w.tbl.idle(e, at+w.linger)
		return
	}
	w.reschedule(e)
}

// timerGran is the timer granularity for state whose timers are spread over span: a 64th of
// it, at least a millisecond.
func timerGran(span int64) int64 { return max(span/64, int64(time.Millisecond)) }

// Checkpointed form of a key's windows.
type slotJSON[P any] struct {
	Start   int64 `json:"s"`
	End     int64 `json:"e"`
	Fired   bool  `json:"f,omitempty"`
	Emitted ID    `json:"id,omitzero"`
	P       P     `json:"p"`
}

type winJSON[P any] struct {
	Seq   uint64        `json:"seq"`
	Slots []slotJSON[P] `json:"slots"`
}

func (w *winEngine[K, P]) checkpoint(changes *[]Change) error {
	t := &w.tbl
	for _, skey := range t.deleted {
		*changes = append(*changes, Change{Key: skey, Delete: true})
	}
	t.deleted = t.deleted[:0]
	for _, e := range t.dirty {
		e.flags &^= fDirty
		if e.flags&(fRemoved|fLinger) != 0 {
			continue
		}
		if e.skey == "" {
			sk, err := w.keys.storeKey(e.key)
			if err != nil {
				return err
			}
			e.skey = sk
		}
		v := winJSON[P]{Seq: e.seq, Slots: make([]slotJSON[P], len(e.st.slots))}
		for i, s := range e.st.slots {
			v.Slots[i] = slotJSON[P]{Start: s.start, End: s.end, Fired: s.fired, Emitted: s.emitted, P: s.p}
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode state of key %s: %w", e.skey, err)
		}
		*changes = append(*changes, Change{Key: e.skey, Value: b})
		e.flags |= fPersisted
	}
	clear(t.dirty)
	t.dirty = t.dirty[:0]
	return nil
}

func (w *winEngine[K, P]) restoreKey(skey string, value []byte) error {
	k, err := w.keys.parse(skey)
	if err != nil {
		return err
	}
	var v winJSON[P]
	if err := json.Unmarshal(value, &v); err != nil {
		return err
	}
	if len(v.Slots) == 0 {
		return fmt.Errorf("no windows")
	}
	e := &entry[K, winState[P]]{key: k, due: maxTime, seq: v.Seq, skey: skey, flags: fPersisted}
	e.st.init()
	for i, s := range v.Slots {
		if s.End <= s.Start || i > 0 && s.Start < v.Slots[i-1].Start {
			return fmt.Errorf("malformed window [%d, %d)", s.Start, s.End)
		}
		e.st.slots = append(e.st.slots, slot[P]{start: s.Start, end: s.End, fired: s.Fired, emitted: s.Emitted, p: s.P})
	}
	e.st.moved(true)
	return w.tbl.restore(e)
}

func (w *winEngine[K, P]) restored() {
	w.tbl.restored(func(e *entry[K, winState[P]]) { w.reschedule(e) })
}

// lateOK reports whether an event of key k at t, late against watermark wm, still has a window
// kept for it.
func (w *winEngine[K, P]) lateOK(k K, t, wm int64) bool {
	switch w.w.kind {
	case winTumbling, winSliding:
		last := floorDiv(t, w.w.slide)*w.w.slide + w.w.size
		return last+w.lateness > wm
	default:
		if t+w.w.size+w.lateness > wm {
			return true
		}
		if e, ok := w.tbl.m[k]; ok {
			for i := range e.st.slots {
				if s := &e.st.slots[i]; s.start < t+w.w.size && t < s.end {
					return true
				}
			}
		}
		return false
	}
}
