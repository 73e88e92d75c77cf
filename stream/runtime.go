package stream

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stats are an operator's counters. Counters survive restarts when the operator checkpoints.
type Stats struct {
	Records     uint64    // records processed in event-time order
	Late        uint64    // records that arrived behind the watermark, whatever became of them
	LateDropped uint64    // late records dropped
	LateOutput  uint64    // late records handed to WithLateOutput
	Skipped     uint64    // records at or below their source's last offset: replays
	Results     uint64    // results emitted, of every Kind
	Updates     uint64    // of which Update
	Retractions uint64    // of which Retract
	Evicted     uint64    // keys whose state was dropped at the WithMaxKeys bound (EvictLRU)
	Refused     uint64    // events dropped at the key bound (RefuseNew) or the partial-match bound
	Keys        int       // keys with state now
	Checkpoints uint64    // checkpoints committed by this process
	Watermark   time.Time // the operator's watermark (zero before the first)
}

// counters are the task's own counts; statsBox is what Stats reads from other goroutines.
type counters struct {
	records, late, lateDropped, lateOutput, skipped uint64
	results, updates, retractions, evicted, refused uint64
	checkpoints                                     uint64
}

type statsBox struct {
	mu   sync.Mutex
	c    counters
	keys int
	wm   int64
}

func (s *statsBox) publish(c *counters, keys int, wm int64) {
	s.mu.Lock()
	s.c, s.keys, s.wm = *c, keys, wm
	s.mu.Unlock()
}

func (s *statsBox) get() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Records: s.c.records, Late: s.c.late, LateDropped: s.c.lateDropped, LateOutput: s.c.lateOutput,
		Skipped: s.c.skipped, Results: s.c.results, Updates: s.c.updates, Retractions: s.c.retractions,
		Evicted: s.c.evicted, Refused: s.c.refused, Keys: s.keys, Checkpoints: s.c.checkpoints,
	}
	if s.wm != minTime && s.wm != 0 {
		st.Watermark = fromNanos(s.wm)
	}
	return st
}

// operator is what the runtime drives: the state behind one Run.
type operator interface {
	shape() string // describes the operator's configuration; checkpoints of another shape are refused
	fire()         // fires the timers due at the earliest timer time
	live() int     // keys with state
	checkpoint(changes *[]Change) error
	restoreKey(skey string, value []byte) error
	restored() // after every key is restored
}

// input is the runtime's side of one source.
type input interface {
	base() *inputBase
	start(ctx context.Context, wg *sync.WaitGroup)
	drain()
	pendingLen() int
	process(limit int64)
	close()
	encodePending() ([]byte, error)
	decodePending([]byte) error
}

type inputBase struct {
	idx        int
	name       string
	bound      int64
	idle       time.Duration
	manual     bool
	maxSeen    int64  // newest event time drained
	explicit   int64  // newest watermark the source declared
	offset     uint64 // offset of the last record drained
	ended      bool
	lastActive time.Time
	pendDirty  bool
}

func (b *inputBase) watermark() int64 {
	if b.ended {
		return maxTime
	}
	w := b.explicit
	if !b.manual && b.maxSeen >= minTime+b.bound {
		w = max(w, b.maxSeen-b.bound)
	}
	return w
}

// runtime runs one pipeline: it takes what the sources hand over, keeps the watermark, and
// feeds records and timers to the operator in event-time order on the goroutine of the Run
// iterator's consumer.
type runtime struct {
	cfg      *config
	ctx      context.Context
	op       operator
	inputs   []input
	heads    []int64 // per input, the time of its next pending record (maxTime if none)
	wake     chan struct{}
	wm       int64 // processed watermark
	timerMin int64 // the operator's earliest timer, maxTime if none
	seq      *uint64
	stopped  bool
	err      error
	c        counters
	box      *statsBox
	acks     []chan struct{}
	lastCP   time.Time
	changed  bool
	helpers  sync.WaitGroup  // goroutines the operator started to share its work; run waits for them
	rooms    []chan struct{} // sources to wake once drainAll is done: their buffers have room again
}

