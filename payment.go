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
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/internal/telemetry"
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
//     the risk threshold (WithRiskThreshold), the payment is sent, exactly once (see the package documentation);
//  4. web5.record_payment: the payment is recorded in the sender's records store; its status
//     changes to confirmed when the chain confirms it.
//
// Every step's input that comes from another protocol passes the boundary between them and is
// audited, under a security context with the sender as principal and the verified link as
// credential; the engine publishes each transition on the bus. PaymentID is the idempotency
// key and the run ID: executing the same payment again returns its stored outcome, or
// continues it (see the package documentation, "Retrying a payment"). Manager.Pay, and
// Execute, return a *Payment — also, with an error wrapping ErrPaymentFailed, for a run that
// failed — whose Refusal says why it was not sent.
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
	OutcomeBlocked    Outcome = "blocked"    // the fraud risk reached the threshold; nothing was sent
	OutcomeUnverified Outcome = "unverified" // the sender's identity did not verify; nothing was sent
	OutcomeFailed     Outcome = "failed"     // a step failed for good (see Error)
	OutcomePending    Outcome = "pending"    // unfinished: stored, to be continued by Resume
)

// Steps of the built-in verified-payment workflow, as its runs name them.
const (
	StepVerifySender  = "verify_sender"
	StepAssessRisk    = "fraud_assessment"
	StepSendPayment   = "send_payment"
	StepRecordPayment = "record_payment"
)

// Payment is a verified payment (the result of TriProtocol and Pay), as stored: Pay, Execute
// again with the same payment, and Manager.Payment return the same Payment, field for field,
// until the chain or the run moves on.
type Payment struct {
	PaymentID string
	Status    workflow.RunStatus
	Outcome   Outcome
	// Refusal says why the payment was not sent — for every outcome but OutcomeSent — as a
	// stable Reason with its details; nil for a sent payment.
	Refusal           *Refusal
	SenderVerified    bool
	VerificationScore float64
	Risk              float64
	Txid              string
	RecordID          string // the payment's record in the sender's records store
	Error             string // why the run failed, as the workflow engine stored it
	// Confirmation is where the payment's transaction is on the chain, as the Manager's block
	// triggers last saw it; nil until the payment is sent and recorded.
	Confirmation *Confirmation
	// Events are the payment's events, in order, as published on the bus (PaymentEvent): its
	// history of confirmations and reorgs, or the one event of a payment that ended unsent.
	Events []PaymentEvent
	// Run is the workflow run as stored, step by step.
	Run *workflow.Result
}

