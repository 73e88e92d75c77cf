package simchain

import (
	"context"

	"github.com/anya-org/anya-go/bitcoin"
)

var _ bitcoin.ScriptHistory = (*Chain)(nil)

// indexScripts counts the outputs of n's block by script, up (connect, delta 1) or down
// (disconnect, delta -1): the script index behind ScriptUses. Callers hold mu.
func (c *Chain) indexScripts(n *node, delta int) {
	if c.scriptUses == nil {
		c.scriptUses = make(map[string]int)
	}
	for _, tx := range n.block.Transactions {
		for _, o := range tx.TxOut {
			k := string(o.PkScript)
			if v := c.scriptUses[k] + delta; v > 0 {
				c.scriptUses[k] = v
			} else {
				delete(c.scriptUses, k)
			}
		}
	}
}

// ScriptUses returns how many outputs of the main chain and the mempool paid pkScript, spent
// or not (bitcoin.ScriptHistory): the chain keeps a count per script, moved by every block
// connected and disconnected and by every change of the mempool. It always knows.
func (c *Chain) ScriptUses(ctx context.Context, pkScript []byte) (int, bool, error) {
	if err := c.lock(ctx); err != nil {
		return 0, false, err
	}
	defer c.mu.Unlock()
	return c.scriptUses[string(pkScript)] + c.poolScripts[string(pkScript)], true, nil
}
