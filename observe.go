package anya

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/modelcard"
	"github.com/anya-org/anya-go/models"
	"github.com/anya-org/anya-go/resilience"
	"github.com/anya-org/anya-go/workflow"
)

// This file holds the Manager's read views for operators — the console's data: payments and
// workflow runs listed and in detail, the circuit breakers, the models with their cards.

// Bounds of Payments and Runs.
const (
	// DefaultListLimit is how many payments or runs a list returns without ListLimit.
	DefaultListLimit = 50
	// MaxListLimit bounds ListLimit.
	MaxListLimit = workflow.MaxListLimit
)

// ListOption narrows or pages Payments and Runs. An option that does not hold, or does not
// apply to the list, refuses the call with an *OptionError.
type ListOption func(*listConfig)

type listConfig struct {
	outcomes []Outcome
	sender   string
	workflow string
	statuses []workflow.RunStatus
	before   string
	limit    int
	bad      *OptionError
}

func (c *listConfig) invalid(option, reason string) {
	if c.bad == nil {
		c.bad = &OptionError{Option: option, Reason: reason}
	}
}

// ListOutcome keeps the payments with one of the outcomes (Payments only). Defaults to every
// outcome.
func ListOutcome(outcomes ...Outcome) ListOption {
	return func(c *listConfig) {
		for _, o := range outcomes {
			if !slices.Contains([]Outcome{OutcomeSent, OutcomeBlocked, OutcomeUnverified, OutcomeFailed, OutcomePending}, o) {
				c.invalid("ListOutcome", fmt.Sprintf("unknown outcome %q", clipText(string(o))))
			}
		}
		c.outcomes = append(c.outcomes, outcomes...)
	}
}

// ListSender keeps the payments (or runs) whose sender is the DID senderDID (their input's
// sender_did). Defaults to every sender.
func ListSender(senderDID string) ListOption {
	return func(c *listConfig) {
		if senderDID == "" {
			c.invalid("ListSender", "empty DID")
		}
		c.sender = senderDID
	}
}

// ListWorkflow keeps the runs of the named workflow (Runs only). Defaults to every workflow.
func ListWorkflow(name string) ListOption {
	return func(c *listConfig) {
		if name == "" {
			c.invalid("ListWorkflow", "empty workflow name")
		}
		c.workflow = name
	}
}

// ListStatus keeps the runs with one of the statuses (Runs only). Defaults to every status.
func ListStatus(statuses ...workflow.RunStatus) ListOption {
	return func(c *listConfig) {
		for _, s := range statuses {
			if s != workflow.StatusRunning && s != workflow.StatusCompensating && !s.Finished() {
				c.invalid("ListStatus", fmt.Sprintf("unknown status %q", clipText(string(s))))
			}
		}
		c.statuses = append(c.statuses, statuses...)
	}
}

// ListBefore pages: it keeps what is listed after the payment or run with this ID. Give it the
// ID of the last item of the previous page. Defaults to the newest.
func ListBefore(id string) ListOption {
	return func(c *listConfig) {
		if id == "" || len(id) > workflow.MaxRunIDLength {
			c.invalid("ListBefore", "malformed ID")
		}
		c.before = id
	}
}

// ListLimit sets how many payments or runs a list returns at most, 1 to MaxListLimit. Defaults
// to DefaultListLimit.
func ListLimit(n int) ListOption {
	return func(c *listConfig) {
		if n < 1 || n > MaxListLimit {
			c.invalid("ListLimit", fmt.Sprintf("%d is not in 1..%d", n, MaxListLimit))
		}
		c.limit = n
	}
}

func newListConfig(opts []ListOption) (listConfig, error) {
	c := listConfig{limit: DefaultListLimit}
	for _, o := range opts {
		if o == nil {
			c.invalid("ListOption", "nil option")
			continue
		}
		o(&c)
	}
	if c.bad != nil {
		return listConfig{}, c.bad
	}
	return c, nil
}

func clipText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// PaymentInfo is a verified payment as an operator sees it: its outcome and run, who paid whom
// how much, when, and why it was not sent.
type PaymentInfo struct {
	*Payment
	Sender        string // the sender's DID
	SenderAddress string
	Recipient     string // the recipient's address
	AmountSat     int64
	Created       time.Time // when the payment started
	Updated       time.Time // its run's last transition
	Reason        *Refusal  // why it was not sent (nil for a sent payment)
}

