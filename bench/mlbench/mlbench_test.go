//go:build cgo

// Package mlbench compares the SDK's inference engine with raw onnxruntime_go calls on the same
// models and batch sizes, and the pure-Go evaluator with both.
package mlbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/dataset"
	"github.com/anya-org/anya-go/ml/mltest"
	"github.com/anya-org/anya-go/models"
)

// benchBatches are the batch sizes compared.
var benchBatches = []int{1, 16, 256}

type benchModel struct {
	name string
	m    *ml.Model
	rows [][]float32
}

func benchModels(b *testing.B) []benchModel {
	b.Helper()
	ctx := context.Background()
	fraud, err := models.Load(ctx, models.Fraud)
	if err != nil {
		b.Fatal(err)
	}
	rep, err := models.Load(ctx, models.Reputation)
	if err != nil {
		b.Fatal(err)
	}
	rowsOf := func(d *dataset.Dataset) [][]float32 {
		out := make([][]float32, d.Rows())
		for i := range out {
			out[i] = d.Row(i)
		}
		return out
	}
	mlp, trees := mltest.MLP(1, 32, 16).Model, mltest.Trees(2, 50, 4, 32).Model
	return []benchModel{
		{"fraud", fraud, rowsOf(dataset.Transactions(42, 256))},
		{"reputation", rep, rowsOf(dataset.Identities(42, 256))},
		{"mlp-32-16-1", mlp, mltest.Rows(3, 256, 32)},
		{"trees-50x4", trees, mltest.Rows(4, 256, 32)},
	}
}

// rawSession is the anchor: an onnxruntime_go session with one intra-op thread, the same as
// the engine's, and tensors of exactly the batch size, filled once.
type rawSession struct {
	s       *ort.DynamicAdvancedSession
	in, out *ort.Tensor[float32]
}

func newRaw(b *testing.B, m *ml.Model, x []float32, rows int) *rawSession {
	b.Helper()
	opts, err := ort.NewSessionOptions()
	if err != nil {
		b.Fatal(err)
	}
	defer opts.Destroy()
	opts.SetIntraOpNumThreads(1)
	opts.SetInterOpNumThreads(1)
	man := m.Manifest()
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(m.Bytes(), []string{man.Input.Name}, []string{man.Output.Name}, opts)
	if err != nil {
		b.Fatal(err)
	}
	in, err := ort.NewTensor(ort.NewShape(int64(rows), int64(m.Width())), append([]float32(nil), x...))
	if err != nil {
		b.Fatal(err)
	}
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(rows), man.Output.Shape[1]))
	if err != nil {
		b.Fatal(err)
	}
	return &rawSession{s: s, in: in, out: out}
}

func (r *rawSession) close() { r.in.Destroy(); r.out.Destroy(); r.s.Destroy() }

// BenchmarkScore: one op scores `batch` feature vectors. impl=raw-ort is a bare onnxruntime_go
// Run on pre-filled tensors; impl=engine-ort is ml.Engine on ONNX Runtime (validation, copies,
// the batcher, results); impl=engine-go the engine on the pure-Go evaluator; impl=session-go the
// pure-Go evaluator alone. Bars: engine-ort ≤ 1.3× raw-ort; engine-go ≤ 3× raw-ort on the SDK's
// models (fraud, reputation).
func BenchmarkScore(b *testing.B) {
	// The SDK checkout's library, unless $ANYA_ONNXRUNTIME_LIB says otherwise (`make bench` sets it).
	lib := ""
	if os.Getenv(ml.EnvORTLibrary) == "" {
		lib = filepath.Join("..", "..", ml.ORTLibraryDir, ml.ORTLibraryFile)
	}
	ortb, err := ml.NewORTBackend(lib) // initialises the process-wide environment the anchor uses too
	if err != nil {
		b.Fatal(err)
	}
	defer ortb.Close()
	gob := ml.NewGoBackend()
	ctx := context.Background()
	for _, bm := range benchModels(b) {
		s := bm.m.Schema()
		for _, batch := range benchBatches {
			vs := make([]ml.Vector, batch)
			var x []float32
			for i := range vs {
				vs[i] = ml.Vector{Schema: s.Name, Version: s.Version, Values: bm.rows[i]}
				x = append(x, bm.rows[i]...)
			}
			name := fmt.Sprintf("model=%s/batch=%d", bm.name, batch)
			b.Run(name+"/impl=raw-ort", func(b *testing.B) {
				r := newRaw(b, bm.m, x, batch)
				defer r.close()
				ins, outs := []ort.Value{r.in}, []ort.Value{r.out}
				b.ReportAllocs()
				for b.Loop() {
					if err := r.s.Run(ins, outs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
			})
			for _, impl := range []struct {
				name string
				be   ml.Backend
			}{{"engine-ort", ortb}, {"engine-go", gob}} {
				b.Run(name+"/impl="+impl.name, func(b *testing.B) {
					// The same batch sizes as the anchor: one backend call per op.
					e, err := ml.NewEngine(bm.m, ml.WithBackend(impl.be), ml.WithMaxBatch(max(batch, ml.DefaultMaxBatch)))
					if err != nil {
						b.Fatal(err)
					}
					defer e.Close()
					b.ReportAllocs()
					for b.Loop() {
						if batch == 1 {
							_, err = e.Score(ctx, vs[0])
						} else {
							_, err = e.ScoreBatch(ctx, vs)
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
				})
			}
			b.Run(name+"/impl=session-go", func(b *testing.B) {
				sess, err := gob.NewSession(bm.m)
				if err != nil {
					b.Fatal(err)
				}
				defer sess.Close()
				out := make([]float32, batch)
				b.ReportAllocs()
				for b.Loop() {
					if err := sess.Run(x, batch, out); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
