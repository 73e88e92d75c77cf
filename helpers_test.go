package anya_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/dwn"
)

// env is a Manager on embedded defaults with two identities: alice, funded (three mature
// coinbases) and linked to her address, and bob, unfunded and unlinked.
type env struct {
	t          *testing.T
	ctx        context.Context
	m          *anya.Manager
	sim        *simchain.Chain
	alice, bob *anya.Identity
	aliceLink  *anya.Link
	now        func() time.Time // the Manager's clock, for messages the test signs
}

func newEnv(t *testing.T, opts ...anya.Option) *env {
	t.Helper()
	m, err := anya.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	e := &env{t: t, ctx: t.Context(), m: m, sim: m.Chain().(*simchain.Chain), now: time.Now}
	if e.alice, err = m.NewIdentity(e.ctx); err != nil {
		t.Fatal(err)
	}
	if e.bob, err = m.NewIdentity(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.mine(3, e.alice)
	e.mine(100, nil)
	e.aliceLink = e.link(e.alice)
	return e
}

// mine mines n blocks, paying the coinbases to id when it is not nil.
func (e *env) mine(n int, id *anya.Identity) {
	e.t.Helper()
	var opts []simchain.MineOption
	if id != nil {
		opts = append(opts, simchain.PayTo(id.Address.PkScript()))
	}
	if _, err := e.sim.Mine(n, opts...); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) link(id *anya.Identity) *anya.Link {
	e.t.Helper()
	ch, err := e.m.Challenge(id.String(), id.Address.String())
	if err != nil {
		e.t.Fatal(err)
	}
	sig, err := id.SignChallenge(ch)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.m.Execute(e.ctx, anya.BitcoinToWeb5{DID: id.String(), Address: id.Address.String(), Challenge: ch, Signature: sig})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.(*anya.Link)
}

// verified returns a context carrying the security context of id paying from its address.
func (e *env) verified(id *anya.Identity) context.Context {
	e.t.Helper()
	sc, err := e.m.SecurityContext(e.ctx, id.String(), id.Address.String(), "")
	if err != nil {
		e.t.Fatal(err)
	}
	return security.NewContext(e.ctx, sc)
}

// records returns the records at path in id's store, read as id.
func (e *env) records(id *anya.Identity, path string) []*dwn.Record {
	return e.protocolRecords(id, anya.ProtocolURI, path)
}

// bridgeRecords returns the records the bridges keep at path in id's store, read as id.
func (e *env) bridgeRecords(id *anya.Identity, path string) []*dwn.Record {
	return e.protocolRecords(id, bridge.ProtocolURI, path)
}

// settle waits until the Manager's bridges have processed the chain's tip.
func (e *env) settle() {
	e.t.Helper()
	settle(e.t, e.m)
}

// settle waits until m's bridges have processed its chain's tip.
func settle(t testing.TB, m *anya.Manager) {
	t.Helper()
	tip, err := m.Chain().BestBlock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.WaitBridges(t.Context(), tip); err != nil {
		t.Fatal(err)
	}
}

func (e *env) protocolRecords(id *anya.Identity, protocol, path string) []*dwn.Record {
	e.t.Helper()
	q, err := dwn.NewQuery(e.ctx, id.DID, id.String(), dwn.Query{Filter: dwn.Filter{Protocol: protocol, ProtocolPath: path}},
		dwn.WithTimestamp(e.now()))
	if err != nil {
		e.t.Fatal(err)
	}
	reply, err := e.m.DWN().Process(e.ctx, id.String(), q)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply.Records
}

func (e *env) paymentRecords(id *anya.Identity) map[string]anya.PaymentRecord {
	e.t.Helper()
	out := map[string]anya.PaymentRecord{}
	for _, r := range e.records(id, anya.PathPayment) {
		var pr anya.PaymentRecord
		if err := json.Unmarshal(r.Data, &pr); err != nil {
			e.t.Fatal(err)
		}
		out[pr.PaymentID] = pr
	}
	return out
}

// audit returns every audit entry.
func (e *env) audit() []security.Entry {
	e.t.Helper()
	var all []security.Entry
	for from := uint64(1); ; from += 500 {
		es, err := e.m.Audit().Entries(e.ctx, from, 500)
		if err != nil {
			e.t.Fatal(err)
		}
		all = append(all, es...)
		if len(es) < 500 {
			return all
		}
	}
}

func (e *env) pay(id string, from *anya.Identity, to *anya.Identity, amount int64) *anya.Payment {
	e.t.Helper()
	res, err := e.m.Execute(e.ctx, anya.TriProtocol{PaymentID: id, SenderDID: from.String(), SenderAddress: from.Address.String(),
		RecipientAddress: to.Address.String(), AmountSat: amount})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.(*anya.Payment)
}

// testClock is a clock tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
