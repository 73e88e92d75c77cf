package natscache_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"

	"github.com/anya-org/anya-go/cache"
	"github.com/anya-org/anya-go/cache/natscache"
	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/internal/telemetry/telemetrytest"
)

// A Tiered cache's miss is one cache.load span with the shared tier's round trips inside it: a
// get that finds nothing (no failure), the loader, and the set. Keys and values stay out.
func TestTelemetryTieredLoad(t *testing.T) {
	const id, doc = "did:key:z6MkSharedTier", "bc1qsharedtiervalue"
	k := telemetrytest.New(t)
	srv := natstest.Start(t)
	store := newStore(t, srv, natscache.WithTracerProvider(k.TP))
	local, err := cache.New[string, string](cache.WithName("did"), cache.WithTracerProvider(k.TP))
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	tc, err := cache.NewTiered("did", local, cache.WithStore(store, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	v, err := tc.GetOrLoad(ctxT(t), id, func(context.Context, string) (string, error) { return doc, nil })
	if err != nil || v != doc {
		t.Fatalf("GetOrLoad: %q, %v", v, err)
	}
	load := k.One(t, cache.SpanLoad)
	get, set := k.One(t, "natscache.get"), k.One(t, "natscache.set")
	telemetrytest.ChildOf(t, get, load)
	telemetrytest.ChildOf(t, set, load)
	if f, ok := telemetrytest.Attr(get, "anya.found"); !ok || f.AsBool() || get.Status().Code == codes.Error {
		t.Errorf("a get that found nothing: found %v (set %v), status %+v", f.AsBool(), ok, get.Status())
	}
	for _, s := range []string{"natscache.get", "natscache.set"} {
		sp := k.One(t, s)
		if v, _ := telemetrytest.Attr(sp, "db.system.name"); v.AsString() != "nats" {
			t.Errorf("%s: db.system.name %q", s, v.AsString())
		}
		if v, _ := telemetrytest.Attr(sp, "db.operation.name"); v.AsString() != s[len("natscache."):] {
			t.Errorf("%s: db.operation.name %q", s, v.AsString())
		}
	}
	k.NoLeak(t, id, doc)

	// A nil provider is the no-op one: the store works and traces nothing.
	before := len(k.Ended())
	off := newStore(t, srv, natscache.WithTracerProvider(nil))
	if err := off.Set(context.Background(), id, []byte(doc), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, err := off.Get(context.Background(), id); err != nil || string(v) != doc {
		t.Fatalf("get from an untraced store: %q, %v", v, err)
	}
	if n := len(k.Ended()); n != before {
		t.Errorf("an untraced store recorded %d spans", n-before)
	}
}
