package utxo_test

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/wire"
	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/utxo"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// world is a host keeping records in users' stores on one node, and a chain.
type world struct {
	be      bitcointest.Backend
	node    *dwn.Node
	host    *did.BearerDID
	records *bridge.Records
	users   []*user
}

type user struct {
	id   *did.BearerDID
	key  *btcec.PrivateKey
	addr bitcoin.Address
}

func newWorld(t testing.TB, be bitcointest.Backend, users int, store dwn.Store) *world {
	t.Helper()
	ctx := context.Background()
	r, _ := did.NewResolver(did.WithMethods(didkey.New()))
	opts := []dwn.Option{}
	if store != nil {
		opts = append(opts, dwn.WithStore(store))
	}
	node, err := dwn.New(r, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	host, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	var book bridge.GrantBook
	w := &world{be: be, node: node, host: host}
	if _, err := bridge.Setup(ctx, node, host, "", 0, nil); err != nil {
		t.Fatal(err)
	}
	for i := range users {
		id, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
		g, err := bridge.Setup(ctx, node, id, host.String(), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		book.Add(id.String(), g)
		key := bitcointest.KeyFromSeed(t.Name() + " user " + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676)))
		addr, _ := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Regtest)
		w.users = append(w.users, &user{id: id, key: key, addr: addr})
	}
	w.records, _ = bridge.NewRecords(node, host, bridge.WithGrants(book.Lookup))
	return w
}

