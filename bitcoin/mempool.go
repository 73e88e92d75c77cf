package bitcoin

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/btcsuite/btcd/btcutil"
)

// Fee-rate constants.
const (
	// MinRelayFeeRate is the default minimum relay fee rate of Bitcoin Core and btcd:
	// 1 sat/vB.
	MinRelayFeeRate FeeRate = 1000
	// DefaultFallbackFeeRate is the rate [EstimateFee] answers when neither the backend's
	// estimator nor the mempool gives one: 20 sat/vB (Bitcoin Core's historical
	// -fallbackfee of 0.0002 BTC/kvB).
	DefaultFallbackFeeRate FeeRate = 20_000
	// MaxBlockVSize is the consensus block size limit in virtual bytes (4M weight units / 4).
	MaxBlockVSize = 1_000_000
)

// NewFeeRate returns the rate of paying fee for vsize virtual bytes (rounded down).
// A non-positive vsize gives 0.
func NewFeeRate(fee btcutil.Amount, vsize int64) FeeRate {
	if vsize <= 0 {
		return 0
	}
	return FeeRate(int64(fee) * 1000 / vsize)
}

// SatPerVByte returns r in sat/vB.
func (r FeeRate) SatPerVByte() float64 { return float64(r) / 1000 }

func (r FeeRate) String() string { return fmt.Sprintf("%.3f sat/vB", r.SatPerVByte()) }

// feeBucketBounds are the lower bounds, in sat/vB, of the mempool histogram buckets.
var feeBucketBounds = [...]int64{
	0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100,
	125, 150, 175, 200, 250, 300, 400, 500, 600, 800, 1000, 1500, 2000,
}

// FeeBucket is one bar of a mempool fee-rate histogram: the transactions paying at least
// MinRate and less than the next bucket's MinRate.
type FeeBucket struct {
	MinRate FeeRate        `json:"minRate"`
	Count   int            `json:"count"`
	VSize   int64          `json:"vsize"`
	Fees    btcutil.Amount `json:"fees"`
}

// MempoolSnapshot summarizes a mempool at one moment.
type MempoolSnapshot struct {
	Count int            `json:"count"`
	VSize int64          `json:"vsize"`
	Fees  btcutil.Amount `json:"fees"`
	// Histogram has one bucket per fee-rate band, ascending; the bands start at 0, 1, 2, 3,
	// 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50 ... 2000 sat/vB. Empty bands are included so
	// snapshots line up.
	Histogram []FeeBucket `json:"histogram"`
	// Watched holds the mempool transactions paying a script watched through
	// [Notifier.WatchMempool] (only in snapshots taken by [Notifier.Mempool]).
	Watched []MempoolTx `json:"watched,omitempty"`
}

// SummarizeMempool computes count, total vsize, total fees and the fee-rate histogram of
// entries.
func SummarizeMempool(entries []MempoolEntry) MempoolSnapshot {
	s := MempoolSnapshot{Count: len(entries), Histogram: make([]FeeBucket, len(feeBucketBounds))}
	for i, b := range feeBucketBounds {
		s.Histogram[i].MinRate = FeeRate(b * 1000)
	}
	for _, e := range entries {
		s.VSize += e.VSize
		s.Fees += e.Fee
		r := e.FeeRate()
		// Last bucket whose lower bound is <= r.
		i, found := slices.BinarySearchFunc(feeBucketBounds[:], r, func(b int64, r FeeRate) int {
			return cmpInt64(b*1000, int64(r))
		})
		if !found {
			i--
		}
		if i < 0 {
			i = 0
		}
		bk := &s.Histogram[i]
		bk.Count++
		bk.VSize += e.VSize
		bk.Fees += e.Fee
	}
	return s
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// FeeSource says where a [FeeEstimate] came from.
type FeeSource string

// Sources of a fee estimate, in the order [EstimateFee] tries them.
const (
	FeeSourceBackend  FeeSource = "backend"  // the backend's own estimator (estimatefee)
	FeeSourceMempool  FeeSource = "mempool"  // computed from the current mempool
	FeeSourceFallback FeeSource = "fallback" // the configured fallback rate
)

// FeeEstimate is a fee rate and where it came from.
type FeeEstimate struct {
	Rate   FeeRate   `json:"rate"`
	Source FeeSource `json:"source"`
}

// EstimateFee returns a fee rate for confirmation within target blocks (1..1008). It tries,
// in order:
//
//  1. the backend's estimator ([Chain.EstimateFee]); a result below [MinRelayFeeRate] is
//     raised to it;
//  2. the mempool: the lowest rate that still places a transaction within the first target
//     blocks' worth ([MaxBlockVSize] each) of the mempool ordered by fee rate, plus
//     1 sat/vB; when the whole mempool fits in target blocks, [MinRelayFeeRate];
//  3. the fallback rate ([WithFallbackFeeRate], default [DefaultFallbackFeeRate]).
//
// Only a done ctx or an invalid target makes it fail; backend errors move on to the next
// source.
func EstimateFee(ctx context.Context, c Chain, target int, opts ...Option) (FeeEstimate, error) {
	all, err := newConfig(forFee, opts)
	if err != nil {
		return FeeEstimate{}, err
	}
	cfg := all.fee
	if c == nil {
		return FeeEstimate{}, &FieldError{Field: "chain", Reason: "nil Chain"}
	}
	if target < 1 || target > 1008 {
		return FeeEstimate{}, &FieldError{Field: "target", Reason: fmt.Sprintf("%d is outside 1..1008", target)}
	}
	if r, err := c.EstimateFee(ctx, target); err == nil && r > 0 {
		return FeeEstimate{Rate: max(r, MinRelayFeeRate), Source: FeeSourceBackend}, nil
	} else if ctxErr := ctx.Err(); ctxErr != nil {
		return FeeEstimate{}, ctxErr
	}
	if entries, err := c.Mempool(ctx); err == nil {
		return FeeEstimate{Rate: mempoolFeeRate(entries, target), Source: FeeSourceMempool}, nil
	} else if ctxErr := ctx.Err(); ctxErr != nil {
		return FeeEstimate{}, ctxErr
	} else if errors.Is(err, ErrClosed) {
		return FeeEstimate{}, err
	}
	return FeeEstimate{Rate: cfg.fallback, Source: FeeSourceFallback}, nil
}

// mempoolFeeRate is the mempool-based estimate described at EstimateFee.
func mempoolFeeRate(entries []MempoolEntry, target int) FeeRate {
	room := int64(target) * MaxBlockVSize
	var total int64
	for _, e := range entries {
		total += e.VSize
	}
	if total <= room {
		return MinRelayFeeRate
	}
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b MempoolEntry) int { return cmpInt64(int64(b.FeeRate()), int64(a.FeeRate())) })
	var used int64
	for _, e := range sorted {
		used += e.VSize
		if used >= room {
			return max(e.FeeRate()+1000, MinRelayFeeRate)
		}
	}
	return MinRelayFeeRate
}
