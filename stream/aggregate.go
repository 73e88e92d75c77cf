package stream

import (
	"cmp"
	"context"
	"encoding/json"
	"iter"
	"maps"
	"slices"
)

// Agg is an aggregation: Init starts an accumulator with a window's first event, Add folds in
// each further event, Merge combines two accumulators (needed by Session windows, whose
// windows merge), Result turns an accumulator into the emitted value. The accumulator is
// checkpointed as JSON, so A needs exported fields or JSON methods. Add and Merge may modify
// and return their first argument; Result must return a value that later Adds do not change.
// Count, Sum, Min, Max, Distinct and Reduce are ready-made.
type Agg[T, A, R any] struct {
	Init   func(T) A
	Add    func(A, T) A
	Merge  func(A, A) A
	Result func(A) R
}

// Number is the constraint of Sum.
type Number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// Count counts the events of a window.
func Count[T any]() Agg[T, int64, int64] {
	return Agg[T, int64, int64]{
		Init:   func(T) int64 { return 1 },
		Add:    func(a int64, _ T) int64 { return a + 1 },
		Merge:  func(a, b int64) int64 { return a + b },
		Result: func(a int64) int64 { return a },
	}
}

// Sum adds up f of the events of a window.
func Sum[T any, N Number](f func(T) N) Agg[T, N, N] {
	return Agg[T, N, N]{
		Init:   f,
		Add:    func(a N, v T) N { return a + f(v) },
		Merge:  func(a, b N) N { return a + b },
		Result: func(a N) N { return a },
	}
}

// Min is the smallest f of the events of a window.
func Min[T any, N cmp.Ordered](f func(T) N) Agg[T, N, N] {
	return Agg[T, N, N]{
		Init:   f,
		Add:    func(a N, v T) N { return min(a, f(v)) },
		Merge:  func(a, b N) N { return min(a, b) },
		Result: func(a N) N { return a },
	}
}

// Max is the largest f of the events of a window.
func Max[T any, N cmp.Ordered](f func(T) N) Agg[T, N, N] {
	return Agg[T, N, N]{
		Init:   f,
		Add:    func(a N, v T) N { return max(a, f(v)) },
		Merge:  func(a, b N) N { return max(a, b) },
		Result: func(a N) N { return a },
	}
}

// Set is the accumulator of Distinct: a set of values, checkpointed as a sorted JSON array.
type Set[D cmp.Ordered] map[D]struct{}

// MarshalJSON encodes the set as a sorted array.
func (s Set[D]) MarshalJSON() ([]byte, error) { return json.Marshal(slices.Sorted(maps.Keys(s))) }

// UnmarshalJSON decodes an array.
func (s *Set[D]) UnmarshalJSON(b []byte) error {
	var vs []D
	if err := json.Unmarshal(b, &vs); err != nil {
		return err
	}
	*s = make(Set[D], len(vs))
	for _, v := range vs {
		(*s)[v] = struct{}{}
	}
	return nil
}

// Distinct is the distinct values of f over the events of a window, sorted; its length is the
// distinct count.
func Distinct[T any, D cmp.Ordered](f func(T) D) Agg[T, Set[D], []D] {
	return Agg[T, Set[D], []D]{
		Init: func(v T) Set[D] { return Set[D]{f(v): {}} },
		Add: func(a Set[D], v T) Set[D] {
			a[f(v)] = struct{}{}
			return a
		},
		Merge: func(a, b Set[D]) Set[D] {
			for v := range b {
				a[v] = struct{}{}
			}
			return a
		},
		Result: func(a Set[D]) []D { return slices.Sorted(maps.Keys(a)) },
	}
}

// Reduce folds the events of a window with f, which must be associative (sessions merge
// partial folds) and, for results that do not depend on arrival order among events of the same
// time, commutative.
func Reduce[T any](f func(a, b T) T) Agg[T, T, T] {
	return Agg[T, T, T]{
		Init:   func(v T) T { return v },
		Add:    f,
		Merge:  f,
		Result: func(a T) T { return a },
	}
}

