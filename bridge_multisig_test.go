package anya_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge/multisig"
)

// A 2-of-3 multisig wallet of three identities held by three separate Managers — sorted P2WSH,
// and tapscript (OP_CHECKSIGADD script path) — spends its coin: the coordinator builds the
// PSBT, two participants' Managers sign it, each as its identity, for the wallet its own store
// keeps, and the combined transaction is accepted by the chain and confirmed. A participant's
// Manager refuses a PSBT spending another coin, a wallet it does not keep, an identity it does
// not hold, and bytes that are not a PSBT; the coordinator refuses one signature short of the
// threshold.
func TestMultisigSigningRoundAcrossManagers(t *testing.T) {
	ctx := t.Context()
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	managers := make([]*anya.Manager, 3)
	dids := make([]string, 3)
	for i := range managers {
		m, err := anya.New(anya.WithChain(sim))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		id, err := m.NewIdentity(ctx, anya.WithIdentityMethod("jwk"))
		if err != nil {
			t.Fatal(err)
		}
		managers[i], dids[i] = m, id.String()
	}
	funder, err := bitcointest.NewWalletFromSeed(sim, "multisig funder")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(101, simchain.PayTo(funder.PkScript())); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []bitcoin.MultisigKind{bitcoin.SortedP2WSH, bitcoin.TapscriptMultisig} {
		t.Run(kind.String(), func(t *testing.T) {
			// Each Manager builds the wallet from the DIDs and keeps it in its identity's store.
			wallets := make([]*multisig.Wallet, 3)
			for i, m := range managers {
				if wallets[i], err = m.Multisig(ctx, 2, dids, multisig.WithKind(kind)); err != nil {
					t.Fatal(err)
				}
			}
			w := wallets[0]
			addr := w.Address().String()
			if _, err := funder.Send(ctx, wire.NewTxOut(1_000_000, w.Address().PkScript())); err != nil {
				t.Fatal(err)
			}
			if _, err := sim.Mine(1); err != nil {
				t.Fatal(err)
			}
			payee := mustParse(t, mustAddr(t, "multisig payee "+kind.String()))
			base, err := managers[0].MultisigPSBT(ctx, w, wire.NewTxOut(400_000, payee.PkScript()))
			if err != nil {
				t.Fatal(err)
			}
			sent := []byte(base.Base64()) // what travels
			signed := map[string][]byte{}
			for i := 1; i < 3; i++ {
				p, err := managers[i].SignMultisig(ctx, dids[i], addr, sent)
				if err != nil {
					t.Fatalf("participant %d: %v", i, err)
				}
				signed[dids[i]] = p.Bytes()
			}

			// Refusals by a participant's Manager.
			other, err := bitcoin.CreatePSBT([]*wire.TxOut{wire.NewTxOut(10_000, payee.PkScript())},
				[]bitcoin.Coin{funderCoin(t, sim, funder)}, bitcointest.DefaultWalletFeeRate, payee)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := managers[1].SignMultisig(ctx, dids[1], addr, other.Bytes()); !errors.Is(err, multisig.ErrRound) {
				t.Errorf("a PSBT spending another coin: %v", err)
			}
			if _, err := managers[1].SignMultisig(ctx, dids[1], payee.String(), sent); !errors.Is(err, anya.ErrInvalidOp) {
				t.Errorf("a wallet the store does not keep: %v", err)
			}
			if _, err := managers[1].SignMultisig(ctx, dids[2], addr, sent); !errors.Is(err, anya.ErrUnknownIdentity) {
				t.Errorf("an identity another Manager holds: %v", err)
			}
			if _, err := managers[1].SignMultisig(ctx, dids[1], addr, []byte("cHNidP8 not a psbt")); !errors.Is(err, anya.ErrInvalidOp) {
				t.Errorf("bytes that are not a PSBT: %v", err)
			}
			// One signature short of the threshold: nothing sent.
			if _, err := managers[0].FinishMultisig(ctx, w, base, map[string][]byte{dids[1]: signed[dids[1]]}); err == nil {
				t.Fatal("one signature of two finished the round")
			}

			txid, err := managers[0].FinishMultisig(ctx, w, base, signed)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sim.Mine(1); err != nil {
				t.Fatal(err)
			}
			info, err := sim.Tx(ctx, txid)
			if err != nil || info.Block == nil {
				t.Fatalf("the multisig spend %s is not confirmed: %v", txid, err)
			}
			paid := false
			for _, o := range info.Tx.TxOut {
				paid = paid || o.Value == 400_000 && string(o.PkScript) == string(payee.PkScript())
			}
			if !paid {
				t.Fatalf("the spend does not pay the payee: %+v", info.Tx.TxOut)
			}
		})
	}
}

// funderCoin returns a confirmed coin of the funder's.
func funderCoin(t *testing.T, sim *simchain.Chain, w *bitcointest.Wallet) bitcoin.Coin {
	t.Helper()
	utxos, err := sim.UTXOs(t.Context(), w.PkScript())
	if err != nil || len(utxos) == 0 {
		t.Fatalf("the funder's coins: %v", err)
	}
	return utxos[0].Coin()
}

// participants returns n Managers on chain, each holding one new did:jwk identity (with its
// Bitcoin key), and their DIDs.
func participants(t *testing.T, chain bitcoin.Chain, n int) ([]*anya.Manager, []string) {
	t.Helper()
	managers, dids := make([]*anya.Manager, n), make([]string, n)
	for i := range managers {
		m, err := anya.New(anya.WithChain(chain))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		id, err := m.NewIdentity(t.Context(), anya.WithIdentityMethod("jwk"))
		if err != nil {
			t.Fatal(err)
		}
		managers[i], dids[i] = m, id.String()
	}
	return managers, dids
}

