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

// Transaction features, in fraud-schema order. Every name and definition is the bitcoin
// package's ("bitcoin.tx" v1), so a transaction's feature vector maps onto the schema by name;
// ml never imports bitcoin. Values a raw transaction cannot give (input values, fee, ages,
// address reuse) come from a chain index when one is available, with "…_known" flags saying
// so; unknown values are 0.
var txFeatures = []ml.Feature{
	{Name: "n_inputs", Min: 1, Max: 1e5, Default: 1, Description: "number of inputs"},
	{Name: "n_outputs", Min: 1, Max: 1e5, Default: 2, Description: "number of outputs"},
	{Name: "vsize", Min: 1, Max: 4e6, Default: 141, Description: "virtual size, vB"},
	{Name: "rbf", Min: 0, Max: 1, Default: 0, Description: "1 when the transaction signals replace-by-fee"},
	{Name: "locktime_is_height", Min: 0, Max: 1, Default: 1, Description: "1 when nLockTime is a block height (anti fee-sniping wallets set it)"},
	{Name: "has_witness", Min: 0, Max: 1, Default: 1, Description: "1 when some input spends a segwit or taproot output"},
	{Name: "out_total_btc", Min: 0, Max: 21e6, Default: 0.01, Description: "sum of output values, BTC"},
	{Name: "out_min_btc", Min: 0, Max: 21e6, Default: 0.004, Description: "smallest output, BTC (dust is below 0.00000546)"},
	{Name: "out_std_btc", Min: 0, Max: 21e6, Default: 0.002, Description: "standard deviation of output values, BTC (fan-outs pay equal amounts)"},
	{Name: "largest_output_frac", Min: 0, Max: 1, Default: 0.6, Description: "largest output / total output (a peel chain forwards 95-99.5%)"},
	{Name: "out_round_count", Min: 0, Max: 1e5, Default: 0, Description: "outputs that are a whole multiple of 10,000 sat"},
	{Name: "change_unique_nonround", Min: 0, Max: 1, Default: 0, Description: "1 when exactly one of two or more outputs is not round: the likely change"},
	{Name: "inputs_known", Min: 0, Max: 1, Default: 0, Description: "1 when the spent outputs are known (fee rate is meaningful)"},
	{Name: "fee_rate_sat_vb", Min: 0, Max: 1e6, Default: 0, Description: "fee / vsize, sat/vB (0 when inputs are unknown)"},
	{Name: "ages_known", Min: 0, Max: 1, Default: 0, Description: "1 when the confirmation heights of the spent outputs are known"},
	{Name: "in_age_min_blocks", Min: 0, Max: 1e7, Default: 0, Description: "blocks since the youngest spent output was confirmed"},
	{Name: "in_age_mean_blocks", Min: 0, Max: 1e7, Default: 0, Description: "mean blocks since the spent outputs were confirmed"},
	{Name: "reuse_known", Min: 0, Max: 1, Default: 0, Description: "1 when the index can tell whether output scripts were paid before"},
	{Name: "out_reused_count", Min: 0, Max: 1e5, Default: 0, Description: "outputs paying scripts that were paid before"},
}

// identityKnown leads the fraud schema's identity part: 0 when the payment's sender has no
// resolved identity (then the identity features are 0).
var identityKnown = ml.Feature{Name: "identity_known", Min: 0, Max: 1, Default: 0, Description: "1 when the sender's DID was resolved"}

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

// FraudSchema returns the schema of the fraud model's input: 19 transaction features (named as
// the bitcoin package names them), identity_known, and 6 identity features. Scoring a
// transaction without an identity leaves identity_known at 0: the model learned from rows
// without identities too, and scores them from the transaction alone.
func FraudSchema() ml.Schema {
	f := append(append(append([]ml.Feature(nil), txFeatures...), identityKnown), identityFeatures...)
	return ml.Schema{Name: FraudSchemaName, Version: SchemaVersion, Features: f}
}

// ReputationSchema returns the schema of the reputation model's input: 12 identity features.
func ReputationSchema() ml.Schema {
	f := append(append([]ml.Feature(nil), identityFeatures...), reputationExtra...)
	return ml.Schema{Name: ReputationSchemaName, Version: SchemaVersion, Features: f}
}
