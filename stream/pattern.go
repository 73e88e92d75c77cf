package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"time"
)

// Pattern is a sequence of steps that events of one key must match, in event-time order. Build
// one with Begin and the methods below (which modify and return the pattern); a Matcher finds
// its matches.
//
// Semantics. Every event that satisfies the first step starts a partial match (up to
// WithMaxPartials per key). A partial match takes, for each following step, the first later
// event that satisfies it; events that satisfy nothing it waits for are skipped ("followed
// by", relaxed contiguity). An event that satisfies both the next step and a repetition of the
// current one advances the match. A partial match whose first and last events would be more
// than Within apart is dropped. The match is complete when its last step has its minimum
// number of events; with trailing NotThen steps, it is emitted once Within has passed without
// such an event.
type Pattern[T any] struct {
	steps  []pstep[T]
	within time.Duration
	err    *PatternError
}

type pstep[T any] struct {
	name     string
	cond     func(T) bool
	where    func(T, Partial[T]) bool
	min, max int // max < 0: unbounded
	neg      bool
}

// Begin starts a pattern with a step named name that events satisfying cond match.
func Begin[T any](name string, cond func(T) bool) *Pattern[T] {
	return (&Pattern[T]{}).add(name, cond, false)
}

// Then adds a step: after the previous step, an event satisfying cond.
func (p *Pattern[T]) Then(name string, cond func(T) bool) *Pattern[T] {
	return p.add(name, cond, false)
}

// NotThen adds a negation: no event satisfying cond between the events of the steps around it
// ("no link before the payment"). As the last step, no such event within Within of the
// match's first event; the match is then emitted when Within has passed. A negation must sit
// between steps that are not optional.
func (p *Pattern[T]) NotThen(name string, cond func(T) bool) *Pattern[T] {
	return p.add(name, cond, true)
}

func (p *Pattern[T]) add(name string, cond func(T) bool, neg bool) *Pattern[T] {
	switch {
	case p.err != nil:
	case name == "":
		p.err = &PatternError{Reason: fmt.Sprintf("step %d has no name", len(p.steps)+1)}
	case cond == nil:
		p.err = &PatternError{Step: name, Reason: "nil condition"}
	}
	for _, s := range p.steps {
		if s.name == name && p.err == nil {
			p.err = &PatternError{Step: name, Reason: "two steps have this name"}
		}
	}
	p.steps = append(p.steps, pstep[T]{name: name, cond: cond, min: 1, max: 1, neg: neg})
	return p
}

func (p *Pattern[T]) last(what string) *pstep[T] {
	if len(p.steps) == 0 {
		if p.err == nil {
			p.err = &PatternError{Reason: what + " before any step"}
		}
		return nil
	}
	return &p.steps[len(p.steps)-1]
}

// Where adds a condition on the last step that can look at the events the partial match has
// taken so far, such as "a transaction from the address the link named".
func (p *Pattern[T]) Where(f func(e T, m Partial[T]) bool) *Pattern[T] {
	if s := p.last("Where"); s != nil {
		if f == nil && p.err == nil {
			p.err = &PatternError{Step: s.name, Reason: "nil Where condition"}
		}
		s.where = f
	}
	return p
}

// Optional makes the last step optional: the match may go on without it.
func (p *Pattern[T]) Optional() *Pattern[T] { return p.Times(0, 1) }

// OneOrMore makes the last step take one or more events.
func (p *Pattern[T]) OneOrMore() *Pattern[T] { return p.Times(1, -1) }

// Times makes the last step take between min and max events (max < 0: no limit); min 0 makes
// it optional.
func (p *Pattern[T]) Times(min, max int) *Pattern[T] {
	if s := p.last("Times"); s != nil {
		switch {
		case p.err != nil:
		case s.neg:
			p.err = &PatternError{Step: s.name, Reason: "a negation cannot repeat or be optional"}
		case min < 0 || max == 0 || max > 0 && max < min:
			p.err = &PatternError{Step: s.name, Reason: fmt.Sprintf("Times(%d, %d): need 0 <= min <= max, max >= 1 or < 0", min, max)}
		}
		s.min, s.max = min, max
	}
	return p
}

// Within bounds the time between a match's first and last events.
func (p *Pattern[T]) Within(d time.Duration) *Pattern[T] {
	if d <= 0 && p.err == nil {
		p.err = &PatternError{Reason: "Within must be positive"}
	}
	p.within = d
	return p
}

