package security_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/security"
)

func fill(t *testing.T, log *security.AuditLog, n int) {
	t.Helper()
	for i := range n {
		if _, err := log.Append(context.Background(), security.Entry{Kind: security.KindDecision, Action: fmt.Sprintf("a%d", i),
			Decision: security.DecisionAllow, Principal: alice}); err != nil {
			t.Fatal(err)
		}
	}
}

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

func findings(t *testing.T, log *security.AuditLog, cps ...security.Checkpoint) []*security.TamperError {
	t.Helper()
	rep, err := log.Verify(context.Background(), cps...)
	if err == nil {
		return nil
	}
	if !errors.Is(err, security.ErrTampered) || rep == nil {
		t.Fatalf("Verify: %v", err)
	}
	var te *security.TamperError
	if !errors.As(err, &te) {
		t.Fatal("no *TamperError in the error")
	}
	return rep.Problems
}

func expect(t *testing.T, got []*security.TamperError, seq uint64, kind security.TamperKind) {
	t.Helper()
	for _, p := range got {
		if p.Seq == seq && p.Kind == kind {
			return
		}
	}
	t.Fatalf("no %s finding at %d in %v", kind, seq, got)
}

func TestAuditIntact(t *testing.T) {
	log, _ := openAudit(t)
	rep, err := log.Verify(context.Background(), nil)
	if err != nil || rep.Entries != 0 {
		t.Fatalf("empty log: %+v %v", rep, err)
	}
	fill(t, log, 10)
	head, err := log.Head(context.Background())
	if err != nil || head.Seq != 10 {
		t.Fatalf("head %v %v", head, err)
	}
	rep, err = log.Verify(context.Background(), &head)
	if err != nil || rep.Entries != 10 || rep.Head != head {
		t.Fatalf("intact log: %+v %v", rep, err)
	}
	es, _ := log.Entries(context.Background(), 1, 10)
	for i := 1; i < len(es); i++ {
		if es[i].Prev != es[i-1].Hash || es[i].Seq != uint64(i+1) {
			t.Fatalf("entry %d not chained", i+1)
		}
	}
}

func TestAuditDetectsModification(t *testing.T) {
	log, db := openAudit(t)
	fill(t, log, 10)
	exec(t, db, `UPDATE security_audit SET decision = 'deny' WHERE seq = 4`)
	expect(t, findings(t, log), 4, security.TamperModified)
}

func TestAuditDetectsRewriteAndRehash(t *testing.T) {
	// The attacker changes entry 4 and recomputes its hash: entry 5 no longer chains to it.
	log, db := openAudit(t)
	fill(t, log, 10)
	es, _ := log.Entries(context.Background(), 4, 1)
	e := es[0]
	e.Decision = security.DecisionDeny
	forged := forgeHash(t, e)
	exec(t, db, `UPDATE security_audit SET decision = 'deny', hash = ? WHERE seq = 4`, forged[:])
	got := findings(t, log)
	expect(t, got, 5, security.TamperBroken)
	for _, p := range got {
		if p.Seq == 4 {
			t.Fatalf("the forged entry is self-consistent; only the chain can catch it, got %v", p)
		}
	}
}

// replaceTail is what an attacker with write access to the database does to hide the entries
// from position from on: delete them and append others in their place, which Append chains
// consistently (the head row follows). Without a checkpoint kept elsewhere nothing shows.
func replaceTail(t *testing.T, log *security.AuditLog, db *sql.DB, from uint64) {
	t.Helper()
	h, err := log.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	exec(t, db, `DELETE FROM security_audit WHERE seq >= ?`, from)
	for i := from; i <= h.Seq; i++ {
		if _, err := log.Append(context.Background(), security.Entry{Kind: security.KindDecision, Action: fmt.Sprintf("forged-%d", i),
			Decision: security.DecisionAllow, Principal: alice}); err != nil {
			t.Fatal(err)
		}
	}
}

