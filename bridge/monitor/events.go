package monitor

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/ml"
)

// Where a scored transaction was seen first.
const (
	SourceMempool = "mempool"
	SourceBlock   = "block"
)

// Scored is one transaction's fraud score, published on TopicScored.
type Scored struct {
	Txid chainhash.Hash `json:"txid"`
	// Risk is the fraud model's score, in [0, 1], as it crossed ml→host.
	Risk      float64 `json:"risk"`
	Model     string  `json:"model"` // "fraud@1"
	Threshold float64 `json:"threshold"`
	// Alert says whether Risk is at or above Threshold.
	Alert bool `json:"alert"`
	// Source is SourceMempool or SourceBlock; Block is the block that held the transaction
	// when it was scored there.
	Source string              `json:"source"`
	Block  *bitcoin.BlockStamp `json:"block,omitempty"`
	// DID and Address name the sender's linked identity whose features were used, if any.
	DID     string `json:"did,omitempty"`
	Address string `json:"address,omitempty"`
	// Factors are the features that moved the score most, for alerts, when the engine explains
	// its scores (ml.WithFactors).
	Factors []ml.Factor `json:"factors,omitempty"`
	// Clamped names the features that were outside the model's range and scored at its edge.
	Clamped []string  `json:"clamped,omitempty"`
	Time    time.Time `json:"time"`
}

// Alert is a transaction whose risk is at or above the threshold, published on TopicAlert. Its
// ID is derived from the txid, the model version and how often an alert of this transaction
// was retracted before, so the same alert raised again — seen in the mempool and then in a
// block, or replayed after a restart from an older checkpoint — has the same ID, and consumers
// de-duplicate by it.
type Alert struct {
	ID string `json:"id"`
	Scored
}

// Retraction withdraws an alert: the block that held the transaction was disconnected and the
// transaction is in neither the mempool nor the new chain (a double spend won). Published on
// TopicRetracted; its ID is derived from the alert's and the block's.
type Retraction struct {
	ID      string         `json:"id"`
	AlertID string         `json:"alertId"`
	Txid    chainhash.Hash `json:"txid"`
	// Block is the disconnected block that held the transaction.
	Block bitcoin.BlockStamp `json:"block"`
	Time  time.Time          `json:"time"`
}

// AlertID returns the ID of the alert for txid scored by model (as "name@version"), after
// retractions earlier alerts of it were retracted: the first 16 bytes of a SHA-256, in hex.
func AlertID(txid chainhash.Hash, model string, retractions uint32) string {
	h := sha256.New()
	h.Write([]byte("anya.fraud.alert\x00"))
	h.Write(txid[:])
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(model)))])
	h.Write([]byte(model))
	h.Write(n[:binary.PutUvarint(n[:], uint64(retractions))])
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// RetractionID returns the ID of the retraction of alertID by the disconnection of block.
func RetractionID(alertID string, block chainhash.Hash) string {
	h := sha256.New()
	h.Write([]byte("anya.fraud.retracted\x00"))
	h.Write([]byte(alertID))
	h.Write(block[:])
	return hex.EncodeToString(h.Sum(nil)[:16])
}
