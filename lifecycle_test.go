package anya_test

import (
	"context"
	"errors"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/ml"
)

// stuckChain is a chain whose UTXOs call, once armed, blocks — ignoring its context — until
// released: a call stuck in a node that does not answer.
type stuckChain struct {
	bitcoin.Chain
	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	release chan struct{}
}

func (c *stuckChain) UTXOs(ctx context.Context, pkScript []byte) ([]bitcoin.UTXO, error) {
	c.mu.Lock()
	armed := c.armed
	c.mu.Unlock()
	if armed {
		close(c.entered)
		<-c.release
	}
	return c.Chain.UTXOs(ctx, pkScript)
}

// Shutdown with a call that does not return: it returns ctx's error when ctx ends, refuses new
// calls at once, and has stopped the triggers (their bus subscriptions are gone); the rest is
// released when the call returns, and Close then reports it.
func TestShutdownWithAStuckCall(t *testing.T) {
	ctx := t.Context()
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ch := &stuckChain{Chain: sim, entered: make(chan struct{}), release: make(chan struct{})}
	m, err := anya.New(anya.WithChain(ch), anya.WithBus(b))
	if err != nil {
		t.Fatal(err)
	}
	dir := m.DataDir()
	if b.Subscriptions() == 0 {
		t.Fatal("the Manager's triggers have no subscriptions")
	}
	ch.mu.Lock()
	ch.armed = true
	ch.mu.Unlock()
	stuck := make(chan error, 1)
	go func() {
		_, _, err := m.Balance(context.Background(), mustAddr(t, "anyone"))
		stuck <- err
	}()
	<-ch.entered

	sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := m.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a stuck call: %v, want context.DeadlineExceeded", err)
	}
	if _, err := m.Reputation(ctx, "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"); !errors.Is(err, anya.ErrClosed) {
		t.Errorf("a call after Shutdown began: %v, want ErrClosed", err)
	}
	if n := b.Subscriptions(); n != 0 {
		t.Errorf("%d subscriptions left on the host's bus after Shutdown gave up: the triggers were not stopped", n)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the data directory went while a call was using it: %v", err)
	}

	close(ch.release)
	if err := <-stuck; err != nil {
		t.Errorf("the stuck call: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close after the call returned: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary data directory is left after Close: %v", err)
	}
	if err := m.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown again: %v", err)
	}
	if _, err := sim.BestBlock(ctx); err != nil {
		t.Errorf("Close closed the host's chain: %v", err)
	}
}

// Every exported method of a Manager New did not create — the zero value, a nil pointer —
// returns a *NotConstructedError naming anya.New (or its zero result), and none panics.
func TestZeroManager(t *testing.T) {
	ctxType := reflect.TypeFor[context.Context]()
	errType := reflect.TypeFor[error]()
	for name, m := range map[string]*anya.Manager{"zero": new(anya.Manager), "nil": nil} {
		v := reflect.ValueOf(m)
		typ := v.Type()
		withErr := 0
		for i := range typ.NumMethod() {
			meth := typ.Method(i)
			args := []reflect.Value{v}
			last := meth.Type.NumIn()
			if meth.Type.IsVariadic() {
				last--
			}
			for j := 1; j < last; j++ {
				if in := meth.Type.In(j); in == ctxType {
					args = append(args, reflect.ValueOf(t.Context()))
				} else {
					args = append(args, reflect.Zero(in))
				}
			}
			var out []reflect.Value
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s Manager: %s panics: %v", name, meth.Name, r)
					}
				}()
				out = meth.Func.Call(args)
			}()
			if len(out) == 0 || out[len(out)-1].Type() != errType {
				continue
			}
			withErr++
			err, _ := out[len(out)-1].Interface().(error)
			var nc *anya.NotConstructedError
			if !errors.As(err, &nc) || nc.Constructor != "New" || !errors.Is(err, anya.ErrNotConstructed) || !strings.Contains(err.Error(), "anya.New") {
				t.Errorf("%s Manager: %s returned %v, want a *NotConstructedError naming anya.New", name, meth.Name, err)
			}
		}
		if withErr < 20 {
			t.Errorf("%s Manager: only %d methods return an error", name, withErr)
		}
	}
}

