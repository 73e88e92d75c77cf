package bitcoin

import (
	"encoding/hex"
	"encoding/json"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
)

func schnorrParse(b []byte) (*btcec.PublicKey, error) { return schnorr.ParsePubKey(b) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// satVB returns the fee rate of v sat/vB.
func satVB(v float64) FeeRate { return FeeRate(v * 1000) }

func hexDecode(s string) ([]byte, error) { return hex.DecodeString(s) }
