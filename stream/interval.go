package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"time"
)

// Pair is an event of the left stream of an IntervalJoin with an event of the right stream
// whose time falls in its interval; with WithOuter, a left event that found none has HasB false.
type Pair[K comparable, A, B any] struct {
	ID       ID
	Kind     Kind
	Replaces ID // the unmatched pair an Update replaces
	Key      K
	A        Record[A]
	B        Record[B]
	HasB     bool
}

// IntervalJoin pairs each event a of the left stream with every event b of the right stream
// with the same key and b.Time in [a.Time+lower, a.Time+upper], as soon as both are processed.
// Create one with NewIntervalJoin.
type IntervalJoin[K comparable, A, B any] struct {
	cfg          config
	ka           func(A) K
	kb           func(B) K
	lower, upper int64
	run          running
	stats        statsBox
}

// NewIntervalJoin returns an interval join of the streams keyed by ka and kb: b within
// [lower, upper] of a (lower may be negative: b before a). With WithOuter, a left event that
// found no right event once the watermark has passed a.Time+upper is emitted alone.
func NewIntervalJoin[K comparable, A, B any](ka func(A) K, kb func(B) K, lower, upper time.Duration, opts ...Option) (*IntervalJoin[K, A, B], error) {
	cfg, err := newConfig("interval-join", optOuter, opts)
	if err != nil {
		return nil, err
	}
	switch {
	case ka == nil || kb == nil:
		return nil, &OptionError{Option: "NewIntervalJoin", Value: nil, Reason: "nil key function"}
	case lower > upper:
		return nil, &OptionError{Option: "NewIntervalJoin", Value: lower, Reason: "lower bound after upper bound"}
	}
	return &IntervalJoin[K, A, B]{cfg: cfg, ka: ka, kb: kb, lower: int64(lower), upper: int64(upper)}, nil
}

// Stats returns the operator's counters.
func (j *IntervalJoin[K, A, B]) Stats() Stats { return j.stats.get() }

// Run joins the records of a and b and yields the pairs; see Aggregate.Run for how it ends.
func (j *IntervalJoin[K, A, B]) Run(ctx context.Context, a *Source[A], b *Source[B]) iter.Seq2[Pair[K, A, B], error] {
	return func(yield func(Pair[K, A, B], error) bool) {
		var zero Pair[K, A, B]
		if !j.run.enter() {
			yield(zero, ErrRunning)
			return
		}
		defer j.run.leave()
		rt := newRuntime(&j.cfg, &j.stats)
		r := &ivRun[K, A, B]{op: j, rt: rt, yield: yield, lateness: int64(j.cfg.lateness)}
		rt.op = r
		r.tbl.init(rt)
		r.tbl.gran = timerGran(j.upper - j.lower)
		rt.seq = &r.tbl.seq
		r.keys = newKeyCodec[K]()
		err := addPort(rt, a, func(rec *Record[A], t int64) { r.addA(rec, t, minTime) }, func(rec *Record[A], t, wm int64) bool { return r.addA(rec, t, wm) })
		if err == nil {
			err = addPort(rt, b, func(rec *Record[B], t int64) { r.addB(rec, t, minTime) }, func(rec *Record[B], t, wm int64) bool { return r.addB(rec, t, wm) })
		}
		if err != nil {
			yield(zero, err)
			return
		}
		if err := rt.run(ctx); err != nil {
			yield(zero, err)
		}
	}
}

type ivA[A any] struct {
	R       Record[A] `json:"r"`
	T       int64     `json:"-"`
	Matched bool      `json:"m,omitempty"`
	Alone   ID        `json:"alone,omitzero"` // the unmatched pair emitted for it (outer)
}

type ivB[B any] struct {
	R Record[B] `json:"r"`
	T int64     `json:"-"`
}

type ivState[A, B any] struct {
	as []ivA[A]
	bs []ivB[B]
}

