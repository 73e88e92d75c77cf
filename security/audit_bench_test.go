package security

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
)

// fillFast writes n chained entries in one transaction, as Append would chain them.
func fillFast(tb testing.TB, l *AuditLog, n int) {
	tb.Helper()
	ctx := context.Background()
	err := sqlitex.Tx(ctx, l.db, func(tx *sql.Tx) error {
		var prev [32]byte
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		for i := 1; i <= n; i++ {
			e := Entry{Seq: uint64(i), Time: t0.Add(time.Duration(i) * time.Millisecond), Kind: KindCrossing, From: "ml", To: "bitcoin",
				Action: "bitcoin.send_payment", Principal: "did:key:z6MkAlice", Decision: DecisionAllow,
				Reason:   "redacted data sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				DataHash: fmt.Sprintf("sha256:%064x", i), Prev: prev}
			e.Hash = hashEntry(&e)
			if _, err := tx.ExecContext(ctx, `INSERT INTO security_audit (seq, time, kind, from_p, to_p, action, principal, decision, rule, reason, data_hash, prev, hash)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.Seq, e.Time.UnixNano(), e.Kind, e.From, e.To, e.Action, e.Principal,
				e.Decision, e.Rule, e.Reason, e.DataHash, e.Prev[:], e.Hash[:]); err != nil {
				return err
			}
			prev = e.Hash
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO security_audit_head (id, seq, hash) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, n, prev[:])
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// peakHeap samples the bytes held by heap objects until stop is called and returns the largest
// sample: what a run needed at once, as opposed to what it allocated in total.
func peakHeap() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 { close(done); wg.Wait(); return peak }
}

// BenchmarkVerify verifies an intact log of 100k entries. B/op is what one Verify allocates in
// total; peak-heap-MB the most heap in use at once while it ran (live data plus garbage not yet
// collected).
//
//	go test -run '^$' -bench BenchmarkVerify -benchmem -benchtime 3x ./security
func BenchmarkVerify(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			ctx := context.Background()
			l, err := OpenAuditLog(ctx, filepath.Join(b.TempDir(), "audit.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			fillFast(b, l, n)
			b.ReportAllocs()
			var peak uint64
			b.ResetTimer()
			for b.Loop() {
				stop := peakHeap()
				rep, err := l.Verify(ctx, nil)
				peak = max(peak, stop())
				if err != nil || rep.Entries != n {
					b.Fatalf("%v %v", rep, err)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

// TestHashEntryCompatible pins the chain hash: logs written by earlier versions must still verify.
func TestHashEntryCompatible(t *testing.T) {
	e := Entry{Time: time.Unix(0, 1772366400000000001), Kind: KindCrossing, From: "ml", To: "bitcoin", Action: "bitcoin.send_payment",
		Principal: "did:key:z6MkAlice", Decision: DecisionDeny, Rule: "privilege", Reason: "an ML result cannot authorise: field \"approved\"",
		DataHash: "sha256:00"}
	for i := range e.Prev {
		e.Prev[i] = byte(i)
	}
	h := hashEntry(&e)
	if got := hex.EncodeToString(h[:]); got != "7d933c6d37c5c9e4ea3cd5c76fa93d413a4c2f26a7c87962d1ad97fc00098179" {
		t.Fatalf("hash %s: the chain format changed", got)
	}
	if allocs := testing.AllocsPerRun(100, func() { buf := make([]byte, 0, 512); _ = hashEntryBuf(&e, &buf) }); allocs > 1 {
		t.Errorf("hashEntryBuf allocates %v times", allocs)
	}
}
