package modelcard_test

import (
	"bytes"
	"errors"
	"image/png"
	"math"
	"testing"

	"github.com/anya-org/anya-go/ml/modelcard"
)

func TestEvaluateHandWorked(t *testing.T) {
	// Positives at 0.9, 0.6 and 0.3; negatives at 0.8, 0.4, 0.2, 0.1.
	// Pairs (pos, neg) ranked correctly: 0.9 beats 4, 0.6 beats 3, 0.3 beats 2 → 9 of 12.
	scores := []float64{0.9, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1}
	labels := []uint8{1, 0, 1, 0, 1, 0, 0}
	m, roc, pr, err := modelcard.Evaluate(scores, labels, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if m.AUC != 0.75 {
		t.Errorf("AUC %v, want 0.75", m.AUC)
	}
	// Average precision: recall steps of 1/3 at precisions 1/1, 2/3, 3/5.
	if want := (1 + 2.0/3 + 3.0/5) / 3; math.Abs(m.PRAUC-want) > 1e-6 {
		t.Errorf("PR AUC %v, want %v", m.PRAUC, want)
	}
	// At 0.5: predicted positive 0.9, 0.8, 0.6 → TP 2, FP 1, FN 1.
	if m.Precision != round(2.0/3) || m.Recall != round(2.0/3) || m.Accuracy != round(5.0/7) {
		t.Errorf("precision %v recall %v accuracy %v", m.Precision, m.Recall, m.Accuracy)
	}
	if m.Rows != 7 || m.Positives != 3 {
		t.Errorf("rows %d positives %d", m.Rows, m.Positives)
	}
	if len(roc) != 8 || roc[0] != (modelcard.Point{}) || roc[7] != (modelcard.Point{X: 1, Y: 1}) || len(pr) != 7 {
		t.Errorf("curves %v / %v", roc, pr)
	}
}

func round(v float64) float64 { return math.Round(v*1e6) / 1e6 }

func TestEvaluateExtremesAndTies(t *testing.T) {
	labels := []uint8{1, 1, 0, 0}
	for _, c := range []struct {
		scores []float64
		auc    float64
	}{
		{[]float64{0.9, 0.8, 0.2, 0.1}, 1},
		{[]float64{0.1, 0.2, 0.8, 0.9}, 0},
		{[]float64{0.5, 0.5, 0.5, 0.5}, 0.5},
	} {
		m, _, _, err := modelcard.Evaluate(c.scores, labels, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		if m.AUC != c.auc {
			t.Errorf("scores %v: AUC %v, want %v", c.scores, m.AUC, c.auc)
		}
	}
}

func TestEvaluateRejects(t *testing.T) {
	for name, c := range map[string]struct {
		s []float64
		y []uint8
	}{
		"empty":       {},
		"lengths":     {[]float64{0.1}, []uint8{0, 1}},
		"one class":   {[]float64{0.1, 0.2}, []uint8{1, 1}},
		"label 2":     {[]float64{0.1, 0.2}, []uint8{0, 2}},
		"NaN score":   {[]float64{math.NaN(), 0.2}, []uint8{0, 1}},
		"score above": {[]float64{1.5, 0.2}, []uint8{0, 1}},
	} {
		if _, _, _, err := modelcard.Evaluate(c.s, c.y, 0.5); !errors.Is(err, modelcard.ErrInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestThin(t *testing.T) {
	c := make([]modelcard.Point, 1001)
	for i := range c {
		c[i] = modelcard.Point{X: float64(i) / 1000, Y: float64(i) / 1000}
	}
	th := modelcard.Thin(c, 11)
	if len(th) != 11 || th[0] != c[0] || th[10] != c[1000] || th[5].X != 0.5 {
		t.Fatalf("Thin: %v", th)
	}
}

func TestCardPlotIsDeterministicPNG(t *testing.T) {
	scores := []float64{0.9, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1}
	labels := []uint8{1, 0, 1, 0, 1, 0, 0}
	m, roc, pr, err := modelcard.Evaluate(scores, labels, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	card := &modelcard.Card{Model: "m@1", Test: m, ROC: roc, PR: pr, Plot: modelcard.PlotFile}
	a, err := card.PlotPNG()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := card.PlotPNG()
	if !bytes.Equal(a, b) {
		t.Fatal("two renderings differ")
	}
	img, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != 1200 || r.Dy() != 540 {
		t.Fatalf("plot is %v", r)
	}
	js, err := card.JSON()
	if err != nil || !bytes.Contains(js, []byte(`"auc": 0.75`)) {
		t.Fatalf("card JSON %s, %v", js, err)
	}
}
