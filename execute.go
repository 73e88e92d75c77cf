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

// Execute carries out op and returns its result (see each Op for its Result type). Malformed
// operations fail with an *OpError before anything happens; every crossing between protocols
// passes the Manager's boundaries and is audited. The security context in ctx
// (security.NewContext), if any, says who acts.
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

// result turns a typed result into a Result, keeping a nil one nil.
func result[R Result](r R, err error) (Result, error) {
	if err != nil {
		return nil, err
	}
	return r, nil
}
