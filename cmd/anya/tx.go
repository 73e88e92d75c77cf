package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/btcsuite/btcd/wire"
)

func runTxFeatures(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("tx features")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("tx features: want exactly one argument, the transaction in hex")
	}
	raw, err := hex.DecodeString(strings.TrimSpace(fs.Arg(0)))
	if err != nil {
		return &cliError{Code: "invalid_hex", Err: fmt.Errorf("tx features: %v", err)}
	}
	tx := new(wire.MsgTx)
	r := bytes.NewReader(raw)
	if err := tx.Deserialize(r); err != nil || r.Len() != 0 {
		if err == nil {
			err = fmt.Errorf("%d trailing bytes", r.Len())
		}
		return &cliError{Code: "invalid_transaction", Err: fmt.Errorf("%w: %v", bitcoin.ErrInvalidTransaction, err)}
	}
	e, err := bitcoin.NewFeatureExtractor()
	if err != nil {
		return err
	}
	v, err := e.Tx(ctx, tx, -1, nil)
	if err != nil {
		return bitcoinError(err)
	}
	schema := bitcoin.TxFeatureSchema()
	// An object whose keys keep the schema's order.
	var b bytes.Buffer
	b.WriteByte('{')
	for i, name := range schema.Names {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		b.WriteString(strconv.FormatFloat(float64(v[i]), 'g', -1, 32))
	}
	b.WriteByte('}')
	return writeJSON(stdout, struct {
		Schema   string          `json:"schema"`
		Version  int             `json:"version"`
		TxID     string          `json:"txid"`
		Features json.RawMessage `json:"features"`
	}{schema.Name, schema.Version, tx.TxHash().String(), b.Bytes()})
}
