package natssend

import (
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go/bitcoin"
)

// A stored record's bytes come from the server: decoding never panics, and what it accepts
// encodes back to the same record.
func FuzzDecode(f *testing.F) {
	good, _ := encode(bitcoin.SendRecord{Key: "k", Txid: chainhash.Hash{1, 2}, RawTx: []byte{1, 2, 3}, Created: time.Unix(5, 6)})
	for _, s := range [][]byte{good, nil, []byte("{}"), []byte(`{"txid":"00","raw":"AQ==","created":1}`), []byte(`[`)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := decode("k", data)
		if err != nil {
			return
		}
		again, err := encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decode("k", again)
		if err != nil || back.Txid != rec.Txid || string(back.RawTx) != string(rec.RawTx) || !back.Created.Equal(rec.Created) {
			t.Fatalf("round trip %+v -> %+v (%v)", rec, back, err)
		}
	})
}
