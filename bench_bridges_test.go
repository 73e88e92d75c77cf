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
// One op is one block, from mining it until WaitBridges returns; the first block after the
// links were made is timed apart (first-ms, first-cpu-ms), and utxo-ms/block is the time until
// the block's 1,000 UTXO records were updated.
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
	// The moment the block's 1,000 UTXO records are updated: the records store announces every
	// record it stored on the bus (after its commit), and the UTXO records (bridge.PathUTXOs)
	// are updated only by the block pipeline here, before the triggers fire. The time stamped
	// is when the 1,000th announcement reaches this subscriber: the commit, plus the bus's
	// delivery.
	var (
		umu      sync.Mutex
		uwritten int
		uwant    int
		uat      time.Time
		ureached = make(chan struct{}, 1)
	)
	if _, err := bus.Subscribe(m.Bus(), dwn.TopicPrefix+".*."+dwn.EventRecordWritten, func(_ context.Context, ev bus.Envelope[dwn.Event]) error {
		now := time.Now()
		umu.Lock()
		defer umu.Unlock()
		uwritten++
		if uwritten == uwant {
			uat = now
			ureached <- struct{}{}
		}
		return nil
	}, bus.Filter(func(ev bus.Envelope[dwn.Event]) bool {
		r := ev.Payload.Record
		// Updates only: the records' creation (when the links were made) is not a block's.
		return r != nil && r.Protocol == bridge.ProtocolURI && r.ProtocolPath == bridge.PathUTXOs && r.DateUpdated != r.DateCreated
	})); err != nil {
		b.Fatal(err)
	}
	// block mines one block paying the 1,000 addresses and returns its wall time, its CPU
	// time (the whole process's) and the time until its UTXO records were updated.
	block := func() (wall, cpu, untilUTXOs time.Duration) {
		b.StopTimer()
		if _, err := funder.Send(ctx, outs...); err != nil {
			b.Fatal(err)
		}
		umu.Lock()
		uwant = uwritten + n
		umu.Unlock()
		b.StartTimer()
		c0, t0 := cpuTime(), time.Now()
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
		wall, cpu = time.Since(t0), cpuTime()-c0
		b.StopTimer()
		select {
		case <-ureached:
		case <-time.After(time.Minute):
			b.Fatal("the 1,000 UTXO records of the block were not announced")
		}
		umu.Lock()
		untilUTXOs = uat.Sub(t0)
		umu.Unlock()
		b.StartTimer()
		return wall, cpu, untilUTXOs
	}
	// The first block after the links were made is reported apart: for each link it reads the
	// identity (the link dropped it from the identity cache, rightly: its links changed) and
	// checks the new credential in full (no verdict of it is cached yet), once per link. The
	// blocks timed are the steady state: every link verified before, identities cached.
	firstWall, firstCPU, firstUTXOs := block()
	b.ReportAllocs()
	b.ResetTimer()
	var cpu, untilUTXOs time.Duration
	for i := 0; i < b.N; i++ {
		_, c, u := block()
		cpu, untilUTXOs = cpu+c, untilUTXOs+u
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/block")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/block")
	b.ReportMetric(float64(untilUTXOs.Milliseconds())/float64(b.N), "utxo-ms/block")
	b.ReportMetric(float64(firstWall.Milliseconds()), "first-ms")
	b.ReportMetric(float64(firstCPU.Milliseconds()), "first-cpu-ms")
	b.ReportMetric(float64(firstUTXOs.Milliseconds()), "first-utxo-ms")
	for _, id := range ids[:3] {
		if s, _ := m.UTXOs().Set(id.String(), id.Address); len(s.UTXOs) != b.N+1 {
			b.Fatalf("%s: %d UTXOs in its record after %d blocks", id, len(s.UTXOs), b.N+1)
		}
		if recs, err := m.BridgeRecords().Query(ctx, id.String(), bridge.PathTx, dwn.Filter{}); err != nil || len(recs) != b.N+1 {
			b.Fatalf("%s: %d transaction records after %d blocks: %v", id, len(recs), b.N+1, err)
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
