package trigger

import (
	"strconv"

	"github.com/anya-org/anya-go/security"
)

// Names of the actions DefaultDefinitions uses; the host registers them with WithAction.
const (
	// ActionRecordTx: re-verify the links of a transaction's linked addresses and record the
	// transaction in each linked DID's store (Web5 side).
	ActionRecordTx = "record_tx"
	// ActionAssessTx: fraud analysis of a transaction (ML side).
	ActionAssessTx = "assess_tx"
	// ActionRescore: re-score a DID's reputation after its document changed (ML side).
	ActionRescore = "rescore_reputation"
)

// Crossing actions of DefaultDefinitions (the boundary actions; Boundaries lets them through).
const (
	CrossRecordTx = "web5.record_tx"
	CrossAssessTx = security.ActionAssessRisk
	CrossRescore  = "ml.score_reputation"
)

// DefaultRecordTxMaxBytes bounds the data crossing bitcoin→web5 (Boundaries sets it on that
// boundary when it sets no MaxBytes of its own): record-linked-tx carries one entry per linked
// output — a did:jwk and its address take about 300 bytes — so security.DefaultMaxBytes (64 KiB)
// would refuse a transaction paying a few hundred linked addresses. 1 MiB carries about 3,000.
const DefaultRecordTxMaxBytes = 1 << 20

// DefaultLargeTx is the amount (satoshis) above which DefaultDefinitions asks for a fraud
// analysis: 1 BTC.
const DefaultLargeTx = 100_000_000

// DefaultDefinitions returns the seed's cross-protocol triggers:
//
//   - record-linked-tx: a transaction paying a linked address → ActionRecordTx, crossing
//     bitcoin→web5 with {txid, amount_sat, block_height, links};
//   - assess-large-tx: a transaction above largeTx satoshis (DefaultLargeTx when <= 0) →
//     ActionAssessTx, crossing bitcoin→ml with {txid, amount_sat} (its Prepare adds the
//     transaction's features);
//   - rescore-on-did-change: a DID document change → ActionRescore, crossing web5→ml with what
//     its Prepare computes (identity features, numbers only) from {did}.
func DefaultDefinitions(largeTx int64) []Definition {
	if largeTx <= 0 {
		largeTx = DefaultLargeTx
	}
	return []Definition{
		{Name: "record-linked-tx", On: KindTx, When: "size(data.links) > 0", Action: ActionRecordTx,
			Cross:  Crossing{From: string(security.Bitcoin), To: string(security.Web5), Action: CrossRecordTx},
			Params: map[string]string{"txid": "data.txid", "amount_sat": "data.amount_sat", "block_height": "data.block_height", "links": "data.links"}},
		{Name: "assess-large-tx", On: KindTx, When: "data.amount_sat > " + strconv.FormatInt(largeTx, 10), Action: ActionAssessTx,
			Cross:  Crossing{From: string(security.Bitcoin), To: string(security.ML), Action: CrossAssessTx},
			Params: map[string]string{"txid": "data.txid", "amount_sat": "data.amount_sat"}},
		{Name: "rescore-on-did-change", On: KindDIDUpdated, When: "!data.deactivated", Action: ActionRescore,
			Cross:  Crossing{From: string(security.Web5), To: string(security.ML), Action: CrossRescore},
			Params: map[string]string{"did": "data.did"}},
	}
}

// Boundaries returns bs extended for DefaultDefinitions' crossings: bitcoin→web5 lets
// CrossRecordTx through with txid, amount_sat, block_height and links (and bounds its data by
// DefaultRecordTxMaxBytes unless it sets MaxBytes); web5→ml lets
// CrossRescore through with identity_features (an object of numbers). bitcoin→ml already
// carries CrossAssessTx (txid, amount_sat, features) in security.DefaultBoundaries. bs is
// not modified.
func Boundaries(bs []security.Boundary) []security.Boundary {
	out := make([]security.Boundary, len(bs))
	for i, b := range bs {
		b.Actions = append([]string(nil), b.Actions...)
		fields := make(map[string]security.Field, len(b.Fields)+4)
		for k, v := range b.Fields {
			fields[k] = v
		}
		switch {
		case b.From == security.Bitcoin && b.To == security.Web5:
			b.Actions = append(b.Actions, CrossRecordTx)
			if b.MaxBytes == 0 {
				b.MaxBytes = DefaultRecordTxMaxBytes
			}
			fields["txid"] = security.Field{Type: security.TypeString}
			fields["amount_sat"] = security.Field{Type: security.TypeInteger}
			fields["block_height"] = security.Field{Type: security.TypeInteger}
			fields["links"] = security.Field{Type: security.TypeList}
		case b.From == security.Web5 && b.To == security.ML:
			b.Actions = append(b.Actions, CrossRescore)
			fields["identity_features"] = security.Field{Type: security.TypeObject}
		}
		b.Fields = fields
		out[i] = b
	}
	return out
}
