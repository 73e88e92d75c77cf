package bitcoin

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// Bus topics of the chain events. A [Notifier] configured with a bus publishes every event
// under its topic with the payload type named beside it, keyed by the block hash, txid or
// outpoint it is about (bus.WithKey), with source [BusSource]. Patterns such as
// "bitcoin.block.*" or "bitcoin.>" select groups.
const (
	TopicBlockConnected    = "bitcoin.block.connected"    // BlockConnected, key: block hash
	TopicBlockDisconnected = "bitcoin.block.disconnected" // BlockDisconnected, key: block hash
	TopicDeepReorg         = "bitcoin.chain.deepreorg"    // DeepReorg, key: old tip hash
	TopicTxConfUpdate      = "bitcoin.tx.confupdate"      // TxConfUpdate, key: txid
	TopicTxConfirmed       = "bitcoin.tx.confirmed"       // TxConfirmed, key: txid
	TopicTxReorged         = "bitcoin.tx.reorged"         // TxReorged, key: txid
	TopicTxFinal           = "bitcoin.tx.final"           // TxFinal, key: txid
	TopicOutpointSpent     = "bitcoin.spend.detected"     // OutpointSpent, key: outpoint
	TopicSpendReorged      = "bitcoin.spend.reorged"      // SpendReorged, key: outpoint
	TopicSpendFinal        = "bitcoin.spend.final"        // SpendFinal, key: outpoint
	TopicMempoolTx         = "bitcoin.mempool.tx"         // MempoolTx, key: txid
	TopicTxBroadcast       = "bitcoin.tx.broadcast"       // TxBroadcast, key: txid

	// BusSource is the bus.Meta Source of the events above.
	BusSource = "bitcoin"
)

// BlockEvent is one block-epoch event: a [BlockConnected], [BlockDisconnected] or
// [DeepReorg]. Use a type switch.
type BlockEvent interface{ blockEvent() }

// BlockConnected reports a block joining the main chain.
type BlockConnected struct {
	Height int32            `json:"height"`
	Hash   chainhash.Hash   `json:"hash"`
	Header wire.BlockHeader `json:"header"`
}

// BlockDisconnected reports a block leaving the main chain in a reorg. Disconnects arrive tip
// first, before the connects of the new branch.
type BlockDisconnected struct {
	Height int32            `json:"height"`
	Hash   chainhash.Hash   `json:"hash"`
	Header wire.BlockHeader `json:"header"`
}

// DeepReorg reports a reorg that orphans more blocks than the safety limit. It arrives before
// the disconnects of that reorg.
type DeepReorg struct {
	// Depth is the number of orphaned blocks.
	Depth int32 `json:"depth"`
	// Fork is the last block the old and new branches share.
	Fork BlockStamp `json:"fork"`
	// OldTip is the tip that is being orphaned.
	OldTip BlockStamp `json:"oldTip"`
	// SafetyLimit is the limit Depth exceeded.
	SafetyLimit int32 `json:"safetyLimit"`
}

// Stamp returns the block's height and hash.
func (e BlockConnected) Stamp() BlockStamp { return BlockStamp{Height: e.Height, Hash: e.Hash} }

// Stamp returns the block's height and hash.
func (e BlockDisconnected) Stamp() BlockStamp { return BlockStamp{Height: e.Height, Hash: e.Hash} }

func (BlockConnected) blockEvent()    {}
func (BlockDisconnected) blockEvent() {}
func (DeepReorg) blockEvent()         {}

// ConfEvent is one event of a confirmation registration: a [TxConfUpdate], [TxConfirmed],
// [TxReorged] or [TxFinal].
type ConfEvent interface{ confEvent() }

// TxConfUpdate reports a changed confirmation count that is still below the required number
// (it may go down in a reorg that keeps the confirming block).
type TxConfUpdate struct {
	RegistrationID uint64         `json:"registrationId"`
	Txid           chainhash.Hash `json:"txid"`
	Block          BlockStamp     `json:"block"`
	Confirmations  int32          `json:"confirmations"`
	Required       int32          `json:"required"`
}

// TxConfirmed reports that a registered transaction reached the required confirmations. It
// is sent again if the transaction is reorged out ([TxReorged]) and confirms anew.
type TxConfirmed struct {
	RegistrationID uint64         `json:"registrationId"`
	Txid           chainhash.Hash `json:"txid"`
	Tx             *wire.MsgTx    `json:"-"`
	Block          BlockStamp     `json:"block"`
	TxIndex        uint32         `json:"txIndex"`
	Confirmations  int32          `json:"confirmations"`
	Required       int32          `json:"required"`
}

// TxReorged is the negative confirmation: the block that confirmed a registered transaction
// was disconnected. The registration waits for the transaction to confirm again.
type TxReorged struct {
	RegistrationID uint64         `json:"registrationId"`
	Txid           chainhash.Hash `json:"txid"`
	// Block is the disconnected block.
	Block BlockStamp `json:"block"`
}

// TxFinal reports that a confirmed transaction is buried deeper than the safety limit; it is
// the registration's last event.
type TxFinal struct {
	RegistrationID uint64         `json:"registrationId"`
	Txid           chainhash.Hash `json:"txid"`
	Block          BlockStamp     `json:"block"`
	Confirmations  int32          `json:"confirmations"`
}

func (TxConfUpdate) confEvent() {}
func (TxConfirmed) confEvent()  {}
func (TxReorged) confEvent()    {}
func (TxFinal) confEvent()      {}

// SpendEvent is one event of a spend registration: an [OutpointSpent], [SpendReorged] or
// [SpendFinal].
type SpendEvent interface{ spendEvent() }

