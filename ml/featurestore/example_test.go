package featurestore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/featurestore"
)

func ExampleStore_AsOf() {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s, err := featurestore.Open(ctx, ":memory:", featurestore.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	defer s.Close()

	s.Put(ctx, "did:example:alice", ml.Vector{Schema: "reputation", Version: 1, Values: []float32{10, 0}})
	decision := now.Add(time.Minute)
	now = now.Add(time.Hour)
	s.Put(ctx, "did:example:alice", ml.Vector{Schema: "reputation", Version: 1, Values: []float32{11, 1}})

	latest, _ := s.Get(ctx, "did:example:alice", "reputation", 1)
	then, _ := s.AsOf(ctx, "did:example:alice", "reputation", 1, decision)
	fmt.Println("now:", latest.Vector.Values, "at the decision:", then.Vector.Values)
	// Output: now: [11 1] at the decision: [10 0]
}
