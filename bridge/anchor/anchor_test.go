package anchor_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/anchor"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
)

// store is an identity's records store holding a few records.
type store struct {
	records *bridge.Records
	tenant  string
	recs    []*dwn.Record
}

func newStore(t *testing.T, n int) *store {
	t.Helper()
	ctx := context.Background()
	owner, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := did.NewResolver(did.WithMethods(didkey.New()))
	node, err := dwn.New(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	if _, err := bridge.Setup(ctx, node, owner, "", 0, nil); err != nil {
		t.Fatal(err)
	}
	rs, _ := bridge.NewRecords(node, owner)
	s := &store{records: rs, tenant: owner.String()}
	for i := range n {
		rec, err := rs.Create(ctx, s.tenant, bridge.PathScore, map[string]any{"n": i})
		if err != nil {
			t.Fatal(err)
		}
		s.recs = append(s.recs, rec)
	}
	return s
}

func TestAnchorOnChain(t *testing.T) {
	t.Run("simchain", func(t *testing.T) { runAnchor(t, bitcointest.NewSim(t)) })
	t.Run("btcd", func(t *testing.T) {
		if testing.Short() {
			t.Skip("starts btcd")
		}
		node := bitcointest.StartBtcd(t)
		if err := node.MineTo(context.Background(), bitcointest.SegwitHeight+10); err != nil {
			t.Fatal(err)
		}
		runAnchor(t, node.Backend(t))
	})
}

func runAnchor(t *testing.T, be bitcointest.Backend) {
	ctx := context.Background()
	s := newStore(t, 5)
	cids, err := anchor.RecordCIDs(s.recs)
	if err != nil {
		t.Fatal(err)
	}
	key := bitcointest.KeyFromSeed("anchor internal key")
	for _, tc := range []struct {
		name string
		opts []anchor.Option
	}{
		{"op_return", nil},
		{"taproot", []anchor.Option{anchor.WithTaproot(key.PubKey(), 10_000, bitcoin.Regtest)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := anchor.Anchor(ctx, be.Wallet(), be.Chain(), cids[:4], tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := be.Mine(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if _, err := anchor.SaveReceipt(ctx, s.records, s.tenant, r); err != nil {
				t.Fatal(err)
			}
			receipts, err := anchor.Receipts(ctx, s.records, s.tenant)
			if err != nil {
				t.Fatal(err)
			}
			got := receipts[len(receipts)-1]

			// The fifth record was not anchored; the second is updated after anchoring.
			updated, err := s.records.Update(ctx, s.tenant, s.recs[1], map[string]any{"n": "changed"})
			if err != nil {
				t.Fatal(err)
			}
			newCID, _ := anchor.RecordCID(updated)
			v, err := anchor.Verify(ctx, be.Chain(), got, append(cids, newCID)...)
			if err != nil {
				t.Fatal(err)
			}
			if v.Block == nil {
				t.Fatal("the anchor is not confirmed")
			}
			for i, c := range cids[:4] {
				if p, ok := v.Committed[c]; !ok || !p.Verify(v.Root, c) {
					t.Fatalf("record %d not proved committed", i)
				}
			}
			for _, c := range []string{cids[4], newCID} {
				if a, ok := v.Absent[c]; !ok || !a.Verify(v.Root, c) {
					t.Fatalf("%s not proved absent", c)
				}
			}
			// A third party with one proof checks it against the chain.
			if _, err := anchor.VerifyProof(ctx, be.Chain(), got.Point, got.Root, v.Committed[cids[0]], cids[0]); err != nil {
				t.Fatal(err)
			}
			if _, err := anchor.VerifyProof(ctx, be.Chain(), got.Point, got.Root, v.Committed[cids[0]], cids[4]); !errors.Is(err, anchor.ErrNotCommitted) {
				t.Fatalf("proof for another CID: %v", err)
			}
			tamperRows(t, be, got)
			if tc.name == "taproot" {
				spendP2C(t, be, got)
			}
		})
	}
}

// tamperRows alters a good receipt the ways an attacker would.
func tamperRows(t *testing.T, be bitcointest.Backend, good anchor.Receipt) {
	ctx := context.Background()
	other := bitcointest.KeyFromSeed("someone else")
	rows := []struct {
		name string
		edit func(r *anchor.Receipt)
	}{
		{"root changed", func(r *anchor.Receipt) { r.Root[0] ^= 1 }},
		{"a CID dropped", func(r *anchor.Receipt) { r.CIDs = r.CIDs[1:] }},
		{"a CID added", func(r *anchor.Receipt) { r.CIDs = append(r.CIDs, "bafy-extra") }},
		{"a CID replaced", func(r *anchor.Receipt) { r.CIDs[0] = "bafy-forged" }},
		{"no CIDs", func(r *anchor.Receipt) { r.CIDs = nil }},
		{"another output", func(r *anchor.Receipt) { r.Vout ^= 1 }},
		{"output out of range", func(r *anchor.Receipt) { r.Vout = 99 }},
		{"unknown method", func(r *anchor.Receipt) { r.Method = "inscription" }},
		{"method swapped", func(r *anchor.Receipt) {
			if r.Method == anchor.OpReturn {
				r.Method, r.InternalKey = anchor.Taproot, fmt.Sprintf("%x", schnorr.SerializePubKey(other.PubKey()))
			} else {
				r.Method, r.InternalKey = anchor.OpReturn, ""
			}
		}},
		{"another internal key", func(r *anchor.Receipt) {
			r.Method, r.InternalKey = anchor.Taproot, fmt.Sprintf("%x", schnorr.SerializePubKey(other.PubKey()))
		}},
		{"internal key not hex", func(r *anchor.Receipt) { r.Method, r.InternalKey = anchor.Taproot, "zz" }},
	}
	for _, row := range rows {
		t.Run("tampered/"+row.name, func(t *testing.T) {
			r := good
			r.CIDs = append([]string(nil), good.CIDs...)
			row.edit(&r)
			_, err := anchor.Verify(ctx, be.Chain(), r)
			var te *anchor.TamperError
			if !errors.As(err, &te) || !errors.Is(err, anchor.ErrTampered) {
				t.Fatalf("got %v", err)
			}
		})
	}
	t.Run("tampered/a transaction that does not carry the root", func(t *testing.T) {
		tx, err := be.Wallet().Send(ctx, wire.NewTxOut(20_000, be.Wallet().PkScript()))
		if err != nil {
			t.Fatal(err)
		}
		r := good
		r.Txid, r.Vout = tx.TxHash(), 0
		if _, err := anchor.Verify(ctx, be.Chain(), r); !errors.Is(err, anchor.ErrTampered) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unknown transaction", func(t *testing.T) {
		r := good
		r.Txid = chainhash.Hash{1}
		if _, err := anchor.Verify(ctx, be.Chain(), r); !errors.Is(err, bitcoin.ErrNotFound) {
			t.Fatalf("got %v", err)
		}
	})
}

// spendP2C spends a taproot anchor through its key path, tweaked by the root: the anchored
// coins are not lost.
func spendP2C(t *testing.T, be bitcointest.Backend, r anchor.Receipt) {
	ctx := context.Background()
	key := bitcointest.KeyFromSeed("anchor internal key")
	info, err := be.Chain().Tx(ctx, r.Txid)
	if err != nil {
		t.Fatal(err)
	}
	prev := info.Tx.TxOut[r.Vout]
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: r.Txid, Index: r.Vout}, nil, nil))
	tx.AddTxOut(wire.NewTxOut(prev.Value-1_000, be.Wallet().PkScript()))
	hashes := txscript.NewTxSigHashes(tx, txscript.NewCannedPrevOutputFetcher(prev.PkScript, prev.Value))
	sig, err := txscript.RawTxInTaprootSignature(tx, hashes, 0, prev.Value, prev.PkScript, r.Root[:], txscript.SigHashDefault, key)
	if err != nil {
		t.Fatal(err)
	}
	tx.TxIn[0].Witness = wire.TxWitness{sig}
	if _, err := bitcoin.Broadcast(ctx, be.Chain(), tx); err != nil {
		t.Fatal(err)
	}
	if _, err := be.Mine(ctx, 1); err != nil {
		t.Fatal(err)
	}
}

func TestAnchorRefusals(t *testing.T) {
	ctx := context.Background()
	sim := bitcointest.NewSim(t)
	key := bitcointest.KeyFromSeed("k")
	if _, err := anchor.Anchor(ctx, sim.Wallet(), sim.Chain(), nil); !errors.Is(err, anchor.ErrInvalidArgument) {
		t.Fatalf("no CIDs: %v", err)
	}
	if _, err := anchor.Anchor(ctx, sim.Wallet(), sim.Chain(), []string{"a"}, anchor.WithTaproot(key.PubKey(), 10, bitcoin.Regtest)); !errors.Is(err, anchor.ErrInvalidArgument) {
		t.Fatalf("dust: %v", err)
	}
	if _, err := anchor.Anchor(ctx, nil, sim.Chain(), []string{"a"}); !errors.Is(err, anchor.ErrInvalidArgument) {
		t.Fatalf("nil wallet: %v", err)
	}
	if _, err := anchor.RecordCID(nil); !errors.Is(err, anchor.ErrInvalidArgument) {
		t.Fatalf("nil record: %v", err)
	}
}
