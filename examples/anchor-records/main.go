// Command anchor-records anchors an identity's Web5 records in a Bitcoin transaction and proves,
// from the chain, which records were committed: a note added after the anchor and a note
// edited after it are shown as not committed, and a tampered receipt is refused.
//
// It runs on an embedded chain (simchain) and an in-memory records store; nothing leaves the
// process.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/anchor"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// wallet is a one-key P2WPKH wallet on the simchain that builds and signs transactions.
type wallet struct {
	chain *simchain.Chain
	key   *btcec.PrivateKey
	addr  bitcoin.Address
}

// Build pays outs from the wallet's mature coins, with change back to the wallet.
func (w *wallet) Build(ctx context.Context, outs ...*wire.TxOut) (*wire.MsgTx, error) {
	utxos, err := w.chain.UTXOs(ctx, w.addr.PkScript())
	if err != nil {
		return nil, err
	}
	tip := w.chain.Tip().Height
	var coins []bitcoin.Coin
	for _, u := range utxos {
		if u.Height > 0 && (!u.Coinbase || tip-u.Height+1 >= 100) {
			coins = append(coins, u.Coin())
		}
	}
	p, err := bitcoin.CreatePSBT(outs, coins, 2000, w.addr)
	if err != nil {
		return nil, err
	}
	if _, err := p.Sign(w.key); err != nil {
		return nil, err
	}
	if err := p.Finalize(); err != nil {
		return nil, err
	}
	return p.Extract()
}

func run(ctx context.Context, out io.Writer) error {
	// A chain with a funded wallet.
	chain, err := simchain.New()
	if err != nil {
		return err
	}
	defer chain.Close()
	seed := chainhash.HashB([]byte("anchor-records example"))
	key, _ := btcec.PrivKeyFromBytes(seed)
	addr, err := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Regtest)
	if err != nil {
		return err
	}
	if _, err := chain.Mine(101, simchain.PayTo(addr.PkScript())); err != nil {
		return err
	}
	w := &wallet{chain: chain, key: key, addr: addr}

	// An identity with a records store holding three notes.
	resolver, _ := did.NewResolver(did.WithMethods(didkey.New()))
	node, err := dwn.New(resolver)
	if err != nil {
		return err
	}
	defer node.Close()
	alice, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		return err
	}
	if _, err := bridge.Setup(ctx, node, alice, "", 0, nil); err != nil {
		return err
	}
	records, err := bridge.NewRecords(node, alice)
	if err != nil {
		return err
	}
	tenant := alice.String()
	var notes []*dwn.Record
	for _, text := range []string{"invoice 1", "invoice 2", "delivery note"} {
		rec, err := records.Create(ctx, tenant, bridge.PathScore, map[string]string{"note": text})
		if err != nil {
			return err
		}
		notes = append(notes, rec)
	}
	cids, err := anchor.RecordCIDs(notes)
	if err != nil {
		return err
	}

	// Anchor them in an OP_RETURN output, confirm it, keep the receipt in Alice's store.
	receipt, err := anchor.Anchor(ctx, w, chain, cids)
	if err != nil {
		return err
	}
	if _, err := chain.Mine(1); err != nil {
		return err
	}
	if _, err := anchor.SaveReceipt(ctx, records, tenant, receipt); err != nil {
		return err
	}
	fmt.Fprintf(out, "anchored %d records in %s output %d (%s)\n", len(receipt.CIDs), short(receipt.Txid.String()), receipt.Vout, receipt.Method)

	// Later: one more note, and an edit of the second one.
	extra, err := records.Create(ctx, tenant, bridge.PathScore, map[string]string{"note": "added later"})
	if err != nil {
		return err
	}
	edited, err := records.Update(ctx, tenant, notes[1], map[string]string{"note": "invoice 2 (edited)"})
	if err != nil {
		return err
	}

	// Verify from the chain: which records, as they are now, were committed?
	stored, err := anchor.Receipts(ctx, records, tenant)
	if err != nil {
		return err
	}
	current := []*dwn.Record{notes[0], edited, notes[2], extra}
	now, _ := anchor.RecordCIDs(current)
	v, err := anchor.Verify(ctx, chain, stored[0], now...)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "anchor confirmed at height %d\n", v.Block.Height)
	for i, c := range now {
		var note map[string]string
		_ = json.Unmarshal(current[i].Data, &note)
		if p, ok := v.Committed[c]; ok {
			fmt.Fprintf(out, "  %-20q committed (leaf %d of %d)\n", note["note"], p.Index, p.Count)
		} else {
			fmt.Fprintf(out, "  %-20q not committed\n", note["note"])
		}
	}

	// A receipt that claims one more record is refused.
	forged := stored[0]
	forged.CIDs = append(append([]string(nil), forged.CIDs...), now[3])
	_, err = anchor.Verify(ctx, chain, forged)
	fmt.Fprintf(out, "forged receipt refused: %v\n", errors.Is(err, anchor.ErrTampered))
	return nil
}

func short(s string) string { return s[:8] + "…" }
