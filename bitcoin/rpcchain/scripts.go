package rpcchain

import (
	"bytes"
	"context"
	"fmt"

	"github.com/btcsuite/btcd/btcjson"

	"github.com/anya-org/anya-go/bitcoin"
)

var _ bitcoin.ScriptHistory = (*Chain)(nil)

// ScriptUses returns how many outputs of the main chain and the mempool paid pkScript, spent
// or not (bitcoin.ScriptHistory), from btcd's address index (searchrawtransactions). known is
// false for a script without an address form, and for a node run without --addrindex.
func (c *Chain) ScriptUses(ctx context.Context, pkScript []byte) (int, bool, error) {
	if err := c.constructed(); err != nil {
		return 0, false, err
	}
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	addr, ok := c.scriptAddress(pkScript)
	if !ok {
		return 0, false, nil
	}
	n := 0
	for skip := 0; ; skip += searchPage {
		verbose, count, skipN, vinExtra, reverse := 0, searchPage, skip, 0, false
		var page []string
		err := c.do(ctx, btcjson.NewSearchRawTransactionsCmd(addr.EncodeAddress(), &verbose, &skipN, &count, &vinExtra, &reverse, nil), &page)
		if rpcCode(err) == btcjson.ErrRPCNoTxInfo {
			break
		}
		if err != nil {
			if rpcCode(err) == btcjson.ErrRPCMisc || rpcCode(err) == btcjson.ErrRPCMethodNotFound.Code {
				return 0, false, nil // no address index
			}
			return 0, false, fmt.Errorf("rpcchain: searchrawtransactions: %w", err)
		}
		for _, s := range page {
			tx, err := decodeTx(s)
			if err != nil {
				return 0, false, fmt.Errorf("rpcchain: searchrawtransactions: %w", err)
			}
			for _, o := range tx.TxOut {
				if bytes.Equal(o.PkScript, pkScript) {
					n++
				}
			}
		}
		if len(page) < searchPage {
			break
		}
	}
	return n, true, nil
}
