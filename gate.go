package anya

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/btcsuite/btcd/btcutil"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/internal/wallet"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/workflow"
)

// payment is what the bridges need to know about a payment.
type payment struct {
	ID, DID, From, To string
	Amount            int64
}

func (p payment) check(op string, m *Manager) error {
	if !validPaymentID(p.ID) {
		return &OpError{Op: op, Field: "PaymentID", Reason: fmt.Sprintf("must be 1 to %d letters, digits, '_', '-', '.' or ':' (it is the run ID)",
			workflow.MaxRunIDLength)}
	}
	if _, err := did.Parse(p.DID); err != nil {
		return &OpError{Op: op, Field: "SenderDID", Reason: "not a DID", Err: err}
	}
	if _, err := bitcoin.ParseAddress(p.From, m.net); err != nil {
		return &OpError{Op: op, Field: "SenderAddress", Reason: "not a " + m.net.String() + " address", Err: err}
	}
	if _, err := bitcoin.ParseAddress(p.To, m.net); err != nil {
		return &OpError{Op: op, Field: "RecipientAddress", Reason: "not a " + m.net.String() + " address", Err: err}
	}
	if p.Amount <= 0 || p.Amount > btcutil.MaxSatoshi {
		return &OpError{Op: op, Field: "AmountSat", Reason: "must be a positive number of satoshis"}
	}
	return nil
}

// validPaymentID reports whether id can be a workflow run ID, as the verified payment's is.
func validPaymentID(id string) bool {
	if id == "" || len(id) > workflow.MaxRunIDLength {
		return false
	}
	for _, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_-.:", c) >= 0) {
			return false
		}
	}
	return true
}

// interaction computes a payment's interaction features — the transaction features of the
// transaction the wallet would build now (coins, change, fee; spent outputs and address reuse
// looked up on the chain) and the identity features of its sender — passes each part through
// its boundary into ML (Bitcoin→ML and Web5→ML, audited), and returns the fraud model's input
// vector. Only numbers cross: the model needs neither the sender's DID nor the addresses, so
// they stay behind (data minimization).
func (m *Manager) interaction(ctx context.Context, p payment) ([]float32, error) {
	to, err := bitcoin.ParseAddress(p.To, m.net)
	if err != nil {
		return nil, err
	}
	tmpl, err := m.wallet.Template(ctx, wallet.Payment{From: p.From, To: to, Amount: btcutil.Amount(p.Amount), Key: SendKey(p.ID)})
	if err != nil {
		return nil, m.walletErr(err)
	}
	txf, err := m.txFeatures(ctx, tmpl)
	if err != nil {
		return nil, err
	}
	idf, err := m.identityFeatures(ctx, p.DID, p.From)
	if err != nil {
		return nil, err
	}
	txc, err := m.cross(ctx, security.Bitcoin, security.ML, security.ActionAssessRisk,
		map[string]any{"features": toAny(txf)})
	if err != nil {
		return nil, err
	}
	idc, err := m.cross(ctx, security.Web5, security.ML, security.ActionAssessRisk,
		map[string]any{"identity_features": toAny(idf)})
	if err != nil {
		return nil, err
	}
	all, err := numbers(txc["features"])
	if err != nil {
		return nil, err
	}
	ids, err := numbers(idc["identity_features"])
	if err != nil {
		return nil, err
	}
	maps.Copy(all, ids)
	all[FeatureIdentityKnown] = 1
	return vector(m.fraud, all), nil
}

// fallbackRiskVector is the fraud model's input for a payment the Manager did not start (a
// host's own run of the workflow): what the ML step's input says — the amount, whether it is
// round, whether the sender's identity is known and its address linked — and the model's
// defaults for the rest.
func (m *Manager) fallbackRiskVector(amount int64, verification float64) []float32 {
	v := map[string]float64{"out_total_btc": float64(amount) / 1e8, "out_min_btc": float64(amount) / 1e8}
	if amount%bitcoin.RoundAmountSats == 0 {
		v["out_round_count"] = 1
	}
	if verification > 0 {
		v[FeatureIdentityKnown] = 1
	}
	if verification >= 1 {
		v[FeatureAddressLinked] = 1
	}
	return vector(m.fraud, v)
}