func newRuntime(cfg *config, box *statsBox) *runtime {
	return &runtime{cfg: cfg, box: box, wake: make(chan struct{}, 1), wm: minTime, timerMin: maxTime}
}

// fail stops the pipeline with err.
func (rt *runtime) fail(err error) {
	if !rt.stopped {
		rt.stopped, rt.err = true, err
	}
}

// emit hands a result to the consumer; it returns false once the pipeline has stopped.
func emit[R any](rt *runtime, yield func(R, error) bool, r R, k Kind) bool {
	if rt.stopped {
		return false
	}
	rt.c.results++
	switch k {
	case Update:
		rt.c.updates++
	case Retract:
		rt.c.retractions++
	}
	if !yield(r, nil) {
		rt.stopped = true
		return false
	}
	return true
}

// addPort registers src as the next input. onRec processes a record in event-time order;
// onLate integrates a record late against watermark wm under LateUpdate, and reports whether
// it could (false: too late).
func addPort[T any](rt *runtime, src *Source[T], onRec func(*Record[T], int64), onLate func(*Record[T], int64, int64) bool) error {
	if src == nil {
		return &OptionError{Option: "Run", Value: nil, Reason: fmt.Sprintf("source %d is nil", len(rt.inputs))}
	}
	if src.err != nil {
		return src.err
	}
	p := &port[T]{rt: rt, src: src, onRec: onRec, onLate: onLate, lastT: minTime}
	p.idx = len(rt.inputs)
	p.name = src.cfg.name
	if p.name == "" {
		p.name = fmt.Sprintf("in%d", p.idx)
	}
	for _, in := range rt.inputs {
		if in.base().name == p.name {
			return &OptionError{Option: "Named", Value: p.name, Reason: "two sources of one pipeline have the same name"}
		}
	}
	p.bound, p.idle, p.manual = int64(src.cfg.bound), src.cfg.idle, src.cfg.manual
	p.maxSeen, p.explicit = minTime, minTime
	rt.inputs = append(rt.inputs, p)
	rt.heads = append(rt.heads, maxTime)
	return nil
}