// observedPayment reads verified payment id as stored, as Manager.Payment does: with its typed
// refusal, confirmation and events.
func (m *Manager) observedPayment(ctx context.Context, id string) (*Payment, error) {
	r, err := m.engine.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return m.paymentOf(ctx, r)
}

// paymentInput is what a verified payment's run input says of it.
type paymentInput struct {
	Sender        string `json:"sender_did"`
	SenderAddress string `json:"sender_address"`
	Recipient     string `json:"recipient_address"`
	AmountSat     int64  `json:"amount_sat"`
}

// paymentInfo reads verified payment id with its run's input and times.
func (m *Manager) paymentInfo(ctx context.Context, id string) (*PaymentInfo, error) {
	p, err := m.observedPayment(ctx, id)
	if err != nil {
		return nil, err
	}
	rec, err := m.store.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	var in paymentInput
	if err := json.Unmarshal(rec.Input, &in); err != nil {
		return nil, fmt.Errorf("anya: run %s input: %w", id, err)
	}
	return &PaymentInfo{Payment: p, Sender: in.Sender, SenderAddress: in.SenderAddress, Recipient: in.Recipient,
		AmountSat: in.AmountSat, Created: rec.Created, Updated: rec.Updated, Reason: p.Refusal}, nil
}

// statusesOf returns the run statuses a verified payment with one of the outcomes can have.
func statusesOf(outcomes []Outcome) []workflow.RunStatus {
	var out []workflow.RunStatus
	add := func(ss ...workflow.RunStatus) {
		for _, s := range ss {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	for _, o := range outcomes {
		switch o {
		case OutcomeSent, OutcomeBlocked:
			add(workflow.StatusCompleted)
		case OutcomeUnverified:
			add(workflow.StatusTerminated)
		case OutcomeFailed:
			add(workflow.StatusFailed)
		case OutcomePending:
			add(workflow.StatusRunning, workflow.StatusCompensating)
		}
	}
	return out
}

// Payments lists the verified payments, the newest first, narrowed by ListOutcome and
// ListSender and paged by ListBefore and ListLimit. ListWorkflow and ListStatus do not apply.
func (m *Manager) Payments(ctx context.Context, opts ...ListOption) ([]*PaymentInfo, error) {
	c, err := newListConfig(opts)
	if err != nil {
		return nil, err
	}
	switch {
	case c.workflow != "":
		return nil, &OptionError{Option: "ListWorkflow", Reason: "Payments lists the verified payments only"}
	case len(c.statuses) > 0:
		return nil, &OptionError{Option: "ListStatus", Reason: "Payments narrows by outcome (ListOutcome)"}
	}
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	base := []workflow.ListOption{workflow.ListWorkflow(workflow.VerifiedPaymentName), workflow.ListLimit(c.limit)}
	if c.sender != "" {
		base = append(base, workflow.ListInput("sender_did", c.sender))
	}
	if len(c.outcomes) > 0 {
		base = append(base, workflow.ListStatus(statusesOf(c.outcomes)...))
	}
	out := []*PaymentInfo{}
	before := c.before
	for len(out) < c.limit {
		page := base
		if before != "" {
			page = append(slices.Clip(base), workflow.ListBefore(before))
		}
		runs, err := m.engine.List(ctx, page...)
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			p, err := m.paymentInfo(ctx, r.ID)
			if errors.Is(err, workflow.ErrNotFound) {
				continue // gone since it was listed
			}
			if err != nil {
				return nil, err
			}
			if len(c.outcomes) == 0 || slices.Contains(c.outcomes, p.Outcome) {
				out = append(out, p)
				if len(out) == c.limit {
					break
				}
			}
		}
		if len(runs) < c.limit {
			break
		}
		before = runs[len(runs)-1].ID
	}
	return out, nil
}

// Runs lists the workflow runs — verified payments and the host's own — the newest first,
// narrowed by ListWorkflow, ListStatus and ListSender and paged by ListBefore and ListLimit.
// ListOutcome does not apply.
func (m *Manager) Runs(ctx context.Context, opts ...ListOption) ([]workflow.RunSummary, error) {
	c, err := newListConfig(opts)
	if err != nil {
		return nil, err
	}
	if len(c.outcomes) > 0 {
		return nil, &OptionError{Option: "ListOutcome", Reason: "Runs narrows by status (ListStatus)"}
	}
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	wopts := []workflow.ListOption{workflow.ListLimit(c.limit)}
	if c.workflow != "" {
		wopts = append(wopts, workflow.ListWorkflow(c.workflow))
	}
	if len(c.statuses) > 0 {
		wopts = append(wopts, workflow.ListStatus(c.statuses...))
	}
	if c.sender != "" {
		wopts = append(wopts, workflow.ListInput("sender_did", c.sender))
	}
	if c.before != "" {
		wopts = append(wopts, workflow.ListBefore(c.before))
	}
	return m.engine.List(ctx, wopts...)
}

// RunDetail is a workflow run in detail — each step with its input, output, error and timings —
// and, for a verified payment, the payment.
type RunDetail struct {
	*workflow.RunDetail
	Payment *PaymentInfo // nil for a run of another workflow
}

// InspectRun returns workflow run id in detail (an error wrapping workflow.ErrNotFound if there
// is none).
func (m *Manager) InspectRun(ctx context.Context, id string) (*RunDetail, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	d, err := m.engine.Inspect(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &RunDetail{RunDetail: d}
	if d.Workflow == workflow.VerifiedPaymentName {
		if out.Payment, err = m.paymentInfo(ctx, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Breakers returns the state of each per-protocol circuit breaker of the workflow steps, by
// name. A breaker appears once a step of its protocol has run.
func (m *Manager) Breakers() []resilience.BreakerSnapshot { return m.breakerSnapshots() }

// ResetBreaker closes the named circuit breaker, with an empty window, whatever its state. An
// unknown name is an *OpError.
func (m *Manager) ResetBreaker(name string) error {
	if err := m.enter(); err != nil {
		return err
	}
	defer m.mu.RUnlock()
	for n, b := range m.breakers.All() {
		if n == name {
			b.Reset()
			return nil
		}
	}
	return &OpError{Op: "ResetBreaker", Field: "name", Reason: fmt.Sprintf("no circuit breaker %q", clipText(name))}
}

// ModelInfo is a model version the Manager knows: one of the SDK's shipped models, or one its
// engines serve.
type ModelInfo struct {
	Manifest ml.Manifest
	// Serving names the engine that serves this version now ("fraud" or "reputation"); "" for
	// a version no engine serves.
	Serving string
	Backend string          // the serving engine's backend
	Card    *modelcard.Card // the model card with its test metrics and curves; nil when the version has none
}

// Models lists the shipped models' versions (package models), with their cards, and the
// versions the Manager's engines serve, by name then version.
func (m *Manager) Models(ctx context.Context) ([]ModelInfo, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	reg := models.Registry()
	names, err := reg.Names()
	if err != nil {
		return nil, err
	}
	var out []ModelInfo
	for _, name := range names {
		versions, err := reg.Versions(name)
		if err != nil {
			return nil, err
		}
		for _, v := range versions {
			man, err := reg.Manifest(name, v)
			if err != nil {
				return nil, err
			}
			info := ModelInfo{Manifest: man}
			raw, err := fs.ReadFile(models.FS(), path.Join(name, v, modelcard.CardFile))
			if err == nil {
				var card modelcard.Card
				if err := json.Unmarshal(raw, &card); err != nil {
					return nil, fmt.Errorf("anya: the card of %s: %w", man.ID(), err)
				}
				info.Card = &card
			}
			out = append(out, info)
		}
	}
	for _, e := range []struct {
		role string
		s    scorer
	}{{"fraud", m.fraud}, {"reputation", m.reputation}} {
		es, ok := e.s.(*engineScorer)
		if !ok || es.e.Model() == nil {
			continue
		}
		man := es.e.Model().Manifest()
		i := slices.IndexFunc(out, func(mi ModelInfo) bool { return mi.Manifest.ID() == man.ID() && mi.Manifest.SHA256 == man.SHA256 })
		if i < 0 {
			out = append(out, ModelInfo{Manifest: man})
			i = len(out) - 1
		}
		out[i].Serving, out[i].Backend = e.role, es.e.Backend()
	}
	slices.SortStableFunc(out, func(a, b ModelInfo) int {
		if c := strings.Compare(a.Manifest.Name, b.Manifest.Name); c != 0 {
			return c
		}
		return ml.CompareVersions(a.Manifest.Version, b.Manifest.Version)
	})
	return out, nil
}
