package sendstoretest_test

import (
	"bytes"
	"fmt"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/internal/sendstore/sendstoretest"
)

func ExampleSpending() {
	rec := sendstoretest.Spending("payment-1", wire.OutPoint{Index: 0}, wire.OutPoint{Index: 1})
	var tx wire.MsgTx
	_ = tx.DeserializeNoWitness(bytes.NewReader(rec.RawTx))
	fmt.Println(rec.Key, len(tx.TxIn), tx.TxHash() == rec.Txid)
	// Output: payment-1 2 true
}