// run restores the checkpoint, starts the sources and processes until every source has ended,
// ctx ends, the consumer stops or something fails.
func (rt *runtime) run(ctx context.Context) error {
	rt.ctx = ctx
	if err := ctx.Err(); err != nil {
		return err
	}
	if rt.cfg.store != nil {
		if err := rt.restore(ctx); err != nil {
			return err
		}
	}
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		for _, in := range rt.inputs {
			in.close()
		}
		wg.Wait()
		rt.helpers.Wait()
		rt.box.publish(&rt.c, rt.op.live(), rt.wm)
	}()
	now := rt.cfg.clock()
	rt.lastCP = now
	for _, in := range rt.inputs {
		in.base().lastActive = now
		in.start(sctx, &wg)
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		rt.drainAll()
		if !rt.stopped {
			rt.advance()
		}
		for _, a := range rt.acks {
			close(a)
		}
		rt.acks = rt.acks[:0]
		if rt.stopped {
			return rt.err
		}
		if ctx.Err() != nil {
			return rt.cancelled(ctx)
		}
		done := rt.wm == maxTime
		if rt.cfg.store != nil && rt.changed && (done || rt.cfg.clock().Sub(rt.lastCP) >= rt.cfg.every) {
			if err := rt.checkpoint(ctx); err != nil {
				return err
			}
		}
		rt.box.publish(&rt.c, rt.op.live(), rt.wm)
		if done {
			return nil
		}
		var tc <-chan time.Time
		if d, ok := rt.nextWake(); ok {
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			tc = timer.C
		}
		select {
		case <-rt.wake:
		case <-tc:
		case <-ctx.Done():
			return rt.cancelled(ctx)
		}
		if timer != nil && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// cancelled ends a run whose context ended: its state is consistent (every result of what it
// processed was delivered), so it checkpoints first.
func (rt *runtime) cancelled(ctx context.Context) error {
	if rt.cfg.store != nil && rt.changed {
		if err := rt.checkpoint(context.WithoutCancel(ctx)); err != nil {
			return err
		}
	}
	rt.box.publish(&rt.c, rt.op.live(), rt.wm)
	return ctx.Err()
}

// nextWake is how long until an input may turn idle or a checkpoint falls due.
func (rt *runtime) nextWake() (time.Duration, bool) {
	now := rt.cfg.clock()
	var best time.Duration
	ok := false
	take := func(d time.Duration) {
		d = max(d, time.Millisecond)
		if !ok || d < best {
			best, ok = d, true
		}
	}
	for _, in := range rt.inputs {
		b := in.base()
		if b.idle > 0 && !b.ended {
			if d := b.lastActive.Add(b.idle).Sub(now); d > 0 {
				take(d)
			}
		}
	}
	if rt.cfg.store != nil && rt.changed {
		take(rt.lastCP.Add(rt.cfg.every).Sub(now))
	}
	return best, ok
}

// combined is the pipeline's watermark: the smallest of the active sources'; when every source
// that has not ended is idle, the largest of theirs; maxTime once all have ended.
func (rt *runtime) combined(now time.Time) int64 {
	w, active := int64(maxTime), false
	idleMax, idle := int64(minTime), false
	for _, in := range rt.inputs {
		b := in.base()
		if b.ended {
			continue
		}
		if b.idle > 0 && now.Sub(b.lastActive) >= b.idle {
			idle = true
			idleMax = max(idleMax, b.watermark())
			continue
		}
		active = true
		w = min(w, b.watermark())
	}
	if !active && idle {
		w = idleMax
	}
	return max(w, rt.wm)
}

func (rt *runtime) advance() {
	w := rt.combined(rt.cfg.clock())
	if w <= rt.wm {
		return
	}
	rt.wm = w
	rt.changed = true
	rt.process(w)
}

// drainAll takes what the sources handed over, except from an input whose pending records
// already fill its buffer while it is not the one holding the watermark back. The sources that
// wait for room in their buffers are woken after every input is drained: woken earlier, each
// would be queued to run on this goroutine's processor, where the runtime's mutex does not
// spin, and this goroutine would park on the next source's lock instead of waiting out its few
// nanoseconds.
func (rt *runtime) drainAll() {
	cw := rt.combined(rt.cfg.clock())
	for _, in := range rt.inputs {
		if in.pendingLen() >= rt.cfg.buffer && in.base().watermark() > cw {
			continue
		}
		in.drain()
		if rt.stopped {
			break
		}
	}
	for i, r := range rt.rooms {
		close(r)
		rt.rooms[i] = nil
	}
	rt.rooms = rt.rooms[:0]
}

// process feeds the operator every pending record before w and every timer due at or before
// w, merged in time order: a timer before records of the same time, and among records of the
// same time, those of earlier inputs first (each input's own in offset order).
func (rt *runtime) process(w int64) {
	heads := rt.heads
	for !rt.stopped {
		// the input with the earliest record (ties: the lower index), and the limit before
		// which it may go on alone: the next record of another input, the next timer, w
		best, bt := -1, w
		limit := w
		for i := 0; i < len(heads); i++ {
			if t := heads[i]; t < bt {
				if best >= 0 {
					limit = bt // the previous best, of a lower index, comes first at its time
				}
				best, bt = i, t
			} else if t < limit {
				limit = t + 1 // a later input's record of the same time comes after (t < limit <= maxTime)
			}
		}
		tt := rt.timerMin
		if tt != maxTime && tt <= w && (best < 0 || tt <= bt) {
			rt.op.fire()
			continue
		}
		if best < 0 {
			return
		}
		rt.inputs[best].process(min(limit, tt))
	}
}

// late handles a record of input p behind the watermark wm (the pipeline's, or its source's
// own if that is further).
func late[T any](p *port[T], r *Record[T], t, wm int64) {
	rt := p.rt
	rt.c.late++
	if rt.cfg.late == LateUpdate && p.onLate != nil && p.onLate(r, t, wm) {
		return
	}
	if rt.cfg.lateOut == nil {
		rt.c.lateDropped++
		return
	}
	rt.c.lateOutput++
	l := Late{Source: p.name, Offset: r.Offset, ID: r.ID, Time: r.Time, Value: r.Value, Watermark: fromNanos(wm)}
	if err := rt.cfg.lateOut(rt.ctx, l); err != nil {
		rt.fail(err)
	}
}

// pending is a record with its event time in Unix nanoseconds.
type pending[T any] struct {
	t int64
	r Record[T]
}

// port is an input of type T. The source fills a bounded handoff buffer under mu; the task
// takes the whole buffer at once and queues it, as a chunk, among the input's pending records,
// which wait there until the watermark passes them. An input's pending records count against
// its buffer too: the task takes no more from a source that is ahead of the others, so a fast
// source waits for the slow one instead of filling memory.
// wmark is a watermark a source declared after the first pos records of its buffer.
type wmark struct {
	pos int
	t   int64
}

// The fields of a port fall in two groups, each on cache lines of its own: what the
// pipeline's goroutine uses as it processes records, and what the source's goroutine writes for
// every record it emits (the handoff, under mu). Sharing a cache line, the two goroutines would
// take it from each other's processor at every record.
type port[T any] struct {
	inputBase
	rt     *runtime
	src    *Source[T]
	onRec  func(*Record[T], int64)
	onLate func(*Record[T], int64, int64) bool

	chunks   [][]pending[T] // pending records: chunks[0][head:], then the other chunks
	head     int
	queued   int
	free     [][]pending[T]
	lastT    int64
	wmsSpare []wmark

	_       cacheLinePad
	mu      sync.Mutex
	buf     []pending[T]
	marks   []chan struct{}
	wms     []wmark // watermarks declared, each after the records before it in buf
	last    uint64  // last offset accepted
	skipped uint64
	done    bool  // the source has ended
	srcErr  error // ... with this error
	closed  bool  // the pipeline has stopped
	room    chan struct{}
	// copies of the runtime's settings, so that the source reads none of its cache lines
	capacity int
	clock    func() time.Time
	wake     chan struct{}
	_        cacheLinePad
}

// cacheLinePad keeps the fields before it and after it on different cache lines.
type cacheLinePad [64]byte

func (p *port[T]) base() *inputBase { return &p.inputBase }

func (p *port[T]) start(ctx context.Context, wg *sync.WaitGroup) {
	p.last = p.offset
	p.capacity, p.clock, p.wake = p.rt.cfg.buffer, p.rt.cfg.clock, p.rt.wake
	e := &Emitter[T]{port: p, watermark: p.mark, sync: p.sync}
	after := p.offset
	wg.Go(func() {
		err := p.src.run(ctx, after, e)
		if ctx.Err() != nil {
			err = nil
		}
		p.mu.Lock()
		p.done, p.srcErr = true, err
		p.mu.Unlock()
		p.notify()
	})
}

// push is Emit.
func (p *port[T]) push(ctx context.Context, r *Record[T]) error {
	if r.Time.IsZero() {
		r.Time = p.clock()
	}
	t := nanos(r.Time)
	p.mu.Lock()
	for {
		if p.closed {
			p.mu.Unlock()
			return ErrStopped
		}
		if len(p.buf) < p.capacity {
			break
		}
		if p.room == nil {
			p.room = make(chan struct{})
		}
		room := p.room
		p.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
		p.mu.Lock()
	}
	switch {
	case r.Offset == 0:
		p.last++
		r.Offset = p.last
	case r.Offset <= p.last:
		p.skipped++
		p.mu.Unlock()
		return nil
	default:
		p.last = r.Offset
	}
	if p.buf == nil {
		p.buf = make([]pending[T], 0, min(p.capacity, DefaultInputBuffer))
	}
	n := len(p.buf)
	if n < cap(p.buf) {
		p.buf = p.buf[:n+1] // the record is written in place, not built and copied
	} else {
		p.buf = append(p.buf, pending[T]{})
	}
	p.buf[n].t, p.buf[n].r = t, *r
	first := n == 0
	p.mu.Unlock()
	if first {
		p.notify()
	}
	return nil
}

func (p *port[T]) mark(ctx context.Context, t time.Time) error {
	n := nanos(t)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrStopped
	}
	p.wms = append(p.wms, wmark{pos: len(p.buf), t: n})
	p.mu.Unlock()
	p.notify()
	return nil
}

