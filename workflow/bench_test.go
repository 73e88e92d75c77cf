package workflow_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/workflow"
)

// benchOps is the verified payment's operation set with in-memory stand-ins for the protocols:
// constant identity and risk answers, and a send that records its intent in the store (a real
// SQLite write) before "broadcasting" to nothing.
func benchOps(b *testing.B) *workflow.Registry {
	ops := workflow.VerifiedPaymentOperations()
	for i := range ops {
		switch ops[i].Name {
		case workflow.OpVerifyIdentity:
			ops[i].Func = func(context.Context, *workflow.Call) (map[string]any, error) {
				return map[string]any{"sender_verified": true, "verification_score": 0.93}, nil
			}
		case workflow.OpAssessRisk:
			ops[i].Func = func(context.Context, *workflow.Call) (map[string]any, error) {
				return map[string]any{"risk_score": 0.12}, nil
			}
		case workflow.OpSendPayment:
			ops[i].Func = func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				txid := "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
				if err := c.RecordIntent(ctx, []byte(`{"txid":"`+txid+`","raw":"0100000001c997a5e56e104102fa209c6a852dd90660a20b2d9c352423edce25857fcd3704000000004847304402204e45e16932b8af514961a1d3a1a25fdf3f4f7732e9d624c6c61548ab5fb8cd410220181522ec8eca07de4860a4acdd12909d831cc56cbbac4622082221a8768d1d0901ffffffff"}`)); err != nil {
					return nil, err
				}
				return map[string]any{"txid": txid}, nil
			}
		case workflow.OpRecordPayment:
			ops[i].Func = func(_ context.Context, c *workflow.Call) (map[string]any, error) {
				return map[string]any{"record_id": c.IdempotencyKey}, nil
			}
		}
	}
	reg, err := workflow.NewRegistry(ops...)
	if err != nil {
		b.Fatal(err)
	}
	return reg
}

// countingStore counts write transactions (Create, Commit, PutIntent).
type countingStore struct {
	workflow.Store
	writes atomic.Int64
}

func (s *countingStore) Create(ctx context.Context, r *workflow.RunRecord, d []byte) error {
	s.writes.Add(1)
	return s.Store.Create(ctx, r, d)
}

func (s *countingStore) Commit(ctx context.Context, t *workflow.Transition) error {
	s.writes.Add(1)
	return s.Store.Commit(ctx, t)
}

func (s *countingStore) PutIntent(ctx context.Context, k string, d []byte) error {
	s.writes.Add(1)
	return s.Store.PutIntent(ctx, k, d)
}

var benchRun atomic.Int64

func runPayments(b *testing.B, e *workflow.Engine, ctx context.Context) {
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		id := fmt.Sprintf("b%d", benchRun.Add(1))
		res, err := e.Run(ctx, workflow.VerifiedPaymentName, id, paymentInput(id))
		if err != nil || res.Status != workflow.StatusCompleted {
			b.Fatal(err, res)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "workflows/s")
}

// BenchmarkVerifiedPayment runs durable verified payments (stand-in operations, see benchOps)
// and, in the same run, a bare loop doing the same number of SQLite write transactions per
// iteration, so the durability overhead reads as the ratio of the two.
func BenchmarkVerifiedPayment(b *testing.B) {
	ctx := context.Background()
	openStore := func(b *testing.B) *workflow.SQLiteStore {
		s, err := workflow.OpenSQLiteStore(ctx, filepath.Join(b.TempDir(), "wf.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	}
	// Writes per workflow, measured.
	probe := &countingStore{Store: workflow.NewMemoryStore()}
	pe := newEngine(b, probe, benchOps(b), []*workflow.Definition{workflow.VerifiedPayment()})
	if _, err := pe.Run(ctx, workflow.VerifiedPaymentName, "probe", paymentInput("probe")); err != nil {
		b.Fatal(err)
	}
	writes := int(probe.writes.Load())

	b.Run("durable/sqlite", func(b *testing.B) {
		e := newEngine(b, openStore(b), benchOps(b), []*workflow.Definition{workflow.VerifiedPayment()})
		runPayments(b, e, ctx)
	})
	b.Run("durable/sqlite+audited-boundaries", func(b *testing.B) {
		store := openStore(b)
		audit, err := security.OpenAuditLog(ctx, filepath.Join(b.TempDir(), "audit.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = audit.Close() })
		e := newEngine(b, store, benchOps(b), []*workflow.Definition{workflow.VerifiedPayment()}, workflow.WithGuard(guard(b, audit)))
		runPayments(b, e, security.NewContext(ctx, senderContext("did:key:z6MkSender")))
	})
	b.Run("durable/memory", func(b *testing.B) {
		e := newEngine(b, workflow.NewMemoryStore(), benchOps(b), []*workflow.Definition{workflow.VerifiedPayment()})
		runPayments(b, e, ctx)
	})
	b.Run(fmt.Sprintf("bare/sqlite-%d-writes", writes), func(b *testing.B) {
		bare := newBareWriter(b, writes)
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			bare.run(b)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "workflows/s")
	})
	// Both in one loop, alternating, so that load from other processes hits both alike.
	b.Run("overhead/interleaved", func(b *testing.B) {
		e := newEngine(b, openStore(b), benchOps(b), []*workflow.Definition{workflow.VerifiedPayment()})
		bare := newBareWriter(b, writes)
		var durable, plain time.Duration
		for b.Loop() {
			t0 := time.Now()
			id := fmt.Sprintf("b%d", benchRun.Add(1))
			if _, err := e.Run(ctx, workflow.VerifiedPaymentName, id, paymentInput(id)); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			bare.run(b)
			durable, plain = durable+t1.Sub(t0), plain+time.Since(t1)
		}
		b.ReportMetric(float64(durable.Nanoseconds())/float64(b.N), "durable-ns/wf")
		b.ReportMetric(float64(plain.Nanoseconds())/float64(b.N), "bare-ns/wf")
		b.ReportMetric(float64(durable)/float64(plain), "overhead-x")
		b.ReportMetric(float64(b.N)/durable.Seconds(), "workflows/s")
	})
}

// bareWriter does, per run, as many SQLite write transactions as a durable verified payment,
// each upserting one row of about one transition's size.
type bareWriter struct {
	db     *sql.DB
	st     *sql.Stmt
	writes int
	n      int
	val    []byte
}

func newBareWriter(b *testing.B, writes int) *bareWriter {
	ctx := context.Background()
	db, err := sqlitex.Open(ctx, filepath.Join(b.TempDir(), "bare.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID`); err != nil {
		b.Fatal(err)
	}
	st, err := db.Prepare(`INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return &bareWriter{db: db, st: st, writes: writes, val: make([]byte, 256)}
}

func (w *bareWriter) run(b *testing.B) {
	ctx := context.Background()
	w.n++
	for i := range w.writes {
		if err := sqlitex.Tx(ctx, w.db, func(tx *sql.Tx) error {
			_, err := tx.Stmt(w.st).Exec(fmt.Sprintf("%d/%d", w.n, i), w.val)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}
