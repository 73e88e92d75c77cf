package anya

import (
	"context"
	"testing"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/security"
)

// nopOp is an operation that does nothing: Execute's own cost.
type nopOp struct{}

func (nopOp) name() string { return "nop" }
func (nopOp) execute(context.Context, *Manager) (Result, error) {
	return (*Reputation)(nil), nil
}

// BenchmarkExecuteOverhead measures what the Manager adds to an operation, side by side in one
// run: op=reputation scores an identity's reputation directly (impl=work: its features from
// the records-store counters, the model on the engine) and through Execute (impl=execute:
// the same work behind the call's admission, the identity's cache tiers, the audited Web5→ML
// boundary crossing, the model's circuit breaker and the feature store's write). The layer=
// sub-benchmarks take the difference apart.
func BenchmarkExecuteOverhead(b *testing.B) {
	ctx := context.Background()
	m, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	alice, err := m.NewIdentity(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.LinkIdentity(ctx, alice); err != nil {
		b.Fatal(err)
	}
	d := alice.String()
	rep := m.reputation.(*engineScorer)
	sch := rep.e.Model().Schema()
	st, err := m.identity(ctx, d)
	if err != nil {
		b.Fatal(err)
	}
	feats := map[string]any{}
	bare, err := security.New(DefaultBoundaries(), security.WithRedactionKey([]byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		b.Fatal(err)
	}

	b.Run("op=reputation/impl=work", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			counts, err := m.state.stats(ctx, d)
			if err != nil {
				b.Fatal(err)
			}
			v := vector(rep, st.features(m.now(), "", counts))
			if _, err := rep.e.Score(ctx, ml.Vector{Schema: sch.Name, Version: sch.Version, Values: v}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=reputation/impl=execute", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Execute(ctx, Web5ToML{DID: d}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The layers of the difference.
	b.Run("layer=dispatch", func(b *testing.B) { // admission, ctx check, dispatch
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Execute(ctx, nopOp{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("layer=cache", func(b *testing.B) { // the identity's tiered lookup, a hit
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.identity(ctx, d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("layer=breaker", func(b *testing.B) { // a call through the model's breaker
		b.ReportAllocs()
		for b.Loop() {
			if _, err := guard(ctx, m, BreakerModel, func(context.Context) (int, error) { return 0, nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	counts, _ := m.state.stats(ctx, d)
	for k, v := range st.features(m.now(), "", counts) {
		feats[k] = v
	}
	b.Run("layer=boundary-check", func(b *testing.B) { // the Web5→ML policy, schema and redaction, not audited
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bare.Cross(ctx, string(security.Web5), string(security.ML), ActionScoreReputation,
				map[string]any{"identity_features": feats}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("layer=boundary-audited", func(b *testing.B) { // the same, appended to the audit log and published
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.cross(ctx, security.Web5, security.ML, ActionScoreReputation, map[string]any{"identity_features": feats}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("layer=feature-store", func(b *testing.B) { // the scored vector's write (online and offline tiers)
		b.ReportAllocs()
		v := ml.Vector{Schema: sch.Name, Version: sch.Version, Values: vector(rep, st.features(m.now(), "", counts))}
		for b.Loop() {
			if _, err := m.br.features.Put(ctx, "bench", v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