func (p *port[T]) sync(ctx context.Context) error {
	ack := make(chan struct{})
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrStopped
	}
	p.marks = append(p.marks, ack)
	p.mu.Unlock()
	p.notify()
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *port[T]) close() {
	p.mu.Lock()
	p.closed = true
	if p.room != nil {
		close(p.room)
		p.room = nil
	}
	for _, a := range p.marks {
		close(a)
	}
	p.marks = nil
	p.mu.Unlock()
}

// notify wakes the pipeline's goroutine.
func (p *port[T]) notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *port[T]) pendingLen() int { return p.queued }

func (p *port[T]) drain() {
	rt := p.rt
	var next []pending[T]
	if n := len(p.free); n > 0 {
		next, p.free = p.free[n-1], p.free[:n-1]
	}
	p.mu.Lock()
	taken := p.buf
	p.buf = next
	rt.acks = append(rt.acks, p.marks...)
	p.marks = p.marks[:0]
	wms := p.wms
	p.wms = p.wmsSpare[:0]
	done, srcErr := p.done, p.srcErr
	rt.c.skipped += p.skipped
	p.skipped = 0
	if p.room != nil {
		// the source waits for room: it is woken once every input is drained (see drainAll)
		rt.rooms = append(rt.rooms, p.room)
		p.room = nil
	}
	p.mu.Unlock()
	p.wmsSpare = wms[:0]
	if srcErr != nil {
		rt.fail(&SourceError{Source: p.name, Err: srcErr})
		return
	}
	active := len(taken) > 0 || len(wms) > 0
	sorted := true
	w := 0
	// weff is the watermark a record must not be behind: the pipeline's, or the source's own
	// if further (a record behind that broke the source's OutOfOrder bound, or came after a
	// watermark it declared).
	weff := max(rt.wm, p.watermark())
	for i := range taken {
		for len(wms) > 0 && wms[0].pos <= i {
			p.explicit = max(p.explicit, wms[0].t)
			weff = max(weff, p.explicit)
			wms = wms[1:]
		}
		pr := &taken[i]
		p.offset = pr.r.Offset
		if pr.t < weff {
			late(p, &pr.r, pr.t, weff)
			if rt.stopped {
				return
			}
			continue
		}
		if pr.t > p.maxSeen {
			p.maxSeen = pr.t
			if !p.manual && pr.t-p.bound > weff {
				weff = pr.t - p.bound
			}
		}
		if pr.t < p.lastT {
			sorted = false
		}
		p.lastT = pr.t
		if w != i {
			taken[w] = *pr
		}
		w++
	}
	for _, m := range wms {
		p.explicit = max(p.explicit, m.t)
	}
	if w > 0 {
		clear(taken[w:])
		if n := len(p.chunks); n > 0 && (n > 1 || p.head == 0) && w <= cap(p.chunks[n-1])-len(p.chunks[n-1]) {
			// a small batch joins the last chunk, so that chunks stay few and full
			p.chunks[n-1] = append(p.chunks[n-1], taken[:w]...)
			clear(taken[:w])
			p.free = append(p.free, taken[:0])
		} else {
			p.chunks = append(p.chunks, taken[:w])
		}
		p.queued += w
		rt.changed = true
		p.pendDirty = true
		if !sorted {
			p.sort()
		}
		p.setHead()
	} else if taken != nil {
		clear(taken)
		p.free = append(p.free, taken[:0])
	}
	if active {
		rt.changed = true
		p.lastActive = rt.cfg.clock()
	}
	if done && !p.ended {
		p.ended = true
		rt.changed = true
	}
}

