//go:build cgo

package models_test

import (
	"context"
	"testing"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/models"
)

// TestShippedModelsBothBackends scores held-out rows of each shipped model through an engine
// on ONNX Runtime and an engine on the pure-Go evaluator, and requires them to agree within 1e-5.
func TestShippedModelsBothBackends(t *testing.T) {
	ctx := context.Background()
	ort, err := ml.NewORTBackend("")
	if err != nil {
		t.Fatalf("ONNX Runtime: %v", err)
	}
	defer ort.Close()
	for _, name := range []string{models.Fraud, models.Reputation} {
		m, err := models.Load(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		d := heldOut(name)
		vs := make([]ml.Vector, d.Rows())
		for i := range vs {
			vs[i] = ml.Vector{Schema: d.Schema.Name, Version: d.Schema.Version, Values: d.Row(i)}
		}
		var results [2][]ml.Result
		for k, b := range []ml.Backend{ort, ml.NewGoBackend()} {
			e, err := ml.NewEngine(m, ml.WithBackend(b), ml.WithFactors(3))
			if err != nil {
				t.Fatal(err)
			}
			if results[k], err = e.ScoreBatch(ctx, vs); err != nil {
				t.Fatal(err)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
		}
		for i := range vs {
			o, g := results[0][i], results[1][i]
			if !near(o.Score, g.Score) {
				t.Fatalf("%s row %d: ORT %v, Go %v", m.ID(), i, o.Score, g.Score)
			}
			if len(o.Factors) != 3 || o.Factors[0] != g.Factors[0] {
				t.Fatalf("%s row %d: factors %+v / %+v", m.ID(), i, o.Factors, g.Factors)
			}
		}
	}
}
