package train

import (
	"context"
	"fmt"
	"math"

	"github.com/anya-org/anya-go/ml/onnx"
)

// LogisticConfig holds the hyper-parameters of L2-regularised logistic regression.
type LogisticConfig struct {
	// L2 is the penalty on the weights (not the intercept), per training row.
	L2 float64
	// Iterations bounds the Newton steps.
	Iterations int
	// Log1p transforms every feature with log(1+x) before standardising: the SDK's features are
	// non-negative counts and amounts with heavy tails.
	Log1p bool
}

// DefaultLogistic returns the configuration the SDK's baseline models use: L2 1e-4, up to 30
// Newton steps, log1p features.
func DefaultLogistic() LogisticConfig { return LogisticConfig{L2: 1e-4, Iterations: 30, Log1p: true} }

// Logistic is a trained logistic regression: p = sigmoid(B + Σ W_i·(t(x_i) - Mean_i)/Std_i),
// where t is log1p when Log1p is set.
type Logistic struct {
	Mean, Std []float64
	W         []float64
	B         float64
	Log1p     bool
}

func (l *Logistic) transform(i int, v float32) float64 {
	x := float64(v)
	if l.Log1p {
		x = math.Log1p(x)
	}
	return (x - l.Mean[i]) / l.Std[i]
}

// Raw returns the log-odds for row, which holds at least len(W) features; the zero Logistic,
// which has no weights, reads none and returns 0.
func (l *Logistic) Raw(row []float32) float64 {
	s := l.B
	for i, w := range l.W {
		s += w * l.transform(i, row[i])
	}
	return s
}

// FitLogistic trains a logistic regression with Newton's method. Deterministic.
func FitLogistic(ctx context.Context, d Data, cfg LogisticConfig) (*Logistic, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	if cfg.L2 < 0 || cfg.Iterations < 1 {
		return nil, fmt.Errorf("%w: %+v", ErrConfig, cfg)
	}
	if cfg.Log1p {
		for i, v := range d.X {
			if v < 0 {
				return nil, fmt.Errorf("%w: value %d is negative, log1p needs non-negative features", ErrData, i)
			}
		}
	}
	n, w := d.rows(), d.Width
	l := &Logistic{Mean: make([]float64, w), Std: make([]float64, w), W: make([]float64, w), Log1p: cfg.Log1p}
	for i := range l.Std {
		l.Std[i] = 1
	}
	// Standardise: design matrix Z with a leading 1 for the intercept.
	z := make([]float64, n*(w+1))
	for f := range w {
		var s, ss float64
		for i := range n {
			v := l.transform(f, d.X[i*w+f])
			s += v
			ss += v * v
		}
		mean := s / float64(n)
		l.Mean[f] = mean
		if sd := math.Sqrt(math.Max(ss/float64(n)-mean*mean, 0)); sd > 1e-9 {
			l.Std[f] = sd
		}
	}
	for i := range n {
		z[i*(w+1)] = 1
		for f := range w {
			z[i*(w+1)+f+1] = l.transform(f, d.X[i*w+f])
		}
	}
	k := w + 1
	beta := make([]float64, k)
	grad := make([]float64, k)
	hess := make([]float64, k*k)
	for range cfg.Iterations {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		clear(grad)
		clear(hess)
		for i := range n {
			row := z[i*k : (i+1)*k]
			var s float64
			for j, v := range row {
				s += beta[j] * v
			}
			p := sigmoid(s)
			r := p - float64(d.Y[i])
			h := math.Max(p*(1-p), 1e-12)
			for a, va := range row {
				grad[a] += r * va
				ha := h * va
				for b := a; b < k; b++ {
					hess[a*k+b] += ha * row[b]
				}
			}
		}
		lam := cfg.L2 * float64(n)
		for a := range k {
			for b := 0; b < a; b++ {
				hess[a*k+b] = hess[b*k+a]
			}
			if a > 0 {
				grad[a] += lam * beta[a]
				hess[a*k+a] += lam
			}
		}
		step, err := solveSPD(hess, grad, k)
		if err != nil {
			return nil, err
		}
		var move float64
		for j := range beta {
			beta[j] -= step[j]
			move = math.Max(move, math.Abs(step[j]))
		}
		if move < 1e-10 {
			break
		}
	}
	l.B = beta[0]
	copy(l.W, beta[1:])
	return l, nil
}

