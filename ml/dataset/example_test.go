package dataset_test

import (
	"fmt"

	"github.com/anya-org/anya-go/ml/dataset"
)

func ExampleTransactions() {
	d := dataset.Transactions(1, 1000)
	fmt.Println(d.Schema.ID(), d.Width(), "features,", d.Rows(), "rows")
	for i := range d.Rows() {
		if d.Patterns[i] == dataset.PeelChain {
			row := d.Row(i)
			fmt.Printf("peel chain: %v inputs, %v outputs, smallest output %.1f%% of the total, youngest input %v blocks old\n",
				row[0], row[1], 100*row[d.Schema.Index("min_out_ratio")], row[d.Schema.Index("input_age_min_blocks")])
			break
		}
	}
	// Output:
	// fraud@1 22 features, 1000 rows
	// peel chain: 1 inputs, 2 outputs, smallest output 0.7% of the total, youngest input 4 blocks old
}