// sort brings every pending record into one chunk, in event-time order (records of the same
// time keep their offset order).
func (p *port[T]) sort() {
	all := make([]pending[T], 0, p.queued)
	for i, c := range p.chunks {
		if i == 0 {
			c = c[p.head:]
		}
		all = append(all, c...)
	}
	slices.SortStableFunc(all, func(a, b pending[T]) int { return cmp.Compare(a.t, b.t) })
	clear(p.chunks)
	p.chunks, p.head = append(p.chunks[:0], all), 0
	p.lastT = all[len(all)-1].t
}

// setHead publishes the time of the next pending record in rt.heads.
func (p *port[T]) setHead() {
	if len(p.chunks) == 0 {
		p.rt.heads[p.idx] = maxTime
		return
	}
	p.rt.heads[p.idx] = p.chunks[0][p.head].t
}

func (p *port[T]) process(limit int64) {
	rt := p.rt
	for len(p.chunks) > 0 {
		c := p.chunks[0]
		for i := p.head; i < len(c); {
			pr := &c[i]
			if pr.t >= limit || pr.t >= rt.timerMin || rt.stopped {
				rt.heads[p.idx] = pr.t
				p.pendDirty = true
				return
			}
			i++
			p.head = i
			p.queued--
			rt.c.records++
			p.onRec(&pr.r, pr.t)
		}
		// A recycled chunk is not cleared: the records it holds are overwritten when it is
		// filled again. Until then they keep their values alive: the free chunks hold no more
		// records than were once pending together, a few buffers' worth.
		if cap(c) <= 2*rt.cfg.buffer {
			p.free = append(p.free, c[:0])
		}
		n := copy(p.chunks, p.chunks[1:])
		p.chunks[n] = nil
		p.chunks, p.head = p.chunks[:n], 0
	}
	rt.heads[p.idx] = maxTime
	p.pendDirty = true
}

