package jsonoracle_test

import (
	"fmt"

	"github.com/anya-org/anya-go/web5/internal/jsonoracle"
)

func ExampleFoldDuplicate() {
	name, prev, ok := jsonoracle.FoldDuplicate([]byte(`{"kid":"mallory","KID":"alice"}`))
	fmt.Println(name, prev, ok)
	v, _ := jsonoracle.Member([]byte(`{"kid":"mallory","KID":"alice"}`), "kid")
	fmt.Println(v)
	// Output:
	// KID kid true
	// alice
}
