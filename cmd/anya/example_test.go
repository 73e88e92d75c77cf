package main

import (
	"context"
	"os"
)

// The same fan-out — fresh coins split into 120 near-equal outputs with no change — scored
// twice with the pure-Go backend: sent by a two-day-old identity, then by a verified merchant
// with thousands of earlier payments. Unnamed features take the schema defaults.
func Example_scoreFeatures() {
	fanOut := `"n_inputs": 2, "n_outputs": 120, "total_out_btc": 3.2, "fee_rate_sat_vb": 22, "vsize_vb": 3867,
		"min_out_ratio": 0.008, "out_value_cv": 0.05, "has_change": 0, "input_age_min_blocks": 2, "input_age_mean_blocks": 4`
	for _, sender := range []string{
		`"did_age_days": 2`,
		`"did_age_days": 900, "kyc_verified": 1, "address_linked": 1, "credentials": 12, "prior_payments": 4000`,
	} {
		run(context.Background(), []string{"score", "features", "--backend", "go", "--factors", "1",
			"{" + fanOut + ", " + sender + "}"}, os.Stdout, os.Stderr)
	}
	// Output:
	// {
	//   "model": "fraud@1",
	//   "score": 0.985031,
	//   "threshold": 0.5,
	//   "factors": [
	//     {
	//       "feature": "input_age_mean_blocks",
	//       "value": 4,
	//       "contribution": 5.679563
	//     }
	//   ],
	//   "backend": "go"
	// }
	// {
	//   "model": "fraud@1",
	//   "score": 0.271623,
	//   "threshold": 0.5,
	//   "factors": [
	//     {
	//       "feature": "prior_payments",
	//       "value": 4000,
	//       "contribution": -5.798563
	//     }
	//   ],
	//   "backend": "go"
	// }
}