type ivRun[K comparable, A, B any] struct {
	op       *IntervalJoin[K, A, B]
	rt       *runtime
	tbl      keyTable[K, ivState[A, B]]
	keys     keyCodec[K]
	yield    func(Pair[K, A, B], error) bool
	lateness int64
	h        hasher
	kb       []byte
}

func (r *ivRun[K, A, B]) shape() string {
	s := fmt.Sprintf("interval-join [%d,%d]", r.op.lower, r.op.upper)
	if r.op.cfg.outer {
		s += " outer"
	}
	return s
}

func (r *ivRun[K, A, B]) live() int { return r.tbl.live() }

// aDone is when a left event's interval has passed; bDone when no left event still to come
// can match a right one.
func (r *ivRun[K, A, B]) aDone(t int64) int64 { return t + r.op.upper + 1 }
func (r *ivRun[K, A, B]) bDone(t int64) int64 { return t - r.op.lower + 1 }

func (r *ivRun[K, A, B]) addA(rec *Record[A], t, lateWM int64) bool {
	late := lateWM != minTime
	if late && t < lateWM-r.lateness {
		return false
	}
	e := r.tbl.upsert(r.op.ka(rec.Value))
	if e == nil {
		return true
	}
	a := ivA[A]{R: *rec, T: t}
	lo, hi := t+r.op.lower, t+r.op.upper
	for i := range e.st.bs {
		if b := &e.st.bs[i]; b.T >= lo && b.T <= hi {
			r.pair(e, &a, b)
		}
	}
	i := len(e.st.as)
	if late {
		i, _ = slices.BinarySearchFunc(e.st.as, t, func(x ivA[A], t int64) int {
			if x.T > t {
				return 1
			}
			return -1
		})
	}
	e.st.as = slices.Insert(e.st.as, i, a)
	if late && r.aDone(t) <= r.rt.wm {
		r.alone(e, &e.st.as[i])
	}
	r.arm(e)
	return true
}

func (r *ivRun[K, A, B]) addB(rec *Record[B], t, lateWM int64) bool {
	late := lateWM != minTime
	if late && t < lateWM-r.lateness {
		return false
	}
	e := r.tbl.upsert(r.op.kb(rec.Value))
	if e == nil {
		return true
	}
	b := ivB[B]{R: *rec, T: t}
	lo, hi := t-r.op.upper, t-r.op.lower
	for i := range e.st.as {
		if a := &e.st.as[i]; a.T >= lo && a.T <= hi {
			r.pair(e, a, &b)
		}
	}
	i := len(e.st.bs)
	if late {
		i, _ = slices.BinarySearchFunc(e.st.bs, t, func(x ivB[B], t int64) int {
			if x.T > t {
				return 1
			}
			return -1
		})
	}
	e.st.bs = slices.Insert(e.st.bs, i, b)
	r.arm(e)
	return true
}

// pair emits a with b; the first match of a left event already emitted alone replaces that.
func (r *ivRun[K, A, B]) pair(e *entry[K, ivState[A, B]], a *ivA[A], b *ivB[B]) {
	h := r.hash(e.key, a)
	h.event(1, b.R.Offset, b.R.ID)
	res := Pair[K, A, B]{ID: h.sum(), Kind: Insert, Key: e.key, A: a.R, B: b.R, HasB: true}
	a.Matched = true
	if !a.Alone.IsZero() {
		res.Kind, res.Replaces = Update, a.Alone
		a.Alone = ID{}
	}
	emit(r.rt, r.yield, res, res.Kind)
}

// alone emits a left event that found no match, for an outer join.
func (r *ivRun[K, A, B]) alone(e *entry[K, ivState[A, B]], a *ivA[A]) {
	if !r.op.cfg.outer || a.Matched || !a.Alone.IsZero() {
		return
	}
	h := r.hash(e.key, a)
	h.byte1('-')
	a.Alone = h.sum()
	emit(r.rt, r.yield, Pair[K, A, B]{ID: a.Alone, Kind: Insert, Key: e.key, A: a.R}, Insert)
}

