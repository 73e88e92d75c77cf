package bitcoin_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/bus/bustest"
)

func newNotifier(t *testing.T, c bitcoin.Chain, opts ...bitcoin.Option) *bitcoin.Notifier {
	t.Helper()
	n, err := bitcoin.NewNotifier(t.Context(), c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

func subscribe(t *testing.T, n *bitcoin.Notifier, from bitcoin.BlockStamp) *bitcoin.Registration[bitcoin.BlockEvent] {
	t.Helper()
	sub, err := n.SubscribeBlocks(t.Context(), from)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Cancel)
	return sub
}

func mine(t *testing.T, s *bitcointest.Sim, n int) []chainhash.Hash {
	t.Helper()
	h, err := s.Mine(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// describe renders block events compactly: "+h" connect, "-h" disconnect, "!d" deep reorg.
func describe(ev bitcoin.BlockEvent) string {
	switch e := ev.(type) {
	case bitcoin.BlockConnected:
		return "+" + e.Hash.String()[:8]
	case bitcoin.BlockDisconnected:
		return "-" + e.Hash.String()[:8]
	case bitcoin.DeepReorg:
		return "!" + string(rune('0'+e.Depth))
	}
	return "?"
}

func want(prefix string, hashes ...chainhash.Hash) []string {
	out := make([]string, len(hashes))
	for i, h := range hashes {
		out[i] = prefix + h.String()[:8]
	}
	return out
}

func take(t *testing.T, sub *bitcoin.Registration[bitcoin.BlockEvent], n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		out[i] = describe(bitcointest.Next(t, sub.Events()))
	}
	return out
}

func reverse(h []chainhash.Hash) []chainhash.Hash {
	r := slices.Clone(h)
	slices.Reverse(r)
	return r
}

func TestReorgDisconnectsBeforeConnects(t *testing.T) {
	s := bitcointest.NewSim(t)
	n := newNotifier(t, s.SimChain())
	sub := subscribe(t, n, bitcoin.BlockStamp{})
	old := mine(t, s, 3)
	if got, exp := take(t, sub, 3), want("+", old...); !slices.Equal(got, exp) {
		t.Fatalf("events\n got %v\nwant %v", got, exp)
	}
	fresh, err := s.Reorg(t.Context(), 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	got := take(t, sub, 3+4)
	exp := slices.Concat(want("-", reverse(old)...), want("+", fresh...))
	if !slices.Equal(got, exp) {
		t.Fatalf("events\n got %v\nwant %v", got, exp)
	}
	if tip := n.Tip(); tip.Hash != fresh[3] {
		t.Fatalf("Tip %v, want %s", tip, fresh[3])
	}
}

func TestDeepReorgReportedFirst(t *testing.T) {
	s := bitcointest.NewSim(t)
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	deep := bustest.Record[bitcoin.DeepReorg](t, b, bitcoin.TopicDeepReorg)
	n := newNotifier(t, s.SimChain(), bitcoin.WithSafetyLimit(3), bitcoin.WithBus(b))
	sub := subscribe(t, n, bitcoin.BlockStamp{})
	fork := s.SimChain().Tip()
	old := mine(t, s, 5)
	take(t, sub, 5)
	fresh, err := s.Reorg(t.Context(), 5, 6)
	if err != nil {
		t.Fatal(err)
	}
	got := take(t, sub, 1+5+6)
	exp := slices.Concat([]string{"!5"}, want("-", reverse(old)...), want("+", fresh...))
	if !slices.Equal(got, exp) {
		t.Fatalf("events\n got %v\nwant %v", got, exp)
	}
	envs := deep.WaitFor(t, 1)
	d := envs[0].Payload
	if d.Depth != 5 || d.Fork != fork || d.OldTip.Hash != old[4] || d.SafetyLimit != 3 || envs[0].Source != bitcoin.BusSource {
		t.Fatalf("bus DeepReorg %+v from %q", d, envs[0].Source)
	}
}

func TestShallowReorgIsNotDeep(t *testing.T) {
	s := bitcointest.NewSim(t)
	n := newNotifier(t, s.SimChain(), bitcoin.WithSafetyLimit(3))
	sub := subscribe(t, n, bitcoin.BlockStamp{})
	old := mine(t, s, 3)
	take(t, sub, 3)
	fresh, err := s.Reorg(t.Context(), 3, 3)
	if err != nil {
		t.Fatal(err)
	}
	got := take(t, sub, 6)
	exp := slices.Concat(want("-", reverse(old)...), want("+", fresh...))
	if !slices.Equal(got, exp) {
		t.Fatalf("events\n got %v\nwant %v", got, exp)
	}
}

func TestCheckpointReplay(t *testing.T) {
	s := bitcointest.NewSim(t)
	cp := s.SimChain().Tip()
	hashes := mine(t, s, 4)
	// A notifier started at the checkpoint replays what came after it, on the bus too.
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	rec := bustest.Record[bitcoin.BlockConnected](t, b, bitcoin.TopicBlockConnected)
	n := newNotifier(t, s.SimChain(), bitcoin.WithCheckpoint(cp), bitcoin.WithBus(b))
	got := take(t, subscribe(t, n, cp), 4)
	if exp := want("+", hashes...); !slices.Equal(got, exp) {
		t.Fatalf("replay\n got %v\nwant %v", got, exp)
	}
	envs := rec.WaitFor(t, 4)
	for i, e := range envs {
		if e.Payload.Hash != hashes[i] || e.Payload.Height != cp.Height+1+int32(i) || e.Key != hashes[i].String() {
			t.Fatalf("bus event %d: %+v key %q", i, e.Payload, e.Key)
		}
	}
	// A subscriber with no checkpoint starts at the tip.
	live := subscribe(t, n, bitcoin.BlockStamp{})
	next := mine(t, s, 1)
	if got := take(t, live, 1); got[0] != want("+", next...)[0] {
		t.Fatalf("live subscriber got %v", got)
	}
}

func TestCheckpointReorgedOut(t *testing.T) {
	s := bitcointest.NewSim(t)
	n := newNotifier(t, s.SimChain())
	old := mine(t, s, 2)
	cp := bitcoin.BlockStamp{Height: s.SimChain().Tip().Height, Hash: old[1]}
	fresh, err := s.Reorg(t.Context(), 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	// The host stopped at old[1]; the chain moved to another branch meanwhile.
	var got []string
	for ev, err := range n.Blocks(t.Context(), cp) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, describe(ev))
		if len(got) == 5 {
			break
		}
	}
	exp := slices.Concat(want("-", old[1], old[0]), want("+", fresh...))
	if !slices.Equal(got, exp) {
		t.Fatalf("replay\n got %v\nwant %v", got, exp)
	}
}

func TestCheckpointBelowWindow(t *testing.T) {
	s := bitcointest.NewSim(t)
	cp := s.SimChain().Tip()
	hashes := mine(t, s, 12)
	n := newNotifier(t, s.SimChain(), bitcoin.WithSafetyLimit(2))
	got := take(t, subscribe(t, n, cp), 12)
	if exp := want("+", hashes...); !slices.Equal(got, exp) {
		t.Fatalf("replay\n got %v\nwant %v", got, exp)
	}
}

func TestCheckpointUnknown(t *testing.T) {
	s := bitcointest.NewSim(t)
	bogus := bitcoin.BlockStamp{Height: 3, Hash: chainhash.Hash{9}}
	_, err := bitcoin.NewNotifier(t.Context(), s.SimChain(), bitcoin.WithCheckpoint(bogus))
	var oe *bitcoin.OptionError
	if !errors.As(err, &oe) || oe.Option != "WithCheckpoint" || oe.Value != bogus || !errors.Is(err, bitcoin.ErrInvalidOption) {
		t.Fatalf("NewNotifier with an unknown checkpoint: %v", err)
	}
	var fe *bitcoin.FieldError
	n := newNotifier(t, s.SimChain())
	if _, err := n.SubscribeBlocks(t.Context(), bogus); !errors.As(err, &fe) {
		t.Fatalf("SubscribeBlocks from an unknown block: %v", err)
	}
	for ev, err := range n.Blocks(t.Context(), bogus) {
		if ev != nil || !errors.As(err, &fe) {
			t.Fatalf("Blocks from an unknown block: %v, %v", ev, err)
		}
	}
}

// A subscriber that does not read while the chain moves far past the notifier's window
// (safety limit 2) and reorganizes still gets a consistent stream from its own cursor: applied
// to a model chain, every event fits and the model ends equal to the chain.
func TestSlowSubscriberCatchesUp(t *testing.T) {
	s := bitcointest.NewSim(t)
	n := newNotifier(t, s.SimChain(), bitcoin.WithSafetyLimit(2))
	sub := subscribe(t, n, bitcoin.BlockStamp{})
	start := s.SimChain().Tip()
	mine(t, s, 10)
	if _, err := s.Reorg(t.Context(), 2, 3); err != nil {
		t.Fatal(err)
	}
	model := map[int32]chainhash.Hash{start.Height: start.Hash}
	tip := start.Height
	for model[tip] != s.SimChain().Tip().Hash {
		switch e := bitcointest.Next(t, sub.Events()).(type) {
		case bitcoin.BlockConnected:
			if e.Height != tip+1 || e.Header.PrevBlock != model[tip] {
				t.Fatalf("connect %d:%s does not extend %d:%s", e.Height, e.Hash, tip, model[tip])
			}
			tip++
			model[tip] = e.Hash
		case bitcoin.BlockDisconnected:
			if e.Height != tip || e.Hash != model[tip] {
				t.Fatalf("disconnect %d:%s is not the tip %d:%s", e.Height, e.Hash, tip, model[tip])
			}
			delete(model, tip)
			tip--
		default:
			t.Fatalf("unexpected %#v", e)
		}
	}
	for h := start.Height; h <= tip; h++ {
		if hash, _ := s.SimChain().BlockHash(t.Context(), h); hash != model[h] {
			t.Fatalf("height %d: stream %s, chain %s", h, model[h], hash)
		}
	}
}

func TestBlocksIteratorEnds(t *testing.T) {
	s := bitcointest.NewSim(t)
	n := newNotifier(t, s.SimChain())
	ctx, cancel := context.WithCancel(t.Context())
	mine(t, s, 1)
	cancel()
	var last error
	for _, err := range n.Blocks(ctx, bitcoin.BlockStamp{}) {
		last = err
	}
	if !errors.Is(last, context.Canceled) {
		t.Fatalf("iterator with a cancelled context ended with %v", last)
	}
	done := make(chan error, 1)
	go func() {
		var last error
		for _, err := range n.Blocks(t.Context(), bitcoin.BlockStamp{}) {
			last = err
		}
		done <- last
	}()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, bitcoin.ErrClosed) {
		t.Fatalf("iterator after Close ended with %v", err)
	}
}

func send(t *testing.T, s *bitcointest.Sim, seed string, amount int64) (*wire.MsgTx, []byte) {
	t.Helper()
	script := bitcointest.P2WPKHScript(bitcointest.KeyFromSeed(seed))
	tx, err := s.Wallet().Send(t.Context(), wire.NewTxOut(amount, script))
	if err != nil {
		t.Fatal(err)
	}
	return tx, script
}

func nextConf(t *testing.T, reg *bitcoin.Registration[bitcoin.ConfEvent]) bitcoin.ConfEvent {
	t.Helper()
	return bitcointest.Next(t, reg.Events())
}

func TestConfLifecycle(t *testing.T) {
	s := bitcointest.NewSim(t)
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	confirmed := bustest.Record[bitcoin.TxConfirmed](t, b, bitcoin.TopicTxConfirmed)
	n := newNotifier(t, s.SimChain(), bitcoin.WithSafetyLimit(4), bitcoin.WithBus(b))
	tx, _ := send(t, s, "conf", 10_000)
	reg, err := n.RegisterConf(t.Context(), bitcoin.ConfRequest{Txid: tx.TxHash(), NumConfs: 2, HeightHint: s.SimChain().Tip().Height})
	if err != nil {
		t.Fatal(err)
	}
	h := mine(t, s, 1)
	if ev, ok := nextConf(t, reg).(bitcoin.TxConfUpdate); !ok || ev.Confirmations != 1 || ev.Required != 2 || ev.RegistrationID != reg.ID {
		t.Fatalf("got %#v", ev)
	}
	mine(t, s, 1)
	ev, ok := nextConf(t, reg).(bitcoin.TxConfirmed)
	if !ok || ev.Confirmations != 2 || ev.Block.Hash != h[0] || ev.Tx.TxHash() != tx.TxHash() {
		t.Fatalf("got %#v", ev)
	}
	if ev.Block.Height != s.SimChain().Tip().Height-1 {
		t.Fatalf("confirmed at %v, tip %v", ev.Block, s.SimChain().Tip())
	}
	// Final once the count exceeds the safety limit (4): at 5 confirmations.
	mine(t, s, 3)
	if ev, ok := nextConf(t, reg).(bitcoin.TxFinal); !ok || ev.Confirmations != 5 {
		t.Fatalf("got %#v", ev)
	}
	if _, open := <-reg.Events(); open {
		t.Fatal("events channel still open after TxFinal")
	}
	if err := reg.Err(); err != nil {
		t.Fatalf("Err after a completed registration: %v", err)
	}
	if got := confirmed.WaitFor(t, 1)[0].Payload; got.Txid != tx.TxHash() || got.Tx == nil {
		t.Fatalf("bus TxConfirmed %+v", got)
	}
}

func TestConfHistorical(t *testing.T) {
	s := bitcointest.NewSim(t)
	tx, script := send(t, s, "hist", 10_000)
	start := s.SimChain().Tip().Height
	h := mine(t, s, 3)
	n := newNotifier(t, s.SimChain(), bitcoin.WithSafetyLimit(5))
	// By txid (through the chain's index), already 3 deep: confirmed at once.
	reg, err := n.RegisterConf(t.Context(), bitcoin.ConfRequest{Txid: tx.TxHash(), NumConfs: 2, HeightHint: start})
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok := nextConf(t, reg).(bitcoin.TxConfirmed); !ok || ev.Confirmations != 3 || ev.Block.Hash != h[0] {
		t.Fatalf("got %#v", ev)
	}
	// By script only (block scan from the hint).
	byScript, err := n.RegisterConf(t.Context(), bitcoin.ConfRequest{PkScript: script, NumConfs: 5, HeightHint: start})
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok := nextConf(t, byScript).(bitcoin.TxConfUpdate); !ok || ev.Confirmations != 3 || ev.Txid != tx.TxHash() {
		t.Fatalf("got %#v", ev)
	}
	// A hint above the transaction misses it when scanning by script.
	missed, err := n.RegisterConf(t.Context(), bitcoin.ConfRequest{PkScript: script, NumConfs: 1, HeightHint: start + 2})
	if err != nil {
		t.Fatal(err)
	}
	// Buried past the safety limit: confirmed and final straight away.
	mine(t, s, 3)
	old, err := n.RegisterConf(t.Context(), bitcoin.ConfRequest{Txid: tx.TxHash(), NumConfs: 1, HeightHint: start})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := nextConf(t, old).(bitcoin.TxConfirmed); !ok {
		t.Fatal("want TxConfirmed")
	}
	if ev, ok := nextConf(t, old).(bitcoin.TxFinal); !ok || ev.Confirmations != 6 {
		t.Fatalf("got %#v", ev)
	}
	select {
	case ev := <-missed.Events():
		t.Fatalf("registration with a hint above the transaction got %#v", ev)
	default:
	}
}

func TestConfNegativeAndReconfirm(t *testing.T) {
	s := bitcointest.NewSim(t)
	n := newNotifier(t, s.SimChain())
	tx, _ := send(t, s, "neg", 10_000)
	reg, err := n.RegisterConf(t.Context(), bitcoin.ConfRequest{Txid: tx.TxHash(), NumConfs: 3, HeightHint: s.SimChain().Tip().Height})
	if err != nil {
		t.Fatal(err)
	}
	h := mine(t, s, 2)
	nextConf(t, reg) // 1
	nextConf(t, reg) // 2
	// Reorg out both blocks, keeping the transaction out of the new branch.
	if _, err := s.SimChain().Reorg(2, 3, simchain.Exclude(tx.TxHash())); err != nil {
		t.Fatal(err)
	}
	if ev, ok := nextConf(t, reg).(bitcoin.TxConfUpdate); !ok || ev.Confirmations != 1 {
		t.Fatalf("got %#v, want the count going down to 1", ev)
	}
	if ev, ok := nextConf(t, reg).(bitcoin.TxReorged); !ok || ev.Block.Hash != h[0] {
		t.Fatalf("got %#v, want TxReorged of %s", ev, h[0])
	}
	select {
	case ev := <-reg.Events():
		t.Fatalf("unexpected %#v while the transaction waits in the mempool", ev)
	default:
	}
	// It is still in the mempool: the next block confirms it again.
	h2 := mine(t, s, 1)
	if ev, ok := nextConf(t, reg).(bitcoin.TxConfUpdate); !ok || ev.Confirmations != 1 || ev.Block.Hash != h2[0] {
		t.Fatalf("got %#v", ev)
	}
}

func TestSpendLifecycle(t *testing.T) {
	s := bitcointest.NewSim(t)
	n := newNotifier(t, s.SimChain(), bitcoin.WithSafetyLimit(3))
	key := bitcointest.KeyFromSeed("spend")
	funding, op, err := s.Wallet().Fund(t.Context(), bitcointest.P2WPKHScript(key), 50_000)
	if err != nil {
		t.Fatal(err)
	}
	_ = funding
	mine(t, s, 1)
	hint := s.SimChain().Tip().Height
	reg, err := n.RegisterSpend(t.Context(), bitcoin.SpendRequest{OutPoint: op, HeightHint: hint})
	if err != nil {
		t.Fatal(err)
	}
	spendA, err := bitcointest.SpendOutput(op, 50_000, key, s.Wallet().PkScript(), 1_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SimChain().Broadcast(t.Context(), spendA); err != nil {
		t.Fatal(err)
	}
	h := mine(t, s, 1)
	if ev, ok := bitcointest.Next(t, reg.Events()).(bitcoin.OutpointSpent); !ok || ev.SpenderTxid != spendA.TxHash() || ev.Block.Hash != h[0] || ev.OutPoint != op {
		t.Fatalf("got %#v", ev)
	}
	// Reorg the spend out and replace it with a conflicting spend.
	if _, err := s.SimChain().Reorg(1, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SimChain().Evict(spendA.TxHash()); err != nil {
		t.Fatal(err)
	}
	spendB, err := bitcointest.SpendOutput(op, 50_000, key, bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("thief")), 2_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SimChain().Broadcast(t.Context(), spendB); err != nil {
		t.Fatal(err)
	}
	h2 := mine(t, s, 2)
	if ev, ok := bitcointest.Next(t, reg.Events()).(bitcoin.SpendReorged); !ok || ev.SpenderTxid != spendA.TxHash() {
		t.Fatalf("got %#v", ev)
	}
	if ev, ok := bitcointest.Next(t, reg.Events()).(bitcoin.OutpointSpent); !ok || ev.SpenderTxid != spendB.TxHash() || ev.Block.Hash != h2[0] {
		t.Fatalf("got %#v", ev)
	}
	mine(t, s, 2)
	if ev, ok := bitcointest.Next(t, reg.Events()).(bitcoin.SpendFinal); !ok || ev.SpenderTxid != spendB.TxHash() {
		t.Fatalf("got %#v", ev)
	}
	if _, open := <-reg.Events(); open {
		t.Fatal("channel open after SpendFinal")
	}
	// Historical: the spend is found by scanning from the hint.
	late, err := n.RegisterSpend(t.Context(), bitcoin.SpendRequest{OutPoint: op, HeightHint: hint})
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok := bitcointest.Next(t, late.Events()).(bitcoin.OutpointSpent); !ok || ev.SpenderTxid != spendB.TxHash() || ev.Block.Hash != h2[0] {
		t.Fatalf("historical spend %#v", ev)
	}
	// An unspent output registers without finding anything.
	_, op2, err := s.Wallet().Fund(t.Context(), bitcointest.P2WPKHScript(key), 20_000)
	if err != nil {
		t.Fatal(err)
	}
	mine(t, s, 1)
	none, err := n.RegisterSpend(t.Context(), bitcoin.SpendRequest{OutPoint: op2, HeightHint: hint})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-none.Events():
		t.Fatalf("unspent output: %#v", ev)
	default:
	}
}

// A backend caught in the middle of a reorg (here: two separate unwinds before any connect)
// still gets its deep reorg reported, before the disconnect batch that crosses the limit.
func TestDeepReorgSeenInPieces(t *testing.T) {
	s := bitcointest.NewSim(t)
	n := newNotifier(t, s.SimChain(), bitcoin.WithSafetyLimit(3))
	sub := subscribe(t, n, bitcoin.BlockStamp{})
	old := mine(t, s, 4)
	take(t, sub, 4)
	if _, err := s.Reorg(t.Context(), 2, 0); err != nil {
		t.Fatal(err)
	}
	if got, exp := take(t, sub, 2), want("-", old[3], old[2]); !slices.Equal(got, exp) {
		t.Fatalf("first unwind\n got %v\nwant %v", got, exp)
	}
	if _, err := s.Reorg(t.Context(), 2, 0); err != nil {
		t.Fatal(err)
	}
	got := take(t, sub, 3)
	if exp := slices.Concat([]string{"!4"}, want("-", old[1], old[0])); !slices.Equal(got, exp) {
		t.Fatalf("second unwind\n got %v\nwant %v", got, exp)
	}
	fresh := mine(t, s, 1)
	if got, exp := take(t, sub, 1), want("+", fresh...); !slices.Equal(got, exp) {
		t.Fatalf("after the unwind\n got %v\nwant %v", got, exp)
	}
}

func TestMempoolWatch(t *testing.T) {
	s := bitcointest.NewSim(t)
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	onBus := bustest.Record[bitcoin.MempoolTx](t, b, bitcoin.TopicMempoolTx)
	n := newNotifier(t, s.SimChain(), bitcoin.WithBus(b))
	script := bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("watched"))
	w, err := n.WatchMempool(t.Context(), [][]byte{script})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := send(t, s, "unwatched", 30_000)
	tx, err := s.Wallet().Send(t.Context(), wire.NewTxOut(11_000, script), wire.NewTxOut(12_000, script))
	if err != nil {
		t.Fatal(err)
	}
	ev := bitcointest.Next(t, w.Events())
	if ev.Txid != tx.TxHash() || !slices.Equal(ev.Outputs, []uint32{0, 1}) || ev.Tx.TxHash() != tx.TxHash() {
		t.Fatalf("MempoolTx %+v", ev)
	}
	if got := onBus.WaitFor(t, 1)[0].Payload; got.Txid != tx.TxHash() {
		t.Fatalf("bus MempoolTx %+v", got)
	}
	snap, err := n.Mempool(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Count != 2 || len(snap.Watched) != 1 || snap.Watched[0].Txid != tx.TxHash() {
		t.Fatalf("snapshot %+v, want 2 transactions and %s watched (not %s)", snap, tx.TxHash(), other.TxHash())
	}
	mine(t, s, 1)
	// After the block, the watched transaction is no longer in the snapshot.
	for range 100 {
		snap, err = n.Mempool(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if snap.Count == 0 && len(snap.Watched) == 0 {
			break
		}
	}
	if snap.Count != 0 || len(snap.Watched) != 0 {
		t.Fatalf("snapshot after mining %+v", snap)
	}
	w.Cancel()
	w.Cancel()
	if _, open := <-w.Events(); open {
		t.Fatal("channel open after Cancel")
	}
	// Later transactions to the script are not reported to the cancelled watch, and the
	// notifier keeps working.
	send(t, s, "watched", 5_000)
	mine(t, s, 1)
}

func TestRegistrationValidation(t *testing.T) {
	s := bitcointest.NewSim(t)
	n := newNotifier(t, s.SimChain(), bitcoin.WithSafetyLimit(10))
	ctx := t.Context()
	cases := []struct {
		field string
		err   error
	}{
		{"ConfRequest.Txid", func() error { _, err := n.RegisterConf(ctx, bitcoin.ConfRequest{NumConfs: 1}); return err }()},
		{"ConfRequest.NumConfs", func() error {
			_, err := n.RegisterConf(ctx, bitcoin.ConfRequest{Txid: chainhash.Hash{1}, NumConfs: 0})
			return err
		}()},
		{"ConfRequest.NumConfs", func() error {
			_, err := n.RegisterConf(ctx, bitcoin.ConfRequest{Txid: chainhash.Hash{1}, NumConfs: 11})
			return err
		}()},
		{"ConfRequest.HeightHint", func() error {
			_, err := n.RegisterConf(ctx, bitcoin.ConfRequest{Txid: chainhash.Hash{1}, NumConfs: 1, HeightHint: -1})
			return err
		}()},
		{"SpendRequest.HeightHint", func() error {
			_, err := n.RegisterSpend(ctx, bitcoin.SpendRequest{HeightHint: -5})
			return err
		}()},
		{"pkScripts", func() error { _, err := n.WatchMempool(ctx, nil); return err }()},
		{"pkScripts[1]", func() error { _, err := n.WatchMempool(ctx, [][]byte{{1}, {}}); return err }()},
		{"from", func() error { _, err := n.SubscribeBlocks(ctx, bitcoin.BlockStamp{Height: -1}); return err }()},
	}
	for _, c := range cases {
		var fe *bitcoin.FieldError
		if !errors.As(c.err, &fe) || fe.Field != c.field || !errors.Is(c.err, bitcoin.ErrInvalidArgument) {
			t.Errorf("%s: got %v", c.field, c.err)
		}
	}
	for name, opt := range map[string]bitcoin.Option{
		"WithSafetyLimit":  bitcoin.WithSafetyLimit(0),
		"WithRetryBackoff": bitcoin.WithRetryBackoff(0, 1),
		"WithCheckpoint":   bitcoin.WithCheckpoint(bitcoin.BlockStamp{Height: -1, Hash: chainhash.Hash{1}}),
		"WithClock":        bitcoin.WithClock(time.Now), // a Sender option
	} {
		_, err := bitcoin.NewNotifier(ctx, s.SimChain(), opt)
		var oe *bitcoin.OptionError
		if !errors.As(err, &oe) || oe.Option != name || !errors.Is(err, bitcoin.ErrInvalidOption) || !errors.Is(err, bitcoin.ErrInvalidArgument) {
			t.Errorf("bad option %s: %v", name, err)
		}
	}
	if _, err := bitcoin.NewNotifier(ctx, nil); !errors.Is(err, bitcoin.ErrInvalidArgument) {
		t.Errorf("nil chain: %v", err)
	}
}

func TestNotifierClose(t *testing.T) {
	s := bitcointest.NewSim(t)
	n, err := bitcoin.NewNotifier(t.Context(), s.SimChain())
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := send(t, s, "close", 10_000)
	reg, err := n.RegisterConf(t.Context(), bitcoin.ConfRequest{Txid: tx.TxHash(), NumConfs: 1, HeightHint: 0})
	if err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, n, bitcoin.BlockStamp{})
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for range reg.Events() {
	}
	for range sub.Events() {
	}
	if !errors.Is(reg.Err(), bitcoin.ErrClosed) || !errors.Is(sub.Err(), bitcoin.ErrClosed) {
		t.Fatalf("Err after Close: %v, %v", reg.Err(), sub.Err())
	}
	if _, err := n.RegisterConf(t.Context(), bitcoin.ConfRequest{Txid: tx.TxHash(), NumConfs: 1}); !errors.Is(err, bitcoin.ErrClosed) {
		t.Fatalf("RegisterConf after Close: %v", err)
	}
	if _, err := n.SubscribeBlocks(t.Context(), bitcoin.BlockStamp{}); !errors.Is(err, bitcoin.ErrClosed) {
		t.Fatalf("SubscribeBlocks after Close: %v", err)
	}
	if _, err := n.Mempool(t.Context()); !errors.Is(err, bitcoin.ErrClosed) {
		t.Fatalf("Mempool after Close: %v", err)
	}
	// The chain is not the notifier's to close.
	if _, err := s.SimChain().BestBlock(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// flaky is a Chain whose queries fail while down is set, as when the node goes away; it sends
// no tip update when it comes back, so only the notifier's retry can catch up.
type flaky struct {
	bitcoin.Chain
	down  atomic.Bool
	fails atomic.Int64
}

func (f *flaky) BestBlock(ctx context.Context) (bitcoin.BlockStamp, error) {
	if f.down.Load() {
		f.fails.Add(1)
		return bitcoin.BlockStamp{}, bitcoin.ErrDisconnected
	}
	return f.Chain.BestBlock(ctx)
}

// Subscribe strips the headers from tip updates, so that the notifier always queries.
func (f *flaky) Subscribe(h func(bitcoin.ChainUpdate)) func() {
	return f.Chain.Subscribe(func(u bitcoin.ChainUpdate) {
		u.Header = nil
		h(u)
	})
}

func (f *flaky) BlockHash(ctx context.Context, h int32) (chainhash.Hash, error) {
	if f.down.Load() {
		f.fails.Add(1)
		return chainhash.Hash{}, bitcoin.ErrDisconnected
	}
	return f.Chain.BlockHash(ctx, h)
}

func TestNotifierRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := bitcointest.NewSim(t)
		f := &flaky{Chain: s.SimChain()}
		n := newNotifier(t, f, bitcoin.WithRetryBackoff(time.Second, 8*time.Second))
		sub := subscribe(t, n, bitcoin.BlockStamp{})
		synctest.Wait()
		f.down.Store(true)
		hashes := mine(t, s, 2)
		synctest.Wait()
		if f.fails.Load() == 0 {
			t.Fatal("the notifier did not query the chain")
		}
		// Backoff doubles: attempts at +1s, +3s, +7s, +15s, +23s ... while down.
		time.Sleep(20 * time.Second)
		synctest.Wait()
		failed := f.fails.Load()
		if failed < 4 || failed > 6 {
			t.Fatalf("%d failed attempts in 20s with a 1s..8s backoff", failed)
		}
		select {
		case ev := <-sub.Events():
			t.Fatalf("event %#v while the chain is down", ev)
		default:
		}
		f.down.Store(false)
		time.Sleep(8 * time.Second)
		synctest.Wait()
		got := take(t, sub, 2)
		if exp := want("+", hashes...); !slices.Equal(got, exp) {
			t.Fatalf("after recovery\n got %v\nwant %v", got, exp)
		}
	})
}
