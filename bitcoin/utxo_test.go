package bitcoin_test

import (
	"errors"
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
	us, err := bitcoin.AddressUTXOs(t.Context(), s.Sim, w.Address())
	if err != nil {
		t.Fatal(err)
	}
	conf, unconf := bitcoin.Balance(us)
	if conf != 70_000 || unconf != 5_000 {
		t.Fatalf("balance %v confirmed, %v unconfirmed", conf, unconf)
	}
	lookup := bitcoin.PrevOutLookup(s.Sim)
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
	if _, err := bitcoin.AddressUTXOs(t.Context(), s.Sim, mainnet); !errors.Is(err, bitcoin.ErrInvalidArgument) {
		t.Fatalf("mainnet address on regtest: %v", err)
	}
	if _, err := bitcoin.AddressUTXOs(t.Context(), s.Sim, nil); !errors.Is(err, bitcoin.ErrInvalidArgument) {
		t.Fatalf("nil address: %v", err)
	}
}