// String describes the pattern.
func (p *Pattern[T]) String() string {
	s := ""
	for i, st := range p.steps {
		if i > 0 {
			s += " -> "
		}
		if st.neg {
			s += "!"
		}
		s += st.name
		switch {
		case st.min == 1 && st.max == 1:
		case st.min == 0 && st.max == 1:
			s += "?"
		case st.max < 0:
			s += fmt.Sprintf("{%d,}", st.min)
		default:
			s += fmt.Sprintf("{%d,%d}", st.min, st.max)
		}
	}
	if p.within > 0 {
		s += " within " + p.within.String()
	}
	return s
}

// compiled is a validated pattern with, for each positive step, the steps a partial match
// there may advance to and the negations that kill it.
type compiled[T any] struct {
	steps    []pstep[T]
	names    []string
	reach    [][]int // positive step -> positive steps it may advance to (optional ones skipped)
	guards   [][]int // positive step -> negations right after it
	lastPos  int
	trailing bool // negations after the last positive step
	within   int64
	size     int // events in a match of the steps' minimum counts (at least 1 per positive step)
}

func (p *Pattern[T]) compile() (*compiled[T], error) {
	if p == nil || len(p.steps) == 0 {
		return nil, &PatternError{Reason: "no steps"}
	}
	if p.err != nil {
		return nil, p.err
	}
	st := p.steps
	c := &compiled[T]{steps: st, within: int64(p.within), reach: make([][]int, len(st)), guards: make([][]int, len(st))}
	for _, s := range st {
		c.names = append(c.names, s.name)
	}
	if st[0].neg || st[0].min == 0 {
		return nil, &PatternError{Step: st[0].name, Reason: "the first step must be a positive, non-optional step"}
	}
	c.lastPos = -1
	for i := len(st) - 1; i >= 0; i-- {
		if !st[i].neg {
			c.lastPos = i
			break
		}
	}
	if st[c.lastPos].min == 0 {
		return nil, &PatternError{Step: st[c.lastPos].name, Reason: "the last positive step cannot be optional"}
	}
	c.trailing = c.lastPos < len(st)-1
	for _, s := range st {
		if !s.neg {
			c.size += max(s.min, 1)
		}
	}
	if c.trailing && p.within <= 0 {
		return nil, &PatternError{Step: st[len(st)-1].name, Reason: "a trailing negation needs Within"}
	}
	for i, s := range st {
		if !s.neg {
			continue
		}
		prev, next := i-1, i+1
		for prev >= 0 && st[prev].neg {
			prev--
		}
		for next < len(st) && st[next].neg {
			next++
		}
		if st[prev].min == 0 || next < len(st) && st[next].min == 0 {
			return nil, &PatternError{Step: s.name, Reason: "a negation must sit between steps that are not optional"}
		}
	}
	for i, s := range st {
		if s.neg {
			continue
		}
		j := i + 1
		for ; j < len(st) && st[j].neg; j++ {
			c.guards[i] = append(c.guards[i], j)
		}
		for ; j < len(st); j++ {
			if st[j].neg {
				break
			}
			c.reach[i] = append(c.reach[i], j)
			if st[j].min > 0 {
				break
			}
		}
	}
	return c, nil
}

// Partial is the view of a partial match that a Where condition gets.
type Partial[T any] struct {
	evs   []mevent[T]
	names []string
}

// Len is the number of events taken so far.
func (m Partial[T]) Len() int { return len(m.evs) }

// Last returns the latest event taken by the named step.
func (m Partial[T]) Last(step string) (Record[T], bool) {
	for i := len(m.evs) - 1; i >= 0; i-- {
		if m.names[m.evs[i].Step] == step {
			return m.evs[i].R, true
		}
	}
	return Record[T]{}, false
}

// All yields the events taken so far with their step names, in order.
func (m Partial[T]) All() iter.Seq2[string, Record[T]] {
	return func(yield func(string, Record[T]) bool) {
		for i := range m.evs {
			if !yield(m.names[m.evs[i].Step], m.evs[i].R) {
				return
			}
		}
	}
}

// Matched is an event of a match with the step it matched.
type Matched[T any] struct {
	Step string
	Record[T]
}

// Match is a completed pattern for one key, with the events that made it.
type Match[K comparable, T any] struct {
	ID       ID
	Kind     Kind
	Replaces ID // the match a Retract withdraws
	Key      K
	Start    time.Time    // time of its first event
	End      time.Time    // time of its last event
	Events   []Matched[T] // in order; steps that repeat appear once per event
}

