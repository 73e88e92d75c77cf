package anya

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/resilience"
	"github.com/anya-org/anya-go/security"
)

// Defaults of Health.
const (
	// DefaultAuditVerifyLimit is how many audit entries Health verifies at most. Verifying
	// walks the whole hash chain (about 4 µs an entry on one core, so 0.4 s at the limit); a
	// longer log is reported as AuditUnchecked, to be verified off the request path (the
	// CLI's audit verify, or AuditLog.Verify with the newest signed checkpoint).
	DefaultAuditVerifyLimit = 100_000
	// DefaultMaxNotifierLag is the notifier lag, in blocks, above which Health reports a
	// problem.
	DefaultMaxNotifierLag = 3
	// MaxHealthUnfinished bounds the unfinished run IDs Health lists (it counts them all).
	MaxHealthUnfinished = 100
	// MaxHealthAuditProblems bounds the audit findings Health lists.
	MaxHealthAuditProblems = 20
)

// HealthOption configures one Health call. An option whose value does not hold refuses the
// call with an *OptionError.
type HealthOption func(*healthConfig)

type healthConfig struct {
	auditLimit int
	maxLag     int
	bad        *OptionError
}

func (c *healthConfig) invalid(option, reason string) {
	if c.bad == nil {
		c.bad = &OptionError{Option: option, Reason: reason}
	}
}

// WithAuditVerifyLimit makes Health verify the audit chain only while it holds at most n
// entries (n ≥ 0); 0 never verifies it (the head is still read). Defaults to
// DefaultAuditVerifyLimit.
func WithAuditVerifyLimit(n int) HealthOption {
	return func(c *healthConfig) {
		if n < 0 {
			c.invalid("WithAuditVerifyLimit", fmt.Sprintf("%d is negative", n))
		}
		c.auditLimit = n
	}
}

// WithMaxNotifierLag sets the notifier lag, in blocks (≥ 0), above which Health reports a
// problem. Defaults to DefaultMaxNotifierLag.
func WithMaxNotifierLag(blocks int) HealthOption {
	return func(c *healthConfig) {
		if blocks < 0 {
			c.invalid("WithMaxNotifierLag", fmt.Sprintf("%d is negative", blocks))
		}
		c.maxLag = blocks
	}
}

// Health is a snapshot of how a Manager is doing: what an operator's dashboard or a readiness
// probe looks at. OK is true when Problems is empty.
type Health struct {
	Time     time.Time
	OK       bool
	Problems []string // what is wrong, for people: an unreachable chain, a lagging notifier, an open breaker, a tampered audit log
	Chain    ChainHealth
	Engines  []EngineHealth               // the fraud and reputation engines
	Breakers []resilience.BreakerSnapshot // the per-protocol circuit breakers, by name (created at their first call)
	// Unfinished counts the workflow runs not finished — in progress, or interrupted and
	// waiting for Resume; UnfinishedRuns lists the oldest MaxHealthUnfinished.
	Unfinished     int
	UnfinishedRuns []string
	Audit          AuditHealth
	// Monitor is the fraud monitor (WithFraudMonitor); nil when the Manager runs none.
	Monitor *MonitorHealth
	// Bridges is the bridges' block pipeline (UTXO records, triggers, block analysis).
	Bridges BridgesHealth
}

// BridgesHealth is the bridges' block pipeline as the Manager sees it.
type BridgesHealth struct {
	// Applying reports whether this host applies the blocks to the bridges: always without
	// WithJetStream; with it, only the host holding the bridges' lease does (the others follow
	// its checkpoint), so each block is applied once.
	Applying bool
	// At is the last block the bridges applied (on any host), as this host last learnt it.
	At bitcoin.BlockStamp
}

// ChainHealth is the chain as the Manager sees it.
type ChainHealth struct {
	Network   string
	Reachable bool   // the chain answered for its best block
	Error     string // why it did not
	Tip       bitcoin.BlockStamp
	// Notified is the last block the notifier processed; Lag is Tip's height minus its own (0
	// when the chain did not answer).
	Notified bitcoin.BlockStamp
	Lag      int32
	// Checkpoint is the last block the Manager's block triggers processed (payments
	// confirmed, caches invalidated): where a restarted Manager resumes. Zero before the first.
	Checkpoint bitcoin.BlockStamp
}

// EngineHealth is one of the Manager's ML engines.
type EngineHealth struct {
	Role       string // "fraud" or "reputation"
	Model      string // the active model, name@version
	Backend    string // "ort" or "go"
	QueueDepth int    // requests waiting for a worker now
	InFlight   int    // calls in progress now
	Stats      ml.Stats
}

// AuditStatus says what Health found of the audit chain.
type AuditStatus string

// Audit statuses.
const (
	AuditIntact      AuditStatus = "intact"      // verified: every entry matches its hash and is chained to the one before
	AuditTampered    AuditStatus = "tampered"    // verified: entries were modified, deleted, reordered or inserted (Problems)
	AuditUnchecked   AuditStatus = "unchecked"   // longer than the verify limit (WithAuditVerifyLimit): not verified
	AuditUnavailable AuditStatus = "unavailable" // the log could not be read (Error)
)

// AuditHealth is the audit log's head and whether its chain verifies.
type AuditHealth struct {
	Status   AuditStatus
	Head     security.Head // the newest entry
	Entries  int           // the entries verified (0 when unchecked)
	Problems []string      // the first MaxHealthAuditProblems findings, when tampered
	Omitted  int           // findings beyond them
	Error    string        // why the log could not be read
	Took     time.Duration // how long the verification took
}

