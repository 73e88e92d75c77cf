package updates

import (
	"testing"

	"github.com/anya-org/anya-go/bitcoin"
)

func TestHandlers(t *testing.T) {
	var s Handlers
	var got []int
	rm0 := s.Add(func(bitcoin.ChainUpdate) { got = append(got, 0) })
	s.Add(func(bitcoin.ChainUpdate) { got = append(got, 1) })
	s.Add(func(bitcoin.ChainUpdate) { got = append(got, 2) })
	rm0()
	for _, h := range s.Snapshot() {
		h(bitcoin.ChainUpdate{})
	}
	if len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("delivered to %v, want [1 2] in registration order", got)
	}
	s.Close()
	s.Add(func(bitcoin.ChainUpdate) { t.Fatal("handler added after Close") })
	if n := len(s.Snapshot()); n != 0 {
		t.Fatalf("%d handlers after Close", n)
	}
}
