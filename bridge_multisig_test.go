package anya_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
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
			info := mineConfirmed(t, sim, txid)
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

// A MuSig2 key-path spend signed across Managers — a 3-of-3 MuSig2 wallet, and a 2-of-3
// tapscript wallet whose three participants all sign by key path: each participant's Manager
// makes its nonces and its partial signatures as its own identity, the coordinator aggregates
// them into one BIP-340 signature per input, and the chain accepts and confirms the spend.
// Refused, with nothing signed or broadcast: a participant's nonces asked of a Manager that
// does not hold the identity or keep the wallet; nonces sent back without a participant's,
// with the signer's own replaced, or with a stranger's; a second signing with the same nonces
// (the key-extraction attempt: other nonces the second time); at the coordinator, a stranger's
// partial signatures, one participant's nonce replayed as another's, a tampered partial
// signature, and one participant's partial signatures missing.
func TestMultisigMuSig2KeyPathAcrossManagers(t *testing.T) {
	ctx := t.Context()
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	hc := newHookChain(sim)
	managers, dids := participants(t, hc, 4)
	outsider, strangerDID := managers[3], dids[3]
	managers, dids = managers[:3], dids[:3]
	funder, err := bitcointest.NewWalletFromSeed(sim, "musig2 funder")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(101, simchain.PayTo(funder.PkScript())); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		k    int
		opts []multisig.Option
	}{
		{"musig2 3-of-3", 3, []multisig.Option{multisig.WithKind(bitcoin.MuSig2KeyPath)}},
		{"tapscript 2-of-3 with musig2 key path", 2, []multisig.Option{multisig.WithKind(bitcoin.TapscriptMultisig), multisig.WithMuSig2KeyPath()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var w *multisig.Wallet
			for _, m := range managers {
				if w, err = m.Multisig(ctx, c.k, dids, c.opts...); err != nil {
					t.Fatal(err)
				}
			}
			addr := w.Address().String()
			// Two coins, so the spend has two inputs: a nonce per input.
			for range 2 {
				if _, err := funder.Send(ctx, wire.NewTxOut(600_000, w.Address().PkScript())); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := sim.Mine(1); err != nil {
				t.Fatal(err)
			}
			payee := mustParse(t, mustAddr(t, "musig2 payee "+c.name))
			base, err := managers[0].MultisigPSBT(ctx, w, wire.NewTxOut(1_000_000, payee.PkScript()))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(base.UnsignedTx().TxIn); n != 2 {
				t.Fatalf("the PSBT has %d inputs, want 2", n)
			}
			sent := []byte(base.Base64())

			// Round 1: nonces, each Manager as its own identity.
			nonces := map[string][][]byte{}
			for i, m := range managers {
				if nonces[dids[i]], err = m.MultisigNonces(ctx, dids[i], addr, sent); err != nil {
					t.Fatalf("participant %d: %v", i, err)
				}
			}
			if _, err := managers[1].MultisigNonces(ctx, dids[2], addr, sent); !errors.Is(err, anya.ErrUnknownIdentity) {
				t.Errorf("nonces of an identity another Manager holds: %v", err)
			}
			if _, err := outsider.MultisigNonces(ctx, strangerDID, addr, sent); !errors.Is(err, anya.ErrInvalidOp) {
				t.Errorf("nonces of a stranger whose store keeps no such wallet: %v", err)
			}

			// Round 2: partial signatures — first the refusals, which sign nothing.
			without := maps.Clone(nonces)
			delete(without, dids[0])
			if _, err := managers[1].MultisigPartialSigs(ctx, dids[1], addr, sent, without); !errors.Is(err, multisig.ErrRound) {
				t.Errorf("nonces without a participant's: %v", err)
			}
			swapped := maps.Clone(nonces)
			swapped[dids[1]] = nonces[dids[0]]
			if _, err := managers[1].MultisigPartialSigs(ctx, dids[1], addr, sent, swapped); !errors.Is(err, multisig.ErrRound) {
				t.Errorf("nonces with the signer's own replaced: %v", err)
			}
			stranger := maps.Clone(nonces)
			stranger[strangerDID] = nonces[dids[0]]
			if _, err := managers[1].MultisigPartialSigs(ctx, dids[1], addr, sent, stranger); !errors.Is(err, multisig.ErrNotParticipant) {
				t.Errorf("nonces with a stranger's: %v", err)
			}
			partials := map[string][][]byte{}
			for i, m := range managers {
				if partials[dids[i]], err = m.MultisigPartialSigs(ctx, dids[i], addr, sent, nonces); err != nil {
					t.Fatalf("participant %d: %v", i, err)
				}
			}
			// The same nonces again, under other nonces of the others: refused.
			fresh, err := managers[2].MultisigNonces(ctx, dids[2], addr, sent)
			if err != nil {
				t.Fatal(err)
			}
			other := maps.Clone(nonces)
			other[dids[2]] = fresh
			if _, err := managers[1].MultisigPartialSigs(ctx, dids[1], addr, sent, other); !errors.Is(err, bitcoin.ErrNonceReused) {
				t.Errorf("signing twice with the same nonces: %v", err)
			}

			// The coordinator's refusals: nothing broadcast.
			hc.counts()
			refuse := func(name string, n, p map[string][][]byte, ok func(error) bool) {
				t.Helper()
				if _, err := managers[0].FinishMultisigKeyPath(ctx, w, base, n, p); !ok(err) {
					t.Errorf("%s: %v", name, err)
				}
			}
			withStranger := maps.Clone(partials)
			withStranger[strangerDID] = partials[dids[0]]
			refuse("a stranger's partial signatures", nonces, withStranger, func(err error) bool { return errors.Is(err, multisig.ErrNotParticipant) })
			replayed := maps.Clone(nonces)
			replayed[dids[2]] = nonces[dids[1]]
			refuse("a nonce replayed as another participant's", replayed, partials, func(err error) bool {
				return errors.Is(err, bitcoin.ErrNonceReused) && errors.Is(err, multisig.ErrRound)
			})
			tampered := maps.Clone(partials)
			tampered[dids[1]] = [][]byte{slices.Clone(partials[dids[1]][0]), partials[dids[1]][1]}
			tampered[dids[1]][0][31] ^= 1
			refuse("a tampered partial signature", nonces, tampered, func(err error) bool {
				var me *bitcoin.MuSig2Error
				return errors.As(err, &me) && me.Contribution == "psig" && strings.Contains(err.Error(), dids[1])
			})
			missing := maps.Clone(partials)
			delete(missing, dids[2])
			refuse("a participant's partial signatures missing", nonces, missing, func(err error) bool { return errors.Is(err, multisig.ErrRound) })
			if n := hc.counts()["Broadcast"]; n != 0 {
				t.Fatalf("the refused rounds broadcast %d transactions", n)
			}
			if pool, _ := sim.Mempool(ctx); len(pool) != 0 {
				t.Fatalf("the refused rounds sent %d transactions", len(pool))
			}

			txid, err := managers[0].FinishMultisigKeyPath(ctx, w, base, nonces, partials)
			if err != nil {
				t.Fatal(err)
			}
			info := mineConfirmed(t, sim, txid)
			for i, in := range info.Tx.TxIn {
				if len(in.Witness) != 1 || len(in.Witness[0]) != 64 {
					t.Fatalf("input %d's witness is not one BIP-340 signature: %x", i, in.Witness)
				}
			}
		})
	}
}

// mineConfirmed mines a block and returns transaction txid, which must be in it.
func mineConfirmed(t *testing.T, sim *simchain.Chain, txid chainhash.Hash) bitcoin.TxInfo {
	t.Helper()
	if _, err := sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	info, err := sim.Tx(t.Context(), txid)
	if err != nil || info.Block == nil {
		t.Fatalf("the spend %s is not confirmed: %v", txid, err)
	}
	return info
}
