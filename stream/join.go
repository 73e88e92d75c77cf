package stream

import (
	"context"
	"iter"
	"slices"
	"time"
)

// Joined is one key's events from every source of a Join over one window.
type Joined[K comparable, T any] struct {
	ID       ID
	Kind     Kind
	Replaces ID // the result an Update replaces or a Retract withdraws
	Key      K
	Window   Window
	// Sides holds each source's events in the window, in event-time order, one slice per
	// source in the order Run got them.
	Sides [][]Record[T]
	// Missing names the sources without events in the window: always empty for an inner join,
	// the sides still missing for a partial result of an outer one.
	Missing []string
}

// Join joins N streams of one type on a key within windows: when the watermark passes a
// window's end, it emits for each key the events every source had in the window — if every
// source had some (inner join), or if any had (WithOuter). Create one with NewJoin; for
// streams of three different types, see Join3.
type Join[K comparable, T any] struct {
	cfg   config
	key   func(T) K
	w     Windows
	run   running
	stats statsBox
}

// NewJoin returns a join of streams of T on key over the windows w.
func NewJoin[K comparable, T any](key func(T) K, w Windows, opts ...Option) (*Join[K, T], error) {
	cfg, err := newConfig("join", optOuter|optReuse, opts)
	if err != nil {
		return nil, err
	}
	if err := w.validate(); err != nil {
		return nil, err
	}
	if key == nil {
		return nil, &OptionError{Option: "NewJoin", Value: nil, Reason: "nil key function"}
	}
	return &Join[K, T]{cfg: cfg, key: key, w: w}, nil
}

// Stats returns the operator's counters.
func (j *Join[K, T]) Stats() Stats { return j.stats.get() }

// Run joins the records of srcs (at least two) and yields the results; see Aggregate.Run for
// how it ends.
func (j *Join[K, T]) Run(ctx context.Context, srcs ...*Source[T]) iter.Seq2[Joined[K, T], error] {
	return func(yield func(Joined[K, T], error) bool) {
		var zero Joined[K, T]
		if !j.run.enter() {
			yield(zero, ErrRunning)
			return
		}
		defer j.run.leave()
		if len(srcs) < 2 || len(srcs) > 64 {
			yield(zero, &OptionError{Option: "Run", Value: len(srcs), Reason: "a join takes 2 to 64 sources"})
			return
		}
		rt := newRuntime(&j.cfg, &j.stats)
		r := &joinRun[K, T]{op: j, rt: rt, yield: yield, n: len(srcs)}
		rt.op = r
		r.eng.init(rt, j.w)
		r.eng.merge = r.merge
		r.eng.fire = r.emitWindow
		r.eng.retract = r.retract
		r.eng.idOf = r.idOf
		if j.cfg.reuse {
			r.eng.reset = func(p *joinP[T]) {
				for i := range p.Sides {
					p.Sides[i] = p.Sides[i][:0]
				}
				p.D = [2]uint64{}
			}
		}
		for i, s := range srcs {
			err := addPort(rt, s,
				func(rec *Record[T], t int64) { r.add(i, rec, t, minTime) },
				func(rec *Record[T], t, wm int64) bool { return r.add(i, rec, t, wm) })
			if err != nil {
				yield(zero, err)
				return
			}
			r.names = append(r.names, rt.inputs[i].base().name)
		}
		if err := rt.run(ctx); err != nil {
			yield(zero, err)
		}
	}
}

type joinP[T any] struct {
	Sides [][]Record[T] `json:"sides"`
	D     [2]uint64     `json:"d"` // digest of the events' identities
}

type joinRun[K comparable, T any] struct {
	op    *Join[K, T]
	rt    *runtime
	eng   winEngine[K, joinP[T]]
	yield func(Joined[K, T], error) bool
	n     int
	names []string
	h     hasher
	wc    windowCache
	slab  slab[T]
	sides [][]Record[T]
}

func (r *joinRun[K, T]) shape() string {
	s := "join " + r.eng.shape()
	if r.op.cfg.outer {
		s += " outer"
	}
	return s + " inputs " + itoa(r.n)
}
func (r *joinRun[K, T]) fire()                               { r.eng.fireDue() }
func (r *joinRun[K, T]) live() int                           { return r.eng.live() }
func (r *joinRun[K, T]) checkpoint(ch *[]Change) error       { return r.eng.checkpoint(ch) }
func (r *joinRun[K, T]) restoreKey(k string, v []byte) error { return r.eng.restoreKey(k, v) }
func (r *joinRun[K, T]) restored()                           { r.eng.restored() }

