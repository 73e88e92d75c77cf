package natsstore_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/codes"

	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
	"github.com/anya-org/anya-go/workflow"
	"github.com/anya-org/anya-go/workflow/natsstore"
)

// Under a traced engine, the store's writes are spans under the run and step that caused them;
// a new run's first lookup finds nothing, which is no failure; run IDs and values stay out.
func TestTelemetryUnderEngine(t *testing.T) {
	const runID = "did:key:z6MkRunIdAsDid"
	k := telemetrytest.New(t)
	srv := natstest.Start(t)
	s, err := natsstore.New(context.Background(), srv.JetStream(t), natsstore.WithBucket("wf_tel"), natsstore.WithMemoryStorage(),
		natsstore.WithTracerProvider(k.TP))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := workflow.NewRegistry(workflow.Operation{Name: "web5.echo", Protocol: "web5",
		Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
			return map[string]any{"secret": "bc1qstoredvalue"}, c.SaveIntent(ctx, map[string]string{"addr": "bc1qintentvalue"})
		}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := workflow.New(s, reg, workflow.WithTracerProvider(k.TP))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Register(&workflow.Definition{Name: "w", Steps: []workflow.Step{{ID: "a", Operation: "web5.echo"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Run(context.Background(), "w", runID, nil); err != nil {
		t.Fatal(err)
	}
	run := k.One(t, workflow.SpanRun)
	step := k.One(t, workflow.SpanStep)
	load := k.Named("natsstore.load")
	if len(load) == 0 {
		t.Fatalf("no load span: %s", telemetrytest.Names(k.Ended()))
	}
	if v, ok := telemetrytest.Attr(load[0], "anya.found"); !ok || v.AsBool() || load[0].Status().Code == codes.Error {
		t.Errorf("a new run's lookup: found %v (set %v), status %+v", v.AsBool(), ok, load[0].Status())
	}
	// The run is created and committed by the step's first attempt; the operation's intent is
	// written from the operation, in the step's span.
	for _, name := range []string{"natsstore.create", "natsstore.commit", "natsstore.create_intent", "natsstore.acquire"} {
		spans := k.Named(name)
		if len(spans) == 0 {
			t.Errorf("no %s span: %s", name, telemetrytest.Names(k.Ended()))
			continue
		}
		if p := spans[0].Parent().SpanID(); p != step.SpanContext().SpanID() && p != run.SpanContext().SpanID() {
			t.Errorf("%s is not under the run or its step", name)
		}
		if v, _ := telemetrytest.Attr(spans[0], "db.collection.name"); v.AsString() != "wf_tel" {
			t.Errorf("%s bucket %q", name, v.AsString())
		}
	}
	k.NoLeak(t, runID, "bc1qstoredvalue", "bc1qintentvalue")

	// A nil provider is the no-op one: the store works and traces nothing.
	before := len(k.Ended())
	off, err := natsstore.New(context.Background(), srv.JetStream(t), natsstore.WithBucket("wf_off"), natsstore.WithMemoryStorage(),
		natsstore.WithTracerProvider(nil))
	if err != nil {
		t.Fatal(err)
	}
	rec := &workflow.RunRecord{ID: "off-1", Workflow: "pay", DefinitionHash: "h", Status: workflow.StatusRunning, Version: 1}
	if err := off.Create(context.Background(), rec, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := off.Load(context.Background(), "off-1"); err != nil {
		t.Fatal(err)
	}
	if n := len(k.Ended()); n != before {
		t.Errorf("an untraced store recorded %d spans", n-before)
	}
}
