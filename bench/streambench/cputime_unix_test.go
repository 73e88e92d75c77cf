//go:build unix

package streambench

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used, user and system: on a loaded machine it
// measures the work a benchmark does where wall time measures the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