// stored reads u's UTXO record from u's store.
func (w *world) stored(t testing.TB, u *user) utxo.Set {
	t.Helper()
	recs, err := w.records.Query(context.Background(), u.id.String(), bridge.PathUTXOs, dwn.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("%d UTXO records for %s", len(recs), u.id)
	}
	var s utxo.Set
	if err := json.Unmarshal(recs[0].Data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// truth returns the confirmed UTXOs of addr as the chain has them, sorted.
func truth(t testing.TB, c bitcoin.Chain, addr bitcoin.Address) []wire.OutPoint {
	t.Helper()
	list, err := c.UTXOs(context.Background(), addr.PkScript())
	if err != nil {
		t.Fatal(err)
	}
	var out []wire.OutPoint
	for _, u := range list {
		if u.Height > 0 {
			out = append(out, u.OutPoint)
		}
	}
	return sortOps(out)
}

func sortOps(ops []wire.OutPoint) []wire.OutPoint {
	sort.Slice(ops, func(i, j int) bool { return ops[i].String() < ops[j].String() })
	return ops
}

func outpoints(s utxo.Set) []wire.OutPoint {
	var out []wire.OutPoint
	for _, c := range s.UTXOs {
		out = append(out, c.OutPoint)
	}
	return sortOps(out)
}

func equal(a, b []wire.OutPoint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// waitCaughtUp waits until the bridge's checkpoint is the chain's tip and every user's record
// holds the chain's UTXOs.
func (w *world) waitCaughtUp(t testing.TB, b *utxo.Bridge) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(bitcointest.DefaultWait)
	for {
		tip, err := w.be.Chain().BestBlock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := b.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cp == tip {
			ok := true
			for _, u := range w.users {
				s, _ := b.Set(u.id.String(), u.addr)
				ok = ok && equal(outpoints(s), truth(t, w.be.Chain(), u.addr))
			}
			if ok {
				for _, u := range w.users {
					if got, want := outpoints(w.stored(t, u)), truth(t, w.be.Chain(), u.addr); !equal(got, want) {
						t.Fatalf("%s: stored %v, chain %v", u.id, got, want)
					}
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("bridge at %v, chain at %v", cp, tip)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func pay(t testing.TB, w *world, to bitcoin.Address, sats int64) *wire.MsgTx {
	t.Helper()
	tx, err := w.be.Wallet().Send(context.Background(), wire.NewTxOut(sats, to.PkScript()))
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func mine(t testing.TB, w *world, n int) {
	t.Helper()
	if _, err := w.be.Mine(context.Background(), n); err != nil {
		t.Fatal(err)
	}
}

func TestFollowsTheChain(t *testing.T) {
	t.Run("simchain", func(t *testing.T) { follow(t, bitcointest.NewSim(t), true) })
	t.Run("btcd", func(t *testing.T) {
		if testing.Short() {
			t.Skip("starts btcd")
		}
		node := bitcointest.StartBtcd(t)
		if err := node.MineTo(context.Background(), bitcointest.SegwitHeight+10); err != nil {
			t.Fatal(err)
		}
		follow(t, node.Backend(t), false)
	})
}

// follow tracks two linked addresses, pays and spends them across blocks, reorganizes the
// chain and restarts the bridge, checking after each step that the records hold exactly the
// chain's UTXOs.
func follow(t *testing.T, be bitcointest.Backend, sim bool) {
	ctx := context.Background()
	w := newWorld(t, be, 2, nil)
	a, bu := w.users[0], w.users[1]
	// a was paid before it was linked: Track picks that up.
	pay(t, w, a.addr, 1_000_000)
	mine(t, w, 1)

	cp, err := bridge.NewCheckpoint(w.records, w.host.String(), "utxo")
	if err != nil {
		t.Fatal(err)
	}
	start := func() (*utxo.Bridge, func()) {
		n, err := bitcoin.NewNotifier(ctx, be.Chain())
		if err != nil {
			t.Fatal(err)
		}
		b, err := utxo.New(be.Chain(), w.records, utxo.WithCheckpoints(cp))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Load(ctx, a.id.String(), bu.id.String()); err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- b.Run(runCtx, n) }()
		return b, func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v", err)
			}
			n.Close()
		}
	}
	b, stop := start()
	if err := b.Track(ctx, a.id.String(), a.addr); err != nil {
		t.Fatal(err)
	}
	if err := b.Track(ctx, bu.id.String(), bu.addr); err != nil {
		t.Fatal(err)
	}
	if s := w.stored(t, a); len(s.UTXOs) != 1 || s.Balance() != 1_000_000 {
		t.Fatalf("tracked record %+v", s)
	}

	// Payments in one block, a spend in the next.
	pay(t, w, a.addr, 200_000)
	pay(t, w, bu.addr, 300_000)
	mine(t, w, 1)
	w.waitCaughtUp(t, b)
	spender, err := bitcointest.NewWallet(be.Chain(), a.key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spender.Send(ctx, wire.NewTxOut(500_000, bu.addr.PkScript())); err != nil {
		t.Fatal(err)
	}
	mine(t, w, 1)
	w.waitCaughtUp(t, b)
	if s := w.stored(t, a); len(s.Spent) == 0 {
		t.Fatal("the spent coin is not kept for a reorg")
	}

	// A reorg: the last two blocks are replaced; their transactions are mined again.
	if _, err := be.Reorg(ctx, 2, 3); err != nil {
		t.Fatal(err)
	}
	w.waitCaughtUp(t, b)

	if sim {
		// A reorg that drops a payment: the record must lose it.
		s := be.(*bitcointest.Sim)
		tx := pay(t, w, bu.addr, 77_000)
		mine(t, w, 1)
		w.waitCaughtUp(t, b)
		if !hasValue(w.stored(t, bu), 77_000) {
			t.Fatal("payment not recorded")
		}
		if _, err := s.SimChain().Reorg(1, 2, simchain.Exclude(tx.TxHash())); err != nil {
			t.Fatal(err)
		}
		if err := s.SimChain().Evict(tx.TxHash()); err != nil {
			t.Fatal(err)
		}
		w.waitCaughtUp(t, b)
		if hasValue(w.stored(t, bu), 77_000) {
			t.Fatal("the reorged-out payment is still recorded")
		}
	}

	// Restart: blocks mined while the bridge is down are applied when it comes back.
	stop()
	pay(t, w, a.addr, 123_456)
	mine(t, w, 2)
	b, stop = start()
	defer stop()
	w.waitCaughtUp(t, b)
	if !hasValue(w.stored(t, a), 123_456) {
		t.Fatal("the payment mined while the bridge was down is missing")
	}
}

func hasValue(s utxo.Set, v int64) bool {
	for _, c := range s.UTXOs {
		if int64(c.Value) == v {
			return true
		}
	}
	return false
}

// Apply undoes a disconnected block exactly, and applying an event twice changes nothing.
func TestApplyUndo(t *testing.T) {
	ctx := context.Background()
	sim := bitcointest.NewSim(t)
	w := newWorld(t, sim, 1, nil)
	u := w.users[0]
	pay(t, w, u.addr, 400_000)
	mine(t, w, 1)
	b, err := utxo.New(sim.Chain(), w.records)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Track(ctx, u.id.String(), u.addr); err != nil {
		t.Fatal(err)
	}
	before := w.stored(t, u)

	// A block paying u and spending u's coin.
	spender, _ := bitcointest.NewWallet(sim.Chain(), u.key)
	if _, err := spender.Send(ctx, wire.NewTxOut(100_000, sim.Wallet().PkScript())); err != nil {
		t.Fatal(err)
	}
	pay(t, w, u.addr, 50_000)
	hashes, _ := sim.Mine(ctx, 1)
	hdr, _ := sim.Chain().BlockHeader(ctx, hashes[0])
	tip, _ := sim.Chain().BestBlock(ctx)
	conn := bitcoin.BlockConnected{Height: tip.Height, Hash: hashes[0], Header: hdr}
	for range 2 {
		if err := b.Apply(ctx, conn); err != nil {
			t.Fatal(err)
		}
	}
	after := w.stored(t, u)
	if got, want := outpoints(after), truth(t, sim.Chain(), u.addr); !equal(got, want) {
		t.Fatalf("after connect: %v, chain %v", got, want)
	}
	if cp, _ := b.Checkpoint(ctx); cp != conn.Stamp() {
		t.Fatalf("checkpoint %v", cp)
	}
	disc := bitcoin.BlockDisconnected{Height: tip.Height, Hash: hashes[0], Header: hdr}
	for range 2 {
		if err := b.Apply(ctx, disc); err != nil {
			t.Fatal(err)
		}
	}
	undone := w.stored(t, u)
	if !equal(outpoints(undone), outpoints(before)) || undone.Balance() != before.Balance() || len(undone.Spent) != 0 {
		t.Fatalf("after disconnect: %+v, before %+v", undone, before)
	}
	if cp, _ := b.Checkpoint(ctx); cp.Hash != hdr.PrevBlock || cp.Height != tip.Height-1 {
		t.Fatalf("checkpoint after disconnect %v", cp)
	}
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	sim := bitcointest.NewSim(t)
	w := newWorld(t, sim, 1, nil)
	for name, opt := range map[string]utxo.Option{
		"WithConcurrency": utxo.WithConcurrency(0),
		"WithSafetyLimit": utxo.WithSafetyLimit(0),
		"WithLogger":      utxo.WithLogger(nil),
	} {
		var oe *utxo.OptionError
		if _, err := utxo.New(sim.Chain(), w.records, opt); !errors.As(err, &oe) || oe.Option != name {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := utxo.New(nil, w.records); !errors.Is(err, utxo.ErrInvalidOption) {
		t.Errorf("nil chain: %v", err)
	}
	b, _ := utxo.New(sim.Chain(), w.records)
	if err := b.Track(ctx, "", w.users[0].addr); !errors.Is(err, utxo.ErrInvalidArgument) {
		t.Errorf("no DID: %v", err)
	}
	// A tenant that gave the host no grant: the record cannot be written.
	stranger, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err := b.Track(ctx, stranger.String(), w.users[0].addr); !errors.Is(err, bridge.ErrNoGrant) {
		t.Errorf("no grant: %v", err)
	}
	// A record that does not name its tenant's DID is reported by Load.
	u := w.users[0]
	if _, err := w.records.Create(ctx, u.id.String(), bridge.PathUTXOs, utxo.Set{DID: "did:example:else", Address: u.addr.String()}); err != nil {
		t.Fatal(err)
	}
	if err := b.Load(ctx, u.id.String()); !errors.Is(err, utxo.ErrBadRecord) {
		t.Errorf("bad record: %v", err)
	}
}
