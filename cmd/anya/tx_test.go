package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/btcsuite/btcd/wire"
)

func TestTxFeatures(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "bitcoin", "testdata", "bip-0341_wallet-test-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		KeyPathSpending []struct {
			Auxiliary struct {
				FullySignedTx string `json:"fullySignedTx"`
			} `json:"auxiliary"`
		} `json:"keyPathSpending"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	txHex := v.KeyPathSpending[0].Auxiliary.FullySignedTx
	var out bytes.Buffer
	if code := run(t.Context(), []string{"tx", "features", txHex}, nil, &out); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	var doc struct {
		Schema   string          `json:"schema"`
		Version  int             `json:"version"`
		TxID     string          `json:"txid"`
		Features json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	tx := new(wire.MsgTx)
	raw, _ := hex.DecodeString(txHex)
	_ = tx.Deserialize(bytes.NewReader(raw))
	schema := bitcoin.TxFeatureSchema()
	if doc.Schema != schema.Name || doc.Version != schema.Version || doc.TxID != tx.TxHash().String() {
		t.Errorf("header %+v", doc)
	}
	// Keys come in schema order, with the extractor's values.
	dec := json.NewDecoder(bytes.NewReader(doc.Features))
	_, _ = dec.Token()
	e, _ := bitcoin.NewFeatureExtractor()
	want, _ := e.Tx(t.Context(), tx, -1, nil)
	for i := 0; dec.More(); i++ {
		k, _ := dec.Token()
		var val float32
		if err := dec.Decode(&val); err != nil {
			t.Fatal(err)
		}
		if k != schema.Names[i] || val != want[i] {
			t.Errorf("feature %d: %v=%v, want %s=%v", i, k, val, schema.Names[i], want[i])
		}
	}
	var m map[string]float64
	_ = json.Unmarshal(doc.Features, &m)
	if m["n_inputs"] != float64(len(tx.TxIn)) || m["in_p2tr"] == 0 {
		t.Errorf("features %v", m)
	}
}

func TestTxFeaturesErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		exit int
		code string
	}{
		{[]string{"tx", "features"}, exitUsage, "usage"},
		{[]string{"tx", "features", "00", "11"}, exitUsage, "usage"},
		{[]string{"tx", "features", "zz"}, exitError, "invalid_hex"},
		{[]string{"tx", "features", "0200"}, exitError, "invalid_transaction"},
		{[]string{"tx", "features", strings.Repeat("ff", 40)}, exitError, "invalid_transaction"},
	} {
		doc, code := anya(t, c.args...)
		if code != c.exit || errorCode(t, doc) != c.code {
			t.Errorf("%v: exit %d %v", c.args, code, doc)
		}
	}
}
