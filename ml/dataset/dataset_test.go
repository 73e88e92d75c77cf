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
	for _, m := range dataset.Mix() {
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
		{dataset.PeelChain, "largest_output_frac", func(p, pay float64) bool { return p > 0.95 && pay < 0.9 }},
		{dataset.PeelChain, "in_age_min_blocks", func(p, pay float64) bool { return p <= 6 && pay > 100 }},
		{dataset.FanOut, "n_outputs", func(p, pay float64) bool { return p > 20 && pay < 3 }},
		{dataset.Dust, "out_min_btc", func(p, pay float64) bool { return p < 546e-8 && pay > 546e-8 }},
		{dataset.RoundCashOut, "out_round_count", func(p, pay float64) bool { return p >= 1 && pay == 0 }},
		{dataset.FreshIdentity, "did_age_days", func(p, pay float64) bool { return p < 10 && pay > 100 }},
		{dataset.FreshIdentity, "kyc_verified", func(p, pay float64) bool { return p == 0 && pay == 1 }},
		{dataset.AddressReuse, "out_reused_count", func(p, pay float64) bool { return p >= 2 && pay == 0 }},
		{dataset.ExchangeBatch, "n_outputs", func(p, pay float64) bool { return p >= 10 }},
		{dataset.Consolidation, "n_inputs", func(p, pay float64) bool { return p >= 10 && pay < 3 }},
	}
	for _, c := range checks {
		pm, pay := median(c.p, c.feature), median(dataset.Payment, c.feature)
		if !c.ok(pm, pay) {
			t.Errorf("%s: median %s %.4f (payments %.4f)", c.p, c.feature, pm, pay)
		}
	}
}

// TestKnowledgeFlags: unknown lookups leave their features at 0, as the bitcoin package does.
func TestKnowledgeFlags(t *testing.T) {
	d := dataset.Transactions(4, 20000)
	s := d.Schema
	var full, raw, anon int
	for i := range d.Rows() {
		r := d.Row(i)
		switch {
		case r[s.Index("inputs_known")] == 0:
			raw++
			for _, f := range []string{"fee_rate_sat_vb", "ages_known", "in_age_min_blocks", "in_age_mean_blocks", "reuse_known", "out_reused_count"} {
				if r[s.Index(f)] != 0 {
					t.Fatalf("row %d: %s = %v without inputs", i, f, r[s.Index(f)])
				}
			}
		case r[s.Index("reuse_known")] == 1:
			full++
		}
		if r[s.Index("identity_known")] == 0 {
			anon++
			for _, f := range []string{"did_age_days", "credentials", "kyc_verified", "address_linked", "prior_payments", "prior_reports"} {
				if r[s.Index(f)] != 0 {
					t.Fatalf("row %d: %s = %v without an identity", i, f, r[s.Index(f)])
				}
			}
		}
	}
	n := float64(d.Rows())
	if math.Abs(float64(full)/n-dataset.KnownFull) > 0.02 || math.Abs(float64(raw)/n-(1-dataset.KnownFull-dataset.KnownNoReuse)) > 0.02 ||
		math.Abs(float64(anon)/n-(1-dataset.KnownIdentity)) > 0.02 {
		t.Fatalf("full %d, raw %d, anonymous %d of %v", full, raw, anon, n)
	}
}

func TestSplit(t *testing.T) {
	d := dataset.Identities(4, 100)
	a, b := d.Split(30)
	if a.Rows() != 30 || b.Rows() != 70 || !slices.Equal(b.Row(0), d.Row(30)) {
		t.Fatal("Split")
	}
}

// TestFeesArePaid: with inputs known, every transaction pays a positive fee.
func TestFeesArePaid(t *testing.T) {
	d := dataset.Transactions(8, 30000)
	k, fr := d.Schema.Index("inputs_known"), d.Schema.Index("fee_rate_sat_vb")
	for i := range d.Rows() {
		if r := d.Row(i); r[k] == 1 && r[fr] <= 0 {
			t.Fatalf("row %d (%s): fee rate %v", i, d.Patterns[i], r[fr])
		}
	}
}
