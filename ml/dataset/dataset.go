package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/anya-org/anya-go/ml"
)

// Dataset is a labelled, row-major feature matrix.
type Dataset struct {
	Schema ml.Schema
	// X holds Rows()×Width() values, row-major.
	X []float32
	// Y holds one label per row: 1 for the positive class (fraud for transactions, reputable
	// for identities).
	Y []uint8
	// Patterns says which generator pattern produced each row.
	Patterns []Pattern
}

// Width returns the number of features per row.
func (d *Dataset) Width() int { return d.Schema.Len() }

// Rows returns the number of rows.
func (d *Dataset) Rows() int { return len(d.Y) }

// Row returns row i (a view into X).
func (d *Dataset) Row(i int) []float32 { w := d.Width(); return d.X[i*w : (i+1)*w] }

// Split returns the first n rows and the rest, sharing memory with d.
func (d *Dataset) Split(n int) (head, tail *Dataset) {
	n = min(max(n, 0), d.Rows())
	w := d.Width()
	head = &Dataset{Schema: d.Schema, X: d.X[:n*w], Y: d.Y[:n], Patterns: d.Patterns[:n]}
	tail = &Dataset{Schema: d.Schema, X: d.X[n*w:], Y: d.Y[n:], Patterns: d.Patterns[n:]}
	return head, tail
}

// PositiveRate returns the share of rows labelled 1.
func (d *Dataset) PositiveRate() float64 {
	var n int
	for _, y := range d.Y {
		n += int(y)
	}
	return float64(n) / float64(max(len(d.Y), 1))
}

// Pattern is the behaviour that generated a row.
type Pattern uint8

// Transaction patterns (legitimate first) and identity kinds.
const (
	// Payment is an ordinary wallet payment with change.
	Payment Pattern = iota
	// RoundPurchase is a legitimate payment of a round amount (people buy "0.01 BTC").
	RoundPurchase
	// ExchangeBatch is a legitimate payout batch: a fan-out from a verified, long-lived merchant.
	ExchangeBatch
	// Consolidation merges many old outputs into one.
	Consolidation
	// PeelChain peels a few percent off a large, freshly received output and forwards the rest.
	PeelChain
	// FanOut splits fresh funds into many near-equal outputs at once.
	FanOut
	// Dust sends hundreds of outputs below the dust limit to track their recipients.
	Dust
	// RoundCashOut sweeps fresh funds into one or two round amounts with no change.
	RoundCashOut
	// FreshIdentity is an ordinary-looking but large payment from a days-old, unverified
	// identity.
	FreshIdentity
	// AddressReuse cycles funds through previously used addresses.
	AddressReuse

	// Identity kinds of the reputation dataset.
	Established
	Merchant
	Newcomer
	Fraudster
	Stolen
)

var patternNames = [...]string{"payment", "round_purchase", "exchange_batch", "consolidation", "peel_chain", "fan_out",
	"dust", "round_cash_out", "fresh_identity", "address_reuse", "established", "merchant", "newcomer", "fraudster", "stolen"}

func (p Pattern) String() string {
	if int(p) < len(patternNames) {
		return patternNames[p]
	}
	return fmt.Sprintf("Pattern(%d)", p)
}

// Fraud reports whether the pattern is a fraud pattern (or a bad identity kind).
func (p Pattern) Fraud() bool {
	return (p >= PeelChain && p <= AddressReuse) || p == Fraudster || p == Stolen
}

// Share is the part of a dataset one pattern accounts for.
type Share struct {
	Pattern Pattern
	Share   float64
}

// Mix returns the share of each transaction pattern in [Transactions]: 90% legitimate, 10%
// fraud.
func Mix() []Share {
	return []Share{
		{Payment, 0.70}, {RoundPurchase, 0.07}, {ExchangeBatch, 0.08}, {Consolidation, 0.05},
		{PeelChain, 0.025}, {FanOut, 0.02}, {Dust, 0.01}, {RoundCashOut, 0.015}, {FreshIdentity, 0.015}, {AddressReuse, 0.015},
	}
}