func (r *ivRun[K, A, B]) hash(k K, a *ivA[A]) *hasher {
	r.h.begin("interval-join", r.rt.cfg.name)
	r.kb = r.keys.appendKey(r.kb[:0], k)
	r.h.key(r.kb)
	r.h.event(0, a.R.Offset, a.R.ID)
	return &r.h
}

// arm sets e's timer for its earliest event to expire, or for the earliest left event to be
// emitted alone.
func (r *ivRun[K, A, B]) arm(e *entry[K, ivState[A, B]]) {
	due := int64(maxTime)
	for i := range e.st.as {
		a := &e.st.as[i]
		if r.op.cfg.outer && !a.Matched && a.Alone.IsZero() {
			due = min(due, r.aDone(a.T))
		} else {
			due = min(due, r.aDone(a.T)+r.lateness)
		}
	}
	for i := range e.st.bs {
		due = min(due, r.bDone(e.st.bs[i].T)+r.lateness)
	}
	if due != maxTime {
		r.tbl.schedule(e, due)
	}
}

func (r *ivRun[K, A, B]) fire() {
	at, es, bucket := r.tbl.popDue()
	for _, e := range es {
		if r.rt.stopped {
			break
		}
		r.wake(e, at)
	}
	r.tbl.timers.recycle(bucket)
}

func (r *ivRun[K, A, B]) wake(e *entry[K, ivState[A, B]], at int64) {
	st := &e.st
	if len(st.as) == 0 && len(st.bs) == 0 {
		if e.flags&fLinger != 0 {
			r.tbl.remove(e)
		}
		return
	}
	as := st.as[:0]
	for i := range st.as {
		a := &st.as[i]
		if r.aDone(a.T) <= at {
			r.alone(e, a)
			if r.rt.stopped {
				return
			}
		}
		if r.aDone(a.T)+r.lateness > at {
			as = append(as, *a)
		}
	}
	clear(st.as[len(as):])
	st.as = as
	bs := st.bs[:0]
	for i := range st.bs {
		if r.bDone(st.bs[i].T)+r.lateness > at {
			bs = append(bs, st.bs[i])
		}
	}
	clear(st.bs[len(bs):])
	st.bs = bs
	r.tbl.markDirty(e)
	if len(st.as) == 0 && len(st.bs) == 0 {
		r.tbl.idle(e, at+max(r.op.upper-r.op.lower, 1))
		return
	}
	r.arm(e)
}

type ivJSON[A, B any] struct {
	Seq uint64   `json:"seq"`
	As  []ivA[A] `json:"as,omitempty"`
	Bs  []ivB[B] `json:"bs,omitempty"`
}

func (r *ivRun[K, A, B]) checkpoint(changes *[]Change) error {
	t := &r.tbl
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
			sk, err := r.keys.storeKey(e.key)
			if err != nil {
				return err
			}
			e.skey = sk
		}
		b, err := json.Marshal(ivJSON[A, B]{Seq: e.seq, As: e.st.as, Bs: e.st.bs})
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

func (r *ivRun[K, A, B]) restoreKey(skey string, value []byte) error {
	k, err := r.keys.parse(skey)
	if err != nil {
		return err
	}
	var v ivJSON[A, B]
	if err := json.Unmarshal(value, &v); err != nil {
		return err
	}
	if len(v.As) == 0 && len(v.Bs) == 0 {
		return fmt.Errorf("no events")
	}
	for i := range v.As {
		v.As[i].T = nanos(v.As[i].R.Time)
	}
	for i := range v.Bs {
		v.Bs[i].T = nanos(v.Bs[i].R.Time)
	}
	e := &entry[K, ivState[A, B]]{key: k, due: maxTime, seq: v.Seq, skey: skey, flags: fPersisted, st: ivState[A, B]{as: v.As, bs: v.Bs}}
	return r.tbl.restore(e)
}

func (r *ivRun[K, A, B]) restored() { r.tbl.restored(r.arm) }