// Confirmation is where a sent payment's transaction is on the chain.
type Confirmation struct {
	// Status is PaymentBroadcast (in the mempool, or back there after a reorg), PaymentIncluded
	// (in a block with fewer confirmations than WithConfirmations asks) or PaymentConfirmed.
	Status    string
	Height    int32  // the height of the block holding the transaction; 0 when none
	BlockHash string // that block's hash; "" when none
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

// SpanPay is the span of one verified payment (Pay, or Execute of a TriProtocol) when
// WithTracerProvider gives a provider: the root of the payment's trace within the Manager,
// whose children are the workflow run and everything it causes. It carries no DID, address,
// amount or payment ID.
const SpanPay = "anya.pay"

// pay carries out the verified payment op in a span (SpanPay).
func (m *Manager) pay(ctx context.Context, op TriProtocol) (_ *Payment, err error) {
	if tp := m.cfg.tracerProv; tp != nil && !telemetry.IsNoopTracerProvider(tp) {
		var span trace.Span
		ctx, span = tp.Tracer(telemetry.ScopePrefix).Start(ctx, SpanPay)
		defer func() { telemetry.End(span, err, ErrPaymentFailed) }()
	}
	return m.payRun(ctx, op)
}

func (m *Manager) payRun(ctx context.Context, op TriProtocol) (*Payment, error) {
	p := payment{ID: op.PaymentID, DID: op.SenderDID, From: op.SenderAddress, To: op.RecipientAddress, Amount: op.AmountSat}
	if err := p.check(op.name(), m); err != nil {
		return nil, err
	}
	// A payment cannot do without the chain and the fraud model: while either's breaker is
	// open it fails at once, storing nothing.
	if err := m.available(BreakerChain, BreakerModel); err != nil {
		return nil, err
	}
	input := map[string]any{"payment_id": p.ID, "sender_did": p.DID, "sender_address": p.From,
		"recipient_address": p.To, "amount_sat": p.Amount}
	if m.cfg.riskThreshold != DefaultRiskThreshold {
		input["risk_threshold"] = m.cfg.riskThreshold // the workflow's default otherwise
	}
	if op.Credential != "" {
		input["credential"] = op.Credential
	}
	_, err := m.engine.Get(ctx, p.ID)
	switch {
	case errors.Is(err, workflow.ErrNotFound):
		// A new payment: verify who pays, compute its features, note its start (and its
		// features), then start it.
		sc, v, err := m.securityContext(ctx, p.DID, p.From, op.Credential)
		if err != nil {
			return nil, err
		}
		var vec []float32
		if v.Verified {
			if vec, err = m.interaction(security.NewContext(ctx, sc), p); err != nil {
				return nil, err
			}
		}
		if err := m.state.start(ctx, p.ID, vec); err != nil {
			return nil, err
		}
		if vec != nil {
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
	_, err = m.engine.Run(ctx, workflow.VerifiedPaymentName, p.ID, input)
	if errors.Is(err, workflow.ErrRunExists) {
		// Another host sharing the store created the run since Get: continue it as a stored one.
		_, err = m.engine.Run(ctx, workflow.VerifiedPaymentName, p.ID, input)
	}
	var runErr *workflow.RunError
	if err != nil && !errors.As(err, &runErr) {
		return nil, err
	}
	out, err := m.storedPayment(ctx, p.ID, p.DID)
	if err != nil {
		return nil, err
	}
	if runErr != nil {
		return out, fmt.Errorf("%w: %w", ErrPaymentFailed, runErr)
	}
	return out, nil
}

// storedPayment reads verified payment id as stored — its run, the refusal and events the
// Manager noted, its transaction's place on the chain — after noting, the first time it sees
// the run ended unsent, its outcome and event (published at once). sender is the sender's DID
// for that event ("" to read it from the run).
func (m *Manager) storedPayment(ctx context.Context, id, sender string) (*Payment, error) {
	r, err := m.engine.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := m.paymentOf(ctx, r)
	if err != nil {
		return nil, err
	}
	if !r.Status.Finished() {
		return p, nil
	}
	if p.Outcome == OutcomeSent {
		return p, nil // noted with its payment row (insertPayment)
	}
	if sender == "" {
		if sender, err = m.runSender(ctx, id); err != nil {
			return nil, err
		}
	}
	ev := PaymentEvent{PaymentID: id, DID: sender, Txid: p.Txid, RecordID: p.RecordID, Outcome: p.Outcome, Refusal: p.Refusal}
	queued, err := m.state.settle(ctx, outcomeTopics[p.Outcome], ev)
	if err != nil {
		return nil, err
	}
	if queued {
		m.publishOutbox(ctx)
		if p.Events, err = m.state.history(ctx, id); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// runSender returns the sender's DID of verified payment id, from its run's input.
func (m *Manager) runSender(ctx context.Context, id string) (string, error) {
	rec, err := m.store.Load(ctx, id)
	if err != nil {
		return "", err
	}
	var in struct {
		DID string `json:"sender_did"`
	}
	if err := json.Unmarshal(rec.Input, &in); err != nil {
		return "", fmt.Errorf("anya: run %s input: %w", id, err)
	}
	return in.DID, nil
}

// reconcileOutcomes notes the outcome of every payment the Manager started whose run ended
// while no one looked — a crash between the run's end and its note — and queues its event.
func (m *Manager) reconcileOutcomes(ctx context.Context) error {
	ids, err := m.state.openOutcomes(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		p, err := m.storedPayment(ctx, id, "")
		switch {
		case errors.Is(err, workflow.ErrNotFound):
			err = m.state.dropOutcome(ctx, id) // a crash before its run was created
		case err == nil && p.Outcome == OutcomeSent:
			err = m.state.markSent(ctx, id) // sent, and its record written by another way than the record step
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("anya: payment %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// number reads a number of a step's output: the workflow engine keeps whole numbers as int64.
func number(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int64:
		return float64(n)
	case int:
		return float64(n)
	case json.Number:
		f, _ := n.Float64()
		return f
	}
	return 0
}

// paymentOf reads a verified-payment run and what the Manager stored about it.
func (m *Manager) paymentOf(ctx context.Context, r *workflow.Result) (*Payment, error) {
	p := &Payment{PaymentID: r.RunID, Status: r.Status, Error: r.Error, Run: r}
	var unverified *Refusal
	if s := r.Step(StepVerifySender); s != nil && s.Status == workflow.StepCompleted {
		p.SenderVerified, _ = s.Output["sender_verified"].(bool)
		p.VerificationScore = number(s.Output["verification_score"])
		reason, _ := s.Output["reason"].(string)
		msg, _ := s.Output["reason_message"].(string)
		if reason == "" {
			reason, msg = string(ReasonLinkInvalid), "the sender's DID is not verifiably linked to the sending address"
		}
		unverified = &Refusal{Reason: Reason(reason), Message: msg, Step: StepVerifySender}
	}
	if s := r.Step(StepAssessRisk); s != nil && s.Status == workflow.StepCompleted {
		p.Risk = number(s.Output["risk_score"])
	}
	if s := r.Step(StepSendPayment); s != nil && s.Status == workflow.StepCompleted {
		p.Txid, _ = s.Output["txid"].(string)
	}
	if s := r.Step(StepRecordPayment); s != nil && s.Status == workflow.StepCompleted {
		p.RecordID, _ = s.Output["record_id"].(string)
	}
	switch {
	case !r.Status.Finished():
		p.Outcome = OutcomePending
		p.Refusal = &Refusal{Reason: ReasonInProgress, Message: "unfinished: Resume, or Pay with the same payment, continues it"}
		waiting, err := m.waitingFor(ctx, r.RunID)
		if err != nil {
			return nil, err
		}
		if waiting != "" {
			p.Refusal = &Refusal{Reason: ReasonAwaitingKeys, Address: waiting, Step: StepSendPayment,
				Message: fmt.Sprintf("waiting for the Bitcoin key of %s (register it with AddIdentity, then Resume)", waiting)}
		}
	case r.Status == workflow.StatusFailed:
		p.Outcome = OutcomeFailed
		_, stored, err := m.state.outcome(ctx, r.RunID)
		if err != nil {
			return nil, err
		}
		p.Refusal = stored
		if p.Refusal == nil {
			p.Refusal = &Refusal{Reason: ReasonStepFailed, Message: r.Error}
			for _, s := range r.Steps {
				if s.Status == workflow.StepFailed {
					p.Refusal.Step = s.ID
					if s.Error != "" {
						p.Refusal.Message = s.Error
					}
					break
				}
			}
		}
	case !p.SenderVerified:
		p.Outcome = OutcomeUnverified
		p.Refusal = unverified
	case p.Txid == "":
		p.Outcome = OutcomeBlocked
		p.Refusal = riskRefusal(StepAssessRisk, p.Risk, m.runThreshold(ctx, r.RunID))
	default:
		p.Outcome = OutcomeSent
	}
	if p.Txid != "" {
		row, ok, err := m.state.payment(ctx, r.RunID)
		if err != nil {
			return nil, err
		}
		if ok {
			p.Confirmation = &Confirmation{Status: row.Status, Height: row.Height, BlockHash: row.Block}
		}
	}
	events, err := m.state.history(ctx, r.RunID)
	if err != nil {
		return nil, err
	}
	p.Events = events
	return p, nil
}

// waitingFor returns the address whose key unfinished verified payment id waits for (see
// awaitsKey); "" when it waits for none.
func (m *Manager) waitingFor(ctx context.Context, id string) (string, error) {
	rec, err := m.store.Load(ctx, id)
	if err != nil || rec.Status.Finished() {
		return "", err
	}
	var input map[string]any
	if err := json.Unmarshal(rec.Input, &input); err != nil {
		return "", fmt.Errorf("anya: run %s input: %w", id, err)
	}
	addr, waiting, err := m.awaitsKey(ctx, id, rec.Steps, input)
	if err != nil || !waiting {
		return "", err
	}
	return addr, nil
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
			awaiting.Payments = append(awaiting.Payments, AwaitingKey{PaymentID: ids[i], Address: o.waiting})
		case o.err != nil && errors.Is(o.err, workflow.ErrRunInProgress):
			continue // this Manager is running it already
		case o.err != nil && !errors.As(o.err, &re):
			m.log.Warn("anya: resume failed", "run", ids[i], "err", o.err)
			errs = append(errs, fmt.Errorf("run %s: %w", ids[i], o.err))
		}
		if o.res != nil && o.res.Workflow == workflow.VerifiedPaymentName {
			p, err := m.storedPayment(ctx, ids[i], "")
			if err != nil {
				errs = append(errs, fmt.Errorf("run %s: %w", ids[i], err))
				continue
			}
			payments = append(payments, p)
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

// Payment returns a verified payment as stored: the same Payment, field for field, that Pay
// returned for it when it ended, and later where its transaction is on the chain
// (Confirmation) and every event since (Events: confirmations and reorgs). A payment the
// Manager does not know is an error matching workflow.ErrNotFound.
func (m *Manager) Payment(ctx context.Context, paymentID string) (*Payment, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	r, err := m.engine.Get(ctx, paymentID)
	if err != nil {
		return nil, err
	}
	if r.Workflow != workflow.VerifiedPaymentName {
		return nil, fmt.Errorf("anya: run %s is a %s run, not a verified payment: %w", paymentID, r.Workflow, workflow.ErrNotFound)
	}
	return m.paymentOf(ctx, r)
}

// operations returns the verified payment's operations, bound to the Manager.
func (m *Manager) operations() []workflow.Operation {
	ops := workflow.VerifiedPaymentOperations()
	for i := range ops {
		switch ops[i].Name {
		case workflow.OpVerifyIdentity:
			ops[i].Func = workflow.Typed(m.opVerifyIdentity)
			// Why a sender did not verify is stored with the run.
			ops[i].Outputs["reason"], ops[i].Outputs["reason_message"] = workflow.TypeString, workflow.TypeString
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

// verifyOut is the verify step's output: the workflow's contract, and why the sender did not
// verify (reason, a Reason, and its message; empty when verified), which the run stores.
type verifyOut struct {
	SenderVerified    bool    `json:"sender_verified"`
	VerificationScore float64 `json:"verification_score"`
	Reason            string  `json:"reason"`
	Message           string  `json:"reason_message"`
}

func (m *Manager) opVerifyIdentity(ctx context.Context, _ *workflow.Call, in verifyIn) (verifyOut, error) {
	if _, err := bitcoin.ParseAddress(in.Address, m.net); err != nil {
		// An address of another network is linked to nobody here.
		return verifyOut{Reason: string(ReasonWrongNetwork), Message: in.Address + " is not a " + m.net.String() + " address"}, nil
	}
	v, err := m.verifyLink(ctx, in.DID, in.Address, in.Credential)
	if err != nil {
		return verifyOut{}, err
	}
	out := verifyOut{SenderVerified: v.Verified, VerificationScore: v.Score}
	if v.Refusal != nil {
		out.Reason, out.Message = string(v.Refusal.Reason), v.Refusal.Message
	}
	return out, nil
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
	risk, _, _, err := m.fraud.score(ctx, paymentEntity(c.RunID), v)
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
		// Why is noted for its Payment's Refusal.
		if perr := m.state.putRefusal(ctx, in.PaymentID, sendRefusal(StepSendPayment, in.FromAddress, err)); perr != nil {
			return sendOut{}, perr
		}
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

// runThreshold returns the risk threshold verified payment id ran with: its input's
// risk_threshold, DefaultRiskThreshold for a run that names none (one the host started, or
// one started before the threshold was an input).
func (m *Manager) runThreshold(ctx context.Context, id string) float64 {
	rec, err := m.store.Load(ctx, id)
	if err != nil {
		return DefaultRiskThreshold
	}
	var in struct {
		Threshold *float64 `json:"risk_threshold"`
	}
	if json.Unmarshal(rec.Input, &in) != nil || in.Threshold == nil {
		return DefaultRiskThreshold
	}
	return *in.Threshold
}
