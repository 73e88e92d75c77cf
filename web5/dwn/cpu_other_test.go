//go:build !unix

package dwn_test

import "time"

// cpuTime is not measured on this platform.
func cpuTime() time.Duration { return 0 }
