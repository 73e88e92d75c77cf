package utxo_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bridge/utxo"
	"github.com/anya-org/anya-go/web5/dwn"
)

// BenchmarkBlock1000 is the bar: a block touching 1,000 linked addresses (each of a different
// DID, the worst case: one record each) updates their UTXO records. One op is one block
// applied: reading it, computing the changes and writing 1,000 records through the records
// store (signed messages, verified, under the DIDs' grants), on the SQLite store in memory and
// in a file (as a host keeps it), and on the memory store.
func BenchmarkBlock1000(b *testing.B) {
	for _, st := range []struct {
		name  string
		store func(b *testing.B) dwn.Store
	}{
		{"store=sqlite", func(b *testing.B) dwn.Store {
			s, err := dwn.OpenSQLiteStore(context.Background(), ":memory:")
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"store=sqlite-file", func(b *testing.B) dwn.Store {
			s, err := dwn.OpenSQLiteStore(context.Background(), filepath.Join(b.TempDir(), "dwn.db"))
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"store=memory", func(*testing.B) dwn.Store { return dwn.NewMemoryStore() }},
	} {
		b.Run(st.name, func(b *testing.B) {
			s := st.store(b)
			b.Cleanup(func() { s.Close() })
			benchBlock(b, 1000, s)
		})
	}
}

func benchBlock(b *testing.B, n int, store dwn.Store) {
	ctx := context.Background()
	sim := bitcointest.NewSim(b)
	w := newWorld(b, sim, n, store)
	br, err := utxo.New(sim.Chain(), w.records)
	if err != nil {
		b.Fatal(err)
	}
	outs := make([]*wire.TxOut, 0, n)
	for _, u := range w.users {
		if err := br.Track(ctx, u.id.String(), u.addr); err != nil {
			b.Fatal(err)
		}
		outs = append(outs, wire.NewTxOut(10_000, u.addr.PkScript()))
	}
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := sim.Wallet().Send(ctx, outs...); err != nil {
			b.Fatal(err)
		}
		hashes, err := sim.Mine(ctx, 1)
		if err != nil {
			b.Fatal(err)
		}
		hdr, _ := sim.Chain().BlockHeader(ctx, hashes[0])
		tip, _ := sim.Chain().BestBlock(ctx)
		ev := bitcoin.BlockConnected{Height: tip.Height, Hash: hashes[0], Header: hdr}
		b.StartTimer()
		c0 := cpuTime()
		if err := br.Apply(ctx, ev); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c0
	}
	b.StopTimer()
	// Wall time per block, and the CPU time it took (both cores): on a machine shared with
	// other work the CPU time divided by the cores is what an idle machine would take.
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/block")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/block")
	for _, u := range w.users[:3] {
		if s, _ := br.Set(u.id.String(), u.addr); len(s.UTXOs) != b.N {
			b.Fatalf("%d UTXOs after %d blocks", len(s.UTXOs), b.N)
		}
	}
}
