package anya

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/workflow"
)

// TriProtocol is the verified payment, across all three protocols: the built-in
// workflow.VerifiedPayment run durably by the Manager's workflow engine —
//
//  1. web5.verify_identity: the sender's DID resolves and an address-link credential
//     (Credential, or one stored in the sender's records store) links it to SenderAddress;
//  2. ml.assess_risk: the fraud model scores the payment's interaction features;
//  3. bitcoin.send_payment: only if the sender is verified and the risk is below
//     DefaultRiskThreshold, the payment is sent, exactly once (see the package documentation);
//  4. web5.record_payment: the payment is recorded in the sender's records store; its status
//     changes to confirmed when the chain confirms it.
//
// Every step's input that comes from another protocol passes the boundary between them and is
// audited, under a security context with the sender as principal and the verified link as
// credential; the engine publishes each transition on the bus. PaymentID is the idempotency
// key and the run ID: executing the same payment again returns its stored outcome, or
// continues it. Execute returns a *Payment — also, with an error wrapping ErrPaymentFailed,
// for a run that failed.
type TriProtocol struct {
	PaymentID        string
	SenderDID        string
	SenderAddress    string // an address of the Manager's wallet
	RecipientAddress string
	AmountSat        int64
	Credential       string // optional: the address-link credential to use
}

// Outcome says how a verified payment ended.
type Outcome string

// Outcomes of a verified payment.
const (
	OutcomeSent       Outcome = "sent"       // sent and recorded
	OutcomeBlocked    Outcome = "blocked"    // the fraud risk reached DefaultRiskThreshold; nothing was sent
	OutcomeUnverified Outcome = "unverified" // the sender's identity did not verify; nothing was sent
	OutcomeFailed     Outcome = "failed"     // a step failed for good (see Error)
	OutcomePending    Outcome = "pending"    // unfinished: stored, to be continued by Resume
)

// Payment is the outcome of a verified payment (the result of TriProtocol).
type Payment struct {
	PaymentID         string
	Status            workflow.RunStatus
	Outcome           Outcome
	SenderVerified    bool
	VerificationScore float64
	Risk              float64
	Txid              string
	RecordID          string // the payment's record in the sender's records store
	Error             string // why it failed
	// Run is the workflow run as stored, step by step.
	Run *workflow.Result
}

func (*Payment) direction() Direction { return DirectionTriProtocol }

func (op TriProtocol) name() string { return "TriProtocol" }

func (op TriProtocol) execute(ctx context.Context, m *Manager) (Result, error) {
	p, err := m.pay(ctx, op)
	if p == nil {
		return nil, err
	}
	return p, err // a failed run: its outcome, and an error wrapping ErrPaymentFailed
}

func (m *Manager) pay(ctx context.Context, op TriProtocol) (*Payment, error) {
	p := payment{ID: op.PaymentID, DID: op.SenderDID, From: op.SenderAddress, To: op.RecipientAddress, Amount: op.AmountSat}
	if err := p.check(op.name(), m); err != nil {
		return nil, err
	}
	input := map[string]any{"payment_id": p.ID, "sender_did": p.DID, "sender_address": p.From,
		"recipient_address": p.To, "amount_sat": p.Amount}
	if op.Credential != "" {
		input["credential"] = op.Credential
	}
	_, err := m.engine.Get(ctx, p.ID)
	switch {
	case errors.Is(err, workflow.ErrNotFound):
		// A new payment: verify who pays, compute its features, then start it.
		sc, v, err := m.securityContext(ctx, p.DID, p.From, op.Credential)
		if err != nil {
			return nil, err
		}
		if v.Verified {
			vec, err := m.interaction(security.NewContext(ctx, sc), p)
			if err != nil {
				return nil, err
			}
			if err := m.state.putFeatures(ctx, p.ID, vec); err != nil {
				return nil, err
			}
			m.features.Store(p.ID, vec)
		}
		ctx = security.NewContext(ctx, sc)
	case err != nil:
		return nil, err
	}
	res, err := m.engine.Run(ctx, workflow.VerifiedPaymentName, p.ID, input)
	var runErr *workflow.RunError
	if err != nil && !errors.As(err, &runErr) {
		return nil, err
	}
	out := paymentOf(res)
	if runErr != nil {
		return out, fmt.Errorf("%w: %w", ErrPaymentFailed, err)
	}
	return out, nil
}

