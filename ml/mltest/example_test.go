package mltest_test

import (
	"fmt"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
)

// The issue's reference tree model (50 trees of depth 4), scored by the pure-Go backend and
// checked against the kit's independent reference scorer.
func ExampleTrees() {
	tm := mltest.Trees(1, 50, 4, 32)
	s, err := ml.NewGoBackend().NewSession(tm.Model)
	if err != nil {
		panic(err)
	}
	defer s.Close()
	row := mltest.Rows(2, 1, tm.Model.Width())[0]
	score := make([]float32, 1)
	if err := s.Run(row, 1, score); err != nil {
		panic(err)
	}
	diff := float64(score[0]) - tm.Reference(row)
	fmt.Println(tm.Model.ID(), tm.Model.Width(), diff < 1e-6 && diff > -1e-6)
	// Output: tiny-trees-50-4@1 32 true
}