func (r *joinRun[K, T]) add(src int, rec *Record[T], t, lateWM int64) bool {
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
		if len(p.Sides) != r.n {
			if cap(p.Sides) >= r.n {
				p.Sides = p.Sides[:r.n]
			} else {
				p.Sides = make([][]Record[T], r.n)
			}
		}
		p.Sides[src] = r.slab.insertByTime(p.Sides[src], rec, late)
		p.D[0] += d0
		p.D[1] += d1
	}
	if late {
		r.eng.settle(e, idx)
	}
	return true
}

// slab hands out one-record lists carved from shared chunks, so that the first event of a
// window costs no allocation of its own; a list that grows past one record moves out.
type slab[T any] struct{ buf []Record[T] }

const slabChunk = 256

func (s *slab[T]) one(r *Record[T]) []Record[T] {
	if len(s.buf) == cap(s.buf) {
		s.buf = make([]Record[T], 0, slabChunk)
	}
	s.buf = append(s.buf, *r)
	n := len(s.buf)
	return s.buf[n-1 : n : n]
}

// insertByTime appends rec, or for a late one inserts it in event-time order. A window's first
// event goes into the list's room if it has some (a list reused, WithReuse), or into a slice
// of a slab chunk.
func (s *slab[T]) insertByTime(rs []Record[T], rec *Record[T], late bool) []Record[T] {
	if len(rs) == 0 {
		if cap(rs) > 0 {
			return append(rs, *rec)
		}
		return s.one(rec)
	}
	if !late || !rec.Time.Before(rs[len(rs)-1].Time) {
		return append(rs, *rec)
	}
	i, _ := slices.BinarySearchFunc(rs, rec.Time, func(x Record[T], t time.Time) int {
		if x.Time.After(t) {
			return 1
		}
		return -1
	})
	return slices.Insert(rs, i, *rec)
}

func (r *joinRun[K, T]) merge(dst, src *joinP[T]) {
	if len(dst.Sides) != r.n {
		dst.Sides = make([][]Record[T], r.n)
	}
	for i := range src.Sides {
		dst.Sides[i] = mergeByTime(dst.Sides[i], src.Sides[i])
	}
	dst.D[0] += src.D[0]
	dst.D[1] += src.D[1]
}