// Every option's documentation ends with its default, as go doc shows it.
func TestOptionsDocumentTheirDefault(t *testing.T) {
	fset := token.NewFileSet()
	var files []*ast.File
	matches, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range matches {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	p, err := doc.NewFromFiles(fset, files, "github.com/anya-org/anya-go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, typ := range p.Types {
		if typ.Name != "Option" {
			continue
		}
		for _, f := range typ.Funcs {
			n++
			text := strings.Join(strings.Fields(f.Doc), " ")
			i := strings.LastIndex(text, "Defaults to ")
			if i < 0 || strings.Contains(text[i:], ". ") || !strings.HasSuffix(text, ".") {
				t.Errorf("%s: the documentation does not end with its default (\"Defaults to ...\"):\n%s", f.Name, text)
			}
		}
	}
	if n < 20 {
		t.Fatalf("found %d options", n)
	}
}

// New says which ML backend scores and why; a library path that does not exist is an error
// naming it, not a silent fallback.
func TestBackendReason(t *testing.T) {
	m, err := anya.New()
	if err != nil {
		t.Fatal(err)
	}
	r := m.BackendReason()
	switch {
	case r.Backend != m.Backend():
		t.Errorf("BackendReason %q, Backend %q", r.Backend, m.Backend())
	case r.Backend == "ort" && r.Library.Path == "":
		t.Errorf("ONNX Runtime without a library path: %+v", r)
	case r.Backend == "go" && r.Fallback == nil:
		t.Errorf("the pure-Go evaluator without a reason: %+v", r)
	}
	if lib := os.Getenv("ANYA_ONNXRUNTIME_LIB"); lib != "" && r.Backend == "ort" && r.Library.Path != lib {
		t.Errorf("library %s, want $ANYA_ONNXRUNTIME_LIB %s", r.Library.Path, lib)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	missing := filepath.Join(t.TempDir(), "no-such-libonnxruntime.so.1")
	t.Setenv("ANYA_ONNXRUNTIME_LIB", missing)
	m, err = anya.New()
	if err == nil {
		defer m.Close()
		if !errors.Is(m.BackendReason().Fallback, ml.ErrNoCgo) {
			t.Fatalf("New with ANYA_ONNXRUNTIME_LIB=%s: no error, backend %s", missing, m.BackendReason())
		}
		return // built without cgo: no library can load, the pure-Go evaluator is the documented fallback
	}
	if !strings.Contains(err.Error(), missing) {
		t.Fatalf("New with a library that does not exist: %v, want an error naming %s", err, missing)
	}
}

// Fund works on the embedded chain, for any amount (gathering coinbases as needed), and again
// and again; on another chain it is refused with ErrNotEmbedded.
func TestFund(t *testing.T) {
	ctx := t.Context()
	m, err := anya.New()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	alice, err := m.NewIdentity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := m.EmbeddedChain()
	if err != nil || sim != m.Chain() {
		t.Fatalf("EmbeddedChain: %v %v", sim, err)
	}
	var total int64
	for _, amount := range []int64{1_000, 120 * 100_000_000, 25_000, 7} {
		txid, err := m.Fund(ctx, alice.Address.String(), amount)
		if amount == 7 {
			if !errors.Is(err, anya.ErrInvalidOp) {
				t.Fatalf("Fund of dust: %v, want ErrInvalidOp", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Fund %d: %v", amount, err)
		}
		total += amount
		confirmed, unconfirmed, err := m.Balance(ctx, alice.Address.String())
		if err != nil || int64(confirmed) != total || unconfirmed != 0 {
			t.Fatalf("after funding %d (%s): %d confirmed, %d unconfirmed, %v; want %d confirmed", amount, txid, confirmed, unconfirmed, err, total)
		}
	}
	if _, err := m.Fund(ctx, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", 10_000); !errors.Is(err, anya.ErrInvalidOp) {
		t.Errorf("Fund of a mainnet address: %v", err)
	}
	// The funded coins pay.
	if _, err := m.LinkIdentity(ctx, alice); err != nil {
		t.Fatal(err)
	}
	p, err := m.Pay(ctx, anya.TriProtocol{PaymentID: "funded", SenderDID: alice.String(), SenderAddress: alice.Address.String(),
		RecipientAddress: mustAddr(t, "shop"), AmountSat: 20_000})
	if err != nil || p.Outcome != anya.OutcomeSent {
		t.Fatalf("a payment from funded coins: %+v %v", p, err)
	}

	other, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	node, err := anya.New(anya.WithChain(&stuckChain{Chain: other}))
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	if _, err := node.EmbeddedChain(); !errors.Is(err, anya.ErrNotEmbedded) {
		t.Errorf("EmbeddedChain on another chain: %v", err)
	}
	if _, err := node.Fund(ctx, alice.Address.String(), 10_000); !errors.Is(err, anya.ErrNotEmbedded) {
		t.Errorf("Fund on another chain: %v", err)
	}
}

// The typed entry points are Execute's operations with their results typed.
func TestTypedEntryPoints(t *testing.T) {
	e := newEnv(t)
	link, err := e.m.LinkIdentity(e.ctx, e.bob)
	if err != nil || link.DID != e.bob.String() || link.Address != e.bob.Address.String() {
		t.Fatalf("LinkIdentity: %+v %v", link, err)
	}
	v, err := e.m.VerifyLink(e.ctx, anya.VerifyLink{DID: e.bob.String(), Address: e.bob.Address.String()})
	if err != nil || !v.Verified || v.Refusal != nil {
		t.Fatalf("VerifyLink after LinkIdentity: %+v %v", v, err)
	}
	res, err := e.m.Execute(e.ctx, anya.VerifyLink{DID: e.bob.String(), Address: e.bob.Address.String()})
	if err != nil || !reflect.DeepEqual(res.(*anya.LinkVerification), v) {
		t.Fatalf("Execute(VerifyLink): %+v %v, want %+v", res, err, v)
	}
	r, err := e.m.Reputation(e.ctx, e.bob.String())
	if err != nil || r.Features[anya.FeatureAddressLinked] != 1 {
		t.Fatalf("Reputation: %+v %v", r, err)
	}
	if _, err := e.m.Reputation(e.ctx, "bob"); !errors.Is(err, anya.ErrInvalidOp) {
		t.Errorf("Reputation of a non-DID: %v", err)
	}
	g, err := e.m.RiskGate(e.verified(e.alice), anya.MLToBitcoin{PaymentID: "gate-1", SenderDID: e.alice.String(),
		SenderAddress: e.alice.Address.String(), RecipientAddress: e.bob.Address.String(), AmountSat: 100_000_000})
	if err != nil || !g.Blocked || g.Refusal == nil || g.Refusal.Reason != anya.ReasonRiskAboveThreshold || g.Refusal.Risk != g.Risk {
		t.Fatalf("RiskGate of a risky payment: %+v %v", g, err)
	}
	if _, err := e.m.LinkIdentity(e.ctx, nil); !errors.Is(err, anya.ErrInvalidOp) {
		t.Errorf("LinkIdentity(nil): %v", err)
	}
	cancelled, cancel := context.WithCancel(e.ctx)
	cancel()
	if _, err := e.m.Pay(cancelled, anya.TriProtocol{PaymentID: "never", SenderDID: e.alice.String(), SenderAddress: e.alice.Address.String(),
		RecipientAddress: e.bob.Address.String(), AmountSat: 10_000}); !errors.Is(err, context.Canceled) {
		t.Errorf("Pay with a cancelled context: %v", err)
	}
	if _, err := e.m.Payment(e.ctx, "never"); err == nil {
		t.Error("a payment cancelled before it started was stored")
	}
}
