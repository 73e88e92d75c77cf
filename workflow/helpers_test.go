package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/anya-org/anya-go/workflow"
)

// payments is a set of verified-payment operations whose behaviour tests adjust. It counts
// calls per operation and keeps a "ledger" of sends keyed by txid.
type payments struct {
	verified  atomic.Bool
	risk      atomic.Value // float64
	sendErr   func(call *workflow.Call) error
	recordErr func(call *workflow.Call) error

	mu     sync.Mutex
	calls  map[string]int
	keys   map[string][]string // idempotency keys seen per operation
	ledger map[string]string   // txid -> payment id
}

func newPayments() *payments {
	p := &payments{calls: map[string]int{}, keys: map[string][]string{}, ledger: map[string]string{}}
	p.verified.Store(true)
	p.risk.Store(0.2)
	return p
}

func (p *payments) note(c *workflow.Call) {
	p.mu.Lock()
	p.calls[c.Operation]++
	p.keys[c.Operation] = append(p.keys[c.Operation], c.IdempotencyKey)
	p.mu.Unlock()
}

func (p *payments) count(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[op]
}

func (p *payments) registry(t testing.TB) *workflow.Registry {
	t.Helper()
	ops := workflow.VerifiedPaymentOperations()
	for i := range ops {
		switch ops[i].Name {
		case workflow.OpVerifyIdentity:
			ops[i].Func = func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				p.note(c)
				score := 0.1
				if p.verified.Load() {
					score = 0.95
				}
				return map[string]any{"sender_verified": p.verified.Load(), "verification_score": score}, nil
			}
		case workflow.OpAssessRisk:
			ops[i].Func = func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				p.note(c)
				return map[string]any{"risk_score": p.risk.Load().(float64)}, nil
			}
		case workflow.OpSendPayment:
			ops[i].Func = func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				p.note(c)
				if p.sendErr != nil {
					if err := p.sendErr(c); err != nil {
						return nil, err
					}
				}
				// Exactly once: the txid is derived from the intent recorded before "broadcast".
				var intent struct{ Txid string }
				found, err := c.LoadIntent(ctx, &intent)
				if err != nil {
					return nil, err
				}
				if !found {
					intent.Txid = fmt.Sprintf("tx-%s-%d", c.Input["payment_id"], c.Attempt)
					if err := c.SaveIntent(ctx, intent); err != nil {
						return nil, err
					}
				}
				p.mu.Lock()
				p.ledger[intent.Txid] = c.Input["payment_id"].(string)
				p.mu.Unlock()
				return map[string]any{"txid": intent.Txid}, nil
			}
		case workflow.OpRecordPayment:
			ops[i].Func = func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				p.note(c)
				if p.recordErr != nil {
					if err := p.recordErr(c); err != nil {
						return nil, err
					}
				}
				return map[string]any{"record_id": "rec-" + c.IdempotencyKey}, nil
			}
		}
	}
	reg, err := workflow.NewRegistry(ops...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func paymentInput(id string) map[string]any {
	return map[string]any{
		"payment_id": id, "sender_did": "did:key:z6MkSender", "sender_address": "bcrt1qsender",
		"recipient_address": "bcrt1qrecipient", "amount_sat": 50_000,
	}
}

func newEngine(t testing.TB, store workflow.Store, reg *workflow.Registry, defs []*workflow.Definition, opts ...workflow.Option) *workflow.Engine {
	t.Helper()
	e, err := workflow.New(store, reg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if err := e.Register(d); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func statuses(res *workflow.Result) map[string]workflow.StepStatus {
	m := map[string]workflow.StepStatus{}
	for _, s := range res.Steps {
		m[s.ID] = s.Status
	}
	return m
}

// failingStore wraps a Store and fails every Create/Commit after the first n, as if the process
// died there: nothing after the nth write reaches the store.
type failingStore struct {
	workflow.Store
	mu   sync.Mutex
	left int
	dead bool
}

var errDied = errors.New("process died")

func (s *failingStore) write() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.left == 0 {
		s.dead = true
		return errDied
	}
	s.left--
	return nil
}

func (s *failingStore) Create(ctx context.Context, r *workflow.RunRecord, def []byte) error {
	if err := s.write(); err != nil {
		return err
	}
	return s.Store.Create(ctx, r, def)
}

func (s *failingStore) Commit(ctx context.Context, t *workflow.Transition) error {
	if err := s.write(); err != nil {
		return err
	}
	return s.Store.Commit(ctx, t)
}

func (s *failingStore) PutIntent(ctx context.Context, k string, d []byte) error {
	if s.dead {
		return errDied
	}
	return s.Store.PutIntent(ctx, k, d)
}

func (s *failingStore) CreateIntent(ctx context.Context, k string, d []byte) error {
	if s.dead {
		return errDied
	}
	return s.Store.CreateIntent(ctx, k, d)
}
