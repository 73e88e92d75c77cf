package models_test

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/dataset"
	"github.com/anya-org/anya-go/models"
)

// Score a payment with the shipped fraud model on the pure-Go backend. Features not given take
// their schema default; here a days-old, unverified identity sweeps fresh coins into one round
// amount with no change.
func Example() {
	ctx := context.Background()
	m, err := models.Load(ctx, models.Fraud)
	if err != nil {
		panic(err)
	}
	e, err := ml.NewEngine(m, ml.WithBackend(ml.NewGoBackend()), ml.WithFactors(2))
	if err != nil {
		panic(err)
	}
	defer e.Close()
	v, err := m.Schema().Vector(map[string]float32{
		"n_inputs": 5, "n_outputs": 1, "out_total_btc": 1, "out_min_btc": 1, "largest_output_frac": 1,
		"out_round_count": 1, "inputs_known": 1, "fee_rate_sat_vb": 40, "ages_known": 1,
		"in_age_min_blocks": 2, "in_age_mean_blocks": 6, "identity_known": 1, "did_age_days": 1,
	})
	if err != nil {
		panic(err)
	}
	r, err := e.Score(ctx, v)
	if err != nil {
		panic(err)
	}
	fmt.Println(r.ModelID(), v.Schema == dataset.FraudSchemaName, r.Score >= float32(m.Manifest().Threshold))
	// Output: fraud@1 true true
}
