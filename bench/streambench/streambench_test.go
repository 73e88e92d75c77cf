// Package streambench measures package stream against hand-written code doing the same work,
// side by side in one run: a three-stream keyed window join against a map-of-slices join (the
// ceiling), pattern detection over many live keys, and the memory each live key costs.
package streambench

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/anya-org/anya-go/stream"
)

const (
	liveKeys = 10_000
	window   = time.Minute
)

var base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type txEvent struct {
	Addr string
	Sat  int64
}

type linkEvent struct {
	Addr string
	DID  string
}

type scoreEvent struct {
	Addr string
	Risk float64
}

var keyNames = func() []string {
	ks := make([]string, liveKeys)
	for i := range ks {
		ks[i] = "bc1q" + strconv.Itoa(1_000_000+i)
	}
	return ks
}()

// The join input: event i, in event-time order, is on stream i%3, for key (i/3)%liveKeys, so
// each key gets one event of each stream per one-minute window (30,000 events a window).
// Events are generated from their index as they are read, by the operator's sources and by the
// anchor alike, so neither holds the whole input in memory.
const perWindow = 3 * liveKeys

var step = window / perWindow

func eventTime(i int) time.Time {
	return base.Add(time.Duration(i/perWindow)*window + time.Duration(i%perWindow)*step)
}

func eventKey(i int) string { return keyNames[i%perWindow/3] }

func txAt(i int) stream.Record[txEvent] {
	return stream.Record[txEvent]{Offset: uint64(i/3 + 1), Time: eventTime(i), Value: txEvent{Addr: eventKey(i), Sat: int64(i)}}
}

func linkAt(i int) stream.Record[linkEvent] {
	return stream.Record[linkEvent]{Offset: uint64(i/3 + 1), Time: eventTime(i), Value: linkEvent{Addr: eventKey(i), DID: "did:dht:x"}}
}

func scoreAt(i int) stream.Record[scoreEvent] {
	return stream.Record[scoreEvent]{Offset: uint64(i/3 + 1), Time: eventTime(i), Value: scoreEvent{Addr: eventKey(i), Risk: 0.5}}
}

// genSource emits the events i < n with i%3 == side.
func genSource[T any](n, side int, gen func(int) stream.Record[T], name string) *stream.Source[T] {
	return stream.NewSource(func(ctx context.Context, after uint64, e *stream.Emitter[T]) error {
		for i := side; i < n; i += 3 {
			if err := e.Emit(ctx, gen(i)); err != nil {
				return err
			}
		}
		return nil
	}, stream.Named(name))
}

func BenchmarkJoin3(b *testing.B) {
	b.Run("impl=anya", func(b *testing.B) { benchJoin3Anya(b, stream.WithReuse()) })
	b.Run("impl=anya-owned", func(b *testing.B) { benchJoin3Anya(b) })
	b.Run("impl=map", benchJoin3Map)
}

func benchJoin3Anya(b *testing.B, opts ...stream.Option) {
	n := max(b.N, 3)
	j, err := stream.NewJoin3(
		func(x txEvent) string { return x.Addr },
		func(l linkEvent) string { return l.Addr },
		func(s scoreEvent) string { return s.Addr },
		stream.Tumbling(window), opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	m := startMeter()
	results, events := 0, 0
	for r, err := range j.Run(context.Background(), genSource(n, 0, txAt, "bitcoin"), genSource(n, 1, linkAt, "web5"), genSource(n, 2, scoreAt, "ml")) {
		if err != nil {
			b.Fatal(err)
		}
		results++
		events += len(r.A) + len(r.B) + len(r.C)
	}
	b.StopTimer()
	m.report(b, b.N)
	checkJoined(b, results, events)
}

func checkJoined(b *testing.B, results, events int) {
	n := max(b.N, 3)
	full := n / (3 * liveKeys) * liveKeys
	rest := n % (3 * liveKeys) / 3
	if results != full+rest || events != 3*results {
		b.Fatalf("%d results of %d events, want %d of %d", results, events, full+rest, 3*(full+rest))
	}
}

// mapJoin is the hand-written ceiling: a map from key to the three sides' events of the current
// window, flushed when an event of a later window arrives. Events must come in time order.
type mapJoin struct {
	cur   int64
	state map[string]*sides
	emit  func(key string, s *sides)
}

type sides struct {
	txs    []stream.Record[txEvent]
	links  []stream.Record[linkEvent]
	scores []stream.Record[scoreEvent]
}

func (m *mapJoin) windowOf(t time.Time) int64 { return t.UnixNano() / int64(window) }

func (m *mapJoin) advance(t time.Time) {
	if w := m.windowOf(t); w != m.cur {
		m.flush()
		m.cur = w
	}
}

func (m *mapJoin) flush() {
	for k, s := range m.state {
		if len(s.txs) > 0 && len(s.links) > 0 && len(s.scores) > 0 {
			m.emit(k, s)
		}
		s.txs, s.links, s.scores = s.txs[:0], s.links[:0], s.scores[:0]
	}
}

func (m *mapJoin) get(k string) *sides {
	s, ok := m.state[k]
	if !ok {
		s = &sides{}
		m.state[k] = s
	}
	return s
}

func benchJoin3Map(b *testing.B) {
	n := max(b.N, 3)
	results, events := 0, 0
	m := &mapJoin{state: make(map[string]*sides), cur: -1, emit: func(k string, s *sides) {
		results++
		events += len(s.txs) + len(s.links) + len(s.scores)
	}}
	b.ReportAllocs()
	b.ResetTimer()
	met := startMeter()
	for i := range n {
		switch i % 3 {
		case 0:
			r := txAt(i)
			m.advance(r.Time)
			s := m.get(r.Value.Addr)
			s.txs = append(s.txs, r)
		case 1:
			r := linkAt(i)
			m.advance(r.Time)
			s := m.get(r.Value.Addr)
			s.links = append(s.links, r)
		default:
			r := scoreAt(i)
			m.advance(r.Time)
			s := m.get(r.Value.Addr)
			s.scores = append(s.scores, r)
		}
	}
	m.flush()
	b.StopTimer()
	met.report(b, n)
	checkJoined(b, results, events)
}

// meter reports events/s (wall) and cpu-ns/event for n events.
type meter struct {
	wall time.Time
	cpu  time.Duration
}

func startMeter() meter { return meter{wall: time.Now(), cpu: cpuTime()} }

func (m meter) report(b *testing.B, n int) {
	wall, cpu := time.Since(m.wall), cpuTime()-m.cpu
	b.ReportMetric(float64(n)/wall.Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/event")
}
