package main

import (
	"testing"

	"go.uber.org/goleak"
)

// The score commands start engines; every one must be closed when its command returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
