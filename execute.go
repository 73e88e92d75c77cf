package anya

import (
	"context"
)

// Direction names the way an operation crosses between protocols.
type Direction string

// The four directions of Execute.
const (
	DirectionBitcoinToWeb5 Direction = "bitcoin_to_web5" // address ownership → DID link (BitcoinToWeb5, VerifyLink)
	DirectionWeb5ToML      Direction = "web5_to_ml"      // identity features → reputation (Web5ToML)
	DirectionMLToBitcoin   Direction = "ml_to_bitcoin"   // fraud risk → payment gate (MLToBitcoin)
	DirectionTriProtocol   Direction = "tri_protocol"    // the verified payment (TriProtocol)
)

// Op is an operation Execute carries out: BitcoinToWeb5, VerifyLink, Web5ToML, MLToBitcoin or
// TriProtocol. Each documents the Result type Execute returns for it.
type Op interface {
	name() string
	execute(ctx context.Context, m *Manager) (Result, error)
}

// Result is what Execute returns: *Link, *LinkVerification, *Reputation, *Gate or *Payment.
type Result interface {
	direction() Direction
}

// DirectionOf returns the direction of a result.
func DirectionOf(r Result) Direction { return r.direction() }

// Execute carries out op and returns its result (see each Op for its Result type): the generic
// dispatch, for hosts that handle operations as values. Pay, Link, VerifyLink, Reputation and
// RiskGate are the same operations with their result typed. Malformed operations fail with an
// *OpError before anything happens; every crossing between protocols passes the Manager's
// boundaries and is audited. The security context in ctx (security.NewContext), if any, says
// who acts.
func (m *Manager) Execute(ctx context.Context, op Op) (Result, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	if op == nil {
		return nil, &OpError{Op: "Execute", Field: "op", Reason: "nil operation"}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return op.execute(ctx, m)
}

// call runs f as a call in progress: refused on a Manager New did not create or that is
// closing, and not started when ctx has ended.
func call[R any](ctx context.Context, m *Manager, f func() (R, error)) (R, error) {
	var zero R
	if err := m.enter(); err != nil {
		return zero, err
	}
	defer m.mu.RUnlock()
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	return f()
}

// Pay makes a verified payment (see TriProtocol): it returns the Payment — sent, or not and
// why (Payment.Refusal) — and, for a run that failed, the Payment with an error wrapping
// ErrPaymentFailed. An error with a nil Payment means nothing was stored (a malformed payment,
// an *InsufficientFundsError found before the run started, a cancelled ctx): the same payment
// ID can be paid again. See the package documentation, "Retrying a payment".
func (m *Manager) Pay(ctx context.Context, op TriProtocol) (*Payment, error) {
	return call(ctx, m, func() (*Payment, error) { return m.pay(ctx, op) })
}

// Link links a Bitcoin address to a DID from a BIP-322 proof (see BitcoinToWeb5).
func (m *Manager) Link(ctx context.Context, op BitcoinToWeb5) (*Link, error) {
	return call(ctx, m, func() (*Link, error) { return m.link(ctx, op) })
}

// LinkIdentity links the address of id — an identity whose Bitcoin key the Manager holds
// (NewIdentity, or AddIdentity with a key) — to its DID: Challenge, id.SignChallenge and Link in
// one call.
func (m *Manager) LinkIdentity(ctx context.Context, id *Identity) (*Link, error) {
	return call(ctx, m, func() (*Link, error) {
		if id == nil || id.DID == nil {
			return nil, &OpError{Op: "LinkIdentity", Field: "id", Reason: "nil identity"}
		}
		challenge, err := m.Challenge(id.String(), id.Address.String())
		if err != nil {
			return nil, err
		}
		sig, err := id.SignChallenge(challenge)
		if err != nil {
			return nil, err
		}
		return m.link(ctx, BitcoinToWeb5{DID: id.String(), Address: id.Address.String(), Challenge: challenge, Signature: sig})
	})
}

// VerifyLink checks that a DID controls an address through an address-link credential (see
// the VerifyLink operation). A link that does not verify is a result with its Refusal, not an
// error.
func (m *Manager) VerifyLink(ctx context.Context, op VerifyLink) (*LinkVerification, error) {
	return call(ctx, m, func() (*LinkVerification, error) { return m.verifyLinkOp(ctx, op) })
}

// Reputation scores the reputation of the identity d (see Web5ToML).
func (m *Manager) Reputation(ctx context.Context, d string) (*Reputation, error) {
	return call(ctx, m, func() (*Reputation, error) { return m.scoreReputation(ctx, Web5ToML{DID: d}) })
}

// RiskGate gates a payment on its fraud risk and sends it if it passes (see MLToBitcoin).
func (m *Manager) RiskGate(ctx context.Context, op MLToBitcoin) (*Gate, error) {
	return call(ctx, m, func() (*Gate, error) { return m.gate(ctx, op) })
}

// result turns a typed result into a Result, keeping a nil one nil.
func result[R Result](r R, err error) (Result, error) {
	if err != nil {
		return nil, err
	}
	return r, nil
}