// Result is the aggregate of one key over one window.
type Result[K comparable, R any] struct {
	ID       ID
	Kind     Kind
	Replaces ID // the result an Update replaces or a Retract withdraws
	Key      K
	Window   Window
	Value    R
	Count    int64 // events aggregated
}

// Aggregate aggregates the events of each key over windows: a Result per key and window when the
// watermark passes the window's end. Create one with NewAggregate.
type Aggregate[K comparable, T, A, R any] struct {
	cfg   config
	key   func(T) K
	w     Windows
	agg   Agg[T, A, R]
	run   running
	stats statsBox
}

// NewAggregate returns an aggregation of the events of each key (key extracts it) over the
// windows w with agg.
func NewAggregate[K comparable, T, A, R any](key func(T) K, w Windows, agg Agg[T, A, R], opts ...Option) (*Aggregate[K, T, A, R], error) {
	cfg, err := newConfig("aggregate", 0, opts)
	if err != nil {
		return nil, err
	}
	if err := w.validate(); err != nil {
		return nil, err
	}
	switch {
	case key == nil:
		return nil, &OptionError{Option: "NewAggregate", Value: nil, Reason: "nil key function"}
	case agg.Init == nil || agg.Add == nil || agg.Result == nil:
		return nil, &OptionError{Option: "Agg", Value: nil, Reason: "Init, Add and Result are required"}
	case agg.Merge == nil && w.kind == winSession:
		return nil, &OptionError{Option: "Agg", Value: nil, Reason: "session windows need Merge"}
	}
	return &Aggregate[K, T, A, R]{cfg: cfg, key: key, w: w, agg: agg}, nil
}

// Stats returns the operator's counters.
func (a *Aggregate[K, T, A, R]) Stats() Stats { return a.stats.get() }

// Run processes the records of srcs, merged in event-time order, and yields the results. It
// ends when every source has ended (after emitting every window), when ctx ends (yielding
// ctx.Err()), when the consumer stops, or with an error from a source or the store. Stopping
// early is safe: with a Store, the next Run resumes from the last checkpoint.
func (a *Aggregate[K, T, A, R]) Run(ctx context.Context, srcs ...*Source[T]) iter.Seq2[Result[K, R], error] {
	return func(yield func(Result[K, R], error) bool) {
		var zero Result[K, R]
		if !a.run.enter() {
			yield(zero, ErrRunning)
			return
		}
		defer a.run.leave()
		rt := newRuntime(&a.cfg, &a.stats)
		r := &aggRun[K, T, A, R]{op: a, rt: rt, yield: yield}
		rt.op = r
		r.eng.init(rt, a.w)
		r.eng.merge = r.merge
		r.eng.fire = r.emitWindow
		r.eng.retract = r.retract
		r.eng.idOf = r.idOf
		if len(srcs) == 0 {
			yield(zero, &OptionError{Option: "Run", Value: 0, Reason: "no sources"})
			return
		}
		for i, s := range srcs {
			err := addPort(rt, s,
				func(rec *Record[T], t int64) { r.add(i, rec, t, minTime) },
				func(rec *Record[T], t, wm int64) bool { return r.add(i, rec, t, wm) })
			if err != nil {
				yield(zero, err)
				return
			}
		}
		if err := rt.run(ctx); err != nil {
			yield(zero, err)
		}
	}
}

type aggP[A any] struct {
	Acc A         `json:"acc"`
	N   int64     `json:"n"`
	D   [2]uint64 `json:"d"` // order-independent digest of the events' identities
}

type aggRun[K comparable, T, A, R any] struct {
	op    *Aggregate[K, T, A, R]
	rt    *runtime
	eng   winEngine[K, aggP[A]]
	yield func(Result[K, R], error) bool
	h     hasher
	wc    windowCache
}

func (r *aggRun[K, T, A, R]) shape() string {
	return "aggregate " + r.eng.shape() + " inputs " + itoa(len(r.rt.inputs))
}
func (r *aggRun[K, T, A, R]) fire()                               { r.eng.fireDue() }
func (r *aggRun[K, T, A, R]) live() int                           { return r.eng.live() }
func (r *aggRun[K, T, A, R]) checkpoint(ch *[]Change) error       { return r.eng.checkpoint(ch) }
func (r *aggRun[K, T, A, R]) restoreKey(k string, v []byte) error { return r.eng.restoreKey(k, v) }
func (r *aggRun[K, T, A, R]) restored()                           { r.eng.restored() }