// Step returns the events of the named step.
func (m Match[K, T]) Step(name string) []Record[T] {
	var out []Record[T]
	for _, e := range m.Events {
		if e.Step == name {
			out = append(out, e.Record)
		}
	}
	return out
}

// Matcher detects a Pattern in the events of each key. Create one with NewMatcher.
type Matcher[K comparable, T any] struct {
	cfg   config
	key   func(T) K
	pat   *compiled[T]
	desc  string
	run   running
	stats statsBox
}

// NewMatcher returns a matcher of p over the events of each key (key extracts it). Under
// LateUpdate, a late event within the allowed lateness makes the matcher recompute the key's
// matches over the events it keeps (Within plus the allowed lateness): matches that no longer
// hold are retracted and new ones emitted; this needs Within.
func NewMatcher[K comparable, T any](key func(T) K, p *Pattern[T], opts ...Option) (*Matcher[K, T], error) {
	cfg, err := newConfig("matcher", optMaxPartials|optAllMatches, opts)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return nil, &OptionError{Option: "NewMatcher", Value: nil, Reason: "nil key function"}
	}
	c, err := p.compile()
	if err != nil {
		return nil, err
	}
	if cfg.late == LateUpdate && c.within <= 0 {
		return nil, &OptionError{Option: "WithLatePolicy", Value: cfg.late, Reason: "LateUpdate needs a pattern with Within"}
	}
	return &Matcher[K, T]{cfg: cfg, key: key, pat: c, desc: p.String()}, nil
}

// Stats returns the operator's counters.
func (m *Matcher[K, T]) Stats() Stats { return m.stats.get() }