// mergeByTime merges two time-ordered lists.
func mergeByTime[T any](a, b []Record[T]) []Record[T] {
	if len(b) == 0 {
		return a
	}
	out := make([]Record[T], 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if b[j].Time.Before(a[i].Time) {
			out = append(out, b[j])
			j++
		} else {
			out = append(out, a[i])
			i++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

func (r *joinRun[K, T]) emitWindow(e *entry[K, winState[joinP[T]]], s *slot[joinP[T]]) {
	var missing []string
	for i := 0; i < r.n; i++ {
		if len(s.p.Sides) != r.n || len(s.p.Sides[i]) == 0 {
			missing = append(missing, r.names[i])
		}
	}
	if missing != nil && !r.op.cfg.outer {
		return
	}
	sides := r.sides
	if !r.op.cfg.reuse || len(sides) != r.n {
		sides = make([][]Record[T], r.n)
		if r.op.cfg.reuse {
			r.sides = sides
		}
	}
	for i := range sides {
		var rs []Record[T]
		if len(s.p.Sides) == r.n {
			rs = s.p.Sides[i]
		}
		sides[i] = own(rs, r.eng.lateness > 0 && !r.op.cfg.reuse)
	}
	id := r.eng.resultID(&r.h, e, s)
	if id == s.emitted {
		return
	}
	kind := Insert
	if !s.emitted.IsZero() {
		kind = Update
	}
	res := Joined[K, T]{ID: id, Kind: kind, Replaces: s.emitted, Key: e.key, Window: r.wc.get(s.start, s.end), Sides: sides, Missing: missing}
	s.emitted = id
	emit(r.rt, r.yield, res, kind)
}

// idOf is the ID of the result of s: the pipeline, the key, the window, the events' counts
// per source and the digest of their identities.
func (r *joinRun[K, T]) idOf(h *hasher, e *entry[K, winState[joinP[T]]], s *slot[joinP[T]]) ID {
	h.begin("join", r.rt.cfg.name)
	r.eng.keys.hashKey(h, e.key)
	h.window(s.start, s.end)
	for i := 0; i < r.n; i++ {
		n := 0
		if len(s.p.Sides) == r.n {
			n = len(s.p.Sides[i])
		}
		h.uv(uint64(n))
	}
	h.u64(s.p.D[0])
	h.u64(s.p.D[1])
	return h.sum()
}

// Clone returns a copy of j whose slices are its own (see WithReuse).
func (j Joined[K, T]) Clone() Joined[K, T] {
	sides := make([][]Record[T], len(j.Sides))
	for i, s := range j.Sides {
		sides[i] = slices.Clone(s)
	}
	j.Sides, j.Missing = sides, slices.Clone(j.Missing)
	return j
}

func (r *joinRun[K, T]) retract(e *entry[K, winState[joinP[T]]], start, end int64, id ID) {
	emit(r.rt, r.yield, Joined[K, T]{ID: derived(id, "retract"), Kind: Retract, Replaces: id, Key: e.key, Window: window(start, end)}, Retract)
}

// own returns rs for a result: the slice itself, capped, when the window's state is discarded
// after emitting; a copy when the window is kept for late events.
func own[T any](rs []Record[T], kept bool) []Record[T] {
	if kept {
		return slices.Clone(rs)
	}
	return slices.Clip(rs)
}

// Joined3 is one key's events from the three sources of a Join3 over one window.
type Joined3[K comparable, A, B, C any] struct {
	ID       ID
	Kind     Kind
	Replaces ID // the result an Update replaces or a Retract withdraws
	Key      K
	Window   Window
	A        []Record[A] // the first source's events in the window, in event-time order
	B        []Record[B] // the second's
	C        []Record[C] // the third's
	// Missing names the sources without events in the window (see Joined.Missing).
	Missing []string
}

// Join3 joins three streams of different types on a key within windows, as Join does for
// streams of one type: the seed's bitcoin, web5 and ml streams by entity. Create one with
// NewJoin3.
type Join3[K comparable, A, B, C any] struct {
	cfg   config
	ka    func(A) K
	kb    func(B) K
	kc    func(C) K
	w     Windows
	run   running
	stats statsBox
}

// NewJoin3 returns a join of three streams on the keys ka, kb and kc extract, over windows w.
func NewJoin3[K comparable, A, B, C any](ka func(A) K, kb func(B) K, kc func(C) K, w Windows, opts ...Option) (*Join3[K, A, B, C], error) {
	cfg, err := newConfig("join3", optOuter|optReuse, opts)
	if err != nil {
		return nil, err
	}
	if err := w.validate(); err != nil {
		return nil, err
	}
	if ka == nil || kb == nil || kc == nil {
		return nil, &OptionError{Option: "NewJoin3", Value: nil, Reason: "nil key function"}
	}
	return &Join3[K, A, B, C]{cfg: cfg, ka: ka, kb: kb, kc: kc, w: w}, nil
}

// Stats returns the operator's counters.
func (j *Join3[K, A, B, C]) Stats() Stats { return j.stats.get() }

// Run joins the records of a, b and c and yields the results; see Aggregate.Run for how it
// ends.
func (j *Join3[K, A, B, C]) Run(ctx context.Context, a *Source[A], b *Source[B], c *Source[C]) iter.Seq2[Joined3[K, A, B, C], error] {
	return func(yield func(Joined3[K, A, B, C], error) bool) {
		var zero Joined3[K, A, B, C]
		if !j.run.enter() {
			yield(zero, ErrRunning)
			return
		}
		defer j.run.leave()
		rt := newRuntime(&j.cfg, &j.stats)
		r := newJoin3Run(j, rt, yield)
		err := addPort(rt, a, func(rec *Record[A], t int64) { r.addA(rec, t, minTime) }, func(rec *Record[A], t, wm int64) bool { return r.addA(rec, t, wm) })
		if err == nil {
			err = addPort(rt, b, func(rec *Record[B], t int64) { r.addB(rec, t, minTime) }, func(rec *Record[B], t, wm int64) bool { return r.addB(rec, t, wm) })
		}
		if err == nil {
			err = addPort(rt, c, func(rec *Record[C], t int64) { r.addC(rec, t, minTime) }, func(rec *Record[C], t, wm int64) bool { return r.addC(rec, t, wm) })
		}
		if err != nil {
			yield(zero, err)
			return
		}
		for _, in := range rt.inputs {
			r.names[in.base().idx] = in.base().name
		}
		if err := rt.run(ctx); err != nil {
			yield(zero, err)
		}
	}
}

func newJoin3Run[K comparable, A, B, C any](j *Join3[K, A, B, C], rt *runtime, yield func(Joined3[K, A, B, C], error) bool) *join3Run[K, A, B, C] {
	r := &join3Run[K, A, B, C]{op: j, rt: rt, yield: yield, key0: hashKey0("join3", rt.cfg.name)}
	rt.op = r
	r.eng.init(rt, j.w)
	r.eng.merge = r.merge
	r.eng.fire = r.emitWindow
	r.eng.retract = r.retract
	r.eng.idOf = r.idOf
	if j.cfg.reuse {
		r.eng.reset = func(p *join3P[A, B, C]) {
			p.A, p.B, p.C, p.D = p.A[:0], p.B[:0], p.C[:0], [2]uint64{}
		}
	}
	return r
}

type join3P[A, B, C any] struct {
	A []Record[A] `json:"a,omitempty"`
	B []Record[B] `json:"b,omitempty"`
	C []Record[C] `json:"c,omitempty"`
	D [2]uint64   `json:"d"` // digest of the events' identities
}

type join3Run[K comparable, A, B, C any] struct {
	op    *Join3[K, A, B, C]
	rt    *runtime
	eng   winEngine[K, join3P[A, B, C]]
	yield func(Joined3[K, A, B, C], error) bool
	names [3]string
	h     hasher
	key0  [2]uint64 // the hash key of the run's result IDs
	wc    windowCache
	sa    slab[A]
	sb    slab[B]
	sc    slab[C]
}

func (r *join3Run[K, A, B, C]) shape() string {
	s := "join3 " + r.eng.shape()
	if r.op.cfg.outer {
		s += " outer"
	}
	return s
}
func (r *join3Run[K, A, B, C]) fire()                               { r.eng.fireDue() }
func (r *join3Run[K, A, B, C]) live() int                           { return r.eng.live() }
func (r *join3Run[K, A, B, C]) checkpoint(ch *[]Change) error       { return r.eng.checkpoint(ch) }
func (r *join3Run[K, A, B, C]) restoreKey(k string, v []byte) error { return r.eng.restoreKey(k, v) }
func (r *join3Run[K, A, B, C]) restored()                           { r.eng.restored() }

// slots finds or creates the windows of an event of key k at t; ok is false for a late event
// too late for any window (a refused key is handled: nil entry, ok true).
func (r *join3Run[K, A, B, C]) slots(k K, t int64, late bool, lateWM int64) (*entry[K, winState[join3P[A, B, C]]], []int32, bool) {
	if late && !r.eng.lateOK(k, t, lateWM) {
		return nil, nil, false
	}
	r.eng.lateWM = lateWM
	e := r.eng.tbl.upsert(k)
	if e == nil {
		return nil, nil, true
	}
	return e, r.eng.slotsFor(e, t, late), true
}

func (r *join3Run[K, A, B, C]) addA(rec *Record[A], t, lateWM int64) bool {
	return add3(r, 0, r.op.ka(rec.Value), rec, t, lateWM, &r.sa, (*join3P[A, B, C]).sideA)
}

func (r *join3Run[K, A, B, C]) addB(rec *Record[B], t, lateWM int64) bool {
	return add3(r, 1, r.op.kb(rec.Value), rec, t, lateWM, &r.sb, (*join3P[A, B, C]).sideB)
}

func (r *join3Run[K, A, B, C]) addC(rec *Record[C], t, lateWM int64) bool {
	return add3(r, 2, r.op.kc(rec.Value), rec, t, lateWM, &r.sc, (*join3P[A, B, C]).sideC)
}

func (p *join3P[A, B, C]) sideA() *[]Record[A] { return &p.A }
func (p *join3P[A, B, C]) sideB() *[]Record[B] { return &p.B }
func (p *join3P[A, B, C]) sideC() *[]Record[C] { return &p.C }

// add3 adds rec, of key k and time t, to the list side picks in its windows, for the source
// with index src; lateWM is minTime for a record in event-time order, else the watermark it is
// late against. It reports false for a late record too late for any window.
func add3[K comparable, A, B, C, X any](r *join3Run[K, A, B, C], src int, k K, rec *Record[X], t, lateWM int64, sl *slab[X], side func(*join3P[A, B, C]) *[]Record[X]) bool {
	late := lateWM != minTime
	var (
		e   *entry[K, winState[join3P[A, B, C]]]
		idx []int32
		ok  = true
	)
	if !late {
		if e = r.eng.tbl.upsert(k); e == nil {
			return true
		}
		p := r.eng.current(e, t)
		if p == nil {
			p = r.eng.open(e, t)
		}
		if p != nil {
			// the common case: the key's open tumbling window, or its next one
			d0, d1 := digest(src, rec.Offset, rec.ID)
			l := side(p)
			*l = sl.insertByTime(*l, rec, false)
			p.D[0] += d0
			p.D[1] += d1
			return true
		}
		r.eng.lateWM = lateWM
		idx = r.eng.slotsFor(e, t, false)
	} else {
		e, idx, ok = r.slots(k, t, true, lateWM)
	}
	if len(idx) > 0 {
		d0, d1 := digest(src, rec.Offset, rec.ID)
		for _, i := range idx {
			p := &e.st.slots[i].p
			l := side(p)
			*l = sl.insertByTime(*l, rec, late)
			p.D[0] += d0
			p.D[1] += d1
		}
	}
	if late && e != nil {
		r.eng.settle(e, idx)
	}
	return ok
}

func (r *join3Run[K, A, B, C]) merge(dst, src *join3P[A, B, C]) {
	dst.A = mergeByTime(dst.A, src.A)
	dst.B = mergeByTime(dst.B, src.B)
	dst.C = mergeByTime(dst.C, src.C)
	dst.D[0] += src.D[0]
	dst.D[1] += src.D[1]
}

func (r *join3Run[K, A, B, C]) emitWindow(e *entry[K, winState[join3P[A, B, C]]], s *slot[join3P[A, B, C]]) {
	p := &s.p
	var missing []string
	if len(p.A) == 0 || len(p.B) == 0 || len(p.C) == 0 {
		if !r.op.cfg.outer {
			return
		}
		for i, n := range [3]int{len(p.A), len(p.B), len(p.C)} {
			if n == 0 {
				missing = append(missing, r.names[i])
			}
		}
	}
	id := r.eng.resultID(&r.h, e, s)
	if id == s.emitted {
		return
	}
	kind := Insert
	if !s.emitted.IsZero() {
		kind = Update
	}
	rt := r.rt
	if rt.stopped {
		return
	}
	kept := r.eng.lateness > 0 && !r.op.cfg.reuse
	prev := s.emitted
	s.emitted = id
	// emit's counting and stopping, with the result built in the call: it is copied once, into
	// the loop body's argument, not built first and copied there.
	rt.c.results++
	if kind == Update {
		rt.c.updates++
	}
	if !r.yield(Joined3[K, A, B, C]{ID: id, Kind: kind, Replaces: prev, Key: e.key, Window: r.wc.get(s.start, s.end),
		A: own(p.A, kept), B: own(p.B, kept), C: own(p.C, kept), Missing: missing}, nil) {
		rt.stopped = true
	}
}

// idOf is the ID of the result of s: the pipeline, the key, the window, the events' counts
// per source and the digest of their identities.
func (r *join3Run[K, A, B, C]) idOf(h *hasher, e *entry[K, winState[join3P[A, B, C]]], s *slot[join3P[A, B, C]]) ID {
	p := &s.p
	h.beginKeyed(r.key0)
	var ws [16]uint64
	n, ok := r.eng.keys.keyWords(&ws, e.key, 7)
	if !ok {
		r.eng.keys.hashKey(h, e.key)
	}
	f := (*[7]uint64)(ws[n : n+7])
	f[0], f[1], f[2], f[3], f[4], f[5], f[6] = uint64(s.start), uint64(s.end-s.start),
		uint64(len(p.A)), uint64(len(p.B)), uint64(len(p.C)), p.D[0], p.D[1]
	h.absorbWords(ws[:n+7])
	return h.sum()
}

// Clone returns a copy of j whose slices are its own (see WithReuse).
func (j Joined3[K, A, B, C]) Clone() Joined3[K, A, B, C] {
	j.A, j.B, j.C, j.Missing = slices.Clone(j.A), slices.Clone(j.B), slices.Clone(j.C), slices.Clone(j.Missing)
	return j
}

func (r *join3Run[K, A, B, C]) retract(e *entry[K, winState[join3P[A, B, C]]], start, end int64, id ID) {
	emit(r.rt, r.yield, Joined3[K, A, B, C]{ID: derived(id, "retract"), Kind: Retract, Replaces: id, Key: e.key, Window: window(start, end)}, Retract)
}
