package dwn_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
	"github.com/anya-org/anya-go/web5/dwn"
)

// Every message is a span named after its operation, under the caller's, with the event it
// publishes inside; refusals are failures named by their type, a read of a missing record an
// answer; the counters and the histogram follow each outcome; no DID, tenant token, record ID,
// schema, protocol or data reaches anything recorded (the bus names the node's topics by
// their template).
func TestTelemetryMessages(t *testing.T) {
	k := telemetrytest.New(t)
	b, err := bus.New(bus.WithTracerProvider(k.TP), bus.WithTopicTemplate(dwn.TopicTemplate))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	e := newEnv(t, dwn.WithBus(b), dwn.WithTracerProvider(k.TP), dwn.WithMeterProvider(k.MP))
	alice := e.alice.String()
	const secret = "paid 0.5 BTC to bc1qtelemetrysecret"
	const schema = "https://example.com/schemas/payment-telemetry"

	ctx, step := k.TP.Tracer("host").Start(e.ctx, "record payment")
	write, err := dwn.NewWrite(ctx, e.alice, alice, dwn.Write{Schema: schema, DataFormat: "text/plain", Data: []byte(secret)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.node.Process(ctx, alice, write)
	if err != nil {
		t.Fatal(err)
	}
	step.End()
	update, err := dwn.NewWrite(e.ctx, e.alice, alice, dwn.Write{Data: []byte(secret + " (settled)"), Update: r.Record})
	e.ok(alice, update, err)
	query, err := dwn.NewQuery(e.ctx, e.alice, alice, dwn.Query{Filter: dwn.Filter{Schema: schema}})
	if got := e.ok(alice, query, err); len(got.Records) != 1 {
		t.Fatalf("query returned %d records", len(got.Records))
	}
	missing, err := dwn.NewRead(e.ctx, e.alice, alice, "bafyreigdmqpykrgxyaxtlafqpqhzrb7qy2rh75nldvfd4tucqmqqme5yye")
	e.refused(alice, missing, err, dwn.ErrNotFound)
	intruder, err := dwn.NewWrite(e.ctx, e.bob, alice, note("from bob"))
	e.refused(alice, intruder, err, dwn.ErrForbidden)
	e.refused(alice, write, nil, dwn.ErrConflict) // a replay
	cancelled, cancel := context.WithCancel(e.ctx)
	cancel()
	if _, err := e.node.Process(cancelled, alice, query); err != context.Canceled {
		t.Fatalf("cancelled: %v", err)
	}
	if err := b.Drain(e.ctx); err != nil {
		t.Fatal(err)
	}

	// The payment's record: a write span under the step, its event published inside it.
	writes := k.Named(dwn.SpanRecordsWrite)
	if len(writes) != 4 {
		t.Fatalf("%d write spans, want 4", len(writes))
	}
	first := writes[0]
	telemetrytest.ChildOf(t, first, k.One(t, "record payment"))
	if v, _ := telemetrytest.Attr(first, "anya.dwn.write.initial"); !v.AsBool() {
		t.Error("the first write is not marked initial")
	}
	if v, ok := telemetrytest.Attr(writes[1], "anya.dwn.write.initial"); !ok || v.AsBool() {
		t.Errorf("the update: initial %v (set %v)", v.AsBool(), ok)
	}
	pubs := k.Named(bus.SpanPublish)
	if len(pubs) != 2 {
		t.Fatalf("%d publish spans, want 2 (one per stored write)", len(pubs))
	}
	telemetrytest.ChildOf(t, pubs[0], first)
	if v, _ := telemetrytest.Attr(pubs[0], "messaging.destination.name"); v.AsString() != "web5.dwn.{tenant}.records.written" {
		t.Errorf("the event's topic is named %q", v.AsString())
	}
	for i, want := range []string{"", "", "dwn: forbidden", "dwn: conflict"} {
		sp := writes[i]
		if (sp.Status().Code == codes.Error) != (want != "") {
			t.Errorf("write %d: status %v", i, sp.Status())
		}
		if v, _ := telemetrytest.Attr(sp, "error.type"); v.AsString() != want {
			t.Errorf("write %d: error.type %q, want %q", i, v.AsString(), want)
		}
	}
	read := k.One(t, dwn.SpanRecordsRead)
	if f, ok := telemetrytest.Attr(read, "anya.found"); !ok || f.AsBool() || read.Status().Code == codes.Error {
		t.Errorf("a read of a missing record: found %v (set %v), status %v", f.AsBool(), ok, read.Status())
	}
	if v, _ := telemetrytest.Attr(k.One(t, dwn.SpanRecordsQuery), "anya.dwn.records"); v.AsInt64() != 1 {
		t.Errorf("query span: %d records, want 1", v.AsInt64())
	}

	rm := k.Collect(t)
	counted := func(op, outcome string) int64 {
		n, _ := telemetrytest.Int(rm, dwn.MetricNameMessages, attribute.String("anya.dwn.operation", op), attribute.String("anya.outcome", outcome))
		return n
	}
	for _, c := range []struct {
		op, outcome string
		want        int64
	}{
		{"Records.Write", "success", 2}, {"Records.Write", "forbidden", 1}, {"Records.Write", "conflict", 1},
		{"Records.Query", "success", 1}, {"Records.Read", "not_found", 1},
	} {
		if got := counted(c.op, c.outcome); got != c.want {
			t.Errorf("messages{%s, %s} = %d, want %d", c.op, c.outcome, got, c.want)
		}
	}
	if n, sum, _ := telemetrytest.Histogram(rm, dwn.MetricNameProcessDuration, attribute.String("anya.dwn.operation", "Records.Write"),
		attribute.String("anya.outcome", "success")); n != 2 || sum <= 0 {
		t.Errorf("process duration of successful writes: %d, %gs", n, sum)
	}
	k.NoLeak(t, alice, e.bob.String(), dwn.TenantToken(alice), write.RecordID(), schema, secret, "bc1qtelemetrysecret", "from bob")
}

// Nil and no-op providers are accepted: the node works as without them. The topic template
// leaves other topics and wildcard patterns alone.
func TestTelemetryOptions(t *testing.T) {
	for _, opts := range [][]dwn.Option{
		{dwn.WithTracerProvider(nil), dwn.WithMeterProvider(nil)},
		{dwn.WithMeterProvider(metricnoop.NewMeterProvider())},
	} {
		e := newEnv(t, opts...)
		e.write(e.alice, e.alice.String(), note("hello"))
	}
	for topic, want := range map[string]string{
		dwn.Topic("did:key:z6MkTemplate", dwn.EventRecordDeleted): "web5.dwn.{tenant}.records.deleted",
		"web5.dwn.*.records.written":                              "web5.dwn.*.records.written",
		"web5.dwn.>":                                              "web5.dwn.>",
		"bitcoin.block.connected":                                 "bitcoin.block.connected",
		"web5.dwn":                                                "web5.dwn",
	} {
		if got := dwn.TopicTemplate(topic); got != want {
			t.Errorf("TopicTemplate(%q) = %q, want %q", topic, got, want)
		}
	}
}

// A batch is one span (its size, its outcome; the events of its records inside it); its
// messages are counted as writes — all of them once stored, only the refused one otherwise —
// and nothing of them is recorded.
func TestTelemetryBatch(t *testing.T) {
	k := telemetrytest.New(t)
	b, err := bus.New(bus.WithTracerProvider(k.TP), bus.WithTopicTemplate(dwn.TopicTemplate))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	e := newEnv(t, dwn.WithBus(b), dwn.WithTracerProvider(k.TP), dwn.WithMeterProvider(k.MP))
	alice := e.alice.String()
	const secret = "utxo of bc1qbatchsecret"
	var batch []dwn.Envelope
	for i := range 3 {
		m, err := dwn.NewWrite(e.ctx, e.alice, alice, dwn.Write{DataFormat: "text/plain", Data: []byte(secret + string(rune('a'+i)))})
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, dwn.Envelope{Tenant: alice, Message: m})
	}
	intruder, err := dwn.NewWrite(e.ctx, e.bob, alice, note("from bob"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.node.ProcessMany(e.ctx, append(batch[:2:2], dwn.Envelope{Tenant: alice, Message: intruder})); err == nil {
		t.Fatal("a batch with an intruder's message was stored")
	}
	if _, err := e.node.ProcessMany(e.ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := b.Drain(e.ctx); err != nil {
		t.Fatal(err)
	}
	spans := k.Named(dwn.SpanRecordsWriteBatch)
	if len(spans) != 2 {
		t.Fatalf("%d batch spans, want 2", len(spans))
	}
	for i, want := range []struct {
		outcome, errType string
		records          int64
	}{{"forbidden", "dwn: forbidden", 3}, {"success", "", 3}} {
		sp := spans[i]
		if v, _ := telemetrytest.Attr(sp, "anya.outcome"); v.AsString() != want.outcome {
			t.Errorf("batch %d: outcome %q, want %q", i, v.AsString(), want.outcome)
		}
		if v, _ := telemetrytest.Attr(sp, "error.type"); v.AsString() != want.errType {
			t.Errorf("batch %d: error.type %q, want %q", i, v.AsString(), want.errType)
		}
		if v, _ := telemetrytest.Attr(sp, "anya.dwn.records"); v.AsInt64() != want.records {
			t.Errorf("batch %d: anya.dwn.records %d", i, v.AsInt64())
		}
	}
	pubs := k.Named(bus.SpanPublish)
	if len(pubs) != 3 {
		t.Fatalf("%d publish spans, want 3 (one per stored record)", len(pubs))
	}
	telemetrytest.ChildOf(t, pubs[0], spans[1])
	rm := k.Collect(t)
	for _, c := range []struct {
		outcome string
		want    int64
	}{{"success", 3}, {"forbidden", 1}} {
		if n, _ := telemetrytest.Int(rm, dwn.MetricNameMessages, attribute.String("anya.dwn.operation", "Records.Write"),
			attribute.String("anya.outcome", c.outcome)); n != c.want {
			t.Errorf("messages{Records.Write, %s} = %d, want %d", c.outcome, n, c.want)
		}
	}
	if n, _, _ := telemetrytest.Histogram(rm, dwn.MetricNameProcessDuration, attribute.String("anya.dwn.operation", "Records.WriteBatch"),
		attribute.String("anya.outcome", "success")); n != 1 {
		t.Errorf("batch durations: %d, want 1", n)
	}
	k.NoLeak(t, alice, e.bob.String(), dwn.TenantToken(alice), batch[0].Message.RecordID(), secret, "bc1qbatchsecret", "from bob")
}
