//go:build cgo

package ml_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/dataset"
	"github.com/anya-org/anya-go/ml/mltest"
	"github.com/anya-org/anya-go/models"
)

// The benchmarks in this file measure the performance bar; `make bench` runs them with
// -cpu 1,2. Numbers are rows (transactions) per second unless the name says otherwise.

func fraudModel(b *testing.B) (*ml.Model, []ml.Vector) {
	b.Helper()
	m, err := models.Load(context.Background(), models.Fraud)
	if err != nil {
		b.Fatal(err)
	}
	d := dataset.Transactions(42, 4096)
	vs := make([]ml.Vector, d.Rows())
	for i := range vs {
		vs[i] = ml.Vector{Schema: d.Schema.Name, Version: d.Schema.Version, Values: d.Row(i)}
	}
	return m, vs
}

func backend(b *testing.B, name string) ml.Backend {
	b.Helper()
	if name == "go" {
		return ml.NewGoBackend()
	}
	o, err := ml.NewORTBackend("")
	if err != nil {
		b.Fatal(err)
	}
	return o
}

// BenchmarkBackends compares the two backends on the SDK's models and the reference
// models (MLP 32→16→1; 50 trees of depth 4), single rows and batches of 256: the pure-Go
// evaluator's bar is within 3× of ONNX Runtime.
func BenchmarkBackends(b *testing.B) {
	ctx := context.Background()
	type entry struct {
		name string
		m    *ml.Model
	}
	var ms []entry
	for _, n := range []string{models.Fraud, models.Reputation} {
		m, err := models.Load(ctx, n)
		if err != nil {
			b.Fatal(err)
		}
		ms = append(ms, entry{n, m})
	}
	ms = append(ms, entry{"mlp-32-16-1", mltest.MLP(1, 32, 16).Model}, entry{"trees-50x4", mltest.Trees(2, 50, 4, 32).Model})
	for _, e := range ms {
		rows := mltest.Rows(3, 256, e.m.Width())
		var x []float32
		for _, r := range rows {
			x = append(x, r...)
		}
		for _, n := range []int{1, 256} {
			for _, bk := range []string{"ort", "go"} {
				b.Run(fmt.Sprintf("%s/batch=%d/%s", e.name, n, bk), func(b *testing.B) {
					be := backend(b, bk)
					defer be.Close()
					s, err := be.NewSession(e.m)
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					out := make([]float32, n)
					b.ReportAllocs()
					for b.Loop() {
						if err := s.Run(x, n, out); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
				})
			}
		}
	}
}

// BenchmarkEngineScore is the end-to-end bar: feature vectors in, scores out, through
// validation, the queue and the micro-batcher, from many concurrent callers of Score (each
// call one transaction) or of ScoreBatch (256 per call), with the default max batch (32) and
// with 256.
func BenchmarkEngineScore(b *testing.B) {
	m, vs := fraudModel(b)
	for _, bk := range []string{"ort", "go"} {
		for _, mb := range []int{ml.DefaultMaxBatch, 256} {
			b.Run(fmt.Sprintf("Score/maxbatch=%d/%s", mb, bk), func(b *testing.B) {
				be := backend(b, bk)
				defer be.Close()
				e, err := ml.NewEngine(m, ml.WithBackend(be), ml.WithMaxBatch(mb))
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				b.ReportAllocs()
				b.SetParallelism(64)
				b.RunParallel(func(pb *testing.PB) {
					i := rand.IntN(len(vs))
					for pb.Next() {
						if _, err := e.Score(context.Background(), vs[i%len(vs)]); err != nil {
							b.Error(err)
							return
						}
						i++
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
				st := e.Stats()
				b.ReportMetric(float64(st.Rows)/float64(max(st.Batches, 1)), "rows/batch")
			})
			b.Run(fmt.Sprintf("ScoreBatch256/maxbatch=%d/%s", mb, bk), func(b *testing.B) {
				be := backend(b, bk)
				defer be.Close()
				e, err := ml.NewEngine(m, ml.WithBackend(be), ml.WithMaxBatch(mb))
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				b.ReportAllocs()
				b.SetParallelism(2)
				b.RunParallel(func(pb *testing.PB) {
					i := rand.IntN(len(vs) - 256)
					for pb.Next() {
						if _, err := e.ScoreBatch(context.Background(), vs[i:i+256]); err != nil {
							b.Error(err)
							return
						}
						i = (i + 256) % (len(vs) - 256)
					}
				})
				b.ReportMetric(float64(b.N*256)/b.Elapsed().Seconds(), "tx/s")
			})
		}
	}
}

// BenchmarkEngineLatency offers single Score calls at a fixed 1,000 per second (open loop: a
// call starts on schedule whether or not earlier ones finished) and reports latency
// percentiles. The bar is p99 ≤ 1 ms. b.N is the number of calls.
func BenchmarkEngineLatency(b *testing.B) {
	m, vs := fraudModel(b)
	for _, bk := range []string{"ort", "go"} {
		b.Run(bk, func(b *testing.B) {
			be := backend(b, bk)
			defer be.Close()
			e, err := ml.NewEngine(m, ml.WithBackend(be))
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			const rate = 1000
			n := max(b.N, 2000)
			lat := make([]time.Duration, n)
			var wg sync.WaitGroup
			tick := time.NewTicker(time.Second / rate)
			defer tick.Stop()
			b.ResetTimer()
			for i := range n {
				<-tick.C
				wg.Go(func() {
					start := time.Now()
					if _, err := e.Score(context.Background(), vs[i%len(vs)]); err != nil {
						b.Error(err)
					}
					lat[i] = time.Since(start)
				})
			}
			wg.Wait()
			b.StopTimer()
			slices.Sort(lat)
			q := func(p float64) float64 { return float64(lat[int(p*float64(n-1))].Microseconds()) }
			b.ReportMetric(q(0.5), "p50-µs")
			b.ReportMetric(q(0.99), "p99-µs")
			b.ReportMetric(q(0.999), "p99.9-µs")
			b.ReportMetric(0, "ns/op")
		})
	}
}
