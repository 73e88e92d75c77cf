package trigger

import (
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
)

// Event kinds built by this package.
const (
	// KindTx: a transaction seen in a block or the mempool (TxEvent).
	KindTx = "bitcoin.tx"
	// KindDIDUpdated: a DID's document changed (DIDEvent).
	KindDIDUpdated = "web5.did.updated"
	// KindRecordWritten and KindRecordDeleted: a records-store change (RecordEvent).
	KindRecordWritten = "web5.record.written"
	KindRecordDeleted = "web5.record.deleted"
)

// Owners returns the DIDs the address paying pkScript is linked to (none when it is not).
type Owners func(pkScript []byte) []string

// TxEvent describes a transaction for triggers (KindTx). Its ID is "bitcoin.tx/<txid>/<block
// hash>", or ".../mempool" while unconfirmed, so the same transaction confirming fires again.
// Data:
//
//	txid          string
//	amount_sat    int   total output value
//	inputs        int   number of inputs
//	outputs       list of {address (string, "" when none), value_sat (int), dids (list)}
//	linked_dids   list  the DIDs linked to any output's address, each once
//	links         list of {did, address}: each (DID, linked address) the outputs pay, once
//	block_height  int   0 in the mempool
//	block_hash    string "" in the mempool
func TxEvent(tx *wire.MsgTx, block *bitcoin.BlockStamp, net bitcoin.Network, owners Owners, at time.Time) Event {
	txid := tx.TxHash().String()
	var total int64
	outs := make([]any, 0, len(tx.TxOut))
	seen := map[string]bool{}
	linked, links := []any{}, []any{}
	pairs := map[string]bool{}
	for _, o := range tx.TxOut {
		total += o.Value
		addr := ""
		if a, err := bitcoin.AddressFromScript(o.PkScript, net); err == nil {
			addr = a.String()
		}
		ds := []any{}
		if owners != nil {
			for _, d := range owners(o.PkScript) {
				ds = append(ds, d)
				if !seen[d] {
					seen[d] = true
					linked = append(linked, d)
				}
				if k := d + "\n" + addr; !pairs[k] {
					pairs[k] = true
					links = append(links, map[string]any{"did": d, "address": addr})
				}
			}
		}
		outs = append(outs, map[string]any{"address": addr, "value_sat": o.Value, "dids": ds})
	}
	id, height, hash := "bitcoin.tx/"+txid+"/mempool", int64(0), ""
	if block != nil {
		id, height, hash = "bitcoin.tx/"+txid+"/"+block.Hash.String(), int64(block.Height), block.Hash.String()
	}
	return Event{ID: id, Kind: KindTx, Time: at, Data: map[string]any{
		"txid": txid, "amount_sat": total, "inputs": int64(len(tx.TxIn)), "outputs": outs,
		"linked_dids": linked, "links": links, "block_height": height, "block_hash": hash,
	}}
}

// DIDEvent describes a DID document that changed (KindDIDUpdated). version names the
// document's version (its did:dht sequence number, a hash, ...) and makes the ID
// "web5.did.updated/<did>/<version>". Data:
//
//	did                   string
//	version               string
//	verification_methods  int
//	services              int
//	also_known_as         list of strings
//	deactivated           bool
func DIDEvent(doc *did.Document, version string, deactivated bool, at time.Time) Event {
	aka := []any{}
	var methods, services int64
	id := ""
	if doc != nil {
		id = doc.ID
		for _, a := range doc.AlsoKnownAs {
			aka = append(aka, a)
		}
		methods, services = int64(len(doc.VerificationMethod)), int64(len(doc.Service))
	}
	return Event{ID: KindDIDUpdated + "/" + id + "/" + version, Kind: KindDIDUpdated, Time: at, Data: map[string]any{
		"did": id, "version": version, "verification_methods": methods, "services": services,
		"also_known_as": aka, "deactivated": deactivated,
	}}
}

// RecordEvent describes a records-store event (KindRecordWritten or KindRecordDeleted). Its ID
// is "<kind>/<message CID>". Data: tenant, record_id, author, protocol, protocol_path, schema,
// data_format, recipient (strings) and data_size (int). The record's data is not included.
func RecordEvent(e dwn.Event, at time.Time) Event {
	kind := KindRecordWritten
	if e.Kind == dwn.EventRecordDeleted {
		kind = KindRecordDeleted
	}
	data := map[string]any{"tenant": e.Tenant}
	id := kind + "/"
	if e.Message != nil {
		id += e.Message.CID()
	}
	if r := e.Record; r != nil {
		data["record_id"], data["author"], data["protocol"], data["protocol_path"] = r.ID, r.Author, r.Protocol, r.ProtocolPath
		data["schema"], data["data_format"], data["recipient"], data["data_size"] = r.Schema, r.DataFormat, r.Recipient, r.DataSize
	}
	return Event{ID: id, Kind: kind, Time: at, Data: data}
}
