package pipeline_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/bus/bustest"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
	"github.com/anya-org/anya-go/ml/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// payment is the pipeline's input in these tests: what an upstream package publishes.
type payment struct {
	ID       string
	Features []float32
}

func setup(t *testing.T, opts ...pipeline.Option[payment]) (*pipeline.Pipeline[payment], *mltest.Tiny) {
	t.Helper()
	tm := mltest.Trees(3, 20, 3, 4)
	e := mltest.NewEngine(t, tm.Model, ml.WithFactors(2))
	s := tm.Model.Schema()
	extract := func(_ context.Context, p payment) (ml.Vector, error) {
		if p.ID == "" {
			return ml.Vector{}, errors.New("payment without id")
		}
		return ml.Vector{Schema: s.Name, Version: s.Version, Values: p.Features}, nil
	}
	p, err := pipeline.New("risk", extract, e, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p, tm
}

func TestProcess(t *testing.T) {
	var got []pipeline.Scored[payment]
	sink := func(_ context.Context, s pipeline.Scored[payment]) error { got = append(got, s); return nil }
	double := func(_ context.Context, v ml.Vector) (ml.Vector, error) {
		out := v
		out.Values = make([]float32, len(v.Values))
		for i, x := range v.Values {
			out.Values[i] = x / 2
		}
		return out, nil
	}
	p, tm := setup(t, pipeline.WithTransform[payment](double), pipeline.WithSink(sink))
	in := payment{ID: "tx1", Features: []float32{0.9, 0.8, 0.1, 0.5}}
	s, err := p.Process(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	half := []float32{0.45, 0.4, 0.05, 0.25}
	if want := tm.Reference(half); math.Abs(float64(s.Result.Score)-want) > 1e-5 {
		t.Fatalf("score %v, want %v (of the transformed vector)", s.Result.Score, want)
	}
	if len(got) != 1 || got[0].Input.ID != "tx1" || got[0].Vector.Values[0] != 0.45 || len(got[0].Result.Factors) != 2 {
		t.Fatalf("sink got %+v", got)
	}
	if st := p.Stats(); st.Processed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStageFailures(t *testing.T) {
	boom := errors.New("boom")
	ctx := context.Background()
	good := []float32{0.1, 0.2, 0.3, 0.4}
	cases := []struct {
		name  string
		opts  []pipeline.Option[payment]
		in    payment
		stage string
	}{
		{"extract", nil, payment{Features: good}, pipeline.StageExtract},
		{"validate length", nil, payment{ID: "x", Features: good[:3]}, pipeline.StageValidate},
		{"validate NaN", nil, payment{ID: "x", Features: []float32{float32(math.NaN()), 0, 0, 0}}, pipeline.StageValidate},
		{"transform", []pipeline.Option[payment]{pipeline.WithTransform[payment](func(context.Context, ml.Vector) (ml.Vector, error) { return ml.Vector{}, boom })},
			payment{ID: "x", Features: good}, pipeline.StageTransform},
		{"score", []pipeline.Option[payment]{pipeline.WithTransform[payment](func(_ context.Context, v ml.Vector) (ml.Vector, error) {
			v.Values = []float32{float32(math.Inf(1)), 0, 0, 0} // the engine validates again
			return v, nil
		})}, payment{ID: "x", Features: good}, pipeline.StageScore},
		{"sink", []pipeline.Option[payment]{pipeline.WithSink(func(context.Context, pipeline.Scored[payment]) error { return boom })},
			payment{ID: "x", Features: good}, pipeline.StageSink},
	}
	for _, c := range cases {
		p, _ := setup(t, c.opts...)
		_, err := p.Process(ctx, c.in)
		var se *pipeline.StageError
		if !errors.As(err, &se) || se.Stage != c.stage || se.Pipeline != "risk" {
			t.Errorf("%s: %v, want a StageError at %s", c.name, err, c.stage)
			continue
		}
		if st := p.Stats(); st.Failed[c.stage] != 1 || st.Processed != 0 {
			t.Errorf("%s: stats %+v", c.name, st)
		}
	}
}

func TestInvalidOptions(t *testing.T) {
	_, tm := setup(t)
	e := mltest.NewEngine(t, tm.Model)
	extract := func(context.Context, payment) (ml.Vector, error) { return ml.Vector{}, nil }
	for _, tc := range []struct {
		option string
		newP   func() error
	}{
		{"name", func() error { _, err := pipeline.New[payment]("", nil, nil); return err }},
		{"extract", func() error { _, err := pipeline.New[payment]("p", nil, e); return err }},
		{"scorer", func() error { _, err := pipeline.New[payment]("p", extract, nil); return err }},
		{"WithTransform", func() error {
			_, err := pipeline.New("p", extract, e, pipeline.WithTransform[payment](nil))
			return err
		}},
		{"WithSink", func() error { _, err := pipeline.New("p", extract, e, pipeline.WithSink[payment](nil)); return err }},
		{"WithSchema", func() error {
			_, err := pipeline.New("p", extract, e, pipeline.WithSchema[payment](ml.Schema{}))
			return err
		}},
	} {
		var oe *pipeline.OptionError
		if err := tc.newP(); !errors.As(err, &oe) || oe.Option != tc.option || !errors.Is(err, pipeline.ErrInvalidOption) {
			t.Errorf("%s: %v", tc.option, err)
		}
	}
}

// The zero Pipeline answers every method without panicking, and refuses work with
// ErrNotConstructed.
func TestZeroValue(t *testing.T) {
	var p pipeline.Pipeline[payment]
	if p.Name() != "" || p.Stats().Processed != 0 {
		t.Fatal("zero pipeline")
	}
	if _, err := p.Process(context.Background(), payment{}); !errors.Is(err, pipeline.ErrNotConstructed) {
		t.Fatalf("Process: %v", err)
	}
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := p.Subscribe(b, "x", "y"); !errors.Is(err, pipeline.ErrNotConstructed) {
		t.Fatalf("Subscribe: %v", err)
	}
	var se pipeline.StageError
	_, _ = se.Error(), se.Unwrap()
}

func TestSubscribeOverTheBus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, tm := setup(t)
	scored := bustest.Record[pipeline.Scored[payment]](t, b, "ml.risk.scored")
	dead := bustest.Record[payment](t, b, "ml.risk.failed")
	sub, err := p.Subscribe(b, "payments.*", "ml.risk.scored", bus.Concurrency(4), bus.DeadLetter("ml.risk.failed"))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	rows := mltest.Rows(5, 40, 4)
	for i, r := range rows {
		if err := bus.Publish(ctx, b, "payments.seen", payment{ID: string(rune('a' + i)), Features: r}, bus.WithKey("k")); err != nil {
			t.Fatal(err)
		}
	}
	if err := bus.Publish(ctx, b, "payments.seen", payment{ID: "bad", Features: []float32{1}}); err != nil {
		t.Fatal(err)
	}
	envs, err := scored.Wait(ctx, len(rows))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range envs {
		if e.Key != "k" || e.CausationID.IsZero() {
			t.Fatalf("scored message does not descend from its input: %+v", e.Meta)
		}
		if want := tm.Reference(e.Payload.Input.Features); math.Abs(float64(e.Payload.Result.Score)-want) > 1e-5 {
			t.Fatalf("%s scored %v, want %v", e.Payload.Input.ID, e.Payload.Result.Score, want)
		}
	}
	failed, err := dead.Wait(ctx, 1)
	if err != nil || failed[0].Payload.ID != "bad" {
		t.Fatalf("dead letters %+v, %v", failed, err)
	}
	if st := p.Stats(); st.Processed != uint64(len(rows)) || st.Failed[pipeline.StageValidate] != 1 {
		t.Fatalf("stats %+v", st)
	}
}
