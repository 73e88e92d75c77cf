package learn_test

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go/bridge/learn"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/dataset"
	"github.com/anya-org/anya-go/ml/featurestore"
	"github.com/anya-org/anya-go/models"
)

// Every vector scored through a Recorder is in the feature store afterwards.
func ExampleRecorder() {
	ctx := context.Background()
	m, _ := models.Load(ctx, models.Fraud)
	eng, _ := ml.NewEngine(m, ml.WithBackend(ml.NewGoBackend()))
	defer eng.Close()
	fs, _ := featurestore.Open(ctx, ":memory:")
	defer fs.Close()
	rec, _ := learn.NewRecorder(eng, fs)

	d := dataset.Transactions(1, 1)
	v := ml.Vector{Schema: d.Schema.Name, Version: d.Schema.Version, Values: d.Row(0)}
	r, err := rec.Score(ctx, "tx-1", v)
	if err != nil {
		fmt.Println(err)
		return
	}
	stored, _ := fs.Get(ctx, "tx-1", "fraud", 1)
	fmt.Println(r.ModelID(), len(stored.Vector.Values) == len(v.Values))
	// Output: fraud@1 true
}
