package workflow

import (
	_ "embed"
)

// VerifiedPaymentName is the name of the built-in verified-payment workflow.
const VerifiedPaymentName = "verified_payment"

// The operations the verified-payment workflow calls. The host (the anya package) registers
// them; VerifiedPaymentOperations declares their contract.
const (
	OpVerifyIdentity = "web5.verify_identity"
	OpAssessRisk     = "ml.assess_risk"
	OpSendPayment    = "bitcoin.send_payment"
	OpRecordPayment  = "web5.record_payment"
)

//go:embed verified_payment.json
var verifiedPaymentJSON []byte

// VerifiedPaymentJSON returns the built-in verified-payment definition's JSON source.
func VerifiedPaymentJSON() []byte { return append([]byte(nil), verifiedPaymentJSON...) }

// VerifiedPayment returns the built-in verified-payment workflow: verify the sender's DID and
// its link to the paying address (Web5), score the payment's fraud risk (ML), send it only if
// the sender is verified and the risk is below the threshold (Bitcoin), and record it in the
// sender's data store (Web5). An unverified sender terminates the run after the first step; a
// risk at or above the threshold — the run input risk_threshold, 0.7 when it is not given —
// skips the payment and its record. The run's output holds sender_verified, risk_score,
// txid and record_id (null when the step did not run).
//
// Input: payment_id (the caller's idempotency key; use it as the run ID too), sender_did,
// sender_address, recipient_address, amount_sat (integer), and optionally credential and
// risk_threshold (a number; stored with the run, so a resumed run keeps the threshold it
// started with).
//
// The operations it calls, and what they must do (VerifiedPaymentOperations has them as
// Operation values, ready for Func):
//
//   - web5.verify_identity, input {did, address, credential}: resolve the DID, verify the
//     credential and that it links the DID to the address. Output {sender_verified bool,
//     verification_score number in [0,1]}. Read-only.
//   - ml.assess_risk, input {amount_sat, recipient_address, verification_score}: score the
//     payment. Output {risk_score number in [0,1]}. Read-only. It can only lower the payment's
//     chances: the send condition needs a verified sender whatever the score.
//   - bitcoin.send_payment, input {payment_id, from_address, to_address, amount_sat, risk_score}:
//     pay. Output {txid string}. It must be exactly-once: first look for an intent
//     (Call.LoadIntent); if there is one, look its txid up on the chain and, if unknown,
//     rebroadcast the recorded raw transaction — never build a new one; otherwise build and
//     sign the transaction, record {raw tx, txid} with Call.SaveIntent, and only then broadcast.
//   - web5.record_payment, input {did, payment_id, txid, to_address, amount_sat, risk_score}:
//     write a payment record to the sender's data store, idempotently keyed by
//     Call.IdempotencyKey (or payment_id). Output {record_id string}.
//
// Payments are irreversible, so no step declares a compensation: a failure after the send
// leaves the payment made and the run failed with the record step's error, for the host to
// retry (Resume) or reconcile.
func VerifiedPayment() *Definition {
	def, err := Parse(verifiedPaymentJSON)
	if err != nil {
		panic("workflow: built-in verified_payment definition: " + err.Error()) // a build defect, caught by tests
	}
	return def
}

// VerifiedPaymentOperations returns the contract (name, protocol, inputs, outputs) of each
// operation the verified-payment workflow calls, without Func: set Func and register them.
func VerifiedPaymentOperations() []Operation {
	return []Operation{
		{Name: OpVerifyIdentity, Protocol: "web5",
			Inputs: map[string]Field{
				"did":        {Type: TypeString, Required: true},
				"address":    {Type: TypeString, Required: true},
				"credential": {Type: TypeString},
			},
			Outputs:     map[string]Type{"sender_verified": TypeBoolean, "verification_score": TypeNumber},
			Description: "verify the sender's DID and its link to the paying address"},
		{Name: OpAssessRisk, Protocol: "ml",
			Inputs: map[string]Field{
				"amount_sat":         {Type: TypeInteger, Required: true},
				"recipient_address":  {Type: TypeString, Required: true},
				"verification_score": {Type: TypeNumber, Required: true},
			},
			Outputs:     map[string]Type{"risk_score": TypeNumber},
			Description: "score the payment's fraud risk in [0,1]"},
		{Name: OpSendPayment, Protocol: "bitcoin",
			Inputs: map[string]Field{
				"payment_id":   {Type: TypeString, Required: true},
				"from_address": {Type: TypeString, Required: true},
				"to_address":   {Type: TypeString, Required: true},
				"amount_sat":   {Type: TypeInteger, Required: true},
				"risk_score":   {Type: TypeNumber, Required: true},
			},
			Outputs:     map[string]Type{"txid": TypeString},
			Description: "send the payment exactly once (intent recorded before broadcast)"},
		{Name: OpRecordPayment, Protocol: "web5",
			Inputs: map[string]Field{
				"did":        {Type: TypeString, Required: true},
				"payment_id": {Type: TypeString, Required: true},
				"txid":       {Type: TypeString, Required: true},
				"to_address": {Type: TypeString, Required: true},
				"amount_sat": {Type: TypeInteger, Required: true},
				"risk_score": {Type: TypeNumber, Required: true},
			},
			Outputs:     map[string]Type{"record_id": TypeString},
			Description: "record the payment in the sender's data store"},
	}
}
