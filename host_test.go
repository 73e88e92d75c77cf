package anya_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/resilience"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/vc"
)

// hookChain is a bitcoin.Chain that counts its calls and lets a test slow down or interrupt
// some of them. The hooks run before the call reaches the chain (afterBroadcast after the chain
// took the transaction); an error from a hook is the call's.
type hookChain struct {
	bitcoin.Chain

	mu             sync.Mutex
	calls          map[string]int
	broadcast      func(ctx context.Context, tx *wire.MsgTx) error
	afterBroadcast func(ctx context.Context, tx *wire.MsgTx) error
	testAccept     func(ctx context.Context, tx *wire.MsgTx) error
	bestBlock      func(ctx context.Context) error
}

func newHookChain(c bitcoin.Chain) *hookChain { return &hookChain{Chain: c, calls: map[string]int{}} }

func (h *hookChain) count(name string) {
	h.mu.Lock()
	h.calls[name]++
	h.mu.Unlock()
}

// counts returns the calls so far, by method, and clears them.
func (h *hookChain) counts() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := maps.Clone(h.calls)
	clear(h.calls)
	return out
}

func (h *hookChain) hooks() (b, ab func(context.Context, *wire.MsgTx) error, ta func(context.Context, *wire.MsgTx) error, bb func(context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.broadcast, h.afterBroadcast, h.testAccept, h.bestBlock
}

func (h *hookChain) set(f func(h *hookChain)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}

func (h *hookChain) BestBlock(ctx context.Context) (bitcoin.BlockStamp, error) {
	h.count("BestBlock")
	if _, _, _, bb := h.hooks(); bb != nil {
		if err := bb(ctx); err != nil {
			return bitcoin.BlockStamp{}, err
		}
	}
	return h.Chain.BestBlock(ctx)
}

func (h *hookChain) BlockHash(ctx context.Context, height int32) (chainhash.Hash, error) {
	h.count("BlockHash")
	return h.Chain.BlockHash(ctx, height)
}

func (h *hookChain) BlockHeader(ctx context.Context, hash chainhash.Hash) (wire.BlockHeader, error) {
	h.count("BlockHeader")
	return h.Chain.BlockHeader(ctx, hash)
}

func (h *hookChain) Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error) {
	h.count("Block")
	return h.Chain.Block(ctx, hash)
}

func (h *hookChain) Tx(ctx context.Context, txid chainhash.Hash) (bitcoin.TxInfo, error) {
	h.count("Tx")
	return h.Chain.Tx(ctx, txid)
}

func (h *hookChain) TxOut(ctx context.Context, op wire.OutPoint, mempool bool) (bitcoin.UTXO, error) {
	h.count("TxOut")
	return h.Chain.TxOut(ctx, op, mempool)
}

func (h *hookChain) UTXOs(ctx context.Context, script []byte) ([]bitcoin.UTXO, error) {
	h.count("UTXOs")
	return h.Chain.UTXOs(ctx, script)
}

func (h *hookChain) Mempool(ctx context.Context) ([]bitcoin.MempoolEntry, error) {
	h.count("Mempool")
	return h.Chain.Mempool(ctx)
}

func (h *hookChain) EstimateFee(ctx context.Context, target int) (bitcoin.FeeRate, error) {
	h.count("EstimateFee")
	return h.Chain.EstimateFee(ctx, target)
}

func (h *hookChain) TestAccept(ctx context.Context, tx *wire.MsgTx) error {
	h.count("TestAccept")
	if _, _, ta, _ := h.hooks(); ta != nil {
		if err := ta(ctx, tx); err != nil {
			return err
		}
	}
	return h.Chain.TestAccept(ctx, tx)
}

func (h *hookChain) Broadcast(ctx context.Context, tx *wire.MsgTx) (chainhash.Hash, error) {
	h.count("Broadcast")
	b, ab, _, _ := h.hooks()
	if b != nil {
		if err := b(ctx, tx); err != nil {
			return chainhash.Hash{}, err
		}
	}
	txid, err := h.Chain.Broadcast(ctx, tx)
	if err == nil && ab != nil {
		if err := ab(ctx, tx); err != nil {
			return chainhash.Hash{}, err
		}
	}
	return txid, err
}