// Finishing a multisig round is exactly-once across a crash: the combined transaction is
// recorded, then the process stops before the broadcast reaches the node; after the restart,
// finishing the same round sends the recorded transaction — the same txid — and finishing it
// again (twice at once, without the signed copies) sends nothing new. A round over another
// PSBT spending the same coin is refused, and sends nothing; the coordinator's next PSBT leaves
// the recorded spend's coin alone.
func TestFinishMultisigExactlyOnceAcrossCrash(t *testing.T) {
	h := newHost(t, 1_000_000)
	ctx := t.Context()
	// The host coordinates; three other Managers hold the participants' keys, two sign.
	others, dids := participants(t, h.sim, 3)
	w, err := h.m.Multisig(ctx, 2, dids)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range others {
		if _, err := m.Multisig(ctx, 2, dids); err != nil {
			t.Fatal(err)
		}
	}
	h.fund(w.Address(), 1_000_000)
	payee := mustParse(t, mustAddr(t, "multisig crash payee"))
	base, err := h.m.MultisigPSBT(ctx, w, wire.NewTxOut(300_000, payee.PkScript()))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(p *bitcoin.PSBT) map[string][]byte {
		signed := map[string][]byte{}
		for i, m := range others[:2] {
			s, err := m.SignMultisig(ctx, dids[i], w.Address().String(), []byte(p.Base64()))
			if err != nil {
				t.Fatal(err)
			}
			signed[dids[i]] = s.Bytes()
		}
		return signed
	}
	signed := sign(base)

	pctx, cancel := context.WithCancel(ctx)
	var recorded chainhash.Hash
	h.chain.set(func(c *hookChain) {
		c.broadcast = func(_ context.Context, tx *wire.MsgTx) error {
			recorded = tx.TxHash()
			cancel() // recorded; the process stops before the broadcast reaches the node
			return context.Canceled
		}
	})
	if _, err := h.m.FinishMultisig(pctx, w, base, signed); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted round: %v", err)
	}
	h.chain.set(func(c *hookChain) { c.broadcast = nil })
	if recorded != base.UnsignedTx().TxHash() {
		t.Fatalf("the round reached the broadcast with %s, want %s", recorded, base.UnsignedTx().TxHash())
	}
	if err := h.m.Close(); err != nil {
		t.Fatal(err)
	}
	if pool, _ := h.sim.Mempool(ctx); len(pool) != 0 {
		t.Fatalf("the chain has %d transactions: the spend was broadcast", len(pool))
	}

	m := h.open()
	// The coordinator's next PSBT leaves the recorded spend's coin alone: the wallet has no other.
	if _, err := m.MultisigPSBT(ctx, w, wire.NewTxOut(100_000, payee.PkScript())); !errors.Is(err, bitcoin.ErrInsufficientFunds) {
		t.Fatalf("a PSBT while the only coin is held by a recorded spend: %v", err)
	}
	txid, err := m.FinishMultisig(ctx, w, base, signed)
	if err != nil {
		t.Fatal(err)
	}
	if txid != recorded {
		t.Fatalf("the retry sent %s, want the recorded %s", txid, recorded)
	}
	pool, _ := h.sim.Mempool(ctx)
	if len(pool) != 1 || pool[0].Txid != recorded {
		t.Fatalf("mempool %+v, want the recorded spend only", pool)
	}

	// Again, twice at once and without the copies: the same transaction, nothing broadcast.
	h.chain.counts()
	var wg sync.WaitGroup
	again := make([]chainhash.Hash, 2)
	errs := make([]error, 2)
	for i := range again {
		wg.Go(func() { again[i], errs[i] = m.FinishMultisig(ctx, w, base, nil) })
	}
	wg.Wait()
	for i := range again {
		if errs[i] != nil || again[i] != recorded {
			t.Fatalf("finishing again: %s %v, want %s", again[i], errs[i], recorded)
		}
	}
	if n := h.chain.counts()["Broadcast"]; n != 0 {
		t.Fatalf("finishing again broadcast %d transactions", n)
	}

	// Another round over the same coin, fully signed: refused, nothing sent.
	coin, err := h.sim.TxOut(ctx, base.UnsignedTx().TxIn[0].PreviousOutPoint, false)
	if err != nil {
		t.Fatalf("the wallet's coin: %v", err)
	}
	conflict, err := bitcoin.CreatePSBT([]*wire.TxOut{wire.NewTxOut(500_000, payee.PkScript())}, []bitcoin.Coin{w.Coin(coin)},
		bitcointest.DefaultWalletFeeRate, w.Address())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.FinishMultisig(ctx, w, conflict, sign(conflict)); !errors.Is(err, multisig.ErrSpent) {
		t.Fatalf("a conflicting round: %v", err)
	}
	if n := h.chain.counts()["Broadcast"]; n != 0 {
		t.Fatalf("the conflicting round broadcast %d transactions", n)
	}
	if pool, _ := h.sim.Mempool(ctx); len(pool) != 1 {
		t.Fatalf("mempool %+v, want the recorded spend only", pool)
	}

	if _, err := h.sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	if info, err := h.sim.Tx(ctx, recorded); err != nil || info.Block == nil {
		t.Fatalf("the multisig spend %s is not confirmed: %v", recorded, err)
	}
}
