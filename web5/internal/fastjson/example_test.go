package fastjson_test

import (
	"fmt"

	"github.com/anya-org/anya-go/web5/internal/fastjson"
)

func ExampleUnmarshal() {
	v, _ := fastjson.Unmarshal([]byte(`{"alg":"EdDSA","n":[1,2.5]}`))
	m := v.(map[string]any)
	fmt.Println(m["alg"], m["n"])
	_, err := fastjson.Unmarshal([]byte(`{"alg":"EdDSA","alg":"none"}`))
	fmt.Println(err)
	_, err = fastjson.Unmarshal([]byte(`{"kid":"a","KID":"b"}`))
	fmt.Println(err)
	// Output:
	// EdDSA [1 2.5]
	// json: duplicate object key "alg" at offset 20
	// json: duplicate object key "KID" (same as "kid" under case folding) at offset 16

}
