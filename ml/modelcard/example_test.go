package modelcard_test

import (
	"fmt"

	"github.com/anya-org/anya-go/ml/modelcard"
)

func ExampleEvaluate() {
	scores := []float64{0.9, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1}
	labels := []uint8{1, 0, 1, 0, 1, 0, 0}
	m, _, _, err := modelcard.Evaluate(scores, labels, 0.5)
	if err != nil {
		panic(err)
	}
	fmt.Printf("AUC %.2f, precision %.2f, recall %.2f at %.1f\n", m.AUC, m.Precision, m.Recall, m.Threshold)
	// Output: AUC 0.75, precision 0.67, recall 0.67 at 0.5
}