// paymentOf reads a verified-payment run.
func paymentOf(r *workflow.Result) *Payment {
	p := &Payment{PaymentID: r.RunID, Status: r.Status, Error: r.Error, Run: r}
	if s := r.Step("verify_sender"); s != nil && s.Status == workflow.StepCompleted {
		p.SenderVerified, _ = s.Output["sender_verified"].(bool)
		p.VerificationScore, _ = s.Output["verification_score"].(float64)
	}
	if s := r.Step("fraud_assessment"); s != nil && s.Status == workflow.StepCompleted {
		p.Risk, _ = s.Output["risk_score"].(float64)
	}
	if s := r.Step("send_payment"); s != nil && s.Status == workflow.StepCompleted {
		p.Txid, _ = s.Output["txid"].(string)
	}
	if s := r.Step("record_payment"); s != nil && s.Status == workflow.StepCompleted {
		p.RecordID, _ = s.Output["record_id"].(string)
	}
	switch {
	case !r.Status.Finished():
		p.Outcome = OutcomePending
	case r.Status == workflow.StatusFailed:
		p.Outcome = OutcomeFailed
	case !p.SenderVerified:
		p.Outcome = OutcomeUnverified
	case p.Txid == "":
		p.Outcome = OutcomeBlocked
	default:
		p.Outcome = OutcomeSent
	}
	return p
}

// Resume continues every verified payment (and any other workflow run) left unfinished by a
// crash or a Close, from its last stored step, and returns the verified payments' outcomes.
// Call it when the host starts. A payment whose transaction was recorded before the crash is
// completed with that transaction, never a new one.
func (m *Manager) Resume(ctx context.Context) ([]*Payment, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	results, err := m.engine.Resume(ctx)
	var out []*Payment
	for _, r := range results {
		if r != nil && r.Workflow == workflow.VerifiedPaymentName {
			out = append(out, paymentOf(r))
		}
	}
	return out, err
}

// Payment returns the stored state of a verified payment.
func (m *Manager) Payment(ctx context.Context, paymentID string) (*Payment, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	r, err := m.engine.Get(ctx, paymentID)
	if err != nil {
		return nil, err
	}
	return paymentOf(r), nil
}

// operations returns the verified payment's operations, bound to the Manager.
func (m *Manager) operations() []workflow.Operation {
	ops := workflow.VerifiedPaymentOperations()
	for i := range ops {
		switch ops[i].Name {
		case workflow.OpVerifyIdentity:
			ops[i].Func = workflow.Typed(m.opVerifyIdentity)
		case workflow.OpAssessRisk:
			ops[i].Func = workflow.Typed(m.opAssessRisk)
		case workflow.OpSendPayment:
			ops[i].Func = workflow.Typed(m.opSendPayment)
		case workflow.OpRecordPayment:
			ops[i].Func = workflow.Typed(m.opRecordPayment)
		}
	}
	return ops
}

type verifyIn struct {
	DID        string `json:"did"`
	Address    string `json:"address"`
	Credential string `json:"credential"`
}

type verifyOut struct {
	SenderVerified    bool    `json:"sender_verified"`
	VerificationScore float64 `json:"verification_score"`
}

func (m *Manager) opVerifyIdentity(ctx context.Context, _ *workflow.Call, in verifyIn) (verifyOut, error) {
	if _, err := bitcoin.ParseAddress(in.Address, m.net); err != nil {
		return verifyOut{}, nil // an address of another network is linked to nobody here
	}
	v, err := m.verifyLink(ctx, in.DID, in.Address, in.Credential)
	if err != nil {
		return verifyOut{}, err
	}
	return verifyOut{SenderVerified: v.Verified, VerificationScore: v.Score}, nil
}

type riskIn struct {
	AmountSat         int64   `json:"amount_sat"`
	RecipientAddress  string  `json:"recipient_address"`
	VerificationScore float64 `json:"verification_score"`
}

