package cache

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// counter is a striped counter for the read path. Each increment goes to the stripe that the
// address of the calling goroutine's stack picks: goroutines have stacks of their own (of at
// least 2 KiB), so goroutines running on different cores rarely write the same cache line,
// and one goroutine keeps writing the same one. With 16 stripes per core, two goroutines that
// run at once share a stripe with a probability of 1/(16·GOMAXPROCS). Reading sums the
// stripes. An increment costs about as much as an uncontended atomic add.
type counter struct {
	stripes []stripe
	shift   uint
}

type stripe struct {
	n atomic.Uint64
	_ [56]byte
}

func newCounter() *counter {
	lg := min(bits.Len(uint(16*runtime.GOMAXPROCS(0)-1)), 8)
	return &counter{stripes: make([]stripe, 1<<lg), shift: uint(64 - lg)}
}

func (c *counter) inc() {
	var onStack byte
	// Fibonacci hashing of the stack's 2 KiB chunk: the top bits pick the stripe. The
	// address is only hashed, never used as a pointer.
	h := uint64(uintptr(unsafe.Pointer(&onStack))>>11) * 0x9E3779B97F4A7C15
	c.stripes[h>>c.shift].n.Add(1)
}

func (c *counter) load() uint64 {
	var sum uint64
	for i := range c.stripes {
		sum += c.stripes[i].n.Load()
	}
	return sum
}
