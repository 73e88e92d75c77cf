package anya_test

import (
	"errors"
	"testing"

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