type riskOut struct {
	RiskScore float64 `json:"risk_score"`
}

// opAssessRisk scores the run's payment with the fraud model: on the interaction features the
// Manager computed and passed through the boundaries when it started the payment (stored by run
// ID, and kept in memory for the common case of the step running in the same process), or, for
// a run the host started itself, on what the step's input says.
func (m *Manager) opAssessRisk(ctx context.Context, c *workflow.Call, in riskIn) (riskOut, error) {
	var (
		v   []float32
		ok  bool
		err error
	)
	if mem, found := m.features.LoadAndDelete(c.RunID); found {
		v, ok = mem.([]float32), true
	} else if v, ok, err = m.state.features(ctx, c.RunID); err != nil {
		return riskOut{}, err
	}
	if !ok || len(v) != len(m.fraud.inputs()) {
		v = m.fallbackRiskVector(in.AmountSat, in.VerificationScore)
	}
	risk, _, _, err := m.fraud.score(ctx, v)
	if err != nil {
		return riskOut{}, err
	}
	return riskOut{RiskScore: risk}, nil
}

type sendIn struct {
	PaymentID   string  `json:"payment_id"`
	FromAddress string  `json:"from_address"`
	ToAddress   string  `json:"to_address"`
	AmountSat   int64   `json:"amount_sat"`
	RiskScore   float64 `json:"risk_score"`
}

type sendOut struct {
	Txid string `json:"txid"`
}

func (m *Manager) opSendPayment(ctx context.Context, _ *workflow.Call, in sendIn) (sendOut, error) {
	s, err := m.send(ctx, in.PaymentID, in.FromAddress, in.ToAddress, in.AmountSat)
	switch {
	case err == nil:
	case errors.Is(err, ErrInvalidOp), errors.Is(err, ErrNoKey), errors.Is(err, bitcoin.ErrKeyConflict),
		errors.Is(err, bitcoin.ErrInsufficientFunds), errors.Is(err, bitcoin.ErrDustOutput), errors.Is(err, bitcoin.ErrFeeTooHigh):
		// Retrying within the step cannot help: the payment fails, to be reconciled by the host.
		return sendOut{}, workflow.Permanent(err)
	default:
		return sendOut{}, err
	}
	if s.Reused {
		m.log.Info("anya: payment completed with its recorded transaction", "payment", in.PaymentID, "txid", s.Txid,
			"rebroadcast", s.Rebroadcast)
	}
	return sendOut{Txid: s.Txid.String()}, nil
}

type recordIn struct {
	DID       string  `json:"did"`
	PaymentID string  `json:"payment_id"`
	Txid      string  `json:"txid"`
	ToAddress string  `json:"to_address"`
	AmountSat int64   `json:"amount_sat"`
	RiskScore float64 `json:"risk_score"`
}

type recordOut struct {
	RecordID string `json:"record_id"`
}

// PaymentRecord is the data of a payment record in the sender's records store.
type PaymentRecord struct {
	PaymentID   string  `json:"payment_id"`
	Txid        string  `json:"txid"`
	ToAddress   string  `json:"to_address"`
	AmountSat   int64   `json:"amount_sat"`
	RiskScore   float64 `json:"risk_score"`
	Status      string  `json:"status"` // PaymentBroadcast or PaymentConfirmed
	BlockHeight int32   `json:"block_height,omitempty"`
	BlockHash   string  `json:"block_hash,omitempty"`
}

