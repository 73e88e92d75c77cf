package anya_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/web5/dwn"
)

// BenchmarkBridgeBlock1000 is the UTXO bar through the Manager: a block whose transaction pays
// 1,000 linked addresses, each of a different registered identity (the worst case: one store
// each), processed by the Manager's block pipeline — the UTXO records of the 1,000 updated, and
// the record-linked-tx trigger (each link verified again, the transaction recorded in each
// DID's store) — on a Manager with a data directory (file-backed SQLite, as a host runs it).
// One op is one block, from mining it until WaitBridges returns.
func BenchmarkBridgeBlock1000(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	sim, err := simchain.New()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sim.Close() })
	m, err := anya.New(anya.WithDataDir(b.TempDir()), anya.WithChain(sim), anya.WithEphemeralKeys())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	ids := make([]*anya.Identity, n)
	outs := make([]*wire.TxOut, n)
	for i := range ids {
		id, err := m.NewIdentity(ctx, anya.WithIdentityMethod("jwk"))
		if err != nil {
			b.Fatal(err)
		}
		ch, err := m.Challenge(id.String(), id.Address.String())
		if err != nil {
			b.Fatal(err)
		}
		sig, err := id.SignChallenge(ch)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Execute(ctx, anya.BitcoinToWeb5{DID: id.String(), Address: id.Address.String(), Challenge: ch, Signature: sig}); err != nil {
			b.Fatal(err)
		}
		ids[i], outs[i] = id, wire.NewTxOut(10_000, id.Address.PkScript())
	}
	funder, err := bitcointest.NewWalletFromSeed(sim, "bridge bench funder")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := sim.Mine(101, simchain.PayTo(funder.PkScript())); err != nil {
		b.Fatal(err)
	}
	tip, _ := sim.BestBlock(ctx)
	if _, err := m.WaitBridges(ctx, tip); err != nil {
		b.Fatal(err)
	}
	// The record-linked-tx trigger's outcomes, to check that it ran rather than being refused.
	var (
		mu       sync.Mutex
		outcomes []anya.TriggerOutcome
	)
	if _, err := bus.Subscribe(m.Bus(), anya.TopicBridgeBlock, func(_ context.Context, ev bus.Envelope[anya.BridgeBlock]) error {
		mu.Lock()
		defer mu.Unlock()
		for _, o := range ev.Payload.Triggers {
			if o.Trigger == "record-linked-tx" {
				outcomes = append(outcomes, o)
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := funder.Send(ctx, outs...); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c0 := cpuTime()
		hs, err := sim.Mine(1)
		if err != nil {
			b.Fatal(err)
		}
		tip, _ := sim.BestBlock(ctx)
		if tip.Hash != hs[0] {
			b.Fatal("the mined block is not the tip")
		}
		if _, err := m.WaitBridges(ctx, tip); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c0
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/block")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/block")
	for _, id := range ids[:3] {
		if s, _ := m.UTXOs().Set(id.String(), id.Address); len(s.UTXOs) != b.N {
			b.Fatalf("%s: %d UTXOs in its record after %d blocks", id, len(s.UTXOs), b.N)
		}
		if recs, err := m.BridgeRecords().Query(ctx, id.String(), bridge.PathTx, dwn.Filter{}); err != nil || len(recs) != b.N {
			b.Fatalf("%s: %d transaction records after %d blocks: %v", id, len(recs), b.N, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, o := range outcomes {
		if o.Denied || o.Err != "" {
			b.Fatalf("record-linked-tx did not run: %+v", o)
		}
	}
}
