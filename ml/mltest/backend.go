package mltest

import (
	"errors"
	"math"
	"sync"
	"testing"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/onnx"
)

// Tolerance is the largest difference between a backend's score and the reference the suite
// accepts.
const Tolerance = 1e-5

// RunBackend is the conformance suite for [ml.Backend] implementations. newBackend is called
// once per subtest; the suite closes what it gets. Every backend, the SDK's own included, runs
// it with a one-line test:
//
//	func TestConformance(t *testing.T) { mltest.RunBackend(t, func(t *testing.T) ml.Backend { return ml.NewGoBackend() }) }
func RunBackend(t *testing.T, newBackend func(t *testing.T) ml.Backend) {
	t.Helper()
	models := []*Tiny{
		Linear([]float32{0.5, -1.25, 2, 0.125}, -0.3),
		StandardizedLinear([]float32{1, 2, 3}, []float32{0.5, 2, 4}, []float32{1, -1, 0.5}, 0.2),
		MLP(1, 32, 16),
		Trees(2, 50, 4, 24),
		Classifier(3, 12, 3, 10, 4, 2),
	}

	t.Run("Name", func(t *testing.T) {
		b := newBackend(t)
		defer b.Close()
		if b.Name() == "" {
			t.Fatal("Name() is empty")
		}
	})

	t.Run("MatchesReference", func(t *testing.T) {
		b := newBackend(t)
		defer b.Close()
		for _, tm := range models {
			s, err := b.NewSession(tm.Model)
			if err != nil {
				t.Fatalf("%s: NewSession: %v", tm.Model.ID(), err)
			}
			rows := Rows(11, 300, tm.Model.Width())
			for _, n := range []int{1, 7, 64, 300} {
				x := flatten(rows[:n])
				scores := make([]float32, n)
				if err := s.Run(x, n, scores); err != nil {
					t.Fatalf("%s: Run(%d rows): %v", tm.Model.ID(), n, err)
				}
				for i := range n {
					if d := math.Abs(float64(scores[i]) - tm.Reference(rows[i])); d > Tolerance {
						t.Fatalf("%s: batch %d row %d: score %v, reference %v (diff %g)", tm.Model.ID(), n, i, scores[i], tm.Reference(rows[i]), d)
					}
				}
			}
			if err := s.Close(); err != nil {
				t.Fatalf("%s: Close: %v", tm.Model.ID(), err)
			}
		}
	})

	t.Run("BatchInvariance", func(t *testing.T) {
		b := newBackend(t)
		defer b.Close()
		tm := models[3]
		s, err := b.NewSession(tm.Model)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		rows := Rows(12, 33, tm.Model.Width())
		all := make([]float32, len(rows))
		if err := s.Run(flatten(rows), len(rows), all); err != nil {
			t.Fatal(err)
		}
		one := make([]float32, 1)
		for i, r := range rows {
			if err := s.Run(r, 1, one); err != nil {
				t.Fatal(err)
			}
			if d := math.Abs(float64(one[0] - all[i])); d > 1e-6 {
				t.Fatalf("row %d: alone %v, in batch %v", i, one[0], all[i])
			}
		}
	})

	t.Run("DoesNotKeepBuffers", func(t *testing.T) {
		b := newBackend(t)
		defer b.Close()
		tm := models[0]
		s, err := b.NewSession(tm.Model)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		rows := Rows(13, 2, tm.Model.Width())
		x := flatten(rows[:1])
		first := make([]float32, 1)
		if err := s.Run(x, 1, first); err != nil {
			t.Fatal(err)
		}
		copy(x, rows[1]) // reuse the caller's buffers for another row
		second := make([]float32, 1)
		if err := s.Run(x, 1, second); err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(float64(second[0]) - tm.Reference(rows[1])); d > Tolerance {
			t.Fatalf("second run scored %v, reference %v", second[0], tm.Reference(rows[1]))
		}
		if d := math.Abs(float64(first[0]) - tm.Reference(rows[0])); d > Tolerance {
			t.Fatalf("first result changed to %v, reference %v", first[0], tm.Reference(rows[0]))
		}
	})

	t.Run("ConcurrentSessions", func(t *testing.T) {
		b := newBackend(t)
		defer b.Close()
		tm := models[2]
		rows := Rows(14, 40, tm.Model.Width())
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := b.NewSession(tm.Model)
				if err != nil {
					errs <- err
					return
				}
				defer s.Close()
				scores := make([]float32, len(rows))
				for range 20 {
					if err := s.Run(flatten(rows), len(rows), scores); err != nil {
						errs <- err
						return
					}
					for i, r := range rows {
						if d := math.Abs(float64(scores[i]) - tm.Reference(r)); d > Tolerance {
							errs <- errors.New("goroutine " + string(rune('0'+g)) + ": wrong score under concurrency")
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})

	t.Run("UnsupportedModel", func(t *testing.T) {
		b := newBackend(t)
		defer b.Close()
		g := &onnx.Model{IRVersion: onnx.IRVersion, Opsets: []onnx.Opset{{Version: onnx.OpsetVersion}}, Graph: onnx.Graph{
			Name:    "bad",
			Nodes:   []onnx.Node{{OpType: "NoSuchOperator", Inputs: []string{InputName}, Outputs: []string{OutputName}}},
			Inputs:  []onnx.ValueInfo{onnx.FloatInput(InputName, 2)},
			Outputs: []onnx.ValueInfo{onnx.FloatInput(OutputName, 1)},
		}}
		m, err := ml.NewModel(onnx.Encode(g), ml.Manifest{Name: "bad", Version: "1",
			Input: ml.Tensor{Name: InputName, Shape: []int64{-1, 2}}, Output: ml.Tensor{Name: OutputName, Shape: []int64{-1, 1}},
			Schema: Schema("bad", 2)})
		if err != nil {
			t.Fatal(err)
		}
		s, err := b.NewSession(m)
		if err == nil {
			s.Close()
			t.Fatal("NewSession accepted a graph with an unknown operator")
		}
	})

	t.Run("BadRunArguments", func(t *testing.T) {
		b := newBackend(t)
		defer b.Close()
		tm := models[0]
		s, err := b.NewSession(tm.Model)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		w := tm.Model.Width()
		scores := make([]float32, 4)
		for _, c := range []struct {
			name string
			x    []float32
			rows int
		}{
			{"zero rows", make([]float32, w), 0},
			{"short input", make([]float32, w), 2},
			{"short scores", make([]float32, 5*w), 5},
		} {
			if err := s.Run(c.x, c.rows, scores); err == nil {
				t.Errorf("%s: Run succeeded", c.name)
			}
		}
	})

	t.Run("Close", func(t *testing.T) {
		b := newBackend(t)
		tm := models[0]
		s, err := b.NewSession(tm.Model)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("session Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second session Close: %v", err)
		}
		if err := s.Run(make([]float32, tm.Model.Width()), 1, make([]float32, 1)); err == nil {
			t.Fatal("Run after Close succeeded")
		}
		if err := b.Close(); err != nil {
			t.Fatalf("backend Close: %v", err)
		}
		if err := b.Close(); err != nil {
			t.Fatalf("second backend Close: %v", err)
		}
		if _, err := b.NewSession(tm.Model); !errors.Is(err, ml.ErrClosed) {
			t.Fatalf("NewSession after Close: %v, want ErrClosed", err)
		}
	})
}

func flatten(rows [][]float32) []float32 {
	var x []float32
	for _, r := range rows {
		x = append(x, r...)
	}
	return x
}
