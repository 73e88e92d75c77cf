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
			fmt.Printf("peel chain: %v input, %v outputs, %.1f%% forwarded, youngest input %v block(s) old\n",
				row[0], row[1], 100*row[d.Schema.Index("largest_output_frac")], row[d.Schema.Index("in_age_min_blocks")])
			break
		}
	}
	// Output:
	// fraud@1 26 features, 1000 rows
	// peel chain: 1 input, 2 outputs, 97.0% forwarded, youngest input 1 block(s) old
}
