package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/anya-org/anya-go/workflow"
)

// listStores are the stores that list runs, each new and empty.
func listStores(t *testing.T) map[string]func() workflow.Store {
	return map[string]func() workflow.Store{
		"memory": func() workflow.Store { return workflow.NewMemoryStore() },
		"sqlite": func() workflow.Store {
			s, err := workflow.OpenSQLiteStore(context.Background(), filepath.Join(t.TempDir(), "wf.db"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

func ids(rs []workflow.RunSummary) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// TestList runs payments that end sent (completed), blocked (completed, send skipped) and
// unverified (terminated) on each listing store, then lists them newest first, by status, by
// an input field and page by page.
func TestList(t *testing.T) {
	ctx := context.Background()
	for name, newStore := range listStores(t) {
		t.Run(name, func(t *testing.T) {
			store := newStore()
			defer store.Close()
			p := newPayments()
			clock := time.Unix(1_700_000_000, 0)
			now := func() time.Time { clock = clock.Add(time.Second); return clock }
			e := newEngine(t, store, p.registry(t), []*workflow.Definition{workflow.VerifiedPayment()}, workflow.WithClock(now))
			// pay-0 … pay-5: even ones verified, pay-3 risky, the sender of pay-4 another DID.
			for i := range 6 {
				p.verified.Store(i%2 == 0 || i == 3)
				p.risk.Store(0.2)
				if i == 3 {
					p.risk.Store(0.9)
				}
				in := paymentInput(fmt.Sprintf("pay-%d", i))
				if i == 4 {
					in["sender_did"] = "did:key:z6MkOther"
				}
				if _, err := e.Run(ctx, workflow.VerifiedPaymentName, fmt.Sprintf("pay-%d", i), in); err != nil {
					t.Fatal(err)
				}
			}
			all, err := e.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ids(all), []string{"pay-5", "pay-4", "pay-3", "pay-2", "pay-1", "pay-0"}; !slices.Equal(got, want) {
				t.Fatalf("List = %v, want %v", got, want)
			}
			if all[0].Workflow != workflow.VerifiedPaymentName || all[0].Created.IsZero() || all[0].Updated.Before(all[0].Created) {
				t.Errorf("summary %+v", all[0])
			}
			for _, tc := range []struct {
				name string
				opts []workflow.ListOption
				want []string
			}{
				{"terminated", []workflow.ListOption{workflow.ListStatus(workflow.StatusTerminated)}, []string{"pay-5", "pay-1"}},
				{"completed", []workflow.ListOption{workflow.ListStatus(workflow.StatusCompleted)}, []string{"pay-4", "pay-3", "pay-2", "pay-0"}},
				{"two statuses", []workflow.ListOption{workflow.ListStatus(workflow.StatusFailed, workflow.StatusTerminated)}, []string{"pay-5", "pay-1"}},
				{"sender", []workflow.ListOption{workflow.ListInput("sender_did", "did:key:z6MkOther")}, []string{"pay-4"}},
				{"sender and status", []workflow.ListOption{workflow.ListInput("sender_did", "did:key:z6MkSender"), workflow.ListStatus(workflow.StatusCompleted)}, []string{"pay-3", "pay-2", "pay-0"}},
				{"number field is no string", []workflow.ListOption{workflow.ListInput("amount_sat", "50000")}, []string{}},
				{"other workflow", []workflow.ListOption{workflow.ListWorkflow("other")}, []string{}},
				{"first page", []workflow.ListOption{workflow.ListLimit(4)}, []string{"pay-5", "pay-4", "pay-3", "pay-2"}},
				{"second page", []workflow.ListOption{workflow.ListLimit(4), workflow.ListBefore("pay-2")}, []string{"pay-1", "pay-0"}},
				{"past the end", []workflow.ListOption{workflow.ListBefore("pay-0")}, []string{}},
				{"unknown cursor", []workflow.ListOption{workflow.ListBefore("nope")}, []string{}},
			} {
				got, err := e.List(ctx, tc.opts...)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if !slices.Equal(ids(got), tc.want) {
					t.Errorf("%s: %v, want %v", tc.name, ids(got), tc.want)
				}
			}
		})
	}
}

// TestListRefusesBadOptions: each bad option is an *OptionError naming it, and nothing is read.
func TestListRefusesBadOptions(t *testing.T) {
	ctx := context.Background()
	for name, newStore := range listStores(t) {
		store := newStore()
		l := store.(workflow.Lister)
		for _, tc := range []struct {
			option string
			opt    workflow.ListOption
		}{
			{"ListLimit", workflow.ListLimit(0)},
			{"ListLimit", workflow.ListLimit(workflow.MaxListLimit + 1)},
			{"ListStatus", workflow.ListStatus("sleeping")},
			{"ListWorkflow", workflow.ListWorkflow("")},
			{"ListBefore", workflow.ListBefore("")},
			{"ListInput", workflow.ListInput("a') OR 1=1 --", "x")},
			{"ListInput", workflow.ListInput("$.a", "x")},
			{"ListInput", workflow.ListInput("9lives", "x")},
			{"ListOption", nil},
		} {
			_, err := l.List(ctx, tc.opt)
			var oe *workflow.OptionError
			if !errors.As(err, &oe) || oe.Option != tc.option || !errors.Is(err, workflow.ErrInvalidOption) {
				t.Errorf("%s: %s: %v", name, tc.option, err)
			}
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := l.List(cancelled); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: cancelled: %v", name, err)
		}
		store.Close()
		if _, err := l.List(ctx); !errors.Is(err, workflow.ErrClosed) {
			t.Errorf("%s: closed: %v", name, err)
		}
	}
}

// storeOnly hides every method of a Store but the interface's.
type storeOnly struct{ workflow.Store }

// TestListUnsupported: an engine on a store that cannot list says so.
func TestListUnsupported(t *testing.T) {
	e := newEngine(t, storeOnly{workflow.NewMemoryStore()}, newPayments().registry(t), nil)
	if _, err := e.List(context.Background()); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("List on a store that cannot list: %v", err)
	}
}

// TestInspect: a blocked payment's detail shows every step with the input it was given
// (rendered from the run's input and earlier outputs), its output and timings; the skipped and
// unreached steps have no input.
func TestInspect(t *testing.T) {
	ctx := context.Background()
	p := newPayments()
	p.risk.Store(0.9)
	clock := time.Unix(1_700_000_000, 0)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	e := newEngine(t, workflow.NewMemoryStore(), p.registry(t), []*workflow.Definition{workflow.VerifiedPayment()}, workflow.WithClock(now))
	if _, err := e.Run(ctx, workflow.VerifiedPaymentName, "pay-1", paymentInput("pay-1")); err != nil {
		t.Fatal(err)
	}
	d, err := e.Inspect(ctx, "pay-1")
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != "pay-1" || d.Status != workflow.StatusCompleted || d.Input["sender_did"] != "did:key:z6MkSender" || len(d.Steps) != 4 {
		t.Fatalf("detail %+v", d)
	}
	verify, risk, send, record := d.Steps[0], d.Steps[1], d.Steps[2], d.Steps[3]
	if verify.ID != "verify_sender" || verify.Protocol != "web5" || verify.Operation != workflow.OpVerifyIdentity ||
		verify.Status != workflow.StepCompleted || verify.Attempt != 1 || verify.Input["did"] != "did:key:z6MkSender" ||
		verify.Output["sender_verified"] != true {
		t.Errorf("verify step %+v", verify)
	}
	if verify.Started.IsZero() || verify.Duration() <= 0 {
		t.Errorf("verify step timings %v → %v", verify.Started, verify.Finished)
	}
	// The risk step's input holds the verify step's output.
	if risk.Status != workflow.StepCompleted || risk.Input["verification_score"] != 0.95 || risk.Output["risk_score"] != 0.9 {
		t.Errorf("risk step %+v", risk)
	}
	if send.Status != workflow.StepSkipped || send.Input != nil || send.Output != nil || send.Finished.IsZero() {
		t.Errorf("send step %+v", send)
	}
	if record.Status != workflow.StepSkipped || record.Input != nil {
		t.Errorf("record step %+v", record)
	}
	if _, err := e.Inspect(ctx, "nope"); !errors.Is(err, workflow.ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}
}

// TestInspectFailedStep: a step that failed for good shows its error and the input it failed
// with; the steps after it were not reached.
func TestInspectFailedStep(t *testing.T) {
	ctx := context.Background()
	p := newPayments()
	p.sendErr = func(*workflow.Call) error { return workflow.Permanent(errors.New("no coins")) }
	e := newEngine(t, workflow.NewMemoryStore(), p.registry(t), []*workflow.Definition{workflow.VerifiedPayment()})
	if _, err := e.Run(ctx, workflow.VerifiedPaymentName, "pay-1", paymentInput("pay-1")); err == nil {
		t.Fatal("the run did not fail")
	}
	d, err := e.Inspect(ctx, "pay-1")
	if err != nil {
		t.Fatal(err)
	}
	send, record := d.Steps[2], d.Steps[3]
	if d.Status != workflow.StatusFailed || send.Status != workflow.StepFailed || send.Error == "" ||
		send.Input["payment_id"] != "pay-1" || send.Input["amount_sat"] != int64(50_000) {
		t.Errorf("failed step %+v (run %s %q)", send, d.Status, d.Error)
	}
	if record.Status != "" || record.Input != nil || !record.Started.IsZero() {
		t.Errorf("unreached step %+v", record)
	}
}
