package dataset_test

import (
	"testing"

	"github.com/anya-org/anya-go/ml/dataset"
)

// The zero Dataset is an empty one: every method answers for no rows.
func TestZeroValue(t *testing.T) {
	var d dataset.Dataset
	if d.Width() != 0 || d.Rows() != 0 || d.PositiveRate() != 0 || len(d.PatternCounts()) != 0 || len(d.Row(0)) != 0 {
		t.Fatal("the zero dataset is not empty")
	}
	if err := d.Check(); err != nil {
		t.Fatal(err)
	}
	head, tail := d.Split(3)
	if head.Rows() != 0 || tail.Rows() != 0 {
		t.Fatal("split of the empty dataset")
	}
	var p dataset.Pattern
	_, _ = p.String(), p.Fraud()
}