func (h *hookChain) Watch(ctx context.Context, scripts [][]byte) error {
	h.count("Watch")
	return h.Chain.Watch(ctx, scripts)
}

// host is a Manager on a data directory and a chain the test owns (so that it can outlive the
// Manager), with alice — a did:key with a Bitcoin key, linked — and shop, a recipient.
type host struct {
	t     *testing.T
	dir   string
	sim   *simchain.Chain
	chain *hookChain
	opts  []anya.Option
	m     *anya.Manager
	alice *anya.Identity
	shop  string
}

func aliceKey() *btcec.PrivateKey { return bitcointest.KeyFromSeed("host alice") }

// newHost funds alice with one coin of coin sat.
func newHost(t *testing.T, coin int64, opts ...anya.Option) *host {
	t.Helper()
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	h := &host{t: t, dir: t.TempDir(), sim: sim, chain: newHookChain(sim), shop: mustAddr(t, "host shop")}
	h.opts = append([]anya.Option{anya.WithDataDir(h.dir), anya.WithChain(h.chain), anya.WithHostDID(mustFixedDID(t, "host"))}, opts...)
	h.open()
	if h.alice, err = h.m.AddIdentity(t.Context(), mustFixedDID(t, "host alice"), aliceKey()); err != nil {
		t.Fatal(err)
	}
	h.fund(h.alice.Address, coin)
	ch, _ := h.m.Challenge(h.alice.String(), h.alice.Address.String())
	sig, _ := h.alice.SignChallenge(ch)
	if _, err := h.m.Execute(t.Context(), anya.BitcoinToWeb5{DID: h.alice.String(), Address: h.alice.Address.String(), Challenge: ch,
		Signature: sig}); err != nil {
		t.Fatal(err)
	}
	return h
}

// open starts a Manager on the host's directory and chain; extra options are added to the
// host's for this Manager only.
func (h *host) open(extra ...anya.Option) *anya.Manager {
	h.t.Helper()
	m, err := anya.New(append(slices.Clone(h.opts), extra...)...)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = m.Close() })
	h.m = m
	return m
}

// fund pays one confirmed coin of amount sat to addr.
func (h *host) fund(addr bitcoin.Address, amount int64) {
	h.t.Helper()
	ctx := h.t.Context()
	funder, err := bitcointest.NewWalletFromSeed(h.sim, "host funder "+addr.String())
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.sim.Mine(101, simchain.PayTo(funder.PkScript())); err != nil {
		h.t.Fatal(err)
	}
	if _, err := funder.Send(ctx, wire.NewTxOut(amount, addr.PkScript())); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.sim.Mine(1); err != nil {
		h.t.Fatal(err)
	}
}

func (h *host) pay(ctx context.Context, id string, amount int64) (*anya.Payment, error) {
	res, err := h.m.Execute(ctx, anya.TriProtocol{PaymentID: id, SenderDID: h.alice.String(), SenderAddress: h.alice.Address.String(),
		RecipientAddress: h.shop, AmountSat: amount})
	p, _ := res.(*anya.Payment)
	return p, err
}

