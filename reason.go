package anya

import (
	"errors"
	"fmt"

	"github.com/anya-org/anya-go/bitcoin"
)

// Reason is a stable, machine-readable word saying why a payment was not sent (or not yet), why
// a link did not verify, or why a gate blocked a payment. The values are part of the API: they
// are stored with payments, printed by the command line and carried by the payment events, and
// they do not change. The human explanation, which may change, is the Refusal's Message.
type Reason string

// Reasons of an unverified sender (OutcomeUnverified, and LinkVerification.Refusal): the
// sender's DID is not verifiably linked to the address paying.
const (
	// ReasonNoLink: the DID has no address-link credential at all. Fix: link the address
	// (Challenge, then Link; or LinkIdentity).
	ReasonNoLink Reason = "no_link"
	// ReasonAddressMismatch: the DID's links name other addresses than the one paying, or the
	// credential given links another address (or the address on another chain). Fix: pay from
	// a linked address, or link this one.
	ReasonAddressMismatch Reason = "address_mismatch"
	// ReasonLinkExpired: the address-link credential's validity period is over. Fix: link the
	// address again.
	ReasonLinkExpired Reason = "link_expired"
	// ReasonLinkRevoked: the credential's status list says it is revoked or suspended. Fix: link
	// the address again, with a credential that is not revoked.
	ReasonLinkRevoked Reason = "link_revoked"
	// ReasonUntrustedIssuer: the credential's issuer is neither the host nor among
	// WithTrustedIssuers. Fix: a credential from a trusted issuer, or trust its issuer.
	ReasonUntrustedIssuer Reason = "untrusted_issuer"
	// ReasonLinkInvalid: the credential does not verify: a bad signature, not an address-link
	// credential, another subject, a malformed claim, or a BIP-322 proof that does not verify.
	ReasonLinkInvalid Reason = "link_invalid"
	// ReasonDIDUnresolvable: the sender's DID does not resolve (not found, deactivated, or its
	// method unsupported). Fix: publish the DID, or add its method (WithDIDMethods).
	ReasonDIDUnresolvable Reason = "did_unresolvable"
	// ReasonWrongNetwork: the sender's address is not one of the Manager's network (a workflow
	// the host started itself: Pay refuses such an address with an *OpError).
	ReasonWrongNetwork Reason = "wrong_network"
)

// Reason of a blocked payment (OutcomeBlocked, and Gate.Refusal).
const (
	// ReasonRiskAboveThreshold: the fraud model's risk (Refusal.Risk) reached the threshold
	// (Refusal.Threshold: WithRiskThreshold, DefaultRiskThreshold by default). Nothing to fix but the payment: a smaller amount,
	// a sender with a longer history.
	ReasonRiskAboveThreshold Reason = "risk_above_threshold"
)

// Reasons of a failed payment (OutcomeFailed): a step failed for good.
const (
	// ReasonInsufficientFunds: the sender's spendable coins could not pay the amount and its
	// fee when the payment was built (Refusal.NeededSat, SpendableSat). Fix: fund the address,
	// or wait for the payments holding its coins.
	ReasonInsufficientFunds Reason = "insufficient_funds"
	// ReasonNoKey: the Manager does not hold the key of the sender's address. Fix: AddIdentity
	// with the key.
	ReasonNoKey Reason = "no_key"
	// ReasonTxRejected: the chain refused the transaction (a dust output, a fee too high, a
	// conflict, a script error).
	ReasonTxRejected Reason = "tx_rejected"
	// ReasonInvalidPayment: the payment's input is malformed (a workflow the host started
	// itself; Pay refuses such a payment with an *OpError before it starts).
	ReasonInvalidPayment Reason = "invalid_payment"
	// ReasonStepFailed: a step failed for another reason, after its retries: Refusal.Step names
	// it and Message says why (Payment.Error too). A failed payment whose Txid is set was sent:
	// only its record is missing.
	ReasonStepFailed Reason = "step_failed"
)

// Reasons of an unfinished payment (OutcomePending).
const (
	// ReasonAwaitingKeys: the payment still has to build its transaction and the Manager does
	// not hold the key of the sender's address (Refusal.Address) yet. Fix: AddIdentity with the
	// key, then Resume.
	ReasonAwaitingKeys Reason = "awaiting_keys"
	// ReasonInProgress: the payment is unfinished — cut short by a cancellation, a crash or a
	// Close. Resume, or Pay with the same payment, continues it.
	ReasonInProgress Reason = "in_progress"
)

// Refusal says why a payment was not sent, why a link did not verify or why a gate blocked a
// payment: a stable Reason with its details. It is stored with the payment and carried by its
// event; its JSON form is what the command line prints.
type Refusal struct {
	Reason  Reason `json:"reason"`
	Message string `json:"message"`           // the explanation, for people
	Step    string `json:"step,omitempty"`    // the workflow step that decided or failed
	Address string `json:"address,omitempty"` // the sender's address, where the reason concerns it
	// Risk and Threshold are the fraud risk and the threshold it reached
	// (ReasonRiskAboveThreshold).
	Risk      float64 `json:"risk,omitempty"`
	Threshold float64 `json:"threshold,omitempty"`
	// NeededSat is what the payment needed with its fee, SpendableSat what the address's
	// spendable coins held (ReasonInsufficientFunds).
	NeededSat    int64 `json:"needed_sat,omitempty"`
	SpendableSat int64 `json:"spendable_sat,omitempty"`
}

// String returns the reason and the message: "no_link: no address-link credential for ...".
func (r *Refusal) String() string {
	if r == nil {
		return ""
	}
	if r.Message == "" {
		return string(r.Reason)
	}
	return string(r.Reason) + ": " + r.Message
}

// riskRefusal is the refusal of a payment whose risk reached the threshold.
func riskRefusal(step string, risk, threshold float64) *Refusal {
	return &Refusal{Reason: ReasonRiskAboveThreshold, Step: step, Risk: risk, Threshold: threshold,
		Message: fmt.Sprintf("the fraud risk %.4f is at or above the threshold %.2f", risk, threshold)}
}

// sendRefusal classifies the error a payment's send failed with for good.
func sendRefusal(step, address string, err error) *Refusal {
	r := &Refusal{Reason: ReasonStepFailed, Step: step, Address: address, Message: err.Error()}
	var short *InsufficientFundsError
	var coins *bitcoin.InsufficientFundsError
	switch {
	case errors.As(err, &short):
		r.Reason, r.NeededSat, r.SpendableSat = ReasonInsufficientFunds, short.NeededSat, short.SpendableSat
	case errors.As(err, &coins):
		r.Reason, r.NeededSat, r.SpendableSat = ReasonInsufficientFunds, int64(coins.Needed), int64(coins.Available)
	case errors.Is(err, bitcoin.ErrInsufficientFunds):
		r.Reason = ReasonInsufficientFunds
	case errors.Is(err, ErrNoKey):
		r.Reason = ReasonNoKey
	case errors.Is(err, ErrInvalidOp):
		r.Reason = ReasonInvalidPayment
	case errors.Is(err, bitcoin.ErrRejected), errors.Is(err, bitcoin.ErrDustOutput), errors.Is(err, bitcoin.ErrFeeTooHigh),
		errors.Is(err, bitcoin.ErrKeyConflict):
		r.Reason = ReasonTxRejected
	}
	return r
}
