package trigger_test

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go/bridge/trigger"
	"github.com/anya-org/anya-go/security"
)

// A trigger from YAML: a transaction above 1 BTC is sent to ML for assessment; the boundary
// lets only its amount and txid cross.
func Example() {
	defs, err := trigger.ParseDefinitions([]byte(`
- name: large
  on: bitcoin.tx
  when: data.amount_sat > 100000000
  action: assess
  cross: {from: bitcoin, to: ml, action: ml.assess_risk}
  params: {amount_sat: data.amount_sat, txid: data.txid}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	bounds, _ := security.New(security.DefaultBoundaries(), security.WithRedactionKey([]byte("example redaction key!")),
		security.WithProvenance("web5.signature", func(context.Context, security.Crossing) error { return nil }))
	assess := trigger.Action{Run: func(_ context.Context, id string, data map[string]any) (any, error) {
		return fmt.Sprintf("assessed %v sat", data["amount_sat"]), nil
	}}
	eng, err := trigger.New(defs, bounds, trigger.WithAction("assess", assess))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, amount := range []int64{5_000, 250_000_000} {
		out, _ := eng.Fire(context.Background(), trigger.Event{ID: fmt.Sprint(amount), Kind: "bitcoin.tx",
			Data: map[string]any{"amount_sat": amount, "txid": "ab"}})
		fmt.Println(len(out), results(out))
	}
	// Output:
	// 0 []
	// 1 [assessed 250000000 sat]
}

func results(out []trigger.Outcome) []any {
	r := []any{}
	for _, o := range out {
		r = append(r, o.Result)
	}
	return r
}
