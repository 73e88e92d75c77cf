package diddht

import (
	"testing"

	"go.uber.org/goleak"
)

// The resolver and gateway start no goroutines; HTTP connections of the tests' servers
// must all be gone when the tests end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
