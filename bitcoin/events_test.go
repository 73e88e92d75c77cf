package bitcoin_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
)

func sampleTx(t testing.TB) *wire.MsgTx {
	tx, err := bitcointest.SpendOutput(wire.OutPoint{Hash: chainhash.Hash{7}, Index: 1}, 50_000, bitcointest.KeyFromSeed("json"), []byte{0x51}, 1_000)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestEventJSONCarriesTx(t *testing.T) {
	tx := sampleTx(t)
	in := bitcoin.TxConfirmed{RegistrationID: 3, Txid: tx.TxHash(), Tx: tx, Block: bitcoin.BlockStamp{Height: 9, Hash: chainhash.Hash{1}}, TxIndex: 2, Confirmations: 4, Required: 3}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out bitcoin.TxConfirmed
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if out.Tx == nil || out.Tx.TxHash() != tx.TxHash() || out.Tx.WitnessHash() != tx.WitnessHash() || out.Block != in.Block || out.Confirmations != 4 || out.TxIndex != 2 {
		t.Fatalf("round trip: %s -> %+v", raw, out)
	}
	sp := bitcoin.OutpointSpent{OutPoint: wire.OutPoint{Index: 1}, SpenderTxid: tx.TxHash(), SpendingTx: tx}
	raw, _ = json.Marshal(sp)
	var sp2 bitcoin.OutpointSpent
	if err := json.Unmarshal(raw, &sp2); err != nil || sp2.SpendingTx.TxHash() != tx.TxHash() || sp2.OutPoint != sp.OutPoint {
		t.Fatalf("OutpointSpent round trip: %v %+v", err, sp2)
	}
	mt := bitcoin.MempoolTx{Txid: tx.TxHash(), Tx: tx, Outputs: []uint32{0}}
	raw, _ = json.Marshal(mt)
	var mt2 bitcoin.MempoolTx
	if err := json.Unmarshal(raw, &mt2); err != nil || mt2.Tx.TxHash() != tx.TxHash() || len(mt2.Outputs) != 1 {
		t.Fatalf("MempoolTx round trip: %v %+v", err, mt2)
	}
	for _, bad := range []string{`{"tx":"zz"}`, `{"tx":"0100"}`, `{"txid":5}`} {
		var e bitcoin.TxConfirmed
		if err := json.Unmarshal([]byte(bad), &e); err == nil {
			t.Errorf("%s decoded without error", bad)
		}
	}
}

// FuzzEventJSON feeds arbitrary JSON to the event decoders a bus transport uses: they must
// fail cleanly or decode something that encodes and decodes again to the same transaction.
func FuzzEventJSON(f *testing.F) {
	tx := sampleTx(f)
	for _, ev := range []any{
		bitcoin.TxConfirmed{Txid: tx.TxHash(), Tx: tx},
		bitcoin.OutpointSpent{SpenderTxid: tx.TxHash(), SpendingTx: tx},
		bitcoin.MempoolTx{Txid: tx.TxHash(), Tx: tx, Outputs: []uint32{0, 3}},
	} {
		raw, err := json.Marshal(ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	raw, _ := json.Marshal(bitcoin.MempoolTx{Txid: tx.TxHash(), Tx: tx})
	f.Add(bytes.Replace(raw, []byte(`"tx"`), []byte(`"TX"`), 1)) // encoding/json matches keys without case
	f.Add([]byte(`{"tx":""}`))
	f.Add([]byte(`{"tx":"ffffffff"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var a bitcoin.TxConfirmed
		if json.Unmarshal(data, &a) == nil && a.Tx != nil {
			again, err := json.Marshal(a)
			if err != nil {
				t.Fatal(err)
			}
			var b bitcoin.TxConfirmed
			if err := json.Unmarshal(again, &b); err != nil || b.Tx.TxHash() != a.Tx.TxHash() {
				t.Fatalf("re-decode: %v", err)
			}
		}
		// The txid a consumer reads is the transaction's, however the JSON spells its keys.
		if a.Tx != nil && a.Tx.TxHash() != a.Txid {
			t.Fatalf("TxConfirmed names %s, carries %s", a.Txid, a.Tx.TxHash())
		}
		var s bitcoin.OutpointSpent
		if json.Unmarshal(data, &s) == nil && s.SpendingTx != nil && s.SpendingTx.TxHash() != s.SpenderTxid {
			t.Fatalf("OutpointSpent names %s, carries %s", s.SpenderTxid, s.SpendingTx.TxHash())
		}
		var m bitcoin.MempoolTx
		if json.Unmarshal(data, &m) == nil && m.Tx != nil && m.Tx.TxHash() != m.Txid {
			t.Fatalf("MempoolTx names %s, carries %s", m.Txid, m.Tx.TxHash())
		}
	})
}
