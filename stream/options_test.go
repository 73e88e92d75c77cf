package stream_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/anya-org/anya-go/stream"
)

func TestOptionErrors(t *testing.T) {
	count := stream.Count[tx]()
	late := func(context.Context, stream.Late) error { return nil }
	for _, tc := range []struct {
		name   string
		option string
		build  func() error
	}{
		{"empty name", "WithName", func() error { return agg(stream.WithName("")) }},
		{"nil clock", "WithClock", func() error { return agg(stream.WithClock(nil)) }},
		{"nil logger", "WithLogger", func() error { return agg(stream.WithLogger(nil)) }},
		{"nil store", "WithStore", func() error { return agg(stream.WithStore(nil)) }},
		{"negative checkpoint interval", "WithCheckpointInterval", func() error { return agg(stream.WithCheckpointInterval(-time.Second)) }},
		{"zero keys", "WithMaxKeys", func() error { return agg(stream.WithMaxKeys(0)) }},
		{"unknown eviction", "WithEviction", func() error { return agg(stream.WithEviction(7)) }},
		{"unknown late policy", "WithLatePolicy", func() error { return agg(stream.WithLatePolicy(9)) }},
		{"negative lateness", "WithAllowedLateness", func() error { return agg(stream.WithAllowedLateness(-1)) }},
		{"lateness without update", "WithAllowedLateness", func() error { return agg(stream.WithAllowedLateness(time.Second)) }},
		{"side output without sink", "WithLatePolicy", func() error { return agg(stream.WithLatePolicy(stream.LateSideOutput)) }},
		{"late sink with drop", "WithLateOutput", func() error { return agg(stream.WithLateOutput(late)) }},
		{"nil late sink", "WithLateOutput", func() error {
			return agg(stream.WithLatePolicy(stream.LateUpdate), stream.WithLateOutput(nil))
		}},
		{"zero buffer", "WithInputBuffer", func() error { return agg(stream.WithInputBuffer(0)) }},
		{"outer aggregate", "WithOuter", func() error { return agg(stream.WithOuter()) }},
		{"reuse aggregate", "WithReuse", func() error { return agg(stream.WithReuse()) }},
		{"partials on a join", "WithMaxPartials", func() error {
			_, err := stream.NewJoin(byAddr, stream.Tumbling(time.Second), stream.WithMaxPartials(3))
			return err
		}},
		{"zero partials", "WithMaxPartials", func() error {
			_, err := stream.NewMatcher(byAddr, stream.Begin("a", func(tx) bool { return true }), stream.WithMaxPartials(0))
			return err
		}},
		{"zero tumbling", "Tumbling", func() error {
			_, err := stream.NewAggregate(byAddr, stream.Tumbling(0), count)
			return err
		}},
		{"slide not dividing size", "Sliding", func() error {
			_, err := stream.NewAggregate(byAddr, stream.Sliding(time.Minute, 7*time.Second), count)
			return err
		}},
		{"slide over size", "Sliding", func() error {
			_, err := stream.NewAggregate(byAddr, stream.Sliding(time.Second, time.Minute), count)
			return err
		}},
		{"negative gap", "Session", func() error {
			_, err := stream.NewAggregate(byAddr, stream.Session(-time.Second), count)
			return err
		}},
		{"zero windows", "Windows", func() error {
			_, err := stream.NewJoin3(byAddr, byAddr, byAddr, stream.Windows{})
			return err
		}},
		{"session without merge", "Agg", func() error {
			a := count
			a.Merge = nil
			_, err := stream.NewAggregate(byAddr, stream.Session(time.Second), a)
			return err
		}},
		{"nil key", "NewJoin3", func() error {
			_, err := stream.NewJoin3[string, tx, tx, tx](byAddr, nil, byAddr, stream.Tumbling(time.Second))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.build()
			var oe *stream.OptionError
			if !errors.As(err, &oe) || !errors.Is(err, stream.ErrInvalidOption) || oe.Option != tc.option {
				t.Fatalf("got %v, want an *OptionError for %s", err, tc.option)
			}
		})
	}
}

func agg(opts ...stream.Option) error {
	_, err := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Count[tx](), opts...)
	return err
}

func TestSourceOptionErrors(t *testing.T) {
	op, _ := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Count[tx]())
	for _, tc := range []struct {
		name, option string
		src          *stream.Source[tx]
	}{
		{"negative bound", "OutOfOrder", stream.FromSeq(func(func(tx) bool) {}, stream.OutOfOrder(-1))},
		{"negative idle", "IdleAfter", stream.FromSeq(func(func(tx) bool) {}, stream.IdleAfter(-1))},
		{"event time of another type", "EventTime", stream.FromSeq(func(func(tx) bool) {}, stream.EventTime(func(score) time.Time { return time.Time{} }))},
		{"ID of another type", "EventID", stream.FromSeq(func(func(tx) bool) {}, stream.EventID(func(int) string { return "" }))},
		{"offset of another type", "OffsetBy", stream.FromSeq(func(func(tx) bool) {}, stream.OffsetBy(func(string) uint64 { return 0 }))},
		{"nil seq", "FromSeq", stream.FromSeq[tx](nil)},
		{"nil chan", "FromChan", stream.FromChan[tx](nil)},
		{"nil bus", "FromBus", stream.FromBus[tx](nil, "a.b")},
		{"nil run", "NewSource", stream.NewSource[tx](nil)},
		{"nil map", "Map", stream.Map[tx, tx](stream.FromChan(make(chan tx)), nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			for _, e := range op.Run(t.Context(), tc.src) {
				err = e
			}
			var oe *stream.OptionError
			if !errors.As(err, &oe) || oe.Option != tc.option {
				t.Fatalf("got %v, want an *OptionError for %s", err, tc.option)
			}
		})
	}
	// Two sources with one name.
	var err error
	for _, e := range op.Run(t.Context(), recordSource[tx](nil, stream.Named("x")), recordSource[tx](nil, stream.Named("x"))) {
		err = e
	}
	if !errors.Is(err, stream.ErrInvalidOption) {
		t.Fatalf("duplicate source names: %v", err)
	}
}

func TestRunTwiceAtOnce(t *testing.T) {
	op, _ := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Count[tx]())
	ch := make(chan tx)
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- firstErr(op.Run(t.Context(), stream.FromChan(ch, stream.OnResume(func(context.Context, uint64) error {
			close(started)
			return nil
		}))))
	}()
	<-started
	if err := firstErr(op.Run(t.Context(), stream.FromChan(ch))); !errors.Is(err, stream.ErrRunning) {
		t.Fatalf("second concurrent Run: %v", err)
	}
	close(ch)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