// solveSPD solves A x = b for a symmetric positive-definite A (k×k, row-major) by Cholesky.
func solveSPD(a, b []float64, k int) ([]float64, error) {
	L := make([]float64, k*k)
	for i := range k {
		for j := 0; j <= i; j++ {
			s := a[i*k+j]
			for p := 0; p < j; p++ {
				s -= L[i*k+p] * L[j*k+p]
			}
			if i == j {
				if s <= 0 {
					return nil, fmt.Errorf("%w: Hessian is not positive definite", ErrData)
				}
				L[i*k+i] = math.Sqrt(s)
			} else {
				L[i*k+j] = s / L[j*k+j]
			}
		}
	}
	y := make([]float64, k)
	for i := range k {
		s := b[i]
		for p := 0; p < i; p++ {
			s -= L[i*k+p] * y[p]
		}
		y[i] = s / L[i*k+i]
	}
	x := make([]float64, k)
	for i := k - 1; i >= 0; i-- {
		s := y[i]
		for p := i + 1; p < k; p++ {
			s -= L[p*k+i] * x[p]
		}
		x[i] = s / L[i*k+i]
	}
	return x, nil
}

// ONNX exports the regression: [Add 1, Log,] Sub mean, Div std, Gemm, Sigmoid. The explainer
// attributes its log-odds to features as W_i·(t(x_i) - Mean_i)/Std_i.
func (l *Logistic) ONNX(graphName, input, output string) *onnx.Model {
	w := len(l.W)
	f32 := func(v []float64) []float32 {
		o := make([]float32, len(v))
		for i, x := range v {
			o[i] = float32(x)
		}
		return o
	}
	inits := []onnx.Tensor{
		onnx.FloatTensor("mean", []int64{int64(w)}, f32(l.Mean)),
		onnx.FloatTensor("std", []int64{int64(w)}, f32(l.Std)),
		onnx.FloatTensor("weights", []int64{int64(w), 1}, f32(l.W)),
		onnx.FloatTensor("intercept", []int64{1}, []float32{float32(l.B)}),
	}
	var nodes []onnx.Node
	x := input
	if l.Log1p {
		inits = append(inits, onnx.FloatTensor("one", nil, []float32{1}))
		nodes = append(nodes,
			onnx.Node{Name: "shift", OpType: "Add", Inputs: []string{input, "one"}, Outputs: []string{"shifted"}},
			onnx.Node{Name: "log1p", OpType: "Log", Inputs: []string{"shifted"}, Outputs: []string{"logged"}})
		x = "logged"
	}
	nodes = append(nodes,
		onnx.Node{Name: "center", OpType: "Sub", Inputs: []string{x, "mean"}, Outputs: []string{"centered"}},
		onnx.Node{Name: "scale", OpType: "Div", Inputs: []string{"centered", "std"}, Outputs: []string{"standardized"}},
		onnx.Node{Name: "linear", OpType: "Gemm", Inputs: []string{"standardized", "weights", "intercept"}, Outputs: []string{"log_odds"}},
		onnx.Node{Name: "probability", OpType: "Sigmoid", Inputs: []string{"log_odds"}, Outputs: []string{output}})
	return &onnx.Model{
		IRVersion:    onnx.IRVersion,
		Opsets:       []onnx.Opset{{Version: onnx.OpsetVersion}},
		ProducerName: Producer,
		Graph: onnx.Graph{
			Name: graphName, Nodes: nodes, Initializers: inits,
			Inputs:  []onnx.ValueInfo{onnx.FloatInput(input, int64(w))},
			Outputs: []onnx.ValueInfo{onnx.FloatInput(output, 1)},
		},
	}
}
