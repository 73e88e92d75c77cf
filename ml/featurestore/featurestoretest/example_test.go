package featurestoretest_test

import (
	"fmt"

	"github.com/anya-org/anya-go/ml/featurestore"
	"github.com/anya-org/anya-go/ml/featurestore/featurestoretest"
)

func ExampleSample() {
	c := featurestore.NewMemoryCache(10)
	c.Set("k", featurestoretest.Sample("did:example:a", 3))
	r, ok := c.Get("k")
	fmt.Println(r.Entity, r.Vector.Values, r.Time.Unix(), ok)
	// Output: did:example:a [3] 3 true
}
