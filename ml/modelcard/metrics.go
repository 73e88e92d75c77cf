package modelcard

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrInput reports scores and labels that cannot be evaluated.
var ErrInput = errors.New("modelcard: bad evaluation input")

// Metrics summarise a binary classifier on labelled data.
type Metrics struct {
	// AUC is the area under the ROC curve (ties count half).
	AUC float64 `json:"auc"`
	// PRAUC is the area under the precision-recall curve (average precision).
	PRAUC float64 `json:"pr_auc"`
	// LogLoss is the mean negative log-likelihood; Brier the mean squared error of the scores.
	LogLoss float64 `json:"log_loss"`
	Brier   float64 `json:"brier"`
	// Threshold is the decision threshold: scores >= Threshold are predicted positive.
	Threshold float64 `json:"threshold"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Accuracy  float64 `json:"accuracy"`
	// Rows and Positives count the evaluated rows and the positive labels among them.
	Rows      int `json:"rows"`
	Positives int `json:"positives"`
}

// Point is one point of a curve.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Evaluate computes Metrics of scores (probabilities in [0, 1]) against labels (0 or 1) at
// threshold, and the ROC (false-positive rate, true-positive rate) and precision-recall
// (recall, precision) curves, one point per distinct score. Values are rounded to 6 decimals so
// the JSON card is stable.
func Evaluate(scores []float64, labels []uint8, threshold float64) (m Metrics, roc, pr []Point, err error) {
	if len(scores) == 0 || len(scores) != len(labels) {
		return m, nil, nil, fmt.Errorf("%w: %d scores, %d labels", ErrInput, len(scores), len(labels))
	}
	var pos int
	for i, y := range labels {
		if y > 1 || math.IsNaN(scores[i]) || scores[i] < 0 || scores[i] > 1 {
			return m, nil, nil, fmt.Errorf("%w: row %d: score %v, label %d", ErrInput, i, scores[i], y)
		}
		pos += int(y)
	}
	neg := len(labels) - pos
	if pos == 0 || neg == 0 {
		return m, nil, nil, fmt.Errorf("%w: need both classes (%d positive, %d negative)", ErrInput, pos, neg)
	}
	m.Rows, m.Positives, m.Threshold = len(labels), pos, threshold

	var tp, fp, tn, fn int
	var ll, brier float64
	for i, s := range scores {
		y := float64(labels[i])
		p := math.Min(math.Max(s, 1e-15), 1-1e-15)
		ll -= y*math.Log(p) + (1-y)*math.Log(1-p)
		brier += (s - y) * (s - y)
		switch predicted := s >= threshold; {
		case predicted && labels[i] == 1:
			tp++
		case predicted:
			fp++
		case labels[i] == 1:
			fn++
		default:
			tn++
		}
	}
	n := float64(len(scores))
	m.LogLoss, m.Brier = ll/n, brier/n
	m.Precision = ratio(tp, tp+fp)
	m.Recall = ratio(tp, tp+fn)
	if m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
	m.Accuracy = ratio(tp+tn, len(scores))

	// Curves: walk the scores from high to low, one point per distinct score.
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	roc = []Point{{0, 0}}
	var ctp, cfp int
	var auc, ap, prevRecall float64
	for k := 0; k < len(order); {
		s := scores[order[k]]
		for ; k < len(order) && scores[order[k]] == s; k++ {
			if labels[order[k]] == 1 {
				ctp++
			} else {
				cfp++
			}
		}
		x, y := float64(cfp)/float64(neg), float64(ctp)/float64(pos)
		last := roc[len(roc)-1]
		auc += (x - last.X) * (y + last.Y) / 2
		roc = append(roc, Point{x, y})
		precision := float64(ctp) / float64(ctp+cfp)
		ap += (y - prevRecall) * precision
		prevRecall = y
		pr = append(pr, Point{y, precision})
	}
	m.AUC, m.PRAUC = auc, ap
	m.round()
	return m, roc, pr, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

func (m *Metrics) round() {
	for _, p := range []*float64{&m.AUC, &m.PRAUC, &m.LogLoss, &m.Brier, &m.Precision, &m.Recall, &m.F1, &m.Accuracy} {
		*p = round6(*p)
	}
}

// Thin keeps at most n points of a curve, evenly spaced by index, always keeping the first and
// last; coordinates are rounded to 6 decimals.
func Thin(c []Point, n int) []Point {
	if n < 2 || len(c) <= n {
		out := make([]Point, len(c))
		for i, p := range c {
			out[i] = Point{round6(p.X), round6(p.Y)}
		}
		return out
	}
	out := make([]Point, n)
	for i := range n {
		p := c[i*(len(c)-1)/(n-1)]
		out[i] = Point{round6(p.X), round6(p.Y)}
	}
	return out
}
