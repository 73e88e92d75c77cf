package anchor_test

import (
	"fmt"

	"github.com/anya-org/anya-go/bridge/anchor"
)

// A commitment proves which CIDs it holds and which it does not.
func ExampleCommit() {
	c, _ := anchor.Commit([]string{"bafy-a", "bafy-b", "bafy-c"})
	in, _ := c.Prove("bafy-b")
	out, _ := c.ProveAbsent("bafy-z")
	fmt.Println(c.Len(), in.Verify(c.Root(), "bafy-b"), out.Verify(c.Root(), "bafy-z"))
	fmt.Println(len(anchor.OpReturnScript(c.Root())))
	// Output:
	// 3 true true
	// 39
}
