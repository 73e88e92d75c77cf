package sendstore_test

import (
	"context"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/internal/sendstore"
	"github.com/anya-org/anya-go/internal/sqlitex"
)

func Example() {
	ctx := context.Background()
	db, err := sqlitex.Open(ctx, sqlitex.Memory)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	store, err := sendstore.NewSQLite(ctx, db)
	if err != nil {
		panic(err)
	}
	defer store.Close()

	first := bitcoin.SendRecord{Key: "payment-1", Txid: chainhash.Hash{1}, RawTx: []byte{1}}
	_, loaded, _ := store.PutIfAbsent(ctx, first)
	fmt.Println("first put loaded:", loaded)
	again, loaded, _ := store.PutIfAbsent(ctx, bitcoin.SendRecord{Key: "payment-1", Txid: chainhash.Hash{2}, RawTx: []byte{2}})
	fmt.Println("second put loaded:", loaded, "keeps the first:", again.Txid == first.Txid)
	// Output:
	// first put loaded: false
	// second put loaded: true keeps the first: true
}
