// Package workflow_test benchmarks durable verified-payment workflows against their anchor: a
// bare loop doing the same number of SQLite write transactions per workflow, in the same run.
//
// The protocols are stood in for by in-memory operations (constant identity and risk answers;
// a send that records its intent in the workflow store, a real SQLite write, and broadcasts
// nowhere), so the numbers are the cost of durability and orchestration, not of Bitcoin, Web5 or
// ML. The anchor's transactions each append one 256-byte row to a table of the same SQLite setup
// (WAL, synchronous=NORMAL, immediate transactions, one connection).
package workflow_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/workflow"
	_ "modernc.org/sqlite"
)

func ops(b *testing.B) *workflow.Registry {
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
				const txid = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
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

func input(id string) map[string]any {
	return map[string]any{"payment_id": id, "sender_did": "did:key:z6MkSender", "sender_address": "bcrt1qsender",
		"recipient_address": "bcrt1qrecipient", "amount_sat": 50_000}
}

var runs atomic.Int64

type payer struct {
	e   *workflow.Engine
	ctx context.Context
}

func (p payer) pay(b *testing.B) {
	id := fmt.Sprintf("b%d", runs.Add(1))
	res, err := p.e.Run(p.ctx, workflow.VerifiedPaymentName, id, input(id))
	if err != nil || res.Status != workflow.StatusCompleted {
		b.Fatal(err, res)
	}
}

func newPayer(b *testing.B, store workflow.Store, audited bool, storeOpts ...workflow.Option) payer {
	ctx := context.Background()
	opts := storeOpts
	if audited {
		audit, err := security.OpenAuditLog(ctx, filepath.Join(b.TempDir(), "audit.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = audit.Close() })
		g, err := security.New(security.DefaultBoundaries(), security.WithAudit(audit), security.WithRedactionKey([]byte("bench-redaction-key-0123456789")))
		if err != nil {
			b.Fatal(err)
		}
		opts = append(opts, workflow.WithGuard(g))
		ctx = security.NewContext(ctx, &security.Context{Principal: "did:key:z6MkSender", Credentials: []security.Credential{
			{Issuer: "did:web:kyc.example", Subject: "did:key:z6MkSender"}}})
	}
	e, err := workflow.New(store, ops(b), opts...)
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Register(workflow.VerifiedPayment()); err != nil {
		b.Fatal(err)
	}
	return payer{e: e, ctx: ctx}
}

func sqliteStore(b *testing.B, opts ...workflow.Option) *workflow.SQLiteStore {
	s, err := workflow.OpenSQLiteStore(context.Background(), filepath.Join(b.TempDir(), "wf.db"), opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// countingStore counts the write transactions of a run.
type countingStore struct {
	workflow.Store
	n atomic.Int64
}

func (s *countingStore) Create(ctx context.Context, r *workflow.RunRecord, d []byte) error {
	s.n.Add(1)
	return s.Store.Create(ctx, r, d)
}

func (s *countingStore) Commit(ctx context.Context, t *workflow.Transition) error {
	s.n.Add(1)
	return s.Store.Commit(ctx, t)
}

func (s *countingStore) PutIntent(ctx context.Context, k string, d []byte) error {
	s.n.Add(1)
	return s.Store.PutIntent(ctx, k, d)
}

func (s *countingStore) CreateIntent(ctx context.Context, k string, d []byte) error {
	s.n.Add(1)
	return s.Store.CreateIntent(ctx, k, d)
}

func (s *countingStore) Acquire(ctx context.Context, id, owner string, ttl time.Duration) (workflow.Lease, error) {
	s.n.Add(1)
	return s.Store.Acquire(ctx, id, owner, ttl)
}

func (s *countingStore) Release(ctx context.Context, l workflow.Lease) error {
	s.n.Add(1)
	return s.Store.Release(ctx, l)
}

// writesPerWorkflow measures how many write transactions one verified payment makes.
func writesPerWorkflow(b *testing.B) int {
	cs := &countingStore{Store: workflow.NewMemoryStore()}
	newPayer(b, cs, false).pay(b)
	return int(cs.n.Load())
}

// bare is an anchor: per workflow, the same number of write transactions, each writing one row
// of about one transition's size. keyed=false appends to a rowid table — the cheapest write SQLite
// has; keyed=true upserts a row by a text key, as the store writes runs and intents.
type bare struct {
	db     *sql.DB
	st     *sql.Stmt
	writes int
	keyed  bool
	n      int
	val    []byte
}

func newBare(b *testing.B, writes int, keyed bool) *bare {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "bare.db")+"?_busy_timeout=5000&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { _ = db.Close() })
	schema, insert := `CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)`, `INSERT INTO t (v) VALUES (?)`
	if keyed {
		schema = `CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB NOT NULL)`
		insert = `INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`
	}
	if _, err := db.Exec(schema); err != nil {
		b.Fatal(err)
	}
	st, err := db.Prepare(insert)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return &bare{db: db, st: st, writes: writes, keyed: keyed, val: make([]byte, 256)}
}

func (w *bare) run(b *testing.B) {
	w.n++
	for i := range w.writes {
		tx, err := w.db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		if w.keyed {
			_, err = tx.Stmt(w.st).Exec(fmt.Sprintf("b%d/%d", w.n, i), w.val)
		} else {
			_, err = tx.Stmt(w.st).Exec(w.val)
		}
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifiedPayment: one verified payment per op. impl=bare-appends is the anchor;
// impl=bare-upserts the same writes keyed like the store's. Bars: durable-sqlite ≥ 1,000
// workflows/s, ≤ 2× the anchor. durable-sqlite-fullsync fsyncs every commit (power-loss
// durability) and is for information.
func BenchmarkVerifiedPayment(b *testing.B) {
	writes := writesPerWorkflow(b)
	b.Logf("%d write transactions per workflow", writes)
	loop := func(b *testing.B, f func(*testing.B)) {
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			f(b)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "workflows/s")
	}
	b.Run("impl=bare-appends", func(b *testing.B) { loop(b, newBare(b, writes, false).run) })
	b.Run("impl=bare-upserts", func(b *testing.B) { loop(b, newBare(b, writes, true).run) })
	b.Run("impl=durable-sqlite", func(b *testing.B) { loop(b, newPayer(b, sqliteStore(b), false).pay) })
	b.Run("impl=durable-sqlite-fullsync", func(b *testing.B) {
		loop(b, newPayer(b, sqliteStore(b, workflow.WithFullSync()), false).pay)
	})
	b.Run("impl=durable-sqlite-audited", func(b *testing.B) { loop(b, newPayer(b, sqliteStore(b), true).pay) })
	b.Run("impl=durable-memory", func(b *testing.B) { loop(b, newPayer(b, workflow.NewMemoryStore(), false).pay) })
}

// BenchmarkDurabilityOverhead interleaves one durable workflow and one iteration of each anchor
// and reports the ratios of their 10th-percentile times (which load from other processes barely
// moves) and of their means, and the durable throughput at both.
func BenchmarkDurabilityOverhead(b *testing.B) {
	writes := writesPerWorkflow(b)
	p := newPayer(b, sqliteStore(b), false)
	appends, upserts := newBare(b, writes, false), newBare(b, writes, true)
	var durable, app, ups []time.Duration
	for b.Loop() {
		t0 := time.Now()
		p.pay(b)
		t1 := time.Now()
		appends.run(b)
		t2 := time.Now()
		upserts.run(b)
		t3 := time.Now()
		durable, app, ups = append(durable, t1.Sub(t0)), append(app, t2.Sub(t1)), append(ups, t3.Sub(t2))
	}
	pd := p10(durable)
	b.ReportMetric(float64(pd.Nanoseconds()), "durable-p10-ns")
	b.ReportMetric(float64(p10(app).Nanoseconds()), "appends-p10-ns")
	b.ReportMetric(float64(p10(ups).Nanoseconds()), "upserts-p10-ns")
	b.ReportMetric(float64(pd)/float64(p10(app)), "x-appends-p10")
	b.ReportMetric(float64(pd)/float64(p10(ups)), "x-upserts-p10")
	b.ReportMetric(float64(mean(durable))/float64(mean(app)), "x-appends-mean")
	b.ReportMetric(float64(mean(durable))/float64(mean(ups)), "x-upserts-mean")
	b.ReportMetric(float64(time.Second)/float64(mean(durable)), "workflows/s-mean")
}

func p10(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/10]
}

func mean(d []time.Duration) time.Duration {
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum / time.Duration(len(d))
}
