package dataset_test

import (
	"math"
	"slices"
	"testing"

	"github.com/anya-org/anya-go/ml/dataset"
)

func TestDeterministic(t *testing.T) {
	a, b := dataset.Transactions(5, 3000), dataset.Transactions(5, 3000)
	if !slices.Equal(a.X, b.X) || !slices.Equal(a.Y, b.Y) {
		t.Fatal("same seed, different transactions")
	}
	if c := dataset.Transactions(6, 3000); slices.Equal(a.X, c.X) {
		t.Fatal("different seeds, same transactions")
	}
	i, j := dataset.Identities(5, 3000), dataset.Identities(5, 3000)
	if !slices.Equal(i.X, j.X) || !slices.Equal(i.Y, j.Y) {
		t.Fatal("same seed, different identities")
	}
}

func TestRowsFitTheirSchema(t *testing.T) {
	for _, d := range []*dataset.Dataset{dataset.Transactions(1, 20000), dataset.Identities(1, 20000)} {
		if err := d.Schema.Check(); err != nil {
			t.Fatal(err)
		}
		if err := d.Check(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMixAndLabels(t *testing.T) {
	d := dataset.Transactions(2, 40000)
	counts := d.PatternCounts()
	for _, m := range dataset.Mix {
		got := float64(counts[m.Pattern]) / float64(d.Rows())
		if math.Abs(got-m.Share) > 0.01+m.Share*0.2 {
			t.Errorf("%s: share %.4f, want about %.4f", m.Pattern, got, m.Share)
		}
	}
	// Labels follow the pattern except for the flipped share.
	flipped := 0
	for i, p := range d.Patterns {
		if (d.Y[i] == 1) != p.Fraud() {
			flipped++
		}
	}
	if rate := float64(flipped) / float64(d.Rows()); math.Abs(rate-dataset.LabelNoise) > 0.003 {
		t.Errorf("flipped labels %.4f, want about %.4f", rate, dataset.LabelNoise)
	}
}

// TestPatternsLookLikeThemselves checks each fraud pattern's signature in the computed features.
func TestPatternsLookLikeThemselves(t *testing.T) {
	d := dataset.Transactions(3, 40000)
	s := d.Schema
	col := func(name string) int { return s.Index(name) }
	median := func(p dataset.Pattern, feature string) float64 {
		var vs []float64
		for i, q := range d.Patterns {
			if q == p {
				vs = append(vs, float64(d.Row(i)[col(feature)]))
			}
		}
		slices.Sort(vs)
		return vs[len(vs)/2]
	}
	checks := []struct {
		p       dataset.Pattern
		feature string
		ok      func(patternMedian, paymentMedian float64) bool
	}{
		{dataset.PeelChain, "min_out_ratio", func(p, pay float64) bool { return p < 0.05 && pay > 0.2 }},
		{dataset.PeelChain, "input_age_min_blocks", func(p, pay float64) bool { return p <= 6 && pay > 100 }},
		{dataset.FanOut, "n_outputs", func(p, pay float64) bool { return p > 20 && pay < 3 }},
		{dataset.FanOut, "out_value_cv", func(p, pay float64) bool { return p < pay }},
		{dataset.Dust, "dust_outputs", func(p, pay float64) bool { return p > 20 && pay < 0.1 }},
		{dataset.RoundCashOut, "has_change", func(p, pay float64) bool { return p == 0 && pay > 0.9 }},
		{dataset.RoundCashOut, "round_outputs", func(p, pay float64) bool { return p >= 1 }},
		{dataset.FreshIdentity, "did_age_days", func(p, pay float64) bool { return p < 10 && pay > 100 }},
		{dataset.FreshIdentity, "kyc_verified", func(p, pay float64) bool { return p < 0.2 && pay > 0.5 }},
		{dataset.AddressReuse, "reused_addresses", func(p, pay float64) bool { return p > 2 && pay < 0.5 }},
	}
	for _, c := range checks {
		pm, pay := median(c.p, c.feature), median(dataset.Payment, c.feature)
		if !c.ok(pm, pay) {
			t.Errorf("%s: median %s %.4f (payments %.4f)", c.p, c.feature, pm, pay)
		}
	}
}

func TestSplit(t *testing.T) {
	d := dataset.Identities(4, 100)
	a, b := d.Split(30)
	if a.Rows() != 30 || b.Rows() != 70 || !slices.Equal(b.Row(0), d.Row(30)) {
		t.Fatal("Split")
	}
}