// forgeHash computes what an attacker would: the chain hash of a modified entry, by appending
// the modified entry to a scratch log with the same predecessor.
func forgeHash(t *testing.T, e security.Entry) [32]byte {
	t.Helper()
	scratch, db := openAudit(t)
	// make the scratch log's newest hash e.Prev, so that Append chains the entry the same way
	exec(t, db, `INSERT INTO security_audit (seq, time, kind, from_p, to_p, action, principal, decision, rule, reason, data_hash, prev, hash)
		VALUES (1, 0, '', '', '', '', '', '', '', '', '', ?, ?)`, make([]byte, 32), e.Prev[:])
	e.Seq, e.Hash = 0, [32]byte{}
	got, err := scratch.Append(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	return got.Hash
}

func TestAuditDetectsDeletion(t *testing.T) {
	log, db := openAudit(t)
	fill(t, log, 10)
	exec(t, db, `DELETE FROM security_audit WHERE seq IN (5, 6)`)
	expect(t, findings(t, log), 5, security.TamperDeleted)

	log2, db2 := openAudit(t)
	fill(t, log2, 5)
	exec(t, db2, `DELETE FROM security_audit WHERE seq = 1`)
	expect(t, findings(t, log2), 1, security.TamperDeleted)

	// Deleting and renumbering to hide the gap.
	log3, db3 := openAudit(t)
	fill(t, log3, 6)
	exec(t, db3, `DELETE FROM security_audit WHERE seq = 3`)
	exec(t, db3, `UPDATE security_audit SET seq = seq - 1 WHERE seq > 3`)
	exec(t, db3, `UPDATE security_audit_head SET seq = 5`)
	expect(t, findings(t, log3), 3, security.TamperBroken)
}

func TestAuditDetectsTruncation(t *testing.T) {
	log, db := openAudit(t)
	fill(t, log, 8)
	head, _ := log.Head(context.Background())
	exec(t, db, `DELETE FROM security_audit WHERE seq > 6`)
	expect(t, findings(t, log), 7, security.TamperTruncated) // via the head row
	// An attacker who also rewinds the head row is caught by a checkpoint kept elsewhere.
	exec(t, db, `UPDATE security_audit_head SET seq = 6, hash = (SELECT hash FROM security_audit WHERE seq = 6)`)
	if got := findings(t, log); got != nil {
		t.Fatalf("without a checkpoint a consistent truncation is invisible, got %v", got)
	}
	expect(t, findings(t, log, &head), 7, security.TamperTruncated)
}

func TestAuditDetectsReordering(t *testing.T) {
	log, db := openAudit(t)
	fill(t, log, 8)
	// Swap the positions of entries 3 and 4.
	exec(t, db, `UPDATE security_audit SET seq = 100 WHERE seq = 3`)
	exec(t, db, `UPDATE security_audit SET seq = 3 WHERE seq = 4`)
	exec(t, db, `UPDATE security_audit SET seq = 4 WHERE seq = 100`)
	got := findings(t, log)
	expect(t, got, 3, security.TamperReordered)
	expect(t, got, 4, security.TamperReordered)
}

func TestAuditDetectsInsertionBehindItsBack(t *testing.T) {
	log, db := openAudit(t)
	fill(t, log, 3)
	exec(t, db, `INSERT INTO security_audit SELECT 4, time, kind, from_p, to_p, action, principal, decision, rule, reason, data_hash, hash, hash FROM security_audit WHERE seq = 3`)
	got := findings(t, log)
	expect(t, got, 4, security.TamperInserted)
	expect(t, got, 4, security.TamperModified)
}

func TestAuditConcurrentWritersKeepOneChain(t *testing.T) {
	// Two handles on one file stand in for two processes; goroutines on each append at once.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.db")
	var logs []*security.AuditLog
	for range 2 {
		db, err := sqlitex.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		l, err := security.NewAuditLog(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				if _, err := logs[w%2].Append(ctx, security.Entry{Kind: security.KindDecision, Action: fmt.Sprintf("w%d-%d", w, i)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	rep, err := logs[0].Verify(ctx, nil)
	if err != nil || rep.Entries != 160 {
		t.Fatalf("%d entries, %v", rep.Entries, err)
	}
}

func TestAuditLifecycle(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.db")
	log, err := security.OpenAuditLog(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, log, 3)
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := log.Append(ctx, security.Entry{}); !errors.Is(err, security.ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if _, err := log.Verify(ctx, nil); !errors.Is(err, security.ErrClosed) {
		t.Fatalf("Verify after Close: %v", err)
	}
	log, err = security.OpenAuditLog(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	fill(t, log, 2)
	if rep, err := log.Verify(ctx, nil); err != nil || rep.Entries != 5 {
		t.Fatalf("reopened: %+v %v", rep, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := log.Append(cctx, security.Entry{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Append: %v", err)
	}
}

func TestAuditVerifyBoundsItsReport(t *testing.T) {
	log, db := openAudit(t)
	n := security.MaxVerifyProblems + 50
	fill(t, log, n)
	exec(t, db, `UPDATE security_audit SET decision = 'deny'`)
	rep, err := log.Verify(context.Background())
	if !errors.Is(err, security.ErrTampered) || len(rep.Problems) != security.MaxVerifyProblems || rep.Omitted != 50 || rep.Entries != n {
		t.Fatalf("%d problems listed, %d omitted, %d entries: %v", len(rep.Problems), rep.Omitted, rep.Entries, err != nil)
	}
	if rep.Problems[0].Seq != 1 || rep.Problems[len(rep.Problems)-1].Seq != uint64(security.MaxVerifyProblems) {
		t.Fatalf("problems not in order of position: first %d, last %d", rep.Problems[0].Seq, rep.Problems[len(rep.Problems)-1].Seq)
	}
}

func TestAuditVerifyReadsOneSnapshot(t *testing.T) {
	// Appends while Verify runs land after its snapshot: never reported as inserted behind its back.
	log, _ := openAudit(t)
	fill(t, log, 200)
	ctx := context.Background()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			if _, err := log.Append(ctx, security.Entry{Kind: security.KindDecision, Action: fmt.Sprint("late-", i)}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 20 {
		if rep, err := log.Verify(ctx); err != nil {
			t.Errorf("Verify during appends: %v (%+v)", err, rep.Problems)
			break
		}
	}
	close(done)
	wg.Wait()
}

// Appends made at once on one log are committed together (group commit): each caller gets its
// own entry back at its own position, the positions run 1..n without gaps or repeats, what each
// caller got is what the log holds, and the chain verifies. A caller that gives up while its
// batch is committed does not fail the others.
func TestAuditGroupCommit(t *testing.T) {
	log, _ := openAudit(t)
	ctx := context.Background()
	const writers, each = 16, 40
	got := make([][]security.Entry, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				cctx := ctx
				if i%7 == 3 { // some callers give up at once: their entry may or may not be in
					c, cancel := context.WithCancel(ctx)
					cancel()
					cctx = c
				}
				e, err := log.Append(cctx, security.Entry{Kind: security.KindDecision, Action: fmt.Sprintf("w%d-%d", w, i)})
				switch {
				case err == nil:
					got[w] = append(got[w], e)
				case errors.Is(err, context.Canceled) && cctx != ctx:
				default:
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	rep, err := log.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]string{}
	total := 0
	for _, es := range got {
		last := uint64(0)
		for _, e := range es {
			if e.Seq <= last {
				t.Fatalf("one caller's appends out of order: %d after %d", e.Seq, last)
			}
			last = e.Seq
			if prev, dup := seen[e.Seq]; dup {
				t.Fatalf("position %d given to %s and %s", e.Seq, prev, e.Action)
			}
			seen[e.Seq] = e.Action
			stored, err := log.Entries(ctx, e.Seq, 1)
			if err != nil || len(stored) != 1 || stored[0].Hash != e.Hash || stored[0].Action != e.Action || !stored[0].Time.Equal(e.Time) {
				t.Fatalf("entry %d: returned %+v, stored %+v (%v)", e.Seq, e, stored, err)
			}
			total++
		}
	}
	if rep.Entries != total || rep.Head.Seq != uint64(total) {
		t.Fatalf("the log holds %d entries up to %d; callers got %d", rep.Entries, rep.Head.Seq, total)
	}
}
