package dataset

import "github.com/anya-org/anya-go/ml"

// Schema names and versions of the SDK's feature vectors.
const (
	// FraudSchemaName names the transaction + identity vector scored by the fraud model.
	FraudSchemaName = "fraud"
	// ReputationSchemaName names the identity vector scored by the reputation model.
	ReputationSchemaName = "reputation"
	// SchemaVersion is the version of both schemas.
	SchemaVersion = 1
)

// Transaction features, in fraud-schema order. The bitcoin package computes these per
// transaction (by name); values are plain counts, BTC amounts, ratios and flags.
var txFeatures = []ml.Feature{
	{Name: "n_inputs", Min: 1, Max: 10000, Default: 1, Description: "number of inputs"},
	{Name: "n_outputs", Min: 1, Max: 10000, Default: 2, Description: "number of outputs"},
	{Name: "total_out_btc", Min: 0, Max: 21e6, Default: 0.01, Description: "sum of output values, BTC"},
	{Name: "fee_rate_sat_vb", Min: 0, Max: 1e5, Default: 10, Description: "fee / vsize, sat/vB"},
	{Name: "vsize_vb", Min: 1, Max: 4e6, Default: 141, Description: "virtual size, vB"},
	{Name: "min_out_ratio", Min: 0, Max: 1, Default: 0.4, Description: "smallest output / total output (peel chains peel a few percent)"},
	{Name: "out_value_cv", Min: 0, Max: 100, Default: 0.5, Description: "coefficient of variation of output values (fan-outs pay equal amounts)"},
	{Name: "dust_outputs", Min: 0, Max: 10000, Default: 0, Description: "outputs below the 546-sat dust limit"},
	{Name: "round_outputs", Min: 0, Max: 10000, Default: 0, Description: "outputs that are a whole multiple of 0.001 BTC"},
	{Name: "has_change", Min: 0, Max: 1, Default: 1, Description: "1 when a change output is identified (script type of an input, non-round value)"},
	{Name: "rbf", Min: 0, Max: 1, Default: 0, Description: "1 when the transaction signals replace-by-fee"},
	{Name: "locktime_set", Min: 0, Max: 1, Default: 1, Description: "1 when nLockTime is set (anti fee-sniping wallets set it)"},
	{Name: "input_age_min_blocks", Min: 0, Max: 1e7, Default: 1000, Description: "confirmations of the youngest spent output"},
	{Name: "input_age_mean_blocks", Min: 0, Max: 1e7, Default: 5000, Description: "mean confirmations of the spent outputs"},
	{Name: "reused_addresses", Min: 0, Max: 10000, Default: 0, Description: "input and output addresses seen in earlier transactions"},
	{Name: "segwit_input_share", Min: 0, Max: 1, Default: 1, Description: "share of inputs spending segwit or taproot outputs"},
}

// Identity features shared by both schemas (the first six of the reputation schema). The web5
// package computes these from a DID, its credentials and its data store.
var identityFeatures = []ml.Feature{
	{Name: "did_age_days", Min: 0, Max: 36500, Default: 0, Description: "days since the DID was first seen"},
	{Name: "credentials", Min: 0, Max: 10000, Default: 0, Description: "valid verifiable credentials held"},
	{Name: "kyc_verified", Min: 0, Max: 1, Default: 0, Description: "1 when a KYC credential from a trusted issuer verifies"},
	{Name: "address_linked", Min: 0, Max: 1, Default: 0, Description: "1 when a BIP-322 proof links the DID to the paying address"},
	{Name: "prior_payments", Min: 0, Max: 1e7, Default: 0, Description: "earlier payments by this identity"},
	{Name: "prior_reports", Min: 0, Max: 1e5, Default: 0, Description: "fraud reports filed against this identity"},
}

// Reputation-only identity features, after the shared ones.
var reputationExtra = []ml.Feature{
	{Name: "linked_addresses", Min: 0, Max: 1e5, Default: 0, Description: "addresses proven to belong to the DID"},
	{Name: "prior_volume_btc", Min: 0, Max: 21e6, Default: 0, Description: "BTC paid in earlier payments"},
	{Name: "disputes", Min: 0, Max: 1e5, Default: 0, Description: "payment disputes opened against this identity"},
	{Name: "dwn_records", Min: 0, Max: 1e7, Default: 0, Description: "records in the identity's data store"},
	{Name: "did_method", Min: 0, Max: 3, Default: 0, Description: "0 did:key, 1 did:jwk, 2 did:web, 3 did:dht"},
	{Name: "service_endpoints", Min: 0, Max: 100, Default: 0, Description: "service endpoints in the DID document"},
}

// FraudSchema returns the schema of the fraud model's input: 16 transaction features followed by
// 6 identity features. Scoring a transaction without an identity uses the identity features'
// defaults: an unknown identity (age 0, unverified), which the model treats as risky.
func FraudSchema() ml.Schema {
	f := append(append([]ml.Feature(nil), txFeatures...), identityFeatures...)
	return ml.Schema{Name: FraudSchemaName, Version: SchemaVersion, Features: f}
}

// ReputationSchema returns the schema of the reputation model's input: 12 identity features.
func ReputationSchema() ml.Schema {
	f := append(append([]ml.Feature(nil), identityFeatures...), reputationExtra...)
	return ml.Schema{Name: ReputationSchemaName, Version: SchemaVersion, Features: f}
}
