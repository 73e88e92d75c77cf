package zerotest_test

import (
	"errors"
	"fmt"

	"github.com/anya-org/anya-go/bitcoin/internal/zerotest"
)

// counter needs its constructor: its zero value says so instead of panicking.
type counter struct{ n *int }

var errZero = errors.New("a zero counter: create it with newCounter")

func (c *counter) Inc() error {
	if c.n == nil {
		return errZero
	}
	*c.n++
	return nil
}

func (c *counter) Value() int {
	if c.n == nil {
		return 0
	}
	return *c.n
}

// printer reports failures on standard output (a test passes its *testing.T).
type printer struct{}

func (printer) Helper()                           {}
func (printer) Errorf(format string, args ...any) { fmt.Printf("FAIL: "+format+"\n", args...) }

// Call every method of a zero counter and print what each returned.
func ExampleCall() {
	for _, r := range zerotest.Call(printer{}, &counter{}) {
		fmt.Println(r.Method, r.Values, r.Err())
	}
	// Output:
	// Inc [a zero counter: create it with newCounter] a zero counter: create it with newCounter
	// Value [0] <nil>
}