// Defect 1: forty payments from one sender with one coin, at once, with a broadcast that takes
// a while. Each payment's fraud features are computed from the transaction the wallet would
// build, while the others are being sent: every one must see the change of those recorded
// before it, so all succeed, each spending the last one's change — forty transactions, no
// double spend. (Before, most failed with "insufficient funds … have 0 sat spendable": the
// features were computed outside the sender's lock and skipped the coin an earlier payment had
// reserved, whose change reached the wallet's view only after its broadcast returned.)
func TestConcurrentPaymentsFromOneSender(t *testing.T) {
	h := newHost(t, 10_000_000)
	h.chain.set(func(c *hookChain) {
		c.broadcast = func(ctx context.Context, _ *wire.MsgTx) error {
			select { // the node's round trip
			case <-time.After(5 * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	const n = 40
	ctx := t.Context()
	var wg sync.WaitGroup
	results := make([]*anya.Payment, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { results[i], errs[i] = h.pay(ctx, fmt.Sprintf("c-%02d", i), 10_000) })
	}
	wg.Wait()
	txids := map[string]string{}
	for i := range n {
		if errs[i] != nil {
			t.Errorf("payment %d: %v", i, errs[i])
			continue
		}
		if p := results[i]; p.Outcome != anya.OutcomeSent {
			t.Errorf("payment %d: %s (risk %.2f): %s", i, p.Outcome, p.Risk, p.Error)
		} else if other, dup := txids[p.Txid]; dup {
			t.Errorf("payments %s and %s share transaction %s", other, p.PaymentID, p.Txid)
		} else {
			txids[p.Txid] = p.PaymentID
		}
	}
	if t.Failed() {
		return
	}
	// One chain of forty transactions: each spends the previous one's change.
	if _, err := h.sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	utxos, err := h.sim.UTXOs(ctx, mustParse(t, h.shop).PkScript())
	if err != nil || len(utxos) != n {
		t.Fatalf("the shop holds %d outputs, want %d: %v", len(utxos), n, err)
	}
	for _, u := range utxos {
		if u.Value != 10_000 || u.Height == 0 || txids[u.OutPoint.Hash.String()] == "" {
			t.Errorf("shop output %+v", u)
		}
	}
	left, err := h.sim.UTXOs(ctx, h.alice.Address.PkScript())
	if err != nil || len(left) != 1 || left[0].Height == 0 {
		t.Fatalf("alice holds %+v, want one confirmed coin: the last change", left)
	}
}

func mustParse(t *testing.T, a string) bitcoin.Address {
	t.Helper()
	addr, err := bitcoin.ParseAddress(a, bitcoin.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// Defect 1, the honest shortage: a payment that alice's coins cannot pay while another payment
// holds her only coin fails at once with an *InsufficientFundsError saying which payment holds
// which coin — and does not wait for the sender's lock.
func TestShortageNamesTheHoldingPayment(t *testing.T) {
	h := newHost(t, 100_000)
	ctx := t.Context()
	release := make(chan struct{})
	entered := make(chan struct{})
	var once sync.Once
	h.chain.set(func(c *hookChain) {
		c.broadcast = func(ctx context.Context, _ *wire.MsgTx) error {
			once.Do(func() { close(entered) })
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	done := make(chan error, 1)
	go func() {
		p, err := h.pay(ctx, "big", 90_000)
		if err == nil && p.Outcome != anya.OutcomeSent {
			err = fmt.Errorf("outcome %s: %s", p.Outcome, p.Error)
		}
		done <- err
	}()
	<-entered // "big" is recorded, its broadcast in flight, alice's lock held
	coin, _ := h.sim.UTXOs(ctx, h.alice.Address.PkScript())
	_, err := h.pay(ctx, "second", 50_000)
	var short *anya.InsufficientFundsError
	if !errors.As(err, &short) || !errors.Is(err, bitcoin.ErrInsufficientFunds) {
		t.Fatalf("second payment: %v, want an *InsufficientFundsError", err)
	}
	if len(short.Reserved) != 1 || len(coin) != 1 {
		t.Fatalf("reservations %+v (alice's coins on the chain: %+v)", short.Reserved, coin)
	}
	r := short.Reserved[0]
	if r.PaymentID != "big" || r.OutPoint != coin[0].OutPoint.String() || r.AmountSat != 100_000 || r.Txid == "" || r.State != "recorded" {
		t.Fatalf("reservation %+v, want payment big holding %s (100000 sat), recorded", r, coin[0].OutPoint)
	}
	if short.Address != h.alice.Address.String() || short.SpendableSat >= short.NeededSat {
		t.Fatalf("shortage %+v", short)
	}
	for _, want := range []string{"payment big", coin[0].OutPoint.String(), "100000 sat"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	if _, err := h.m.Payment(ctx, "second"); err == nil {
		t.Error("the refused payment was stored")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// recorder collects the payment events of a bus.
type recorder struct {
	mu  sync.Mutex
	evs []string // "topic seq status"
}

// subscribe records the sent payments' events. One subscription, on a pattern, sees them in
// the order they were published; subscriptions of their own per topic would each have their own
// queue and goroutine, and no order between them.
func (r *recorder) subscribe(t *testing.T, b *bus.Bus) {
	t.Helper()
	sentTopics := []string{anya.TopicPaymentSent, anya.TopicPaymentConfirmed, anya.TopicPaymentReorged}
	if _, err := bus.Subscribe(b, "anya.payment.*", func(_ context.Context, e bus.Envelope[anya.PaymentEvent]) error {
		if !slices.Contains(sentTopics, e.Topic) {
			return nil
		}
		r.mu.Lock()
		r.evs = append(r.evs, fmt.Sprintf("%s %d %s %s", strings.TrimPrefix(e.Topic, "anya.payment."), e.Payload.Seq, e.Payload.PaymentID, e.Payload.Status))
		r.mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func (r *recorder) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}

func (r *recorder) wait(t *testing.T, n int) []string {
	t.Helper()
	waitFor(t, func() bool { return len(r.events()) >= n })
	return r.events()
}

func newBus(t *testing.T) *bus.Bus {
	t.Helper()
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// Defect 2: a payment interrupted after its broadcast and before its record step, whose
// transaction a block confirms while the host is down, is published sent then confirmed when
// it resumes — and a reorg after that publishes reorged and confirmed again, each event once, in
// order, numbered; a restart publishes nothing again. (Before, confirmed was never published for
// it: the record step found the transaction confirmed and wrote the row so, and the block
// triggers had nothing left to move.)
func TestPaymentEventsAfterInterruption(t *testing.T) {
	h := newHost(t, 1_000_000)
	ctx := t.Context()
	pctx, cancel := context.WithCancel(ctx)
	h.chain.set(func(c *hookChain) {
		c.afterBroadcast = func(context.Context, *wire.MsgTx) error {
			cancel() // the process stops after the chain took the transaction, before it heard so
			return context.Canceled
		}
	})
	if _, err := h.pay(pctx, "ev-1", 25_000); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted payment: %v", err)
	}
	h.chain.set(func(c *hookChain) { c.afterBroadcast = nil })
	if err := h.m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sim.Mine(1); err != nil { // confirmed while the host is down
		t.Fatal(err)
	}

	b := newBus(t)
	rec := &recorder{}
	rec.subscribe(t, b)
	m := h.open(anya.WithBus(b))
	ps, err := m.Resume(ctx)
	if err != nil || len(ps) != 1 || ps[0].Outcome != anya.OutcomeSent {
		t.Fatalf("Resume: %+v %v", ps, err)
	}
	want := []string{"sent 1 ev-1 broadcast", "confirmed 2 ev-1 confirmed"}
	if got := rec.wait(t, 2); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}

	// The block leaves the main chain (its transaction kept out of the new branch), then the
	// transaction is mined again.
	txid, _ := chainhash.NewHashFromStr(ps[0].Txid)
	if _, err := h.sim.Reorg(1, 2, simchain.Exclude(*txid)); err != nil {
		t.Fatal(err)
	}
	want = append(want, "reorged 3 ev-1 broadcast")
	if got := rec.wait(t, 3); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if _, err := h.sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	want = append(want, "confirmed 4 ev-1 confirmed")
	if got := rec.wait(t, 4); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// A restart neither loses nor repeats an event.
	b2 := newBus(t)
	rec2 := &recorder{}
	rec2.subscribe(t, b2)
	m2 := h.open(anya.WithBus(b2))
	if ps, err := m2.Resume(ctx); err != nil || len(ps) != 0 {
		t.Fatalf("Resume after the restart: %+v %v", ps, err)
	}
	if _, err := h.sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return m2.Notifier().Tip().Height == h.sim.Tip().Height })
	if got := rec2.events(); len(got) != 0 {
		t.Fatalf("the restarted host published %q again", got)
	}
}

// Defect 3: a payment interrupted before it recorded its transaction, resumed by a Manager that
// does not hold its sender's key yet, is left unfinished and reported — Resume and Execute both
// say it waits for the key — and completes once the key is registered. (Before, the missing key
// failed the payment for good.)
func TestResumeWaitsForTheSendersKey(t *testing.T) {
	h := newHost(t, 1_000_000)
	ctx := t.Context()
	pctx, cancel := context.WithCancel(ctx)
	h.chain.set(func(c *hookChain) {
		c.testAccept = func(context.Context, *wire.MsgTx) error {
			cancel() // the process stops while the send step checks its transaction
			return context.Canceled
		}
	})
	if _, err := h.pay(pctx, "k-1", 25_000); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted payment: %v", err)
	}
	h.chain.set(func(c *hookChain) { c.testAccept = nil })
	if err := h.m.Close(); err != nil {
		t.Fatal(err)
	}

	m := h.open() // the host starts, and resumes before registering alice's key
	ps, err := m.Resume(ctx)
	var awaiting *anya.AwaitingKeysError
	if !errors.As(err, &awaiting) || !errors.Is(err, anya.ErrNoKey) || len(awaiting.Payments) != 1 ||
		awaiting.Payments[0] != (anya.AwaitingKey{PaymentID: "k-1", Address: h.alice.Address.String()}) {
		t.Fatalf("Resume: %v, want an *AwaitingKeysError naming k-1", err)
	}
	if len(ps) != 1 || ps[0].Outcome != anya.OutcomePending || ps[0].Refusal == nil || ps[0].Refusal.Reason != anya.ReasonAwaitingKeys ||
		ps[0].Refusal.Address != h.alice.Address.String() || !strings.Contains(ps[0].Refusal.Message, h.alice.Address.String()) {
		t.Fatalf("Resume's payments: %+v", ps)
	}
	if _, err := h.pay(ctx, "k-1", 25_000); !errors.As(err, &awaiting) {
		t.Fatalf("Execute before the key: %v, want an *AwaitingKeysError", err)
	}
	// The stored payment says the same as Resume did.
	if p, err := m.Payment(ctx, "k-1"); err != nil || !reflect.DeepEqual(p, ps[0]) {
		t.Fatalf("the payment after both: %+v %v, want it as Resume returned it, pending: %+v", p, err, ps[0])
	}
	if _, err := m.AddIdentity(ctx, mustFixedDID(t, "host alice"), aliceKey()); err != nil {
		t.Fatal(err)
	}
	ps, err = m.Resume(ctx)
	if err != nil || len(ps) != 1 || ps[0].Outcome != anya.OutcomeSent {
		t.Fatalf("Resume with the key: %+v %v", ps, err)
	}
}

// slowDIDs is a DID method ("did:slow") whose resolution waits for its context: a resolver on
// the far side of a network that does not answer.
type slowDIDs struct{}

func (slowDIDs) Method() string { return "slow" }
func (slowDIDs) Resolve(ctx context.Context, d did.DID) (*did.Result, error) {
	<-ctx.Done()
	return nil, did.NewError(did.CodeInternalError, d.String(), ctx.Err())
}

// slowCredential is a VC-JWT linking alice's address whose issuer is a did:slow: verifying it
// waits on the issuer's resolution.
func slowCredential(t *testing.T, h *host) string {
	t.Helper()
	cred, err := vc.New("did:slow:issuer", vc.Subject{"id": h.alice.String(), "address": h.alice.Address.String()},
		vc.WithType(anya.LinkCredentialType))
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding
	header := b64.EncodeToString([]byte(`{"alg":"EdDSA","kid":"did:slow:issuer#0","typ":"JWT"}`))
	payload, err := json.Marshal(map[string]any{"iss": "did:slow:issuer", "sub": h.alice.String(), "nbf": time.Now().Unix(), "vc": cred})
	if err != nil {
		t.Fatal(err)
	}
	return header + "." + b64.EncodeToString(payload) + "." + b64.EncodeToString(make([]byte, 64))
}

// Defect 4: cancellation is never a verdict, a denial or a failure. A link check cut short
// returns the context's error, not "unverified"; a crossing into ML cut short is the context's
// error, not a denial; a payment cut short during its send is left unfinished — not failed, no
// crossing denied, nothing counted against the Bitcoin circuit breaker — and completes on
// Resume. (Before, a credential check cut short was a verdict — VerifyLink said unverified —
// and a crossing cut short was a denial.)
func TestCancellationIsNeitherDenialNorFailure(t *testing.T) {
	breakers, err := resilience.NewBreakerRegistry()
	if err != nil {
		t.Fatal(err)
	}
	b := newBus(t)
	// A crossing's decision is published on the bus as the crossing ends; the filter (which runs
	// on the publishing goroutine) ends the context of the payment's next crossing.
	var cancelAfterCrossing atomic.Pointer[context.CancelFunc]
	if _, err := bus.Subscribe(b, security.TopicCrossingAllowed, func(context.Context, bus.Envelope[security.Decision]) error { return nil },
		bus.Filter(func(e bus.Envelope[security.Decision]) bool {
			if e.Payload.From == security.Bitcoin && e.Payload.To == security.ML {
				if c := cancelAfterCrossing.Swap(nil); c != nil {
					(*c)()
				}
			}
			return false
		})); err != nil {
		t.Fatal(err)
	}
	h := newHost(t, 1_000_000, anya.WithDIDMethods(slowDIDs{}), anya.WithBreakers(breakers), anya.WithBus(b))
	ctx := t.Context()

	t.Run("link check", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		res, err := h.m.Execute(cctx, anya.VerifyLink{DID: h.alice.String(), Address: h.alice.Address.String(), Credential: slowCredential(t, h)})
		if !errors.Is(err, context.DeadlineExceeded) || res != nil {
			t.Fatalf("VerifyLink: %+v %v, want the context's error and no verdict", res, err)
		}
		// Once the issuer answers (here: never, so the check fails), it is a verdict again.
		res, err = h.m.Execute(ctx, anya.VerifyLink{DID: h.alice.String(), Address: h.alice.Address.String(), Credential: "not a credential"})
		if v, _ := res.(*anya.LinkVerification); err != nil || v == nil || v.Verified {
			t.Fatalf("a bad credential: %+v %v, want an unverified verdict", res, err)
		}
	})

	t.Run("crossing", func(t *testing.T) {
		pctx, cancel := context.WithCancel(ctx)
		defer cancel()
		cancelAfterCrossing.Store(&cancel)
		_, err := h.m.Execute(h.verified(pctx), anya.MLToBitcoin{PaymentID: "x-2", SenderDID: h.alice.String(),
			SenderAddress: h.alice.Address.String(), RecipientAddress: h.shop, AmountSat: 25_000})
		if !errors.Is(err, context.Canceled) || errors.Is(err, security.ErrDenied) {
			t.Fatalf("MLToBitcoin cut short between its crossings: %v, want context.Canceled and no denial", err)
		}
		if cancelAfterCrossing.Load() != nil {
			t.Fatal("the payment never crossed into ML: the test proves nothing")
		}
	})

	t.Run("send", func(t *testing.T) {
		pctx, cancel := context.WithCancel(ctx)
		h.chain.set(func(c *hookChain) {
			c.broadcast = func(context.Context, *wire.MsgTx) error { cancel(); return pctx.Err() }
		})
		p, err := h.pay(pctx, "x-1", 25_000)
		h.chain.set(func(c *hookChain) { c.broadcast = nil })
		if !errors.Is(err, context.Canceled) || errors.Is(err, anya.ErrPaymentFailed) || errors.Is(err, security.ErrDenied) || p != nil {
			t.Fatalf("payment cut short: %+v %v, want context.Canceled only", p, err)
		}
		got, err := h.m.Payment(ctx, "x-1")
		if err != nil || got.Outcome != anya.OutcomePending {
			t.Fatalf("stored payment %+v %v, want pending", got, err)
		}
		b, _ := breakers.Get("bitcoin")
		if s := b.Snapshot(); s.Failures != 0 || s.State != resilience.StateClosed {
			t.Fatalf("the bitcoin breaker counted the cancellation: %+v", s)
		}
		ps, err := h.m.Resume(ctx)
		if err != nil || len(ps) != 1 || ps[0].Outcome != anya.OutcomeSent {
			t.Fatalf("Resume: %+v %v", ps, err)
		}
	})

	// No crossing was denied along the way.
	for from := uint64(1); ; from += 500 {
		es, err := h.m.Audit().Entries(ctx, from, 500)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Decision != security.DecisionAllow {
				t.Errorf("denied crossing: %+v", e)
			}
		}
		if len(es) < 500 {
			break
		}
	}
}

// verified returns ctx with the security context of alice paying from her address.
func (h *host) verified(ctx context.Context) context.Context {
	h.t.Helper()
	sc, err := h.m.SecurityContext(h.t.Context(), h.alice.String(), h.alice.Address.String(), "")
	if err != nil {
		h.t.Fatal(err)
	}
	return security.NewContext(ctx, sc)
}

// The chain calls of a payment, counted by a proxy in front of the chain: the fraud features'
// tip (BestBlock), the test-accept and the broadcast of the send. The coins, the spent outputs
// the features describe, and where the transaction is when it is recorded come from what the
// Manager knows already. (Before: seven calls on btcd — the sender and rpcchain.Broadcast each
// looked the new transaction up, the record step looked it up again, and the features looked up
// the coin the wallet had just built from.)
func TestChainCallsPerPayment(t *testing.T) {
	b := newBus(t)
	rec := &recorder{}
	rec.subscribe(t, b)
	h := newHost(t, 10_000_000, anya.WithBus(b))
	ctx := t.Context()
	if p, err := h.pay(ctx, "warm-up", 10_000); err != nil || p.Outcome != anya.OutcomeSent {
		t.Fatalf("%+v %v", p, err)
	}
	// The block triggers are done with the setup's blocks once they confirm the warm-up.
	if _, err := h.sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 2)
	if p, err := h.pay(ctx, "warm-up-2", 10_000); err != nil || p.Outcome != anya.OutcomeSent { // loads the coins the block changed
		t.Fatalf("%+v %v", p, err)
	}
	settle(t, h.m) // the bridges' calls for the setup's blocks are not the payments'
	h.chain.counts()
	const n = 10
	for i := range n {
		if p, err := h.pay(ctx, fmt.Sprintf("count-%d", i), 10_000); err != nil || p.Outcome != anya.OutcomeSent {
			t.Fatalf("%+v %v", p, err)
		}
	}
	calls := h.chain.counts()
	total := 0
	for _, c := range calls {
		total += c
	}
	t.Logf("chain calls for %d payments: %v (%.1f per payment)", n, calls, float64(total)/n)
	want := map[string]int{"BestBlock": n, "TestAccept": n, "Broadcast": n}
	if !maps.Equal(calls, want) {
		t.Fatalf("chain calls %v, want %v", calls, want)
	}
}

// A payment recorded but not broadcast before the host stopped holds the sender's only coin;
// after the restart, a new payment from the same sender — made before Resume — spends its change,
// broadcasting it first as recorded; Resume then completes it with that transaction. (Before, the
// new payment failed: the coin was reserved and the recorded transaction's change unknown until
// Resume sent it.)
func TestPaymentBeforeResumeSpendsRecordedChange(t *testing.T) {
	h := newHost(t, 1_000_000)
	ctx := t.Context()
	pctx, cancel := context.WithCancel(ctx)
	h.chain.set(func(c *hookChain) {
		c.broadcast = func(context.Context, *wire.MsgTx) error {
			cancel() // recorded; the process stops before the broadcast reaches the node
			return context.Canceled
		}
	})
	if _, err := h.pay(pctx, "first", 300_000); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted payment: %v", err)
	}
	h.chain.set(func(c *hookChain) { c.broadcast = nil })
	if err := h.m.Close(); err != nil {
		t.Fatal(err)
	}
	if pool, _ := h.sim.Mempool(ctx); len(pool) != 0 {
		t.Fatalf("the chain has %d transactions: the first payment was broadcast", len(pool))
	}

	m := h.open()
	if _, err := m.AddIdentity(ctx, mustFixedDID(t, "host alice"), aliceKey()); err != nil {
		t.Fatal(err)
	}
	second, err := h.pay(ctx, "second", 500_000) // more than any coin but the first payment's change
	if err != nil || second.Outcome != anya.OutcomeSent {
		t.Fatalf("a payment before Resume: %+v %v", second, err)
	}
	ps, err := m.Resume(ctx)
	if err != nil || len(ps) != 1 || ps[0].PaymentID != "first" || ps[0].Outcome != anya.OutcomeSent {
		t.Fatalf("Resume: %+v %v", ps, err)
	}
	if _, err := h.sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	utxos, _ := h.sim.UTXOs(ctx, mustParse(t, h.shop).PkScript())
	got := map[int64]string{}
	for _, u := range utxos {
		got[int64(u.Value)] = u.OutPoint.Hash.String()
	}
	if len(utxos) != 2 || got[300_000] != ps[0].Txid || got[500_000] != second.Txid {
		t.Fatalf("the shop holds %+v, want both payments, confirmed, in their recorded transactions", utxos)
	}
}
