package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/bus/bustest"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/workflow"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	goleak.VerifyTestMain(m)
}

func TestVerifiedPaymentCompletes(t *testing.T) {
	ctx := context.Background()
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rec := bustest.Record[workflow.Event](t, b, "workflow.>")
	p := newPayments()
	e := newEngine(t, workflow.NewMemoryStore(), p.registry(t), []*workflow.Definition{workflow.VerifiedPayment()}, workflow.WithBus(b))
	res, err := e.Run(ctx, workflow.VerifiedPaymentName, "pay-1", paymentInput("pay-1"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != workflow.StatusCompleted {
		t.Fatalf("status %s: %s", res.Status, res.Error)
	}
	want := map[string]any{"sender_verified": true, "risk_score": 0.2, "txid": "tx-pay-1-1", "record_id": "rec-pay-1/record_payment"}
	for k, v := range want {
		if res.Output[k] != v {
			t.Errorf("output %s = %#v, want %#v", k, res.Output[k], v)
		}
	}
	if got := p.keys[workflow.OpSendPayment]; !slices.Equal(got, []string{"pay-1/send_payment"}) {
		t.Errorf("send idempotency keys = %v", got)
	}
	// 1 run started + 4 × (step started, step completed) + run completed
	envs := rec.WaitFor(t, 10)
	var topics []string
	for _, e := range envs {
		topics = append(topics, e.Topic+":"+e.Payload.Step)
		if e.Key != "pay-1" || e.Source != workflow.EventSource || e.Payload.RunID != "pay-1" {
			t.Errorf("event %s: key %q source %q run %q", e.Topic, e.Key, e.Source, e.Payload.RunID)
		}
	}
	wantTopics := []string{
		"workflow.run.started:",
		"workflow.step.started:verify_sender", "workflow.step.completed:verify_sender",
		"workflow.step.started:fraud_assessment", "workflow.step.completed:fraud_assessment",
		"workflow.step.started:send_payment", "workflow.step.completed:send_payment",
		"workflow.step.started:record_payment", "workflow.step.completed:record_payment",
		"workflow.run.completed:",
	}
	if !slices.Equal(topics, wantTopics) {
		t.Errorf("events:\n got %v\nwant %v", topics, wantTopics)
	}
	got, err := e.Get(ctx, "pay-1")
	if err != nil || got.Status != workflow.StatusCompleted || got.Output["txid"] != "tx-pay-1-1" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}

func TestHighRiskSkipsPayment(t *testing.T) {
	ctx := context.Background()
	b, _ := bus.New()
	defer b.Close()
	rec := bustest.Record[workflow.Event](t, b, workflow.TopicStepSkipped)
	p := newPayments()
	p.risk.Store(0.7) // the bar is "< 0.7"
	e := newEngine(t, workflow.NewMemoryStore(), p.registry(t), []*workflow.Definition{workflow.VerifiedPayment()}, workflow.WithBus(b))
	res, err := e.Run(ctx, workflow.VerifiedPaymentName, "pay-2", paymentInput("pay-2"))
	if err != nil {
		t.Fatal(err)
	}
	st := statuses(res)
	if res.Status != workflow.StatusCompleted || st["send_payment"] != workflow.StepSkipped || st["record_payment"] != workflow.StepSkipped {
		t.Fatalf("status %s, steps %v", res.Status, st)
	}
	if p.count(workflow.OpSendPayment) != 0 || len(p.ledger) != 0 {
		t.Fatal("a risky payment was sent")
	}
	if res.Output["txid"] != nil || res.Output["risk_score"] != 0.7 {
		t.Fatalf("output %v", res.Output)
	}
	envs := rec.WaitFor(t, 2)
	if envs[0].Payload.Step != "send_payment" || envs[1].Payload.Step != "record_payment" {
		t.Fatalf("skipped events %v", envs)
	}
}

func TestUnverifiedSenderTerminates(t *testing.T) {
	p := newPayments()
	p.verified.Store(false)
	e := newEngine(t, workflow.NewMemoryStore(), p.registry(t), []*workflow.Definition{workflow.VerifiedPayment()})
	res, err := e.Run(context.Background(), workflow.VerifiedPaymentName, "pay-3", paymentInput("pay-3"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != workflow.StatusTerminated || len(res.Steps) != 1 {
		t.Fatalf("status %s, steps %v", res.Status, statuses(res))
	}
	if p.count(workflow.OpAssessRisk) != 0 || p.count(workflow.OpSendPayment) != 0 {
		t.Fatal("steps ran after termination")
	}
	if res.Output["sender_verified"] != false || res.Output["risk_score"] != nil {
		t.Fatalf("output %v", res.Output)
	}
}

func TestRunIsIdempotent(t *testing.T) {
	ctx := context.Background()
	p := newPayments()
	e := newEngine(t, workflow.NewMemoryStore(), p.registry(t), []*workflow.Definition{workflow.VerifiedPayment()})
	first, err := e.Run(ctx, workflow.VerifiedPaymentName, "pay-4", paymentInput("pay-4"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.Run(ctx, workflow.VerifiedPaymentName, "pay-4", paymentInput("pay-4"))
	if err != nil {
		t.Fatal(err)
	}
	if again.Output["txid"] != first.Output["txid"] || p.count(workflow.OpSendPayment) != 1 {
		t.Fatalf("second Run sent again: %d sends", p.count(workflow.OpSendPayment))
	}
	other := paymentInput("pay-4")
	other["amount_sat"] = 1
	if _, err := e.Run(ctx, workflow.VerifiedPaymentName, "pay-4", other); !errors.Is(err, workflow.ErrRunMismatch) {
		t.Fatalf("reused id with other input: %v, want ErrRunMismatch", err)
	}
	for _, id := range []string{"", "a b", "x/y", strings.Repeat("a", 129)} {
		if _, err := e.Run(ctx, workflow.VerifiedPaymentName, id, paymentInput(id)); !errors.Is(err, workflow.ErrInvalidRunID) {
			t.Errorf("run id %q: %v, want ErrInvalidRunID", id, err)
		}
	}
	if _, err := e.Run(ctx, "nope", "x", nil); !errors.Is(err, workflow.ErrUnknownWorkflow) {
		t.Errorf("unknown workflow: %v", err)
	}
}

func TestInputValidation(t *testing.T) {
	ctx := context.Background()
	store := workflow.NewMemoryStore()
	e := newEngine(t, store, newPayments().registry(t), []*workflow.Definition{workflow.VerifiedPayment()})
	cases := map[string]func(map[string]any){
		"amount_sat": func(m map[string]any) { delete(m, "amount_sat") },
		"extra":      func(m map[string]any) { m["extra"] = 1 },
		"sender_did": func(m map[string]any) { m["sender_did"] = 7 },
	}
	for field, mutate := range cases {
		in := paymentInput("bad")
		mutate(in)
		_, err := e.Run(ctx, workflow.VerifiedPaymentName, "bad", in)
		var ie *workflow.InputError
		if !errors.As(err, &ie) || ie.Field != field || !errors.Is(err, workflow.ErrInvalidInput) {
			t.Errorf("%s: err = %v, want *InputError for %s", field, err, field)
		}
	}
	in := paymentInput("bad")
	in["amount_sat"] = 1.5
	if _, err := e.Run(ctx, workflow.VerifiedPaymentName, "bad", in); !errors.Is(err, workflow.ErrInvalidInput) {
		t.Errorf("fractional amount_sat: %v", err)
	}
	if _, err := store.Load(ctx, "bad"); !errors.Is(err, workflow.ErrNotFound) {
		t.Fatal("a run with bad input was stored")
	}
}

// A definition with three compensable steps and a configurable failure.
func sagaDef() *workflow.Definition {
	return &workflow.Definition{
		Name: "saga",
		Steps: []workflow.Step{
			{ID: "reserve", Operation: "test.do", Input: map[string]any{"what": "reserve"},
				Compensate: &workflow.Compensation{Operation: "test.undo", Input: map[string]any{"what": "reserve", "ref": "{{steps.reserve.ref}}"}}},
			{ID: "charge", Operation: "test.do", Input: map[string]any{"what": "charge"},
				Compensate: &workflow.Compensation{Operation: "test.undo", Input: map[string]any{"what": "charge", "ref": "{{steps.charge.ref}}"}}},
			{ID: "audit", Operation: "test.do", Input: map[string]any{"what": "audit"}},
			{ID: "ship", Operation: "test.do", Input: map[string]any{"what": "ship"}, Retry: &workflow.Retry{MaxAttempts: 2, Backoff: workflow.Duration(time.Millisecond)}},
		},
	}
}

type sagaOps struct {
	mu      sync.Mutex
	log     []string
	fail    map[string]error // what -> error from test.do
	undoErr map[string]error
}

func (s *sagaOps) registry(t testing.TB) *workflow.Registry {
	reg, err := workflow.NewRegistry(
		workflow.Operation{Name: "test.do", Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
			what := c.Input["what"].(string)
			s.mu.Lock()
			s.log = append(s.log, fmt.Sprintf("do %s #%d", what, c.Attempt))
			err := s.fail[what]
			s.mu.Unlock()
			if err != nil {
				return nil, err
			}
			return map[string]any{"ref": what + "-ref"}, nil
		}},
		workflow.Operation{Name: "test.undo", Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.log = append(s.log, fmt.Sprintf("undo %s %s %s", c.Input["what"], c.Input["ref"], c.IdempotencyKey))
			if !c.Compensating {
				return nil, errors.New("not marked compensating")
			}
			return nil, s.undoErr[c.Input["what"].(string)]
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestCompensationRunsInReverse(t *testing.T) {
	b, _ := bus.New()
	defer b.Close()
	rec := bustest.Record[workflow.Event](t, b, "workflow.>")
	ops := &sagaOps{fail: map[string]error{"ship": errors.New("no courier")}}
	e := newEngine(t, workflow.NewMemoryStore(), ops.registry(t), []*workflow.Definition{sagaDef()}, workflow.WithBus(b))
	res, err := e.Run(context.Background(), "saga", "o1", nil)
	var re *workflow.RunError
	if !errors.As(err, &re) || !errors.Is(err, workflow.ErrRunFailed) || res == nil || res.Status != workflow.StatusFailed {
		t.Fatalf("err = %v, res = %+v", err, res)
	}
	want := []string{
		"do reserve #1", "do charge #1", "do audit #1", "do ship #1", "do ship #2",
		"undo charge charge-ref o1/charge/compensate",
		"undo reserve reserve-ref o1/reserve/compensate",
	}
	if !slices.Equal(ops.log, want) {
		t.Fatalf("log:\n got %q\nwant %q", ops.log, want)
	}
	st := statuses(res)
	if st["reserve"] != workflow.StepCompensated || st["charge"] != workflow.StepCompensated || st["audit"] != workflow.StepCompleted || st["ship"] != workflow.StepFailed {
		t.Fatalf("steps %v", st)
	}
	if !strings.Contains(res.Error, "no courier") || !strings.Contains(res.Error, "ship") {
		t.Fatalf("error %q", res.Error)
	}
	var topics []string
	for _, e := range rec.WaitFor(t, 14) {
		if strings.Contains(e.Topic, "compensat") || strings.Contains(e.Topic, "failed") {
			topics = append(topics, e.Topic+":"+e.Payload.Step)
		}
	}
	wantTopics := []string{"workflow.step.failed:ship", "workflow.run.compensating:", "workflow.step.compensated:charge", "workflow.step.compensated:reserve", "workflow.run.failed:"}
	if !slices.Equal(topics, wantTopics) {
		t.Fatalf("events %v, want %v", topics, wantTopics)
	}
}

func TestCompensationFailureIsRecorded(t *testing.T) {
	ops := &sagaOps{fail: map[string]error{"audit": workflow.Permanent(errors.New("audit down"))}, undoErr: map[string]error{"charge": workflow.Permanent(errors.New("refund refused"))}}
	e := newEngine(t, workflow.NewMemoryStore(), ops.registry(t), []*workflow.Definition{sagaDef()})
	res, err := e.Run(context.Background(), "saga", "o2", nil)
	if !errors.Is(err, workflow.ErrRunFailed) {
		t.Fatal(err)
	}
	st := statuses(res)
	if st["charge"] != workflow.StepCompensationFailed || st["reserve"] != workflow.StepCompensated || st["audit"] != workflow.StepFailed {
		t.Fatalf("steps %v", st)
	}
	if !strings.Contains(res.Error, "refund refused") || !strings.Contains(res.Error, "audit down") {
		t.Fatalf("error %q", res.Error)
	}
	if n := strings.Count(strings.Join(ops.log, ","), "do audit"); n != 1 {
		t.Fatalf("a Permanent error was retried: %q", ops.log)
	}
}

func TestRetryBackoffAndTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		var starts []time.Time
		var mu sync.Mutex
		reg, _ := workflow.NewRegistry(
			workflow.Operation{Name: "test.flaky", Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				mu.Lock()
				starts = append(starts, time.Now())
				mu.Unlock()
				if calls.Add(1) < 3 {
					return nil, errors.New("transient")
				}
				return map[string]any{"ok": true}, nil
			}},
			workflow.Operation{Name: "test.hang", Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}},
		)
		def := &workflow.Definition{Name: "r", Steps: []workflow.Step{
			{ID: "flaky", Operation: "test.flaky", Retry: &workflow.Retry{MaxAttempts: 5, Backoff: workflow.Duration(time.Second), Multiplier: 3}},
			{ID: "hang", Operation: "test.hang", Timeout: workflow.Duration(2 * time.Second), Retry: &workflow.Retry{MaxAttempts: 2, Backoff: workflow.Duration(time.Second)}},
		}}
		e := newEngine(t, workflow.NewMemoryStore(), reg, []*workflow.Definition{def})
		t0 := time.Now()
		res, err := e.Run(context.Background(), "r", "r1", nil)
		if !errors.Is(err, workflow.ErrRunFailed) {
			t.Fatal(err)
		}
		if got := []time.Duration{starts[1].Sub(starts[0]), starts[2].Sub(starts[1])}; got[0] != time.Second || got[1] != 3*time.Second {
			t.Fatalf("backoff waits %v, want [1s 3s]", got)
		}
		hang := res.Step("hang")
		if hang.Status != workflow.StepFailed || hang.Attempt != 2 || !strings.Contains(hang.Error, "timed out after 2s") {
			t.Fatalf("hang step %+v", hang)
		}
		// 1s + 3s backoff, then 2s timeout + 1s backoff + 2s timeout
		if d := time.Since(t0); d != 9*time.Second {
			t.Fatalf("run took %v of fake time, want 9s", d)
		}
		if f := res.Step("flaky"); f.Attempt != 3 || f.Status != workflow.StepCompleted {
			t.Fatalf("flaky step %+v", f)
		}
	})
}

func TestCancelLeavesRunResumable(t *testing.T) {
	started := make(chan struct{})
	var attempts []int
	var keys []string
	reg, _ := workflow.NewRegistry(workflow.Operation{Name: "test.wait", Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
		attempts = append(attempts, c.Attempt)
		keys = append(keys, c.IdempotencyKey)
		if c.Attempt == 1 {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return map[string]any{"done": true}, nil
	}})
	def := &workflow.Definition{Name: "w", Steps: []workflow.Step{{ID: "only", Operation: "test.wait"}}}
	store := workflow.NewMemoryStore()
	e := newEngine(t, store, reg, []*workflow.Definition{def})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	if _, err := e.Run(ctx, "w", "c1", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Run = %v", err)
	}
	got, _ := e.Get(context.Background(), "c1")
	if got.Status != workflow.StatusRunning || got.Step("only").Status != workflow.StepRunning {
		t.Fatalf("after cancel: %+v", got)
	}
	results, err := e.Resume(context.Background())
	if err != nil || len(results) != 1 || results[0].Status != workflow.StatusCompleted {
		t.Fatalf("Resume = %v, %v", results, err)
	}
	if !slices.Equal(attempts, []int{1, 2}) || keys[0] != keys[1] || keys[0] != "c1/only" {
		t.Fatalf("attempts %v keys %v", attempts, keys)
	}
}

func TestResumeAfterStoreDeath(t *testing.T) {
	// The store "dies" after each number of writes in turn; a fresh engine then resumes the run
	// from what was stored. However the run was cut, the payment is sent exactly once.
	for writes := 0; writes <= 6; writes++ {
		t.Run(fmt.Sprint(writes), func(t *testing.T) {
			ctx := context.Background()
			base := workflow.NewMemoryStore()
			p := newPayments()
			e1 := newEngine(t, &failingStore{Store: base, left: writes}, p.registry(t), []*workflow.Definition{workflow.VerifiedPayment()})
			res, err := e1.Run(ctx, workflow.VerifiedPaymentName, "pay", paymentInput("pay"))
			if writes < 5 {
				if !errors.Is(err, errDied) {
					t.Fatalf("Run with a dying store = %v, %v", res, err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			e2 := newEngine(t, base, p.registry(t), []*workflow.Definition{workflow.VerifiedPayment()})
			results, err := e2.Resume(ctx)
			if err != nil {
				t.Fatal(err)
			}
			final, err := e2.Get(ctx, "pay")
			if writes == 0 {
				if !errors.Is(err, workflow.ErrNotFound) || len(results) != 0 {
					t.Fatalf("nothing was stored, yet %v %v", final, err)
				}
				return
			}
			if err != nil || final.Status != workflow.StatusCompleted {
				t.Fatalf("after resume: %+v %v", final, err)
			}
			if len(p.ledger) != 1 {
				t.Fatalf("ledger %v: want exactly one payment", p.ledger)
			}
			if final.Output["txid"] != "tx-pay-1" {
				t.Fatalf("txid %v: a new transaction was built instead of reusing the intent", final.Output["txid"])
			}
		})
	}
}

func TestResumeUsesTheRunsOwnDefinition(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := workflow.OpenSQLiteStore(ctx, filepath.Join(dir, "wf.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var seen []string
	reg, _ := workflow.NewRegistry(workflow.Operation{Name: "test.echo", Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
		seen = append(seen, c.Input["v"].(string))
		return map[string]any{}, nil
	}})
	v1 := &workflow.Definition{Name: "d", Version: "1", Steps: []workflow.Step{
		{ID: "a", Operation: "test.echo", Input: map[string]any{"v": "v1-a"}},
		{ID: "b", Operation: "test.echo", Input: map[string]any{"v": "v1-b"}},
	}}
	fs := &failingStore{Store: store, left: 2} // create (with a running) + a completed/b running
	e1 := newEngine(t, fs, reg, []*workflow.Definition{v1})
	if _, err := e1.Run(ctx, "d", "x", nil); !errors.Is(err, errDied) {
		t.Fatal(err)
	}
	v2 := &workflow.Definition{Name: "d", Version: "2", Steps: []workflow.Step{
		{ID: "a", Operation: "test.echo", Input: map[string]any{"v": "v2-a"}},
		{ID: "b", Operation: "test.echo", Input: map[string]any{"v": "v2-b"}},
	}}
	e2 := newEngine(t, store, reg, []*workflow.Definition{v2}) // a restarted host that only knows v2
	if _, err := e2.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []string{"v1-a", "v1-b", "v1-b"}) {
		t.Fatalf("calls %v: the resumed run must finish with the definition it started with", seen)
	}
}

func TestOperationFaults(t *testing.T) {
	ctx := context.Background()
	reg, _ := workflow.NewRegistry(
		workflow.Operation{Name: "test.panic", Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) { panic("boom") }},
		workflow.Operation{Name: "test.badout", Outputs: map[string]workflow.Type{"n": workflow.TypeInteger},
			Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				return map[string]any{"n": "seven"}, nil
			}},
		workflow.Operation{Name: "test.nan", Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
			return map[string]any{"f": func() {}}, nil
		}},
		workflow.Operation{Name: "test.typedin", Inputs: map[string]workflow.Field{"n": {Type: workflow.TypeInteger, Required: true}},
			Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) { return nil, nil }},
	)
	for _, tc := range []struct {
		op, want string
		input    map[string]any
		sentinel error
	}{
		{"test.panic", "boom", nil, workflow.ErrOperationPanic},
		{"test.badout", `output "n"`, nil, workflow.ErrOutput},
		{"test.nan", "not representable", nil, workflow.ErrOutput},
		{"test.typedin", "invalid input n", map[string]any{"n": "x"}, workflow.ErrInvalidInput},
	} {
		def := &workflow.Definition{Name: tc.op, Steps: []workflow.Step{{ID: "s", Operation: tc.op, Input: tc.input}}}
		e := newEngine(t, workflow.NewMemoryStore(), reg, []*workflow.Definition{def})
		res, err := e.Run(ctx, tc.op, "r", nil)
		if !errors.Is(err, workflow.ErrRunFailed) || !strings.Contains(res.Error, tc.want) {
			t.Errorf("%s: err %v, result error %q", tc.op, err, res.Error)
			continue
		}
		if s := res.Step("s"); s.Attempt > 1 {
			t.Errorf("%s: %d attempts; a permanent fault must not be retried", tc.op, s.Attempt)
		}
	}
}

func TestConcurrentRuns(t *testing.T) {
	ctx := context.Background()
	store, err := workflow.OpenSQLiteStore(ctx, filepath.Join(t.TempDir(), "wf.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	p := newPayments()
	e := newEngine(t, store, p.registry(t), []*workflow.Definition{workflow.VerifiedPayment()})
	const n = 40
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("p%d", i)
			_, errs[i] = e.Run(ctx, workflow.VerifiedPaymentName, id, paymentInput(id))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(p.ledger) != n {
		t.Fatalf("%d payments, want %d", len(p.ledger), n)
	}
	// The same run twice at once: one executes, the other is told so.
	block := make(chan struct{})
	entered := make(chan struct{})
	reg, _ := workflow.NewRegistry(workflow.Operation{Name: "test.block", Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
		close(entered)
		<-block
		return nil, nil
	}})
	e2 := newEngine(t, workflow.NewMemoryStore(), reg, []*workflow.Definition{{Name: "b", Steps: []workflow.Step{{ID: "s", Operation: "test.block"}}}})
	done := make(chan error)
	go func() { _, err := e2.Run(ctx, "b", "same", nil); done <- err }()
	<-entered
	if _, err := e2.Run(ctx, "b", "same", nil); !errors.Is(err, workflow.ErrRunInProgress) {
		t.Fatalf("concurrent Run of one id = %v, want ErrRunInProgress", err)
	}
	close(block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSecurityContextIsRestoredOnResume(t *testing.T) {
	ctx := context.Background()
	var principals []string
	reg, _ := workflow.NewRegistry(workflow.Operation{Name: "test.who", Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
		sc, _ := security.FromContext(ctx)
		if sc == nil {
			principals = append(principals, "")
		} else {
			principals = append(principals, sc.Principal)
		}
		return nil, nil
	}})
	def := &workflow.Definition{Name: "w", Steps: []workflow.Step{{ID: "a", Operation: "test.who"}, {ID: "b", Operation: "test.who"}}}
	base := workflow.NewMemoryStore()
	e1 := newEngine(t, &failingStore{Store: base, left: 2}, reg, []*workflow.Definition{def})
	sctx := security.NewContext(ctx, &security.Context{Principal: "did:key:z6MkAlice", Scopes: []string{"payments:send"}})
	if _, err := e1.Run(sctx, "w", "r", nil); !errors.Is(err, errDied) {
		t.Fatal(err)
	}
	e2 := newEngine(t, base, reg, []*workflow.Definition{def})
	if _, err := e2.Resume(ctx); err != nil { // no security context on the resuming ctx
		t.Fatal(err)
	}
	if !slices.Equal(principals, []string{"did:key:z6MkAlice", "did:key:z6MkAlice", "did:key:z6MkAlice"}) {
		t.Fatalf("principals seen %q", principals)
	}
}

func TestOptionsAreValidated(t *testing.T) {
	reg := &workflow.Registry{}
	store := workflow.NewMemoryStore()
	for _, c := range []struct {
		option string
		o      workflow.Option
	}{
		{"WithBus", workflow.WithBus(nil)},
		{"WithLogger", workflow.WithLogger(nil)},
		{"WithClock", workflow.WithClock(nil)},
		{"WithPolicy", workflow.WithPolicy(nil)},
		{"WithGuard", workflow.WithGuard(nil)},
		{"WithLimits", workflow.WithLimits(workflow.Limits{MaxSteps: -1})},
		{"WithDefaultTimeout", workflow.WithDefaultTimeout(-1)},
		{"WithDefaultRetry", workflow.WithDefaultRetry(workflow.Retry{})},
		{"WithDefaultRetry", workflow.WithDefaultRetry(workflow.Retry{MaxAttempts: 2, Multiplier: 0.5})},
		{"WithResumeConcurrency", workflow.WithResumeConcurrency(0)},
		{"WithOwner", workflow.WithOwner("")},
		{"WithLeaseTTL", workflow.WithLeaseTTL(time.Millisecond)},
		{"WithFullSync", workflow.WithFullSync()}, // configures a store, not an engine
	} {
		var oe *workflow.OptionError
		e, err := workflow.New(store, reg, workflow.WithOwner("a"), c.o)
		if !errors.As(err, &oe) || !errors.Is(err, workflow.ErrInvalidOption) || e != nil {
			t.Errorf("%s: New = %v, %v, want an *OptionError", c.option, e, err)
			continue
		}
		if oe.Option != c.option {
			t.Errorf("%s: the error names %s: %v", c.option, oe.Option, err)
		}
	}
	var oe *workflow.OptionError
	if _, err := workflow.New(nil, reg); !errors.As(err, &oe) || oe.Option != "store" {
		t.Errorf("nil store: %v", err)
	}
	if _, err := workflow.New(store, nil); !errors.As(err, &oe) || oe.Option != "ops" {
		t.Errorf("nil registry: %v", err)
	}
	// An engine option given to the store's constructor does not apply either, and opens nothing.
	path := filepath.Join(t.TempDir(), "wf.db")
	if _, err := workflow.OpenSQLiteStore(context.Background(), path, workflow.WithFullSync(), workflow.WithOwner("x")); !errors.As(err, &oe) || oe.Option != "WithOwner" || !strings.Contains(err.Error(), "does not apply to SQLiteStore") {
		t.Errorf("engine option to OpenSQLiteStore: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused OpenSQLiteStore created the database: %v", err)
	}
	if _, err := workflow.NewSQLiteStore(context.Background(), nil); !errors.As(err, &oe) || oe.Option != "db" {
		t.Errorf("nil db: %v", err)
	}
	// Nil options are skipped.
	if _, err := workflow.New(store, reg, nil, workflow.WithOwner("a")); err != nil {
		t.Errorf("nil option: %v", err)
	}
}

func TestRegistry(t *testing.T) {
	f := func(context.Context, *workflow.Call) (map[string]any, error) { return nil, nil }
	reg := &workflow.Registry{}
	if err := reg.Register(workflow.Operation{Name: "web5.x", Func: f}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(workflow.Operation{Name: "web5.x", Func: f}); !errors.Is(err, workflow.ErrDuplicateOperation) {
		t.Errorf("duplicate: %v", err)
	}
	for _, op := range []workflow.Operation{{Name: "", Func: f}, {Name: "a b", Func: f}, {Name: "x"},
		{Name: "y", Func: f, Outputs: map[string]workflow.Type{"o": "weird"}}, {Name: "z", Func: f, Inputs: map[string]workflow.Field{"i": {Type: "t"}}}} {
		if err := reg.Register(op); !errors.Is(err, workflow.ErrInvalidOperation) {
			t.Errorf("%+v: %v", op.Name, err)
		}
	}
	op, ok := reg.Lookup("web5.x")
	if !ok || op.Protocol != "web5" {
		t.Errorf("Lookup = %+v %v; protocol defaults to the name's prefix", op, ok)
	}
	if !slices.Equal(reg.Names(), []string{"web5.x"}) {
		t.Errorf("Names = %v", reg.Names())
	}
}

func TestTypedOperation(t *testing.T) {
	type in struct {
		Amount int64  `json:"amount"`
		To     string `json:"to"`
	}
	type out struct {
		Txid string  `json:"txid"`
		Fee  float64 `json:"fee"`
	}
	reg, _ := workflow.NewRegistry(workflow.Operation{Name: "bitcoin.pay", Func: workflow.Typed(func(ctx context.Context, c *workflow.Call, i in) (out, error) {
		return out{Txid: fmt.Sprintf("%s:%d", i.To, i.Amount), Fee: 1.5}, nil
	})})
	def := &workflow.Definition{Name: "t", Steps: []workflow.Step{{ID: "pay", Operation: "bitcoin.pay",
		Input: map[string]any{"amount": "{{input.amount}}", "to": "{{input.to}}"}}}}
	e := newEngine(t, workflow.NewMemoryStore(), reg, []*workflow.Definition{def})
	res, err := e.Run(context.Background(), "t", "r", map[string]any{"amount": 12345678901, "to": "bc1q"})
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Step("pay").Output; o["txid"] != "bc1q:12345678901" || o["fee"] != 1.5 {
		t.Fatalf("output %v", o)
	}
	res, err = e.Run(context.Background(), "t", "r2", map[string]any{"amount": "many", "to": "bc1q"})
	if !errors.Is(err, workflow.ErrRunFailed) || res.Step("pay").Attempt != 1 {
		t.Fatalf("undecodable input: %v %+v", err, res)
	}
}
