package cache

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// counter is a striped counter for the read path. Each increment goes to the stripe that the
// address of the calling goroutine's stack picks: goroutines have stacks of their own, so
// goroutines on different cores rarely write the same cache line, and one goroutine keeps
// writing the same one. Reading sums the stripes.
type counter struct {
	stripes []stripe
	shift   uint
}

type stripe struct {
	n atomic.Uint64
	_ [56]byte
}

func newCounter() *counter {
	lg := bits.Len(uint(4*runtime.GOMAXPROCS(0) - 1))
	return &counter{stripes: make([]stripe, 1<<lg), shift: uint(64 - lg)}
}

func (c *counter) inc() {
	var onStack byte
	// Fibonacci hashing of the stack's 4 KiB page: the top bits pick the stripe. The
	// address is only hashed, never used as a pointer.
	h := uint64(uintptr(unsafe.Pointer(&onStack))>>12) * 0x9E3779B97F4A7C15
	c.stripes[h>>c.shift].n.Add(1)
}

func (c *counter) load() uint64 {
	var sum uint64
	for i := range c.stripes {
		sum += c.stripes[i].n.Load()
	}
	return sum
}
