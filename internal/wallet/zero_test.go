package wallet_test

import (
	"context"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/internal/wallet"
)

// The methods of a zero Wallet that need its chain return a *NotConstructedError naming New;
// the others act on an empty wallet, and Recorded keeps what it is told. Nothing panics.
func TestZeroWallet(t *testing.T) {
	ctx := context.Background()
	var w wallet.Wallet
	key, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	_, addErr := w.Add(key)
	_, lockErr := w.Lock(ctx, "addr")
	_, signErr := w.SignMessage("addr", "msg")
	_, coinsErr := w.Coins(ctx, "addr", "k")
	_, tmplErr := w.Template(ctx, wallet.Payment{From: "addr", Amount: 1000})
	_, buildErr := w.Build(ctx, wallet.Payment{From: "addr", Amount: 1000})
	for what, err := range map[string]error{"Add": addErr, "Lock": lockErr, "SignMessage": signErr, "Coins": coinsErr, "Template": tmplErr, "Build": buildErr} {
		var nc *wallet.NotConstructedError
		if !errors.As(err, &nc) || !errors.Is(err, wallet.ErrNotConstructed) || nc.Constructor != "New" {
			t.Errorf("%s: err = %v, want a *NotConstructedError naming New", what, err)
		}
	}
	if w.Owns("addr") || w.Network() != 0 || len(w.PendingTxs()) != 0 {
		t.Fatal("a zero wallet is not empty")
	}

	parent := wire.NewMsgTx(2)
	parent.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 7}, nil, nil))
	parent.AddTxOut(wire.NewTxOut(5000, []byte{0x51}))
	child := wire.NewMsgTx(2)
	child.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: parent.TxHash(), Index: 0}, nil, nil))
	w.Recorded("k", parent)
	if !w.IsPending(parent.TxHash()) || len(w.PendingTxs()) != 1 {
		t.Fatal("Recorded on a zero wallet did not keep the transaction")
	}
	if u, ok := w.Output(wire.OutPoint{Hash: parent.TxHash(), Index: 0}); !ok || u.Value != 5000 {
		t.Fatalf("Output = %+v, %v", u, ok)
	}
	if got := w.Unbroadcast(child); len(got) != 1 || got[0].Txid != parent.TxHash() {
		t.Fatalf("Unbroadcast = %v", got)
	}
	w.Accepted(parent.TxHash())
	if got := w.Unbroadcast(child); len(got) != 0 {
		t.Fatalf("Unbroadcast after Accepted = %v", got)
	}
	if got := w.Ancestors(child); len(got) != 1 {
		t.Fatalf("Ancestors = %v", got)
	}
	w.Rejected(parent.TxHash())
	w.Invalidate()
	w.Invalidate("addr")
	w.Confirmed(parent.TxHash())
	if w.IsPending(parent.TxHash()) {
		t.Fatal("confirmed transaction still pending")
	}
	w.Recorded("k", parent)
	w.Forget(parent.TxHash())
	if len(w.PendingTxs()) != 0 {
		t.Fatal("Forget kept the transaction")
	}
}
