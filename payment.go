package anya

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	default:
		// An unfinished payment continues only if it will not fail for want of its key.
		if rec, err := m.store.Load(ctx, p.ID); err == nil && !rec.Status.Finished() {
			if addr, waiting, err := m.awaitsKey(ctx, p.ID, rec.Steps, input); err != nil {
				return nil, err
			} else if waiting {
				return nil, &AwaitingKeysError{Payments: []AwaitingKey{{PaymentID: p.ID, Address: addr}}}
			}
		}
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
// crash or a Close, from its last stored step, and returns the verified payments' outcomes. A
// payment whose transaction was recorded before the crash is completed with that transaction,
// never a new one.
//
// A payment that still has to build its transaction needs its sender's Bitcoin key. One whose
// key the Manager does not hold yet is not run — it would fail for good — but left unfinished
// and reported: its Payment has OutcomePending and says what it waits for, and the error is an
// *AwaitingKeysError listing them. Call Resume again once the keys are registered.
//
// # Starting a host
//
// A host starts in this order:
//
//  1. New, with the data directory and the key store of the previous run (WithDataDir and
//     WithPassphrase, WithKEK or WithKeyStore): the Manager loads the identities NewIdentity
//     created, with their keys, republishes their DIDs, and brings the payments it recorded up
//     to date with the chain (confirmations and reorgs that happened while it was down).
//  2. AddIdentity for every identity whose keys the host keeps itself.
//  3. Resume, which continues the payments a crash or a Close interrupted.
//  4. Then new work: Execute.
func (m *Manager) Resume(ctx context.Context) ([]*Payment, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	ids, err := m.store.Unfinished(ctx)
	if err != nil {
		return nil, err
	}
	type outcome struct {
		res     *workflow.Result
		waiting string // the address whose key the payment waits for
		err     error
	}
	outs := make([]outcome, len(ids))
	sem := make(chan struct{}, resumeConcurrency)
	var wg sync.WaitGroup
	for i, id := range ids {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			outs[i].err = ctx.Err()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			outs[i].res, outs[i].waiting, outs[i].err = m.resumeRun(ctx, id)
		})
	}
	wg.Wait()
	var (
		payments []*Payment
		errs     []error
		awaiting = &AwaitingKeysError{}
	)
	for i, o := range outs {
		var re *workflow.RunError
		switch {
		case o.waiting != "":
			p := &Payment{PaymentID: ids[i], Status: workflow.StatusRunning, Outcome: OutcomePending}
			if o.res != nil {
				p = paymentOf(o.res)
			}
			p.Error = fmt.Sprintf("waiting for the Bitcoin key of %s (register it with AddIdentity, then Resume)", o.waiting)
			payments = append(payments, p)
			awaiting.Payments = append(awaiting.Payments, AwaitingKey{PaymentID: ids[i], Address: o.waiting})
			continue
		case o.err != nil && errors.Is(o.err, workflow.ErrRunInProgress):
			continue // this Manager is running it already
		case o.err != nil && !errors.As(o.err, &re):
			m.log.Warn("anya: resume failed", "run", ids[i], "err", o.err)
			errs = append(errs, fmt.Errorf("run %s: %w", ids[i], o.err))
		}
		if o.res != nil && o.res.Workflow == workflow.VerifiedPaymentName {
			payments = append(payments, paymentOf(o.res))
		}
	}
	if len(awaiting.Payments) > 0 {
		errs = append(errs, awaiting)
	}
	return payments, errors.Join(errs...)
}

// resumeConcurrency bounds the runs Resume continues at once.
const resumeConcurrency = 8

// resumeRun continues run id, unless it is a verified payment waiting for its sender's key: then
// it returns the run as stored and the address.
func (m *Manager) resumeRun(ctx context.Context, id string) (*workflow.Result, string, error) {
	rec, err := m.store.Load(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if rec.Status.Finished() {
		res, err := m.engine.Get(ctx, id)
		return res, "", err
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Input))
	dec.UseNumber()
	var input map[string]any
	if err := dec.Decode(&input); err != nil {
		return nil, "", fmt.Errorf("anya: run %s input: %w", id, err)
	}
	if rec.Workflow == workflow.VerifiedPaymentName {
		addr, waiting, err := m.awaitsKey(ctx, id, rec.Steps, input)
		if err != nil {
			return nil, "", err
		}
		if waiting {
			res, err := m.engine.Get(ctx, id)
			return res, addr, err
		}
	}
	res, err := m.engine.Run(ctx, rec.Workflow, id, input)
	return res, "", err
}

// awaitsKey reports whether verified payment id, unfinished, would need its sender's Bitcoin
// key — its send step has not run, and no transaction is recorded for it — and the Manager does
// not hold the key.
func (m *Manager) awaitsKey(ctx context.Context, id string, steps []workflow.StepRecord, input map[string]any) (string, bool, error) {
	for _, st := range steps {
		if st.ID == "send_payment" && (st.Status == workflow.StepCompleted || st.Status == workflow.StepSkipped) {
			return "", false, nil
		}
	}
	addr, _ := input["sender_address"].(string)
	if m.wallet.Owns(addr) {
		return "", false, nil
	}
	if _, err := m.sender.Record(ctx, SendKey(id)); err == nil {
		return "", false, nil // recorded: completing it needs no key
	} else if !errors.Is(err, bitcoin.ErrNotFound) {
		return "", false, err
	}
	return addr, true, nil
}

// AwaitingKey is a payment waiting for its sender's Bitcoin key.
type AwaitingKey struct {
	PaymentID string
	Address   string // the sender's address, whose key the Manager does not hold
}

// AwaitingKeysError reports unfinished payments that Resume (or Execute) did not continue because
// the Manager does not hold their sender's Bitcoin key yet: they stay unfinished, untouched, until
// the key is registered (AddIdentity) and they are resumed. It matches ErrNoKey.
type AwaitingKeysError struct {
	Payments []AwaitingKey
}

func (e *AwaitingKeysError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %d unfinished payments wait for their sender's key:", ErrNoKey, len(e.Payments))
	for i, p := range e.Payments {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %s (%s)", p.PaymentID, p.Address)
	}
	return b.String()
}

// Unwrap returns ErrNoKey.
func (e *AwaitingKeysError) Unwrap() error { return ErrNoKey }

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
	fence, err := m.state.blocksFence(ctx)
	if err != nil {
		return recordOut{}, err
	}
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
	// The transaction may have confirmed already: the record says so at once. While the wallet
	// holds it as pending, no block the triggers processed holds it (a block still to come finds
	// the row this step stores); otherwise the chain says where it is.
	status, at := PaymentBroadcast, bitcoin.BlockStamp{}
	if !m.wallet.IsPending(*txid) {
		if status, at, err = m.txStatus(ctx, *txid); err != nil {
			return recordOut{}, err
		}
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
	if err := m.recheckRecorded(ctx, row, fence); err != nil {
		return recordOut{}, err
	}
	m.publishOutbox(ctx)
	return recordOut{RecordID: rec.ID}, nil
}

// paymentWrite is the deterministic write of a payment record, dated at (the time its
// transaction was recorded, to the microsecond).
func (m *Manager) paymentWrite(ctx context.Context, tenant string, data PaymentRecord, at time.Time) (*dwn.Message, error) {
	row, err := m.grants(ctx, tenant)
	if errors.Is(err, ErrUnknownIdentity) {
		return nil, workflow.Permanent(err)
	}
	if err != nil {
		return nil, err
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