// add processes one record; for one late against watermark lateWM (minTime: on time) it
// reports whether it could still be counted.
func (r *aggRun[K, T, A, R]) add(src int, rec *Record[T], t, lateWM int64) bool {
	k := r.op.key(rec.Value)
	late := lateWM != minTime
	if late && !r.eng.lateOK(k, t, lateWM) {
		return false
	}
	r.eng.lateWM = lateWM
	e := r.eng.tbl.upsert(k)
	if e == nil {
		return true
	}
	idx := r.eng.slotsFor(e, t, late)
	d0, d1 := digest(src, rec.Offset, rec.ID)
	for _, i := range idx {
		p := &e.st.slots[i].p
		if p.N == 0 {
			p.Acc = r.op.agg.Init(rec.Value)
		} else {
			p.Acc = r.op.agg.Add(p.Acc, rec.Value)
		}
		p.N++
		p.D[0] += d0
		p.D[1] += d1
	}
	if late {
		r.eng.settle(e, idx)
	}
	return true
}

func (r *aggRun[K, T, A, R]) merge(dst, src *aggP[A]) {
	dst.Acc = r.op.agg.Merge(dst.Acc, src.Acc)
	dst.N += src.N
	dst.D[0] += src.D[0]
	dst.D[1] += src.D[1]
}

func (r *aggRun[K, T, A, R]) emitWindow(e *entry[K, winState[aggP[A]]], s *slot[aggP[A]]) {
	id := r.eng.resultID(&r.h, e, s)
	if id == s.emitted {
		return
	}
	kind := Insert
	if !s.emitted.IsZero() {
		kind = Update
	}
	res := Result[K, R]{ID: id, Kind: kind, Replaces: s.emitted, Key: e.key, Window: r.wc.get(s.start, s.end),
		Value: r.op.agg.Result(s.p.Acc), Count: s.p.N}
	s.emitted = id
	emit(r.rt, r.yield, res, kind)
}

// idOf is the ID of the result of s: the pipeline, the key, the window, the events' count and
// the digest of their identities.
func (r *aggRun[K, T, A, R]) idOf(h *hasher, e *entry[K, winState[aggP[A]]], s *slot[aggP[A]]) ID {
	h.begin("aggregate", r.rt.cfg.name)
	h.kb = r.eng.keys.appendKey(h.kb[:0], e.key)
	h.key(h.kb)
	h.window(s.start, s.end)
	h.uv(uint64(s.p.N))
	h.u64(s.p.D[0])
	h.u64(s.p.D[1])
	return h.sum()
}

func (r *aggRun[K, T, A, R]) retract(e *entry[K, winState[aggP[A]]], start, end int64, id ID) {
	emit(r.rt, r.yield, Result[K, R]{ID: derived(id, "retract"), Kind: Retract, Replaces: id, Key: e.key, Window: window(start, end)}, Retract)
}

// digest is a 128-bit hash of an event's identity (the index of its source, and its ID or
// offset). A window sums its events' digests, which does not depend on the order it saw them
// in, and its result ID covers the sum: results of one key and window with the same event
// counts but other events (a replay that found other events late, say) get other IDs.
func digest(src int, offset uint64, id string) (uint64, uint64) {
	if id == "" {
		x := offset ^ uint64(src)<<56
		return mix(x*0x9e3779b97f4a7c15 + 1), mix(x*0xc2b2ae3d27d4eb4f + 2)
	}
	h1, h2 := uint64(14695981039346656037)^uint64(src), uint64(0x9e3779b97f4a7c15)^uint64(src)<<1
	for i := 0; i < len(id); i++ {
		h1 = (h1 ^ uint64(id[i])) * 1099511628211
		h2 = (h2 ^ uint64(id[i])) * 0xff51afd7ed558ccd
	}
	return mix(h1 ^ 'i'), mix(h2 ^ 'i')
}

func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
