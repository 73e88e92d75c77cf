package bitcoin

import "github.com/btcsuite/btcd/btcutil"

// FeeRate is a fee rate in satoshis per 1000 virtual bytes (sat/kvB), the unit of Bitcoin
// Core's -minrelaytxfee. 1000 sat/kvB is 1 sat/vB.
type FeeRate int64

// FeeFor returns the fee for vsize virtual bytes at rate r, rounded up.
func (r FeeRate) FeeFor(vsize int64) btcutil.Amount {
	return btcutil.Amount((int64(r)*vsize + 999) / 1000)
}
