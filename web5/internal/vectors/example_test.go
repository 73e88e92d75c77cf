package vectors_test

import (
	"encoding/json"
	"fmt"

	"github.com/anya-org/anya-go/web5/internal/vectors"
)

func ExampleFile() {
	var f vectors.File
	_ = json.Unmarshal([]byte(`{"description":"d","vectors":[{"description":"v","input":"x","errors":true}]}`), &f)
	fmt.Println(len(f.Vectors), f.Vectors[0].Errors, string(f.Vectors[0].Input))
	// Output: 1 true "x"
}
