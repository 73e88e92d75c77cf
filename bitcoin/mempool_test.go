package bitcoin_test

import (
	"context"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go/bitcoin"
)

func entry(id byte, vsize int64, satPerVB float64) bitcoin.MempoolEntry {
	return bitcoin.MempoolEntry{Txid: chainhash.Hash{id}, VSize: vsize, Fee: btcutil.Amount(satPerVB * float64(vsize))}
}

func TestFeeRate(t *testing.T) {
	r := bitcoin.NewFeeRate(1_001, 1000)
	if r != 1001 || r.SatPerVByte() != 1.001 {
		t.Fatalf("NewFeeRate(1001 sat, 1000 vB) = %d (%v sat/vB)", r, r.SatPerVByte())
	}
	if got := bitcoin.FeeRate(1500).FeeFor(141); got != 212 { // 211.5 rounds up
		t.Fatalf("FeeFor = %d, want 212", got)
	}
	if bitcoin.NewFeeRate(100, 0) != 0 {
		t.Fatal("zero vsize")
	}
	if s := bitcoin.FeeRate(12_500).String(); s != "12.500 sat/vB" {
		t.Fatalf("String = %q", s)
	}
}

func TestSummarizeMempool(t *testing.T) {
	entries := []bitcoin.MempoolEntry{
		entry(1, 200, 0.5), // bucket 0
		entry(2, 100, 1),   // bucket 1 sat/vB
		entry(3, 100, 1.9), // bucket 1
		entry(4, 300, 7),   // bucket 6
		entry(5, 150, 2500),
	}
	s := bitcoin.SummarizeMempool(entries)
	if s.Count != 5 || s.VSize != 850 {
		t.Fatalf("count %d vsize %d", s.Count, s.VSize)
	}
	var fees btcutil.Amount
	for _, e := range entries {
		fees += e.Fee
	}
	if s.Fees != fees {
		t.Fatalf("fees %v, want %v", s.Fees, fees)
	}
	counts := map[bitcoin.FeeRate]int{}
	for i, b := range s.Histogram {
		counts[b.MinRate] = b.Count
		if i > 0 && b.MinRate <= s.Histogram[i-1].MinRate {
			t.Fatal("histogram not ascending")
		}
	}
	for rate, want := range map[bitcoin.FeeRate]int{0: 1, 1000: 2, 6000: 1, 2_000_000: 1, 2000: 0} {
		if counts[rate] != want {
			t.Errorf("bucket %v: %d, want %d", rate, counts[rate], want)
		}
	}
	if empty := bitcoin.SummarizeMempool(nil); empty.Count != 0 || len(empty.Histogram) != len(s.Histogram) {
		t.Fatalf("empty snapshot %+v", empty)
	}
}

// feeChain answers EstimateFee and Mempool only.
type feeChain struct {
	bitcoin.Chain
	rate    bitcoin.FeeRate
	rateErr error
	entries []bitcoin.MempoolEntry
	memErr  error
}

func (f feeChain) EstimateFee(context.Context, int) (bitcoin.FeeRate, error) {
	return f.rate, f.rateErr
}
func (f feeChain) Mempool(context.Context) ([]bitcoin.MempoolEntry, error) {
	return f.entries, f.memErr
}

func TestEstimateFee(t *testing.T) {
	ctx := t.Context()
	noEst := errors.New("x: " + bitcoin.ErrNoFeeEstimate.Error())
	// A full mempool: 3 blocks' worth at 50 sat/vB and 2 at 10 sat/vB.
	var full []bitcoin.MempoolEntry
	for i := range 30 {
		full = append(full, entry(byte(i), 100_000, 50))
	}
	for i := range 20 {
		full = append(full, entry(byte(100+i), 100_000, 10))
	}
	cases := []struct {
		name   string
		c      feeChain
		target int
		want   bitcoin.FeeEstimate
	}{
		{"backend", feeChain{rate: 7_000}, 6, bitcoin.FeeEstimate{Rate: 7_000, Source: bitcoin.FeeSourceBackend}},
		{"backend below relay", feeChain{rate: 10}, 6, bitcoin.FeeEstimate{Rate: bitcoin.MinRelayFeeRate, Source: bitcoin.FeeSourceBackend}},
		{"small mempool", feeChain{rateErr: noEst, entries: []bitcoin.MempoolEntry{entry(1, 200, 3)}}, 1, bitcoin.FeeEstimate{Rate: bitcoin.MinRelayFeeRate, Source: bitcoin.FeeSourceMempool}},
		{"full mempool, 2 blocks", feeChain{rateErr: noEst, entries: full}, 2, bitcoin.FeeEstimate{Rate: 51_000, Source: bitcoin.FeeSourceMempool}},
		{"full mempool, 4 blocks", feeChain{rateErr: noEst, entries: full}, 4, bitcoin.FeeEstimate{Rate: 11_000, Source: bitcoin.FeeSourceMempool}},
		{"full mempool, 6 blocks", feeChain{rateErr: noEst, entries: full}, 6, bitcoin.FeeEstimate{Rate: bitcoin.MinRelayFeeRate, Source: bitcoin.FeeSourceMempool}},
		{"fallback", feeChain{rateErr: noEst, memErr: bitcoin.ErrDisconnected}, 3, bitcoin.FeeEstimate{Rate: bitcoin.DefaultFallbackFeeRate, Source: bitcoin.FeeSourceFallback}},
	}
	for _, c := range cases {
		got, err := bitcoin.EstimateFee(ctx, c.c, c.target)
		if err != nil || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	got, err := bitcoin.EstimateFee(ctx, feeChain{rateErr: noEst, memErr: bitcoin.ErrDisconnected}, 3, bitcoin.WithFallbackFeeRate(5_000))
	if err != nil || got.Rate != 5_000 {
		t.Fatalf("custom fallback: %+v, %v", got, err)
	}
	for _, target := range []int{0, 1009} {
		if _, err := bitcoin.EstimateFee(ctx, feeChain{}, target); !errors.Is(err, bitcoin.ErrInvalidArgument) {
			t.Errorf("target %d: %v", target, err)
		}
	}
	if _, err := bitcoin.EstimateFee(ctx, feeChain{}, 2, bitcoin.WithFallbackFeeRate(10)); !errors.Is(err, bitcoin.ErrInvalidArgument) {
		t.Errorf("fallback below relay: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := bitcoin.EstimateFee(cctx, feeChain{rateErr: context.Canceled}, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
