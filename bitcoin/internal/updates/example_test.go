package updates_test

import (
	"fmt"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/internal/updates"
)

// A backend delivers each update to a snapshot of its handlers, in registration order.
func ExampleHandlers() {
	var hs updates.Handlers // the zero value is ready to use
	remove := hs.Add(func(u bitcoin.ChainUpdate) { fmt.Println("first sees height", u.Tip.Height) })
	hs.Add(func(u bitcoin.ChainUpdate) { fmt.Println("second sees height", u.Tip.Height) })
	for _, h := range hs.Snapshot() {
		h(bitcoin.ChainUpdate{Kind: bitcoin.UpdateTip, Tip: bitcoin.BlockStamp{Height: 1}})
	}
	remove()
	for _, h := range hs.Snapshot() {
		h(bitcoin.ChainUpdate{Kind: bitcoin.UpdateTip, Tip: bitcoin.BlockStamp{Height: 2}})
	}
	// Output:
	// first sees height 1
	// second sees height 1
	// second sees height 2
}
