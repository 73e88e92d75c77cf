package bitcoin_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
)

func TestAddressUTXOsAndBalance(t *testing.T) {
	s := bitcointest.NewSim(t)
	w := s.NewFundedWallet(t, "alice", 70_000)
	if _, _, err := s.Wallet().Fund(t.Context(), w.PkScript(), 5_000); err != nil {
		t.Fatal(err)
	}
	us, err := bitcoin.AddressUTXOs(t.Context(), s.SimChain(), w.Address())
	if err != nil {
		t.Fatal(err)
	}
	if c := us[0].Coin(); c.OutPoint != us[0].OutPoint || c.Value != us[0].Value || string(c.PkScript) != string(w.PkScript()) {
		t.Fatalf("Coin() = %+v", c)
	}
	conf, unconf := bitcoin.Balance(us)
	if conf != 70_000 || unconf != 5_000 {
		t.Fatalf("balance %v confirmed, %v unconfirmed", conf, unconf)
	}
	lookup := bitcoin.PrevOutLookup(s.SimChain())
	out, err := lookup(t.Context(), us[0].OutPoint)
	if err != nil || out.Value != 70_000 {
		t.Fatalf("PrevOutLookup = %v, %v", out, err)
	}
	if _, err := lookup(t.Context(), wire.OutPoint{Index: 7}); !errors.Is(err, bitcoin.ErrNotFound) {
		t.Fatalf("PrevOutLookup of nothing: %v", err)
	}
	mainnet, err := btcutil.NewAddressWitnessPubKeyHash(make([]byte, 20), &chaincfg.MainNetParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bitcoin.AddressUTXOs(t.Context(), s.SimChain(), mainnet); !errors.Is(err, bitcoin.ErrInvalidArgument) {
		t.Fatalf("mainnet address on regtest: %v", err)
	}
	if _, err := bitcoin.AddressUTXOs(t.Context(), s.SimChain(), nil); !errors.Is(err, bitcoin.ErrInvalidArgument) {
		t.Fatalf("nil address: %v", err)
	}
}

func TestChainFeatureLookup(t *testing.T) {
	s := bitcointest.NewSim(t)
	ctx := t.Context()
	tx, err := s.Wallet().Send(ctx, wire.NewTxOut(30_000, bitcointest.P2WPKHScript(bitcointest.KeyFromSeed("f"))))
	if err != nil {
		t.Fatal(err)
	}
	lookup := bitcoin.ChainFeatureLookup(s.SimChain())
	out, h, found, err := lookup.PrevOutput(ctx, wire.OutPoint{Hash: tx.TxHash()})
	if err != nil || !found || out.Value != 30_000 || h != -1 {
		t.Fatalf("PrevOutput of a mempool output = %v, %d, %v, %v", out, h, found, err)
	}
	if _, _, found, err := lookup.PrevOutput(ctx, wire.OutPoint{Hash: tx.TxHash(), Index: 9}); found || err != nil {
		t.Fatalf("PrevOutput of a missing index: %v, %v", found, err)
	}
	if _, _, found, err := lookup.PrevOutput(ctx, wire.OutPoint{Index: 1}); found || err != nil {
		t.Fatalf("PrevOutput of an unknown tx: %v, %v", found, err)
	}
	mine(t, s, 2)
	ex, err := bitcoin.NewFeatureExtractor(bitcoin.WithFeatureLookup(lookup))
	if err != nil {
		t.Fatal(err)
	}
	vec, err := ex.Tx(ctx, tx, s.SimChain().Tip().Height-1, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := bitcoin.TxFeatureSchema().Names
	get := func(name string) float32 {
		i := slices.Index(names, name)
		if i < 0 {
			t.Fatalf("no feature %q", name)
		}
		return vec[i]
	}
	if get("inputs_known") != 1 || get("ages_known") != 1 || get("fee_btc") <= 0 || get("reuse_known") != 1 {
		t.Fatalf("inputs_known %v ages_known %v fee %v reuse_known %v", get("inputs_known"), get("ages_known"), get("fee_btc"), get("reuse_known"))
	}
}
