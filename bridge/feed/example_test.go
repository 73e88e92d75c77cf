package feed_test

import (
	"fmt"

	"github.com/anya-org/anya-go/bridge/feed"
)

// A pipeline spec in YAML: the records it takes, the rules they pass and the features the
// model reads.
func ExampleParseSpec() {
	spec, err := feed.ParseSpec([]byte(`
name: tx-risk
path: tx
filter: data.amount_sat > 1000
validate:
  - {name: not-negative, expr: "data.amount_sat >= 0"}
features:
  out_total_btc: double(data.amount_sat) / 1e8
explain: 3
`))
	fmt.Println(err, spec.Name, spec.Path, len(spec.Validate), spec.Features["out_total_btc"])
	// Output: <nil> tx-risk tx 1 double(data.amount_sat) / 1e8
}
