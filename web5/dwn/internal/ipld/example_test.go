package ipld_test

import (
	"fmt"

	"github.com/anya-org/anya-go/web5/dwn/internal/ipld"
)

func Example() {
	desc := map[string]any{"interface": "Records", "method": "Query"}
	cid, _ := ipld.CBORCID(desc)
	fmt.Println(cid)
	fmt.Println(ipld.DataCID([]byte("hello")))
	// Output:
	// bafyreif2drs34vrmwm65jc7ebfga6usyhhsf36vd2e7jxkc643uowfghbm
	// bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq
}