// LabelNoise is the share of labels flipped in both datasets: reports are wrong sometimes.
const LabelNoise = 0.01

const (
	satPerBTC = 1e8
	dustLimit = 546
	roundUnit = 10_000 // the bitcoin package's RoundAmountSats
)

// How much a scorer knows about a transaction. Usually a chain index gives input values, ages
// and script reuse (KnownFull); sometimes it knows inputs and ages but not reuse (KnownNoReuse);
// otherwise only the raw transaction. KnownIdentity is the share of payments whose sender's DID
// was resolved.
const (
	KnownFull     = 0.8
	KnownNoReuse  = 0.1
	KnownIdentity = 0.85
)

type gen struct{ r *rand.Rand }

func (g gen) uniform(lo, hi float64) float64 { return lo + g.r.Float64()*(hi-lo) }
func (g gen) chance(p float64) bool          { return g.r.Float64() < p }
func (g gen) intn(lo, hi int) int            { return lo + g.r.IntN(hi-lo+1) }

// lognormal draws a value whose median is median and whose log has standard deviation sigma.
func (g gen) lognormal(median, sigma float64) float64 {
	return median * math.Exp(sigma*g.r.NormFloat64())
}

// poisson draws from a Poisson distribution (Knuth's method; the means used here are small).
func (g gen) poisson(mean float64) float64 {
	if mean <= 0 {
		return 0
	}
	if mean > 50 {
		return math.Max(0, math.Round(mean+math.Sqrt(mean)*g.r.NormFloat64()))
	}
	l, k, p := math.Exp(-mean), 0.0, 1.0
	for {
		p *= g.r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func (g gen) pick(shares []float64) int {
	u := g.r.Float64()
	for i, s := range shares {
		if u < s {
			return i
		}
		u -= s
	}
	return len(shares) - 1
}

// identity is the shared part of both schemas plus the reputation extras.
type identity struct {
	ageDays, credentials, kyc, linked, payments, reports         float64
	linkedAddrs, volumeBTC, disputes, dwnRecords, method, endpts float64
}

func (g gen) identity(kind Pattern) identity {
	var id identity
	b := func(p float64) float64 {
		if g.chance(p) {
			return 1
		}
		return 0
	}
	switch kind {
	case Established:
		id = identity{ageDays: g.lognormal(500, 1), credentials: g.poisson(4), kyc: b(0.75), linked: b(0.8),
			payments: math.Round(g.lognormal(40, 1.2)), reports: g.poisson(0.03)}
	case Merchant:
		id = identity{ageDays: g.lognormal(1200, 0.6), credentials: g.poisson(10), kyc: b(0.98), linked: b(0.95),
			payments: math.Round(g.lognormal(5000, 1)), reports: g.poisson(0.3)}
	case Newcomer:
		id = identity{ageDays: g.uniform(0, 10), credentials: g.poisson(0.8), kyc: b(0.3), linked: b(0.4),
			payments: g.poisson(1), reports: 0}
	case Fraudster:
		id = identity{ageDays: g.r.ExpFloat64() * 4, credentials: g.poisson(0.3), kyc: b(0.05), linked: b(0.1),
			payments: g.poisson(2), reports: g.poisson(0.4)}
	case Stolen:
		id = identity{ageDays: g.lognormal(400, 1), credentials: g.poisson(3), kyc: b(0.6), linked: b(0.3),
			payments: math.Round(g.lognormal(30, 1.2)), reports: g.poisson(0.3)}
	}
	bad := kind == Fraudster || kind == Stolen
	id.ageDays = math.Min(math.Floor(id.ageDays*10)/10, 36500)
	id.linkedAddrs = id.linked * (1 + g.poisson(1.5))
	id.volumeBTC = math.Min(id.payments*g.lognormal(0.02, 1), 21e6)
	disputeRate := 0.01
	if bad {
		disputeRate = 0.15
	}
	id.disputes = g.poisson(disputeRate * math.Sqrt(id.payments+1))
	switch {
	case bad:
		id.dwnRecords = math.Round(g.lognormal(2, 1))
	case kind == Newcomer:
		id.dwnRecords = math.Round(g.lognormal(4, 1))
	default:
		id.dwnRecords = math.Round(g.lognormal(30, 1.2))
	}
	switch {
	case bad:
		id.method = float64(g.pick([]float64{0.6, 0.2, 0.05, 0.15}))
		id.endpts = float64(g.pick([]float64{0.8, 0.2}))
	case kind == Merchant:
		id.method = float64(g.pick([]float64{0.05, 0.05, 0.7, 0.2}))
		id.endpts = float64(g.intn(1, 4))
	default:
		id.method = float64(g.pick([]float64{0.25, 0.15, 0.2, 0.4}))
		id.endpts = float64(g.intn(0, 3))
	}
	return id
}

type input struct {
	sat, age float64
	segwit   bool
	reused   bool
}

type output struct {
	sat    float64
	reused bool
}

type tx struct {
	in        []input
	out       []output
	feeRate   float64
	rbf, lock bool
	change    bool
}

func (g gen) inputs(n int, medianBTC, sigma, medianAge, ageSigma float64, segwit float64) []input {
	in := make([]input, n)
	for i := range in {
		in[i] = input{sat: math.Max(dustLimit*2, math.Round(g.lognormal(medianBTC, sigma)*satPerBTC)),
			age: math.Max(0, math.Round(g.lognormal(medianAge, ageSigma))), segwit: g.chance(segwit)}
	}
	return in
}

func total(in []input) float64 {
	var s float64
	for _, x := range in {
		s += x.sat
	}
	return s
}

func roundDown(sat float64) float64 { return math.Floor(sat/roundUnit) * roundUnit }

func (t *tx) vsize() float64 {
	v := 10.5
	for _, in := range t.in {
		if in.segwit {
			v += 68
		} else {
			v += 148
		}
	}
	return math.Round(v + 31*float64(len(t.out)))
}

// finish subtracts the fee from the last output (change, or the only output) and shuffles. When
// that output cannot pay the fee and stay above dust, the first input grows to cover it, so
// inputs always equal outputs plus the fee.
func (g gen) finish(t *tx) {
	fee := math.Round(t.feeRate * t.vsize())
	last := &t.out[len(t.out)-1]
	if left := last.sat - fee; left < dustLimit {
		t.in[0].sat += dustLimit - left
		last.sat = dustLimit
	} else {
		last.sat = left
	}
	g.r.Shuffle(len(t.out), func(i, j int) { t.out[i], t.out[j] = t.out[j], t.out[i] })
}

func (g gen) payment(big bool) tx {
	t := tx{feeRate: g.lognormal(8, 0.8), rbf: g.chance(0.35), lock: g.chance(0.6), change: true}
	median := 0.02
	if big {
		median = 1
	}
	t.in = g.inputs(1+min(int(g.r.ExpFloat64()*0.8), 9), median, 1.5, 1500, 1.5, 0.85)
	in := total(t.in)
	frac := g.uniform(0.1, 0.9)
	if g.chance(0.1) {
		frac = g.uniform(0.005, 0.1)
	}
	pay := math.Round(in * frac)
	if g.chance(0.2) && pay >= roundUnit {
		pay = roundDown(pay)
	}
	t.out = append(t.out, output{sat: pay, reused: g.chance(0.08)})
	if g.chance(0.05) {
		extra := math.Round(in * g.uniform(0.01, 0.1))
		t.out = append(t.out, output{sat: extra})
		pay += extra
	}
	t.out = append(t.out, output{sat: in - pay, reused: g.chance(0.03)})
	for i := range t.in {
		t.in[i].reused = g.chance(0.05)
	}
	return t
}

func (g gen) transaction(p Pattern) tx {
	switch p {
	case RoundPurchase:
		t := g.payment(false)
		in := total(t.in)
		pay := []float64{0.001, 0.005, 0.01, 0.02, 0.05, 0.1}[g.r.IntN(6)] * satPerBTC
		if pay > in*0.9 {
			pay = math.Max(roundDown(in*0.5), roundUnit)
		}
		t.out = []output{{sat: pay}, {sat: in - pay}}
		return t
	case ExchangeBatch:
		t := tx{feeRate: g.lognormal(12, 0.6), rbf: g.chance(0.6), lock: g.chance(0.3), change: true}
		t.in = g.inputs(g.intn(1, 5), 2, 1, 50, 1.5, 0.95)
		in := total(t.in)
		n := g.intn(10, 150)
		var paid float64
		for range n {
			v := math.Round(g.lognormal(0.01, 1.5) * satPerBTC)
			if g.chance(0.3) && v >= roundUnit {
				v = roundDown(v)
			}
			if paid+v > in*0.95 {
				break
			}
			paid += v
			t.out = append(t.out, output{sat: v, reused: g.chance(0.05)})
		}
		t.out = append(t.out, output{sat: in - paid})
		return t
	case Consolidation:
		t := tx{feeRate: g.lognormal(2, 0.5), rbf: g.chance(0.3), lock: g.chance(0.6)}
		t.in = g.inputs(g.intn(10, 150), 0.005, 1.2, 10000, 1, 0.8)
		t.out = []output{{sat: total(t.in)}}
		return t
	case PeelChain:
		t := tx{feeRate: g.lognormal(15, 0.6), rbf: g.chance(0.1), lock: g.chance(0.2), change: true}
		t.in = g.inputs(1, 8, 1, 2, 0.6, 0.9)
		t.in[0].age = float64(g.intn(1, 6))
		in := total(t.in)
		peel := math.Round(in * g.uniform(0.005, 0.05))
		if g.chance(0.4) && peel >= roundUnit {
			peel = roundDown(peel)
		}
		t.out = []output{{sat: peel}, {sat: in - peel}}
		return t
	case FanOut:
		t := tx{feeRate: g.lognormal(20, 0.5), rbf: g.chance(0.2), lock: g.chance(0.3), change: g.chance(0.2)}
		t.in = g.inputs(g.intn(1, 2), 3, 1, 3, 1, 0.9)
		for i := range t.in {
			t.in[i].age = float64(g.intn(0, 10))
		}
		in := total(t.in)
		n := g.intn(20, 250)
		kept := 1.0 // without change everything is split; finish takes the fee from the last output
		if t.change {
			kept = g.uniform(0.6, 0.95)
		}
		share := in * kept / float64(n)
		round := g.chance(0.5) && share >= roundUnit
		var paid float64
		for range n {
			v := math.Round(share * (1 + 0.05*g.r.NormFloat64()))
			if round {
				v = roundDown(share)
			}
			paid += v
			t.out = append(t.out, output{sat: v})
		}
		if t.change {
			t.out = append(t.out, output{sat: math.Max(in-paid, dustLimit)})
		} else {
			t.out[len(t.out)-1].sat += in - paid
		}
		return t
	case Dust:
		t := tx{feeRate: g.lognormal(3, 0.5), rbf: g.chance(0.1), lock: g.chance(0.2), change: true}
		t.in = g.inputs(g.intn(1, 2), 0.01, 0.8, 200, 1.5, 0.8)
		in := total(t.in)
		n := g.intn(30, 400)
		var paid float64
		for range n {
			v := float64(g.intn(300, dustLimit-1))
			if g.chance(0.1) {
				v = float64(g.intn(dustLimit, 2000))
			}
			paid += v
			t.out = append(t.out, output{sat: v})
		}
		t.out = append(t.out, output{sat: math.Max(in-paid, dustLimit)})
		return t
	case RoundCashOut:
		// Round amounts first, then inputs that cover them plus the fee exactly: no change.
		t := tx{feeRate: g.lognormal(25, 0.6), rbf: g.chance(0.1), lock: g.chance(0.2)}
		amounts := []float64{0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5}
		t.out = []output{{sat: amounts[g.r.IntN(len(amounts))] * satPerBTC}}
		if g.chance(0.5) {
			t.out = append(t.out, output{sat: amounts[g.r.IntN(len(amounts))] * satPerBTC})
		}
		k := g.intn(2, 8)
		t.in = make([]input, k)
		for i := range t.in {
			t.in[i] = input{age: float64(g.intn(1, 20)), segwit: g.chance(0.7)}
		}
		need := sumOut(t.out) + math.Round(t.feeRate*t.vsize())
		weights := make([]float64, k)
		var wsum float64
		for i := range weights {
			weights[i] = g.uniform(0.2, 1)
			wsum += weights[i]
		}
		var given float64
		for i := range k - 1 {
			t.in[i].sat = math.Round(need * weights[i] / wsum)
			given += t.in[i].sat
		}
		t.in[k-1].sat = need - given
		return t
	case FreshIdentity:
		return g.payment(true)
	case AddressReuse:
		t := tx{feeRate: g.lognormal(10, 0.7), rbf: g.chance(0.3), lock: g.chance(0.4), change: g.chance(0.5)}
		t.in = g.inputs(g.intn(2, 6), 0.3, 1.2, 10, 1, 0.8)
		for i := range t.in {
			t.in[i].age = math.Round(g.uniform(1, 30))
			t.in[i].reused = g.chance(0.7)
		}
		in := total(t.in)
		n := g.intn(2, 5)
		shares := make([]float64, n)
		var sum float64
		for i := range shares {
			shares[i] = g.uniform(0.2, 1)
			sum += shares[i]
		}
		var paid float64
		for i := range n - 1 {
			v := math.Round(in * shares[i] / sum)
			paid += v
			t.out = append(t.out, output{sat: v, reused: g.chance(0.8)})
		}
		t.out = append(t.out, output{sat: in - paid, reused: g.chance(0.8)})
		return t
	}
	return g.payment(false)
}

func sumOut(out []output) float64 {
	var s float64
	for _, o := range out {
		s += o.sat
	}
	return s
}

func flag(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// features computes the transaction features exactly as the bitcoin package defines them.
// inputs and reuse say which lookups succeeded.
func (t *tx) features(dst []float32, inputs, reuse bool) {
	var total, mn, mx, mean, m2, round, nonRound, reused float64
	mn = math.Inf(1)
	for i, o := range t.out {
		total += o.sat
		mn = math.Min(mn, o.sat)
		mx = math.Max(mx, o.sat)
		x := o.sat / satPerBTC
		d := x - mean
		mean += d / float64(i+1)
		m2 += d * (x - mean)
		if o.sat > 0 && math.Mod(o.sat, roundUnit) == 0 {
			round++
		} else {
			nonRound++
		}
		if o.reused {
			reused++
		}
	}
	n := float64(len(t.out))
	witness := false
	for _, in := range t.in {
		witness = witness || in.segwit
	}
	clear(dst[:len(txFeatures)])
	copy(dst, []float32{
		float32(len(t.in)), float32(n), float32(t.vsize()), flag(t.rbf), flag(t.lock), flag(witness),
		float32(total / satPerBTC), float32(mn / satPerBTC), float32(math.Sqrt(m2 / n)), float32(mx / total),
		float32(round), flag(n >= 2 && nonRound == 1),
	})
	if inputs {
		var in, ageMin, ageSum float64
		ageMin = math.Inf(1)
		for _, x := range t.in {
			in += x.sat
			ageMin = math.Min(ageMin, x.age)
			ageSum += x.age
		}
		dst[12] = 1
		dst[13] = float32((in - total) / t.vsize())
		dst[14] = 1
		dst[15] = float32(math.Min(ageMin, 1e7))
		dst[16] = float32(math.Min(ageSum/float64(len(t.in)), 1e7))
	}
	if reuse {
		dst[17] = 1
		dst[18] = float32(reused)
	}
}

func (id *identity) shared(dst []float32) {
	copy(dst, []float32{float32(id.ageDays), float32(id.credentials), float32(id.kyc), float32(id.linked),
		float32(math.Min(id.payments, 1e7)), float32(id.reports)})
}

// Transactions generates n labelled rows of the fraud schema from seed. Each row is a
// transaction following one pattern of [Mix], with the identity of its sender: legitimate
// patterns come mostly from established identities (15% from legitimate newcomers, whose
// identity features look like a fraudster's), fraud patterns from fraudsters (75%, fresh
// identities) and stolen accounts (25%, aged ones). [LabelNoise] of the labels are flipped.
// The same seed always gives the same rows.
func Transactions(seed uint64, n int) *Dataset {
	g := gen{rand.New(rand.NewPCG(seed, 0x7478))}
	d := &Dataset{Schema: FraudSchema(), Y: make([]uint8, n), Patterns: make([]Pattern, n)}
	mix := Mix()
	shares := make([]float64, len(mix))
	for i, m := range mix {
		shares[i] = m.Share
	}
	w := d.Width()
	d.X = make([]float32, n*w)
	for i := range n {
		p := mix[g.pick(shares)].Pattern
		t := g.transaction(p)
		if p != RoundCashOut {
			g.finish(&t)
		}
		var kind Pattern
		switch {
		case p == ExchangeBatch:
			kind = Merchant
		case p.Fraud() && p != FreshIdentity:
			kind = Fraudster
			if g.chance(0.25) {
				kind = Stolen
			}
		case p == FreshIdentity:
			kind = Fraudster
		default:
			kind = []Pattern{Established, Newcomer, Merchant}[g.pick([]float64{0.82, 0.15, 0.03})]
		}
		id := g.identity(kind)
		row := d.X[i*w : (i+1)*w]
		k := g.r.Float64()
		t.features(row[:len(txFeatures)], k < KnownFull+KnownNoReuse, k < KnownFull)
		if g.chance(KnownIdentity) {
			row[len(txFeatures)] = 1
			id.shared(row[len(txFeatures)+1:])
		}
		d.Patterns[i] = p
		d.Y[i] = label(p.Fraud(), g)
	}
	return d
}

func label(positive bool, g gen) uint8 {
	if g.chance(LabelNoise) {
		positive = !positive
	}
	if positive {
		return 1
	}
	return 0
}

// IdentityMix returns the share of each identity kind in [Identities].
func IdentityMix() []Share {
	return []Share{{Established, 0.55}, {Merchant, 0.08}, {Newcomer, 0.17}, {Fraudster, 0.12}, {Stolen, 0.08}}
}

// Identities generates n labelled rows of the reputation schema from seed: label 1 (reputable)
// for established identities, merchants and newcomers, 0 for fraudsters and stolen accounts,
// with [LabelNoise] flipped. The same seed always gives the same rows.
func Identities(seed uint64, n int) *Dataset {
	g := gen{rand.New(rand.NewPCG(seed, 0x6964))}
	d := &Dataset{Schema: ReputationSchema(), Y: make([]uint8, n), Patterns: make([]Pattern, n)}
	w := d.Width()
	d.X = make([]float32, n*w)
	mix := IdentityMix()
	shares := make([]float64, len(mix))
	for i, m := range mix {
		shares[i] = m.Share
	}
	for i := range n {
		kind := mix[g.pick(shares)].Pattern
		id := g.identity(kind)
		row := d.X[i*w : (i+1)*w]
		id.shared(row)
		copy(row[len(identityFeatures):], []float32{float32(id.linkedAddrs), float32(id.volumeBTC), float32(id.disputes),
			float32(math.Min(id.dwnRecords, 1e7)), float32(id.method), float32(id.endpts)})
		d.Patterns[i] = kind
		d.Y[i] = label(!kind.Fraud(), g)
	}
	return d
}

// Check validates every row against the dataset's schema (the generator's own test).
func (d *Dataset) Check() error {
	for i := range d.Rows() {
		v := ml.Vector{Schema: d.Schema.Name, Version: d.Schema.Version, Values: d.Row(i)}
		if err := d.Schema.Validate(v); err != nil {
			return fmt.Errorf("dataset: row %d (%s): %w", i, d.Patterns[i], err)
		}
	}
	return nil
}

// PatternCounts returns how many rows each pattern produced.
func (d *Dataset) PatternCounts() map[Pattern]int {
	m := map[Pattern]int{}
	for _, p := range d.Patterns {
		m[p]++
	}
	return m
}