// opRecordPayment writes the payment's record into the sender's records store, exactly once:
// the record's write is a deterministic message — the same data, dated when the transaction
// was recorded for sending — so a retry after a crash sends the same write, which the store
// recognises, instead of a second record. The payment row that confirmations update is stored
// in the same call, holding off the block triggers, so a block arriving meanwhile either finds
// the row or is seen in the transaction's status.
func (m *Manager) opRecordPayment(ctx context.Context, _ *workflow.Call, in recordIn) (recordOut, error) {
	txid, err := chainhash.NewHashFromStr(in.Txid)
	if err != nil {
		return recordOut{}, workflow.Permanent(&OpError{Op: workflow.OpRecordPayment, Field: "txid", Reason: "not a txid", Err: err})
	}
	m.blocks.RLock()
	defer m.blocks.RUnlock()
	sendRec, err := m.sender.Record(ctx, SendKey(in.PaymentID))
	if err != nil {
		return recordOut{}, fmt.Errorf("anya: the send of payment %s: %w", in.PaymentID, err)
	}
	if sendRec.Txid != *txid {
		return recordOut{}, workflow.Permanent(fmt.Errorf("anya: payment %s was sent as %s, not %s", in.PaymentID, sendRec.Txid, txid))
	}
	data := PaymentRecord{PaymentID: in.PaymentID, Txid: in.Txid, ToAddress: in.ToAddress, AmountSat: in.AmountSat,
		RiskScore: in.RiskScore, Status: PaymentBroadcast}
	msg, err := m.paymentWrite(ctx, in.DID, data, sendRec.Created)
	if err != nil {
		return recordOut{}, err
	}
	rec, err := m.process(ctx, in.DID, msg)
	if err != nil {
		return recordOut{}, fmt.Errorf("anya: record payment %s in %s's records: %w", in.PaymentID, in.DID, err)
	}
	// The transaction may have confirmed already: the record says so at once.
	status, at, err := m.txStatus(ctx, *txid)
	if err != nil {
		return recordOut{}, err
	}
	if status == PaymentConfirmed {
		if err := m.updatePaymentRecord(ctx, in.DID, rec, status, at); err != nil {
			return recordOut{}, err
		}
	}
	row := paymentRow{PaymentID: in.PaymentID, DID: in.DID, Txid: in.Txid, RecordID: rec.ID, ToAddress: in.ToAddress,
		AmountSat: in.AmountSat, Risk: in.RiskScore, Status: status, Height: at.Height}
	if !at.IsZero() {
		row.Block = at.Hash.String()
	}
	if _, err := m.state.insertPayment(ctx, row); err != nil {
		return recordOut{}, err
	}
	return recordOut{RecordID: rec.ID}, nil
}

// paymentWrite is the deterministic write of a payment record, dated at (the time its
// transaction was recorded, to the microsecond).
func (m *Manager) paymentWrite(ctx context.Context, tenant string, data PaymentRecord, at time.Time) (*dwn.Message, error) {
	row, err := m.grants(ctx, tenant)
	if err != nil {
		return nil, workflow.Permanent(err)
	}
	body, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	return dwn.NewWrite(ctx, m.host, tenant, dwn.Write{Protocol: ProtocolURI, ProtocolPath: PathPayment, DataFormat: recordFormat,
		Data: body}, dwn.WithPermissionGrant(row.WriteGrant), dwn.WithTimestamp(at.UTC().Truncate(time.Microsecond)))
}

// updatePaymentRecord rewrites a payment record's status.
func (m *Manager) updatePaymentRecord(ctx context.Context, tenant string, rec *dwn.Record, status string, at bitcoin.BlockStamp) error {
	if rec.Data == nil {
		full, err := m.readRecord(ctx, tenant, rec.ID)
		if err != nil {
			return err
		}
		rec = full
	}
	var data PaymentRecord
	if err := json.Unmarshal(rec.Data, &data); err != nil {
		return fmt.Errorf("anya: payment record %s: %w", rec.ID, err)
	}
	if data.Status == status && data.BlockHash == blockHash(at) {
		return nil
	}
	data.Status, data.BlockHeight, data.BlockHash = status, at.Height, blockHash(at)
	body, err := json.Marshal(data)
	if err != nil {
		return err
	}
	row, err := m.grants(ctx, tenant)
	if err != nil {
		return err
	}
	msg, err := dwn.NewWrite(ctx, m.host, tenant, dwn.Write{Update: rec, Data: body}, dwn.WithPermissionGrant(row.WriteGrant),
		dwn.WithTimestamp(m.now()))
	if err != nil {
		return err
	}
	if _, err := m.node.Process(ctx, tenant, msg); err != nil {
		return fmt.Errorf("anya: update payment record %s: %w", rec.ID, err)
	}
	return nil
}

func blockHash(at bitcoin.BlockStamp) string {
	if at.IsZero() {
		return ""
	}
	return at.Hash.String()
}
