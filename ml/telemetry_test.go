package ml_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
)

// Score and ScoreBatch calls are spans under the caller's; every backend run is measured in
// the batch histograms; features and scores are never recorded.
func TestTelemetryWorkload(t *testing.T) {
	k := telemetrytest.New(t)
	tm := mltest.Linear([]float32{0.001, 0.002}, 0)
	e := mltest.NewEngine(t, tm.Model, ml.WithWorkers(1), ml.WithMaxBatch(2),
		ml.WithTracerProvider(k.TP), ml.WithMeterProvider(k.MP))
	s := tm.Model.Schema()
	secret := ml.Vector{Schema: s.Name, Version: s.Version, Values: []float32{987.125, 17}}
	ctx, parent := k.TP.Tracer("host").Start(context.Background(), "assess")
	if _, err := e.Score(ctx, secret); err != nil {
		t.Fatal(err)
	}
	parent.End()
	vs := append(mltest.Vectors(1, tm.Model, 4), secret) // 5 rows: runs of 2, 2 and 1
	if _, err := e.ScoreBatch(context.Background(), vs); err != nil {
		t.Fatal(err)
	}

	score := k.One(t, ml.SpanScore)
	telemetrytest.ChildOf(t, score, k.One(t, "assess"))
	for key, want := range map[attribute.Key]string{"anya.ml.model": tm.Model.Name(), "anya.ml.model.version": tm.Model.Version(), "anya.ml.backend": e.Backend()} {
		if v, _ := telemetrytest.Attr(score, key); v.AsString() != want {
			t.Errorf("score span %s = %q, want %q", key, v.AsString(), want)
		}
	}
	if v, _ := telemetrytest.Attr(k.One(t, ml.SpanScoreBatch), "anya.ml.rows"); v.AsInt64() != 5 {
		t.Errorf("batch span rows %d", v.AsInt64())
	}

	rm := k.Collect(t)
	model := attribute.String("anya.ml.model", tm.Model.Name())
	n, sum, _ := telemetrytest.Histogram(rm, ml.MetricNameBatchSize, model)
	if n != 4 || sum != 6 {
		t.Errorf("batch size: %d runs of %v rows, want 4 runs of 6", n, sum)
	}
	if n, sum, _ := telemetrytest.Histogram(rm, ml.MetricNameBatchDuration, model); n != 4 || sum <= 0 {
		t.Errorf("batch duration: %d runs, %v s", n, sum)
	}
	st := e.Stats()
	if got, _ := telemetrytest.Int(rm, ml.MetricNameRequests); got != int64(st.Requests) || got != 4 {
		t.Errorf("requests %d, Stats %d, want 4", got, st.Requests)
	}
	if got, found := telemetrytest.Int(rm, ml.MetricNameQueueDepth); !found || got != 0 {
		t.Errorf("queue depth %d (found %v)", got, found)
	}
	k.NoLeak(t, "987.125")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, found := telemetrytest.Metric(k.Collect(t), ml.MetricNameQueueDepth); found {
		t.Error("a closed engine is still reported")
	}
}

// Nil providers are the no-op ones: the engine scores and reports nothing.
func TestTelemetryOptions(t *testing.T) {
	tm := mltest.Linear([]float32{1}, 0)
	e := mltest.NewEngine(t, tm.Model, ml.WithTracerProvider(nil), ml.WithMeterProvider(nil))
	if _, err := e.ScoreBatch(context.Background(), mltest.Vectors(1, tm.Model, 2)); err != nil {
		t.Fatalf("scoring with nil providers: %v", err)
	}
}
