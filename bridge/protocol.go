package bridge

import "github.com/anya-org/anya-go/web5/dwn"

// ProtocolURI is the records protocol the bridges keep their records under.
const ProtocolURI = "https://anya.org/protocols/bridge/v1"

// DataFormat is the data format of every record of the protocol.
const DataFormat = "application/json"

// Protocol paths (record types) of ProtocolURI.
const (
	// PathWallet: a multisig wallet built from DIDs (descriptor and participants), in every
	// participant's store.
	PathWallet = "wallet"
	// PathUTXOs: the confirmed UTXOs of one linked address, in the linked DID's store.
	PathUTXOs = "utxos"
	// PathAnchor: the receipt of records anchored in a transaction.
	PathAnchor = "anchor"
	// PathLink: a two-way address link (credential and proofs), in the linked DID's store.
	PathLink = "link"
	// PathTx: a transaction that touched one of the DID's linked addresses.
	PathTx = "tx"
	// PathScore: a model's score (and explanation) about a record or an identity.
	PathScore = "score"
	// PathCheckpoint: a bridge's position in a stream (the last block it processed).
	PathCheckpoint = "checkpoint"
	// PathStatusList: a status list credential of link revocations, in the issuer's store.
	PathStatusList = "statuslist"
	// PathSync: a value kept in sync between the records store and a model's outputs; written
	// by the host with the tenant as recipient, which may co-update it.
	PathSync = "sync"
)

// Paths returns the record types of ProtocolURI.
func Paths() []string {
	return []string{PathWallet, PathUTXOs, PathAnchor, PathLink, PathTx, PathScore, PathCheckpoint, PathStatusList, PathSync}
}

// Protocol returns the definition of ProtocolURI: every path a top-level JSON record type.
// It grants nobody anything — the tenant writes as owner, others under the grants [Setup]
// gives — except that the recipient of a PathSync record may co-update it (the tenant edits
// the values the host syncs).
func Protocol() *dwn.Protocol {
	types := map[string]dwn.ProtocolType{}
	structure := map[string]*dwn.RuleSet{}
	for _, p := range Paths() {
		types[p] = dwn.ProtocolType{DataFormats: []string{DataFormat}}
		structure[p] = &dwn.RuleSet{}
	}
	structure[PathSync].Actions = []dwn.ActionRule{{Who: dwn.WhoRecipient, Can: []string{dwn.ActionCoUpdate}}}
	return &dwn.Protocol{Protocol: ProtocolURI, Types: types, Structure: structure}
}
