package bitcoin

import (
	"bytes"
	"context"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// BenchmarkBlockIngest compares ingesting btcd's 1.25 MB mainnet block (3,315
// transactions) with and without per-transaction feature extraction. The bar: the
// features variant costs at most 1.3× the baseline.
func BenchmarkBlockIngest(b *testing.B) {
	raw := mainnetBlock(b)
	ctx := context.Background()
	e, err := NewFeatureExtractor()
	if err != nil {
		b.Fatal(err)
	}
	var sink chainhash.Hash
	b.Run("deserialize+txids", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			var blk wire.MsgBlock
			if err := blk.Deserialize(bytes.NewReader(raw)); err != nil {
				b.Fatal(err)
			}
			for _, tx := range blk.Transactions {
				sink = tx.TxHash()
			}
		}
	})
	b.Run("deserialize+txids+features", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		buf := make([]float32, 0, numTxFeatures)
		for b.Loop() {
			var blk wire.MsgBlock
			if err := blk.Deserialize(bytes.NewReader(raw)); err != nil {
				b.Fatal(err)
			}
			for _, tx := range blk.Transactions {
				sink = tx.TxHash()
				buf, _ = e.Tx(ctx, tx, 574200, buf[:0])
			}
		}
	})
	b.Run("features-only", func(b *testing.B) {
		var blk wire.MsgBlock
		if err := blk.Deserialize(bytes.NewReader(raw)); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		buf := make([]float32, 0, numTxFeatures)
		for b.Loop() {
			for _, tx := range blk.Transactions {
				buf, _ = e.Tx(ctx, tx, 574200, buf[:0])
			}
		}
	})
	_ = sink
}

func BenchmarkBlockFeatures(b *testing.B) {
	raw := mainnetBlock(b)
	var blk wire.MsgBlock
	if err := blk.Deserialize(bytes.NewReader(raw)); err != nil {
		b.Fatal(err)
	}
	e, _ := NewFeatureExtractor()
	ctx := context.Background()
	b.ReportAllocs()
	var buf []float32
	for b.Loop() {
		buf, _ = e.Block(ctx, &blk, 574200, buf[:0])
	}
}
