package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/btcsuite/btcd/wire"
)

// readTx reads a transaction given in hex as arg (the value, @FILE or -).
func readTx(e *env, arg string) (*wire.MsgTx, error) {
	text, err := e.read(inTx, arg)
	if err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(string(bytes.TrimSpace(text)))
	if err != nil {
		return nil, &cliError{Code: "invalid_hex", Err: fmt.Errorf("TX: %v", err)}
	}
	tx := new(wire.MsgTx)
	r := bytes.NewReader(raw)
	if err := tx.Deserialize(r); err != nil || r.Len() != 0 {
		if err == nil {
			err = fmt.Errorf("%d trailing bytes", r.Len())
		}
		return nil, &cliError{Code: "invalid_transaction", Err: fmt.Errorf("%w: %v", bitcoin.ErrInvalidTransaction, err)}
	}
	return tx, nil
}

func runTxFeatures(ctx context.Context, env *env, args []string) error {
	fs := newFlags("tx features")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("tx features: want exactly one argument, the transaction in hex (or @FILE, or - for standard input)")
	}
	tx, err := readTx(env, pos[0])
	if err != nil {
		return err
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
	return writeJSON(env.stdout, struct {
		Schema   string          `json:"schema"`
		Version  int             `json:"version"`
		TxID     string          `json:"txid"`
		Features json.RawMessage `json:"features"`
	}{schema.Name, schema.Version, tx.TxHash().String(), b.Bytes()})
}