// MLToBitcoin gates a payment on its fraud risk: the fraud model scores the payment's
// interaction features, and the score crosses the ML→Bitcoin boundary with a block flag when it
// reaches the risk threshold (WithRiskThreshold). ML can block the payment but never authorise it: the boundary
// also requires a verified identity in the security context (ctx; see SecurityContext), whatever
// the score. A payment that passes is sent, exactly once per PaymentID. Execute returns a
// *Gate; a payment blocked by its risk is a result (Blocked), a refusal for any other reason an
// error (a *security.DeniedError).
type MLToBitcoin struct {
	PaymentID        string
	SenderDID        string
	SenderAddress    string // an address of the Manager's wallet
	RecipientAddress string
	AmountSat        int64
}

// Gate is the outcome of MLToBitcoin.
type Gate struct {
	PaymentID string
	Risk      float64
	Model     string
	Factors   []Factor
	Blocked   bool
	Reason    string // why it was blocked
	// Refusal is why it was blocked (ReasonRiskAboveThreshold, with the risk and threshold); nil
	// when it passed.
	Refusal *Refusal
	Txid    string // the payment's transaction, when it passed
}

func (*Gate) direction() Direction { return DirectionMLToBitcoin }

func (op MLToBitcoin) name() string { return "MLToBitcoin" }

func (op MLToBitcoin) execute(ctx context.Context, m *Manager) (Result, error) {
	return result(m.gate(ctx, op))
}

func (m *Manager) gate(ctx context.Context, op MLToBitcoin) (*Gate, error) {
	p := payment{ID: op.PaymentID, DID: op.SenderDID, From: op.SenderAddress, To: op.RecipientAddress, Amount: op.AmountSat}
	if err := p.check(op.name(), m); err != nil {
		return nil, err
	}
	if err := m.available(BreakerChain, BreakerModel); err != nil {
		return nil, err
	}
	if sc, ok := security.FromContext(ctx); ok && sc.Principal != p.DID {
		return nil, fmt.Errorf("%w: the security context acts for %s, the payment is %s's", ErrPrincipal, sc.Principal, p.DID)
	}
	v, err := m.interaction(ctx, p)
	if err != nil {
		return nil, err
	}
	risk, model, factors, err := m.fraud.score(ctx, paymentEntity(p.ID), v)
	if err != nil {
		return nil, fmt.Errorf("anya: fraud model: %w", err)
	}
	g := &Gate{PaymentID: p.ID, Risk: risk, Model: model, Factors: factors}
	_, err = m.cross(ctx, security.ML, security.Bitcoin, security.ActionSendPayment, map[string]any{
		"payment_id": p.ID, "from_address": p.From, "to_address": p.To, "amount_sat": p.Amount,
		"risk_score": risk, "block": risk >= m.cfg.riskThreshold,
	})
	if errors.Is(err, security.ErrBlocked) {
		g.Blocked, g.Refusal = true, riskRefusal("", risk, m.cfg.riskThreshold)
		g.Reason = g.Refusal.Message
		return g, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := m.send(ctx, p.ID, p.From, p.To, p.Amount)
	if err != nil {
		return nil, err
	}
	g.Txid = s.Txid.String()
	return g, nil
}

// RiskThreshold returns the fraud risk at or above which the Manager blocks a payment
// (WithRiskThreshold); 0 for a Manager New did not create.
func (m *Manager) RiskThreshold() float64 {
	return get(m, func() float64 { return m.cfg.riskThreshold })
}

// SecurityContext returns the security context of principal d paying from address: d as the
// principal, holding the address-link credential that verifies for them (none when the link
// does not verify, so that boundaries refuse payments), with the scopes and origin of the
// context ctx already carries for d.
func (m *Manager) SecurityContext(ctx context.Context, d, address, credential string) (*security.Context, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	sc, _, err := m.securityContext(ctx, d, address, credential)
	return sc, err
}

func (m *Manager) securityContext(ctx context.Context, d, address, credential string) (*security.Context, *LinkVerification, error) {
	sc := &security.Context{Principal: d, Origin: EventSource}
	if have, ok := security.FromContext(ctx); ok {
		if have.Principal != "" && have.Principal != d {
			return nil, nil, fmt.Errorf("%w: the security context acts for %s, not %s", ErrPrincipal, have.Principal, d)
		}
		sc.Scopes = append(sc.Scopes, have.Scopes...)
		sc.Credentials = append(sc.Credentials, have.Credentials...)
		if have.Origin != "" {
			sc.Origin = have.Origin
		}
	}
	v, err := m.verifyLink(ctx, d, address, credential)
	if err != nil {
		return nil, nil, err
	}
	if v.Verified {
		sc.Credentials = append(sc.Credentials, *v.Credential)
	}
	return sc, v, nil
}
