package bitcoin

import (
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
)

func schnorrParse(b []byte) (*btcec.PublicKey, error) { return schnorr.ParsePubKey(b) }
