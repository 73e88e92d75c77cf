package bitcoin

import "context"

// ScriptHistory is implemented by chains that index outputs by script (simchain; rpcchain on
// a btcd node run with --addrindex): it says how many outputs ever paid a script, so feature
// vectors can tell address reuse.
type ScriptHistory interface {
	// ScriptUses returns how many outputs of the main chain and the mempool paid pkScript,
	// spent or not. known is false when the index cannot tell (a script without an address
	// form on rpcchain, a node without an address index).
	ScriptUses(ctx context.Context, pkScript []byte) (n int, known bool, err error)
}

// ScriptUses asks the chain's ScriptHistory; a chain without one cannot tell. The count is of
// every output paying the script on the main chain and in the mempool: for a transaction not
// yet broadcast (a payment being scored) that is every earlier use; for one already
// confirmed it includes its own outputs.
func (l chainLookup) ScriptUses(ctx context.Context, pkScript []byte) (int, bool, error) {
	h, ok := l.c.(ScriptHistory)
	if !ok {
		return 0, false, nil
	}
	return h.ScriptUses(ctx, pkScript)
}