// Run matches the records of srcs, merged in event-time order, and yields the matches; see
// Aggregate.Run for how it ends.
func (m *Matcher[K, T]) Run(ctx context.Context, srcs ...*Source[T]) iter.Seq2[Match[K, T], error] {
	return func(yield func(Match[K, T], error) bool) {
		var zero Match[K, T]
		if !m.run.enter() {
			yield(zero, ErrRunning)
			return
		}
		defer m.run.leave()
		if len(srcs) == 0 || len(srcs) > 255 {
			yield(zero, &OptionError{Option: "Run", Value: len(srcs), Reason: "a matcher takes 1 to 255 sources"})
			return
		}
		rt := newRuntime(&m.cfg, &m.stats)
		r := &matchRun[K, T]{op: m, rt: rt, p: m.pat, yield: yield, hist: m.cfg.late == LateUpdate,
			lateness: int64(m.cfg.lateness)}
		rt.op = r
		r.tbl.init(rt)
		if m.pat.within > 0 {
			r.tbl.gran = timerGran(m.pat.within)
		}
		rt.seq = &r.tbl.seq
		r.keys = newKeyCodec[K]()
		for i, s := range srcs {
			err := addPort(rt, s,
				func(rec *Record[T], t int64) { r.add(uint8(i), rec, t) },
				func(rec *Record[T], t, wm int64) bool { return r.addLate(uint8(i), rec, t, wm) })
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

type mevent[T any] struct {
	Step int       `json:"s"`
	Src  uint8     `json:"src"`
	R    Record[T] `json:"r"`
	t    int64
}

type partial[T any] struct {
	Start int64       `json:"start"`
	Pos   int         `json:"pos"`
	Count int         `json:"count"`
	Wait  bool        `json:"wait,omitempty"`
	Evs   []mevent[T] `json:"evs"`
}

type hevent[T any] struct {
	Src uint8     `json:"src"`
	R   Record[T] `json:"r"`
	t   int64
}

type outMatch struct {
	ID   ID    `json:"id"`
	Last int64 `json:"last"`
}

type patState[T any] struct {
	Parts []partial[T] `json:"parts,omitempty"`
	Hist  []hevent[T]  `json:"hist,omitempty"` // LateUpdate: the key's recent events
	Out   []outMatch   `json:"out,omitempty"`  // LateUpdate: matches emitted recently
}

type matchRun[K comparable, T any] struct {
	op       *Matcher[K, T]
	rt       *runtime
	p        *compiled[T]
	tbl      keyTable[K, patState[T]]
	keys     keyCodec[K]
	yield    func(Match[K, T], error) bool
	hist     bool
	lateness int64
	h        hasher
	kb       []byte
	// replay, when non-nil, collects matches instead of emitting them
	replay *[]Match[K, T]
}

func (r *matchRun[K, T]) shape() string { return "matcher " + r.op.desc }
func (r *matchRun[K, T]) live() int     { return r.tbl.live() }

func (r *matchRun[K, T]) add(src uint8, rec *Record[T], t int64) {
	k := r.op.key(rec.Value)
	e := r.tbl.get(k)
	if e == nil {
		// Without state, only an event that starts a match needs some.
		if !r.hist && !r.starts(rec.Value) {
			return
		}
		if e = r.tbl.upsert(k); e == nil {
			return
		}
	}
	if r.hist {
		e.st.Hist = append(e.st.Hist, hevent[T]{Src: src, R: *rec, t: t})
	}
	r.step(e, src, rec, t)
	r.settle(e, t)
}

func (r *matchRun[K, T]) starts(v T) bool {
	s0 := &r.p.steps[0]
	return s0.cond(v) && (s0.where == nil || s0.where(v, Partial[T]{names: r.p.names}))
}

// settle sets e's timer, or lets e linger when it holds nothing.
func (r *matchRun[K, T]) settle(e *entry[K, patState[T]], now int64) {
	if len(e.st.Parts) == 0 && len(e.st.Hist) == 0 && len(e.st.Out) == 0 {
		r.tbl.idle(e, now+max(r.p.within, int64(time.Minute)))
		return
	}
	r.arm(e)
}

// step feeds one event to the partial matches of e and may start a new one.
func (r *matchRun[K, T]) step(e *entry[K, patState[T]], src uint8, rec *Record[T], t int64) {
	p, st := r.p, &e.st
	completed := false
	parts := st.Parts[:0]
	for i := range st.Parts {
		pm := &st.Parts[i]
		if p.within > 0 && t-pm.Start > p.within {
			// past Within (its timer is late): a match waiting out a trailing negation is
			// complete, the others are dropped
			if pm.Wait {
				r.complete(e, pm)
				completed = true
				if !r.op.cfg.allMatches {
					break
				}
			}
			continue
		}
		switch r.feed(pm, src, rec, t) {
		case keep:
			parts = append(parts, *pm)
		case done:
			r.complete(e, pm)
			completed = true
		}
		if completed && !r.op.cfg.allMatches {
			// skip past the match: every other partial match started before its end
			break
		}
	}
	clear(st.Parts[len(parts):])
	st.Parts = parts
	if completed && !r.op.cfg.allMatches {
		clear(st.Parts)
		st.Parts = st.Parts[:0]
		return
	}
	if r.starts(rec.Value) {
		if len(st.Parts) >= r.op.cfg.maxPartials {
			if r.replay == nil {
				r.rt.c.refused++
			}
			return
		}
		evs := make([]mevent[T], 1, r.p.size)
		evs[0] = mevent[T]{Step: 0, Src: src, R: *rec, t: t}
		pm := partial[T]{Start: t, Pos: 0, Count: 1, Evs: evs}
		switch r.check(&pm) {
		case keep:
			st.Parts = append(st.Parts, pm)
		case done:
			r.complete(e, &pm)
			if !r.op.cfg.allMatches {
				clear(st.Parts)
				st.Parts = st.Parts[:0]
			}
		}
	}
}

type outcome uint8

const (
	keep outcome = iota
	kill
	done
)

func (r *matchRun[K, T]) sat(s *pstep[T], v T, pm *partial[T]) bool {
	return s.cond(v) && (s.where == nil || s.where(v, Partial[T]{evs: pm.Evs, names: r.p.names}))
}

// feed offers an event to one partial match.
func (r *matchRun[K, T]) feed(pm *partial[T], src uint8, rec *Record[T], t int64) outcome {
	p := r.p
	if pm.Wait {
		for _, g := range p.guards[pm.Pos] {
			if r.sat(&p.steps[g], rec.Value, pm) {
				return kill
			}
		}
		return keep
	}
	cur := &p.steps[pm.Pos]
	if pm.Count >= cur.min {
		for _, j := range p.reach[pm.Pos] {
			if r.sat(&p.steps[j], rec.Value, pm) {
				pm.Pos, pm.Count = j, 1
				pm.Evs = append(pm.Evs, mevent[T]{Step: j, Src: src, R: *rec, t: t})
				return r.check(pm)
			}
		}
	}
	for _, g := range p.guards[pm.Pos] {
		if r.sat(&p.steps[g], rec.Value, pm) {
			return kill
		}
	}
	if (cur.max < 0 || pm.Count < cur.max) && r.sat(cur, rec.Value, pm) {
		pm.Count++
		pm.Evs = append(pm.Evs, mevent[T]{Step: pm.Pos, Src: src, R: *rec, t: t})
		return r.check(pm)
	}
	return keep
}

// check reports whether pm is complete: done, or waiting out a trailing negation (keep).
func (r *matchRun[K, T]) check(pm *partial[T]) outcome {
	p := r.p
	if pm.Pos != p.lastPos || pm.Count < p.steps[pm.Pos].min {
		return keep
	}
	if p.trailing {
		pm.Wait = true
		return keep
	}
	return done
}

// complete emits (or, replaying, collects) the match pm.
func (r *matchRun[K, T]) complete(e *entry[K, patState[T]], pm *partial[T]) {
	h := &r.h
	h.begin("matcher", r.rt.cfg.name)
	r.kb = r.keys.appendKey(r.kb[:0], e.key)
	h.key(r.kb)
	evs := make([]Matched[T], len(pm.Evs))
	for i := range pm.Evs {
		ev := &pm.Evs[i]
		h.u64(uint64(ev.Step))
		h.event(int(ev.Src), ev.R.Offset, ev.R.ID)
		evs[i] = Matched[T]{Step: r.p.names[ev.Step], Record: ev.R}
	}
	m := Match[K, T]{ID: h.sum(), Kind: Insert, Key: e.key, Start: evs[0].Time, End: evs[len(evs)-1].Time, Events: evs}
	if r.replay != nil {
		*r.replay = append(*r.replay, m)
		return
	}
	if r.hist {
		e.st.Out = append(e.st.Out, outMatch{ID: m.ID, Last: pm.Evs[len(pm.Evs)-1].t})
	}
	emit(r.rt, r.yield, m, Insert)
}

// expire handles the partial matches of e whose Within has passed by at: waiting ones are
// complete, the others are dropped.
func (r *matchRun[K, T]) expire(e *entry[K, patState[T]], at int64) {
	if r.p.within <= 0 {
		return
	}
	st := &e.st
	parts := st.Parts[:0]
	var last int64 = minTime
	for i := range st.Parts {
		pm := &st.Parts[i]
		if pm.Start+r.p.within+1 > at {
			if r.op.cfg.allMatches || pm.Start > last {
				parts = append(parts, *pm)
			}
			continue
		}
		if pm.Wait {
			r.complete(e, pm)
			last = max(last, pm.Evs[len(pm.Evs)-1].t)
		}
	}
	clear(st.Parts[len(parts):])
	st.Parts = parts
	if last != minTime && !r.op.cfg.allMatches {
		// skip past the match: drop partial matches that started at or before its last event
		kept := st.Parts[:0]
		for _, pm := range st.Parts {
			if pm.Start > last {
				kept = append(kept, pm)
			}
		}
		clear(st.Parts[len(kept):])
		st.Parts = kept
	}
}

// arm sets e's timer: the earliest Within deadline, and under LateUpdate the time its oldest
// kept event or match can be forgotten.
func (r *matchRun[K, T]) arm(e *entry[K, patState[T]]) {
	due := int64(maxTime)
	if r.p.within > 0 {
		for i := range e.st.Parts {
			due = min(due, e.st.Parts[i].Start+r.p.within+1)
		}
	}
	if len(e.st.Hist) > 0 {
		due = min(due, e.st.Hist[0].t+r.p.within+r.lateness+1)
	}
	if len(e.st.Out) > 0 {
		due = min(due, e.st.Out[0].Last+r.lateness+1)
	}
	if due != maxTime {
		r.tbl.schedule(e, due)
	}
}

func (r *matchRun[K, T]) fire() {
	at, es, bucket := r.tbl.popDue()
	for _, e := range es {
		if r.rt.stopped {
			break
		}
		r.wake(e, at)
	}
	r.tbl.timers.recycle(bucket)
}

func (r *matchRun[K, T]) wake(e *entry[K, patState[T]], at int64) {
	st := &e.st
	if len(st.Parts) == 0 && len(st.Hist) == 0 && len(st.Out) == 0 {
		if e.flags&fLinger != 0 {
			r.tbl.remove(e)
		}
		return
	}
	r.expire(e, at)
	if r.rt.stopped {
		return
	}
	if r.hist {
		n := 0
		for n < len(st.Hist) && st.Hist[n].t+r.p.within+r.lateness+1 <= at {
			n++
		}
		st.Hist = slices.Delete(st.Hist, 0, n)
		n = 0
		for n < len(st.Out) && st.Out[n].Last+r.lateness+1 <= at {
			n++
		}
		st.Out = slices.Delete(st.Out, 0, n)
	}
	r.tbl.markDirty(e)
	r.settle(e, at)
}

// addLate integrates a late event under LateUpdate by recomputing the key's matches over its
// kept events: matches that no longer hold are retracted, new ones emitted.
func (r *matchRun[K, T]) addLate(src uint8, rec *Record[T], t, lateWM int64) bool {
	wm := r.rt.wm
	if !r.hist || t < lateWM-r.lateness {
		return false
	}
	k := r.op.key(rec.Value)
	e := r.tbl.upsert(k)
	if e == nil {
		return true
	}
	st := &e.st
	ev := hevent[T]{Src: src, R: *rec, t: t}
	i, _ := slices.BinarySearchFunc(st.Hist, ev, func(x, y hevent[T]) int {
		switch {
		case x.t != y.t:
			return cmpInt(x.t, y.t)
		case x.Src != y.Src:
			return cmpInt(int64(x.Src), int64(y.Src))
		}
		return cmpInt(int64(x.R.Offset), int64(y.R.Offset))
	})
	st.Hist = slices.Insert(st.Hist, i, ev)

	// Replay the kept events through a fresh state.
	var found []Match[K, T]
	r.replay = &found
	fresh := &entry[K, patState[T]]{key: k}
	for j := range st.Hist {
		h := &st.Hist[j]
		r.expire(fresh, h.t)
		r.step(fresh, h.Src, &h.R, h.t)
	}
	r.expire(fresh, wm)
	r.replay = nil

	old := map[ID]bool{}
	outs := st.Out[:0:0]
	for _, o := range st.Out {
		if o.Last >= t {
			old[o.ID] = true
		} else {
			outs = append(outs, o)
		}
	}
	var inserts []Match[K, T]
	for _, m := range found {
		last := nanos(m.End)
		if last < t {
			continue
		}
		outs = append(outs, outMatch{ID: m.ID, Last: last})
		if old[m.ID] {
			delete(old, m.ID)
		} else {
			inserts = append(inserts, m)
		}
	}
	for _, o := range st.Out {
		if old[o.ID] {
			emit(r.rt, r.yield, Match[K, T]{ID: derived(o.ID, "retract"), Kind: Retract, Replaces: o.ID, Key: k}, Retract)
		}
	}
	for _, m := range inserts {
		emit(r.rt, r.yield, m, Insert)
	}
	slices.SortStableFunc(outs, func(a, b outMatch) int { return cmpInt(a.Last, b.Last) })
	st.Out = outs
	st.Parts = fresh.st.Parts
	r.tbl.markDirty(e)
	r.settle(e, t)
	return true
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type patJSON[T any] struct {
	Seq uint64 `json:"seq"`
	patState[T]
}

func (r *matchRun[K, T]) checkpoint(changes *[]Change) error {
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
		b, err := json.Marshal(patJSON[T]{Seq: e.seq, patState: e.st})
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

func (r *matchRun[K, T]) restoreKey(skey string, value []byte) error {
	k, err := r.keys.parse(skey)
	if err != nil {
		return err
	}
	var v patJSON[T]
	if err := json.Unmarshal(value, &v); err != nil {
		return err
	}
	st := v.patState
	if len(st.Parts) == 0 && len(st.Hist) == 0 && len(st.Out) == 0 {
		return fmt.Errorf("empty state")
	}
	for i := range st.Parts {
		pm := &st.Parts[i]
		if pm.Pos < 0 || pm.Pos >= len(r.p.steps) || r.p.steps[pm.Pos].neg || pm.Count < 1 || len(pm.Evs) == 0 {
			return fmt.Errorf("malformed partial match")
		}
		for j := range pm.Evs {
			if s := pm.Evs[j].Step; s < 0 || s >= len(r.p.steps) {
				return fmt.Errorf("malformed partial match")
			}
			pm.Evs[j].t = nanos(pm.Evs[j].R.Time)
		}
	}
	for i := range st.Hist {
		st.Hist[i].t = nanos(st.Hist[i].R.Time)
	}
	e := &entry[K, patState[T]]{key: k, due: maxTime, seq: v.Seq, skey: skey, flags: fPersisted, st: st}
	return r.tbl.restore(e)
}

func (r *matchRun[K, T]) restored() { r.tbl.restored(r.arm) }