// Health reports the Manager's health: whether the chain answers and its tip, the notifier's lag
// behind it, the ML engines' queues, the circuit breakers' states, the unfinished workflow runs,
// and the audit log's head and whether its hash chain verifies (up to WithAuditVerifyLimit
// entries). A component that fails is reported in Problems, not as an error: the error is
// ErrClosed after Close, ctx's when it ends, or an *OptionError.
func (m *Manager) Health(ctx context.Context, opts ...HealthOption) (*Health, error) {
	cfg := healthConfig{auditLimit: DefaultAuditVerifyLimit, maxLag: DefaultMaxNotifierLag}
	for _, o := range opts {
		if o == nil {
			cfg.invalid("HealthOption", "nil option")
			continue
		}
		o(&cfg)
	}
	if cfg.bad != nil {
		return nil, cfg.bad
	}
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	h := &Health{Time: m.now()}
	problem := func(format string, args ...any) { h.Problems = append(h.Problems, fmt.Sprintf(format, args...)) }

	// The chain and the notifier.
	h.Chain.Network = m.net.String()
	h.Chain.Notified = m.notifier.Tip()
	tip, err := m.chain.BestBlock(ctx)
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		h.Chain.Error = err.Error()
		problem("chain unreachable: %v", err)
	default:
		h.Chain.Reachable, h.Chain.Tip = true, tip
		h.Chain.Lag = tip.Height - h.Chain.Notified.Height
		if int(h.Chain.Lag) > cfg.maxLag {
			problem("the notifier is %d blocks behind the chain's tip %d", h.Chain.Lag, tip.Height)
		}
	}
	if h.Chain.Checkpoint, err = m.state.checkpoint(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		problem("block checkpoint unreadable: %v", err)
	}

	// The ML engines.
	for _, e := range []struct {
		role string
		s    scorer
	}{{"fraud", m.fraud}, {"reputation", m.reputation}} {
		es, ok := e.s.(*engineScorer)
		if !ok {
			continue
		}
		eh := EngineHealth{Role: e.role, Backend: es.e.Backend(), QueueDepth: es.e.QueueDepth(), InFlight: es.e.InFlight(), Stats: es.e.Stats()}
		if md := es.e.Model(); md != nil {
			eh.Model = md.ID()
		}
		h.Engines = append(h.Engines, eh)
	}

	// The circuit breakers.
	h.Breakers = m.breakerSnapshots()
	for _, b := range h.Breakers {
		if b.State == resilience.StateOpen || b.State == resilience.StateForcedOpen {
			problem("the %s circuit breaker is %s", b.Name, b.State)
		}
	}

	// Unfinished runs.
	ids, err := m.store.Unfinished(ctx)
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		problem("workflow runs unreadable: %v", err)
	default:
		h.Unfinished = len(ids)
		h.UnfinishedRuns = ids[:min(len(ids), MaxHealthUnfinished)]
	}

	// The audit chain.
	if h.Audit, err = m.auditHealth(ctx, cfg.auditLimit); err != nil {
		return nil, err
	}
	switch h.Audit.Status {
	case AuditTampered:
		problem("the audit log's hash chain does not verify: %d findings", len(h.Audit.Problems)+h.Audit.Omitted)
	case AuditUnavailable:
		problem("the audit log is unreadable: %s", h.Audit.Error)
	}
	// The bridges.
	if m.br.cp != nil {
		m.br.atMu.Lock()
		h.Bridges = BridgesHealth{Applying: m.br.leading.Load(), At: m.br.at}
		m.br.atMu.Unlock()
	}
	// The fraud monitor.
	if h.Monitor = m.monitorHealth(); h.Monitor != nil && h.Monitor.Running && int(h.Monitor.Lag) > cfg.maxLag {
		problem("the fraud monitor is %d blocks behind the notifier", h.Monitor.Lag)
	}
	h.OK = len(h.Problems) == 0
	return h, nil
}

// breakerSnapshots returns the states of the Manager's circuit breakers, by name.
func (m *Manager) breakerSnapshots() []resilience.BreakerSnapshot {
	out := []resilience.BreakerSnapshot{}
	for _, b := range m.breakers.All() {
		out = append(out, b.Snapshot())
	}
	slices.SortFunc(out, func(a, b resilience.BreakerSnapshot) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// auditHealth reads the audit log's head and verifies its chain when it holds at most limit
// entries. Only ctx's end is an error.
func (m *Manager) auditHealth(ctx context.Context, limit int) (AuditHealth, error) {
	var a AuditHealth
	head, err := m.audit.Head(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return a, ctx.Err()
		}
		a.Status, a.Error = AuditUnavailable, err.Error()
		return a, nil
	}
	a.Head = head
	if head.Seq > uint64(limit) {
		a.Status = AuditUnchecked
		return a, nil
	}
	start := time.Now()
	rep, err := m.audit.Verify(ctx)
	a.Took = time.Since(start)
	switch {
	case ctx.Err() != nil:
		return a, ctx.Err()
	case rep == nil:
		a.Status, a.Error = AuditUnavailable, err.Error()
		return a, nil
	}
	a.Head, a.Entries, a.Omitted = rep.Head, rep.Entries, rep.Omitted
	if err == nil && rep.Omitted == 0 && len(rep.Problems) == 0 {
		a.Status = AuditIntact
		return a, nil
	}
	a.Status = AuditTampered
	for i, p := range rep.Problems {
		if i == MaxHealthAuditProblems {
			a.Omitted += len(rep.Problems) - i
			break
		}
		a.Problems = append(a.Problems, p.Error())
	}
	if err != nil && !errors.Is(err, security.ErrTampered) {
		a.Problems = append(a.Problems, err.Error())
	}
	return a, nil
}