func (p *port[T]) encodePending() ([]byte, error) {
	recs := make([]Record[T], 0, p.queued)
	for i, c := range p.chunks {
		if i == 0 {
			c = c[p.head:]
		}
		for j := range c {
			recs = append(recs, c[j].r)
		}
	}
	return json.Marshal(recs)
}

func (p *port[T]) decodePending(b []byte) error {
	var recs []Record[T]
	if err := json.Unmarshal(b, &recs); err != nil {
		return err
	}
	c := make([]pending[T], 0, len(recs))
	for _, r := range recs {
		if r.Offset == 0 {
			return fmt.Errorf("pending record without offset")
		}
		c = append(c, pending[T]{t: nanos(r.Time), r: r})
	}
	p.chunks, p.head, p.queued, p.lastT = nil, 0, len(c), minTime
	if len(c) > 0 {
		p.chunks = [][]pending[T]{c}
		p.sort()
	}
	p.setHead()
	return nil
}

// Checkpoint layout in the Store, under the pipeline's name: "m" holds cpMeta, "p/<source>"
// the source's records that were received but not yet processed, "k/<key>" one key's state.
const cpVersion = 1

type cpMeta struct {
	Version   int       `json:"version"`
	Shape     string    `json:"shape"`
	Watermark int64     `json:"watermark"`
	Seq       uint64    `json:"seq"`
	Inputs    []cpInput `json:"inputs"`
	Counters  cpCounts  `json:"counters"`
}

type cpInput struct {
	Name     string `json:"name"`
	Offset   uint64 `json:"offset"`
	MaxSeen  int64  `json:"max_seen"`
	Explicit int64  `json:"explicit"`
}

type cpCounts struct {
	Records, Late, LateDropped, LateOutput, Skipped uint64
	Results, Updates, Retractions, Evicted, Refused uint64
}

