// Package audittest is the conformance suite of security.AuditStore: every store (SQLite, NATS
// JetStream) runs it with a one-line test, and with it the AuditLog's chain and verifier on
// that store.
//
//	func TestConformance(t *testing.T) { audittest.Run(t, newBackend) }
//
// # Tampering
//
// A backend gives the suite a Rewrite function: what an attacker with write access to the
// store's data can do — replace the stored entries and the store's own record of its newest
// one. The suite uses it to modify, delete, reorder and truncate entries (with and without
// rehashing the chain, with and without rewriting the store's record) and checks that Verify
// reports each, against the store's record alone where that suffices and against a signed
// checkpoint (an anchored head) where only that can tell.
package audittest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/security"
)

// Backend is one store's data under test.
type Backend struct {
	// Open returns a new handle on the data: another writer (process, host) of the same log.
	Open func(t *testing.T) security.AuditStore
	// Rewrite replaces the stored log as an attacker with write access to the data could:
	// entries stored as given, each at its Seq, and recorded as the store's record of its newest
	// entry (recorded.Seq is at least every entry's Seq; its hash is kept where the store
	// records one).
	Rewrite func(ctx context.Context, entries []security.Entry, recorded security.Head) error
}

// Run checks the AuditStore contract and the log's verifier on it. newBackend returns a
// backend on new, empty data for each subtest.
func Run(t *testing.T, newBackend func(t *testing.T) Backend) {
	t.Run("Empty", func(t *testing.T) { testEmpty(t, newBackend(t)) })
	t.Run("AppendAndRead", func(t *testing.T) { testAppendAndRead(t, newBackend(t)) })
	t.Run("Conflict", func(t *testing.T) { testConflict(t, newBackend(t)) })
	t.Run("OneChainManyWriters", func(t *testing.T) { testWriters(t, newBackend(t)) })
	t.Run("Reopen", func(t *testing.T) { testReopen(t, newBackend(t)) })
	t.Run("Context", func(t *testing.T) { testContext(t, newBackend(t)) })
	for _, tc := range tampers {
		t.Run("Tamper/"+tc.name, func(t *testing.T) { testTamper(t, newBackend(t), tc) })
	}
}

