package streamtest_test

import (
	"testing"
	"time"

	"github.com/anya-org/anya-go/stream"
	"github.com/anya-org/anya-go/stream/streamtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := streamtest.NewClock(t0)
	if !c.Now().Equal(t0) {
		t.Fatal(c.Now())
	}
	if got := c.Advance(time.Minute); !got.Equal(t0.Add(time.Minute)) || !c.Now().Equal(got) {
		t.Fatal(got, c.Now())
	}
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Fatal(c.Now())
	}
}

// The clock drives processing time: records without an event time are stamped with it.
func TestClockStampsRecords(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := streamtest.NewClock(t0)
	in := streamtest.NewManual[string](t)
	op, err := stream.NewAggregate(func(string) string { return "k" }, stream.Tumbling(time.Minute), stream.Count[string](), stream.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	out := streamtest.Collect(t, op.Run(t.Context(), in.Source()))
	in.Emit(time.Time{}, "a")
	c.Advance(time.Minute)
	in.Emit(time.Time{}, "b")
	in.End()
	if err := out.Wait(); err != nil {
		t.Fatal(err)
	}
	got := out.Results()
	if len(got) != 2 || !got[0].Window.Start.Equal(t0) || !got[1].Window.Start.Equal(t0.Add(time.Minute)) {
		t.Fatalf("%+v", got)
	}
}

func TestManualResumes(t *testing.T) {
	store := stream.NewMemoryStore()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := streamtest.NewManual[string](t)
	op, _ := stream.NewAggregate(func(string) string { return "k" }, stream.Tumbling(time.Minute), stream.Count[string](), stream.WithStore(store))
	out := streamtest.Collect(t, op.Run(t.Context(), in.Source()))
	if in.After() != 0 {
		t.Fatal(in.After())
	}
	in.Emit(t0, "a")
	in.Emit(t0, "b")
	in.Sync()
	in.End()
	if err := out.Wait(); err != nil {
		t.Fatal(err)
	}
	out = streamtest.Collect(t, op.Run(t.Context(), in.Source()))
	if in.After() != 2 {
		t.Fatalf("resumed after %d, want 2", in.After())
	}
	in.End()
	if err := out.Wait(); err != nil {
		t.Fatal(err)
	}
}