func (rt *runtime) checkpoint(ctx context.Context) error {
	var changes []Change
	if err := rt.op.checkpoint(&changes); err != nil {
		return fmt.Errorf("stream: checkpoint %q: %w", rt.cfg.name, err)
	}
	wm := rt.wm
	if wm == maxTime {
		// Every source ended and every window was emitted. A later Run (sources that resume
		// after their offsets) goes on from the newest event time seen, not from the end of
		// time, which would make everything it reads late.
		wm = minTime
		for _, in := range rt.inputs {
			if b := in.base(); b.maxSeen != minTime {
				wm = max(wm, b.maxSeen+1, b.explicit)
			}
		}
	}
	meta := cpMeta{Version: cpVersion, Shape: rt.op.shape(), Watermark: wm, Seq: *rt.seq,
		Counters: cpCounts{rt.c.records, rt.c.late, rt.c.lateDropped, rt.c.lateOutput, rt.c.skipped,
			rt.c.results, rt.c.updates, rt.c.retractions, rt.c.evicted, rt.c.refused}}
	for _, in := range rt.inputs {
		b := in.base()
		meta.Inputs = append(meta.Inputs, cpInput{Name: b.name, Offset: b.offset, MaxSeen: b.maxSeen, Explicit: b.explicit})
		if b.pendDirty {
			v, err := in.encodePending()
			if err != nil {
				return fmt.Errorf("stream: checkpoint %q: source %q: %w", rt.cfg.name, b.name, err)
			}
			changes = append(changes, Change{Key: "p/" + b.name, Value: v})
			b.pendDirty = false
		}
	}
	mv, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	changes = append(changes, Change{Key: "m", Value: mv})
	if err := rt.cfg.store.Commit(ctx, rt.cfg.name, changes); err != nil {
		return fmt.Errorf("stream: checkpoint %q: %w", rt.cfg.name, err)
	}
	rt.c.checkpoints++
	rt.changed = false
	rt.lastCP = rt.cfg.clock()
	rt.cfg.logger.Debug("stream: checkpoint", "pipeline", rt.cfg.name, "changes", len(changes), "watermark", rt.wm)
	return nil
}

func (rt *runtime) restore(ctx context.Context) error {
	var meta *cpMeta
	pend := map[string][]byte{}
	n := 0
	bad := func(key, reason string, err error) error {
		return &CheckpointError{Pipeline: rt.cfg.name, Key: key, Reason: reason, Err: err}
	}
	err := rt.cfg.store.Load(ctx, rt.cfg.name, func(key string, value []byte) error {
		n++
		switch {
		case key == "m":
			meta = new(cpMeta)
			if err := json.Unmarshal(value, meta); err != nil {
				return bad(key, "malformed metadata", err)
			}
		case strings.HasPrefix(key, "p/"):
			pend[key[2:]] = slices.Clone(value)
		case strings.HasPrefix(key, "k/"):
			if err := rt.op.restoreKey(key, value); err != nil {
				return bad(key, "malformed key state", err)
			}
		default:
			return bad(key, "unknown entry", nil)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	switch {
	case meta == nil:
		return bad("m", "missing metadata", nil)
	case meta.Version != cpVersion:
		return bad("m", fmt.Sprintf("version %d, this code reads %d", meta.Version, cpVersion), nil)
	case meta.Shape != rt.op.shape():
		return bad("m", fmt.Sprintf("written by %s, this operator is %s", meta.Shape, rt.op.shape()), nil)
	}
	byName := map[string]input{}
	for _, in := range rt.inputs {
		byName[in.base().name] = in
	}
	for _, ci := range meta.Inputs {
		in, ok := byName[ci.Name]
		if !ok {
			return bad("m", fmt.Sprintf("source %q of the checkpoint is not among the sources of this run", ci.Name), nil)
		}
		b := in.base()
		b.offset, b.maxSeen, b.explicit = ci.Offset, ci.MaxSeen, ci.Explicit
		if v, ok := pend[ci.Name]; ok {
			if err := in.decodePending(v); err != nil {
				return bad("p/"+ci.Name, "malformed pending records", err)
			}
			delete(pend, ci.Name)
		}
	}
	if len(pend) > 0 {
		return bad("p/"+slices.Sorted(maps.Keys(pend))[0], "pending records of an unknown source", nil)
	}
	rt.wm = meta.Watermark
	*rt.seq = meta.Seq
	c := meta.Counters
	rt.c = counters{records: c.Records, late: c.Late, lateDropped: c.LateDropped, lateOutput: c.LateOutput,
		skipped: c.Skipped, results: c.Results, updates: c.Updates, retractions: c.Retractions,
		evicted: c.Evicted, refused: c.Refused}
	rt.op.restored()
	rt.cfg.logger.Debug("stream: restored", "pipeline", rt.cfg.name, "entries", n, "watermark", rt.wm)
	return nil
}

// running guards an operator against two concurrent runs.
type running struct{ on atomic.Bool }

func (r *running) enter() bool { return r.on.CompareAndSwap(false, true) }
func (r *running) leave()      { r.on.Store(false) }