// OutpointSpent reports a registered outpoint spent by a main-chain transaction.
type OutpointSpent struct {
	RegistrationID uint64         `json:"registrationId"`
	OutPoint       wire.OutPoint  `json:"outpoint"`
	SpenderTxid    chainhash.Hash `json:"spenderTxid"`
	SpendingTx     *wire.MsgTx    `json:"-"`
	InputIndex     uint32         `json:"inputIndex"`
	Block          BlockStamp     `json:"block"`
}

// SpendReorged reports that the block holding the spend was disconnected; the registration
// waits for a spend again.
type SpendReorged struct {
	RegistrationID uint64         `json:"registrationId"`
	OutPoint       wire.OutPoint  `json:"outpoint"`
	SpenderTxid    chainhash.Hash `json:"spenderTxid"`
	Block          BlockStamp     `json:"block"`
}

// SpendFinal reports that the spend is buried deeper than the safety limit; it is the
// registration's last event.
type SpendFinal struct {
	RegistrationID uint64         `json:"registrationId"`
	OutPoint       wire.OutPoint  `json:"outpoint"`
	SpenderTxid    chainhash.Hash `json:"spenderTxid"`
	Block          BlockStamp     `json:"block"`
}

func (OutpointSpent) spendEvent() {}
func (SpendReorged) spendEvent()  {}
func (SpendFinal) spendEvent()    {}

// MempoolTx reports a mempool transaction paying a watched script.
type MempoolTx struct {
	Txid chainhash.Hash `json:"txid"`
	Tx   *wire.MsgTx    `json:"-"`
	// Outputs are the indexes of Tx's outputs that pay a watched script.
	Outputs []uint32 `json:"outputs"`
}

// TxBroadcast reports a transaction handed to the chain by a [Sender].
type TxBroadcast struct {
	Txid chainhash.Hash `json:"txid"`
	// Key is the Sender's idempotency key.
	Key string `json:"key"`
}

// The events that carry a transaction encode it in JSON as hex under "tx" (serialized with
// witness), so they survive a bus transport. Decoding refuses, with an error matching
// ErrInvalidTransaction, a transaction that is not the one the event's txid names, and, with
// an *AmountError, one whose outputs are out of range.

func txHex(tx *wire.MsgTx) (string, error) {
	if tx == nil {
		return "", nil
	}
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(buf.Bytes()), nil
}

func txFromHex(s string) (*wire.MsgTx, error) {
	if s == "" {
		return nil, nil
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("bitcoin: event tx: %w: %v", ErrInvalidTransaction, err)
	}
	tx, err := DecodeTx(raw)
	if err != nil {
		return nil, fmt.Errorf("bitcoin: event tx: %w", err)
	}
	return tx, nil
}

// sameTx refuses an event whose transaction is not the one its txid names: the txid field
// and the transaction are two readings of one event, and a consumer may trust either.
func sameTx(txid chainhash.Hash, tx *wire.MsgTx) error {
	if tx != nil && tx.TxHash() != txid {
		return fmt.Errorf("bitcoin: event names transaction %s but carries %s: %w", txid, tx.TxHash(), ErrInvalidTransaction)
	}
	return nil
}

// marshalWithTx encodes plain (an event without its transaction, whose transaction field is
// tagged json:"-") and adds tx as hex under "tx".
func marshalWithTx(plain any, tx *wire.MsgTx) ([]byte, error) {
	b, err := json.Marshal(plain)
	if err != nil {
		return nil, err
	}
	raw, err := txHex(tx)
	if err != nil || raw == "" {
		return b, err
	}
	q, _ := json.Marshal(raw)
	sep := ","
	if len(b) == 2 { // "{}"
		sep = ""
	}
	out := append(b[:len(b)-1:len(b)-1], sep+`"tx":`...)
	return append(append(out, q...), '}'), nil
}

// txFromJSON decodes the transaction marshalWithTx added.
func txFromJSON(b []byte) (*wire.MsgTx, error) {
	var v struct {
		RawTx string `json:"tx"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return txFromHex(v.RawTx)
}

// MarshalJSON encodes the event with its transaction as hex.
func (e TxConfirmed) MarshalJSON() ([]byte, error) {
	type plain TxConfirmed
	return marshalWithTx(plain(e), e.Tx)
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (e *TxConfirmed) UnmarshalJSON(b []byte) error {
	type plain TxConfirmed
	tx, err := txFromJSON(b)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, (*plain)(e)); err != nil {
		return err
	}
	if err := sameTx(e.Txid, tx); err != nil {
		return err
	}
	e.Tx = tx
	return nil
}

// MarshalJSON encodes the event with its transaction as hex.
func (e OutpointSpent) MarshalJSON() ([]byte, error) {
	type plain OutpointSpent
	return marshalWithTx(plain(e), e.SpendingTx)
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (e *OutpointSpent) UnmarshalJSON(b []byte) error {
	type plain OutpointSpent
	tx, err := txFromJSON(b)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, (*plain)(e)); err != nil {
		return err
	}
	if err := sameTx(e.SpenderTxid, tx); err != nil {
		return err
	}
	e.SpendingTx = tx
	return nil
}

// MarshalJSON encodes the event with its transaction as hex.
func (e MempoolTx) MarshalJSON() ([]byte, error) {
	type plain MempoolTx
	return marshalWithTx(plain(e), e.Tx)
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (e *MempoolTx) UnmarshalJSON(b []byte) error {
	type plain MempoolTx
	tx, err := txFromJSON(b)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, (*plain)(e)); err != nil {
		return err
	}
	if err := sameTx(e.Txid, tx); err != nil {
		return err
	}
	e.Tx = tx
	return nil
}
