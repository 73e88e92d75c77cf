package recipe_test

import (
	"fmt"

	"github.com/anya-org/anya-go/models/recipe"
)

func Example() {
	for _, s := range recipe.Specs() {
		fmt.Printf("%s@%s: seed %d, %d/%d/%d rows\n", s.Name, s.Version, s.Seed, s.Train, s.Valid, s.Test)
	}
	// Output:
	// fraud@1: seed 1, 60000/20000/20000 rows
	// reputation@1: seed 2, 30000/10000/10000 rows
}