func newLog(t *testing.T, s security.AuditStore, opts ...security.Option) *security.AuditLog {
	t.Helper()
	l, err := security.NewAuditLogOn(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func entry(i int) security.Entry {
	return security.Entry{Time: time.Unix(1_800_000_000+int64(i), 0), Kind: security.KindDecision, From: "web5", To: "bitcoin",
		Action: fmt.Sprintf("action-%d", i), Principal: "did:example:alice", Decision: security.DecisionAllow, Rule: "allow",
		Reason: "test", DataHash: fmt.Sprintf("%064x", i)}
}

func fill(t *testing.T, l *security.AuditLog, n int) []security.Entry {
	t.Helper()
	out := make([]security.Entry, n)
	for i := range n {
		e, err := l.Append(t.Context(), entry(i))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = e
	}
	return out
}

func testEmpty(t *testing.T, b Backend) {
	s := b.Open(t)
	if h, err := s.Last(t.Context()); err != nil || h != (security.Head{}) {
		t.Fatalf("Last of an empty store: %v %v", h, err)
	}
	rep, err := newLog(t, s).Verify(t.Context())
	if err != nil || rep.Entries != 0 {
		t.Fatalf("Verify of an empty log: %+v %v", rep, err)
	}
}

func testAppendAndRead(t *testing.T, b Backend) {
	ctx := t.Context()
	l := newLog(t, b.Open(t))
	written := fill(t, l, 10)
	for i, e := range written {
		if e.Seq != uint64(i+1) || e.Hash != security.HashEntry(e) {
			t.Fatalf("entry %d as appended: %+v", i, e)
		}
		if i > 0 && e.Prev != written[i-1].Hash {
			t.Fatalf("entry %d is not chained to entry %d", i+1, i)
		}
	}
	got, err := l.Entries(ctx, 1, 100)
	if err != nil || len(got) != 10 {
		t.Fatalf("Entries: %d %v", len(got), err)
	}
	for i := range got {
		if got[i].Hash != written[i].Hash || got[i].Seq != written[i].Seq || got[i].Action != written[i].Action ||
			!got[i].Time.Equal(written[i].Time) || got[i].DataHash != written[i].DataHash {
			t.Fatalf("entry %d read back as %+v, written %+v", i+1, got[i], written[i])
		}
	}
	if part, err := l.Entries(ctx, 4, 3); err != nil || len(part) != 3 || part[0].Seq != 4 || part[2].Seq != 6 {
		t.Fatalf("Entries(4, 3): %+v %v", part, err)
	}
	h, err := l.Head(ctx)
	if err != nil || h != (security.Head{Seq: 10, Hash: written[9].Hash}) {
		t.Fatalf("Head: %v %v", h, err)
	}
	rep, err := l.Verify(ctx, h)
	if err != nil || rep.Entries != 10 || rep.Head != h || rep.Checkpoint != h {
		t.Fatalf("Verify: %+v %v", rep, err)
	}
}

// testConflict: the store takes an entry only at the next position.
func testConflict(t *testing.T, b Backend) {
	ctx := t.Context()
	s := b.Open(t)
	written := fill(t, newLog(t, s), 3)
	for _, seq := range []uint64{1, 3, 5} {
		e := entry(99)
		e.Seq, e.Prev = seq, written[0].Hash
		e.Hash = security.HashEntry(e)
		if err := s.Append(ctx, &e); !errors.Is(err, security.ErrAuditConflict) {
			t.Fatalf("Append at %d after 3 entries: %v, want ErrAuditConflict", seq, err)
		}
	}
	if h, err := s.Last(ctx); err != nil || h.Seq != 3 || h.Hash != written[2].Hash {
		t.Fatalf("Last after refused appends: %v %v", h, err)
	}
}

// testWriters: logs on three handles append at once; the chain does not fork.
func testWriters(t *testing.T, b Backend) {
	ctx := t.Context()
	const writers, each = 3, 25
	logs := make([]*security.AuditLog, writers)
	for i := range logs {
		logs[i] = newLog(t, b.Open(t))
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := logs[w].Append(ctx, entry(w*1000+i)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rep, err := logs[0].Verify(ctx)
	if err != nil || rep.Entries != writers*each {
		t.Fatalf("after %d concurrent appends: %+v %v", writers*each, rep, err)
	}
	all, err := logs[1].Entries(ctx, 1, writers*each+10)
	if err != nil || len(all) != writers*each {
		t.Fatalf("Entries: %d %v", len(all), err)
	}
	seen := map[string]bool{}
	for i, e := range all {
		if e.Seq != uint64(i+1) || seen[e.Action] {
			t.Fatalf("entry %d: seq %d, action %s (seen before: %v)", i+1, e.Seq, e.Action, seen[e.Action])
		}
		seen[e.Action] = true
	}
}

func testReopen(t *testing.T, b Backend) {
	ctx := t.Context()
	written := fill(t, newLog(t, b.Open(t)), 4)
	l := newLog(t, b.Open(t))
	if h, err := l.Head(ctx); err != nil || h.Seq != 4 || h.Hash != written[3].Hash {
		t.Fatalf("Head on another handle: %v %v", h, err)
	}
	e, err := l.Append(ctx, entry(4))
	if err != nil || e.Seq != 5 || e.Prev != written[3].Hash {
		t.Fatalf("append on another handle: %+v %v", e, err)
	}
	if rep, err := l.Verify(ctx); err != nil || rep.Entries != 5 {
		t.Fatalf("Verify: %+v %v", rep, err)
	}
}

func testContext(t *testing.T, b Backend) {
	s := b.Open(t)
	fill(t, newLog(t, s), 2)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Last(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Last: %v", err)
	}
	e := entry(7)
	e.Seq = 3
	if err := s.Append(ctx, &e); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append: %v", err)
	}
	if _, err := s.Scan(ctx, 1, 0, func(*security.Entry, bool) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Scan: %v", err)
	}
	if h, err := s.Last(t.Context()); err != nil || h.Seq != 2 {
		t.Fatalf("a cancelled Append stored something: %v %v", h, err)
	}
}

// tamper is one attack: given the 12 entries written (and the head), what to store instead, and
// what the store then records as its newest entry.
type tamper struct {
	name string
	do   func(es []security.Entry, head security.Head) ([]security.Entry, security.Head)
	// want is the finding with no checkpoint (empty: none can be made), and anchored the finding
	// against a checkpoint of the head before the attack.
	want, anchored security.TamperKind
	at             uint64 // position of the first finding
}

// rehash rechains es from position from on, as an attacker who rewrites entries would.
func rehash(es []security.Entry, from int) {
	for i := from - 1; i < len(es); i++ {
		if i > 0 {
			es[i].Prev = es[i-1].Hash
		}
		es[i].Hash = security.HashEntry(es[i])
	}
}

var tampers = []tamper{
	{name: "ModifiedInPlace", want: security.TamperModified, anchored: security.TamperModified, at: 5,
		do: func(es []security.Entry, h security.Head) ([]security.Entry, security.Head) {
			es[4].Decision = security.DecisionDeny
			return es, h
		}},
	{name: "ModifiedAndRehashed", want: "", anchored: security.TamperModified, at: 12,
		do: func(es []security.Entry, h security.Head) ([]security.Entry, security.Head) {
			es[4].Decision = security.DecisionDeny
			rehash(es, 5)
			return es, security.Head{Seq: 12, Hash: es[11].Hash}
		}},
	{name: "DeletedInTheMiddle", want: security.TamperDeleted, anchored: security.TamperDeleted, at: 6,
		do: func(es []security.Entry, h security.Head) ([]security.Entry, security.Head) {
			return append(es[:5:5], es[6:]...), h
		}},
	{name: "Reordered", want: security.TamperReordered, anchored: security.TamperReordered, at: 3,
		do: func(es []security.Entry, h security.Head) ([]security.Entry, security.Head) {
			es[2], es[3] = es[3], es[2]
			es[2].Seq, es[3].Seq = 3, 4
			return es, h
		}},
	{name: "TruncatedBehindTheStoresBack", want: security.TamperTruncated, anchored: security.TamperTruncated, at: 10,
		do: func(es []security.Entry, h security.Head) ([]security.Entry, security.Head) {
			return es[:9], h
		}},
	{name: "TruncatedWithTheStoresRecord", want: "", anchored: security.TamperTruncated, at: 10,
		do: func(es []security.Entry, h security.Head) ([]security.Entry, security.Head) {
			return es[:9], security.Head{Seq: 9, Hash: es[8].Hash}
		}},
}

func testTamper(t *testing.T, b Backend, tc tamper) {
	ctx := t.Context()
	pub, priv, _ := ed25519.GenerateKey(nil)
	signer, err := security.NewEd25519Signer(priv, "audit-key")
	if err != nil {
		t.Fatal(err)
	}
	l := newLog(t, b.Open(t), security.WithCheckpointSigner(signer))
	written := fill(t, l, 12)
	sh, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The anchored head is kept outside the store, as a string, and parsed back and verified.
	verifier, _ := security.NewEd25519Verifier(pub, "audit-key")
	anchor, err := security.ParseSignedHead(ctx, sh.String(), verifier)
	if err != nil {
		t.Fatal(err)
	}
	es, recorded := tc.do(append([]security.Entry(nil), written...), anchor.Head())
	if err := b.Rewrite(ctx, es, recorded); err != nil {
		t.Fatal(err)
	}
	check := func(want security.TamperKind, cps ...security.Checkpoint) {
		t.Helper()
		rep, err := newLog(t, b.Open(t)).Verify(ctx, cps...)
		if want == "" {
			if err != nil {
				t.Fatalf("Verify without an anchor: %v (this attack is only visible against one)", err)
			}
			return
		}
		if !errors.Is(err, security.ErrTampered) || rep == nil || len(rep.Problems) == 0 {
			t.Fatalf("Verify (%d checkpoints): %v, want %s at %d", len(cps), err, want, tc.at)
		}
		for _, p := range rep.Problems {
			if p.Kind == want && p.Seq == tc.at {
				return
			}
		}
		t.Fatalf("Verify (%d checkpoints) found %v, want %s at %d", len(cps), rep.Problems, want, tc.at)
	}
	check(tc.want)
	check(tc.anchored, anchor)
}
