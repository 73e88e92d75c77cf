// Command cpuab compares benchmarks by the CPU time they use for a fixed amount of work,
// measured from outside the benchmark process, in interleaved rounds. On a machine shared with
// other jobs, waiting for a core adds wall time to a benchmark but not CPU time, so this
// comparison stays stable where ns/op swings by a factor of two. It is how bench/README.md
// checks that a change costs nothing measurable, even across commits: each case names a
// compiled test binary (go test -c), which may be built from another checkout.
//
//	cpuab [-rounds 15] [-anchor label] 'label=binary:bench pattern:operations' ...
//
// A label ends at the first '=' (it cannot hold one); the pattern may hold ':'.
//
// Every round runs every case twice — with -test.benchtime 1x, then with the given number of
// operations — with GOMAXPROCS=1 and -test.cpu 1, and takes the difference of the user+system
// time the two processes used (start-up, set-up and the warm-up run cancel out), divided by
// the operations. It prints, per case, the median and the minimum CPU ns/op over the rounds,
// the median ns/op the benchmark itself reported, its allocs/op, and the ratio of the median
// CPU time to the anchor's (the first case by default).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type benchCase struct {
	label, binary, pattern string
	ops                    int

	cpu, wall []float64
	allocs    string
}

func main() {
	rounds := flag.Int("rounds", 15, "interleaved rounds")
	anchor := flag.String("anchor", "", "label of the case the others are compared with (default: the first)")
	flag.Parse()
	cases, err := parse(flag.Args())
	if err == nil {
		err = run(os.Stdout, os.Stderr, cases, *rounds, *anchor)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpuab:", err)
		os.Exit(1)
	}
}

func parse(args []string) ([]*benchCase, error) {
	if len(args) == 0 {
		return nil, errors.New("no cases: give 'label=binary:pattern:operations' arguments")
	}
	var cases []*benchCase
	for _, a := range args {
		label, spec, ok := strings.Cut(a, "=")
		parts := strings.Split(spec, ":")
		if !ok || label == "" || len(parts) < 3 {
			return nil, fmt.Errorf("case %q: want label=binary:pattern:operations", a)
		}
		ops, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil || ops < 2 {
			return nil, fmt.Errorf("case %q: operations must be a number above 1", a)
		}
		cases = append(cases, &benchCase{label: label, binary: parts[0], pattern: strings.Join(parts[1:len(parts)-1], ":"), ops: ops})
	}
	return cases, nil
}

var result = regexp.MustCompile(`\s([\d.]+) ns/op(?:\s+[\d.]+ B/op\s+(\d+) allocs/op)?`)

// measure runs one case with ops operations and returns the CPU time the process used and the
// ns/op and allocs/op it reported.
func measure(c *benchCase, ops int) (cpu time.Duration, nsOp float64, allocs string, err error) {
	cmd := exec.Command(c.binary, "-test.run", "^$", "-test.bench", c.pattern, "-test.benchmem",
		"-test.benchtime", strconv.Itoa(ops)+"x", "-test.cpu", "1")
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, "", fmt.Errorf("%s: %w", c.label, err)
	}
	m := result.FindSubmatch(out)
	if m == nil {
		return 0, 0, "", fmt.Errorf("%s: no benchmark matched %q", c.label, c.pattern)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0, "", errors.New("no resource usage on this system")
	}
	cpu = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
	nsOp, _ = strconv.ParseFloat(string(m[1]), 64)
	return cpu, nsOp, string(m[2]), nil
}

func run(out, progress io.Writer, cases []*benchCase, rounds int, anchor string) error {
	for r := range rounds {
		fmt.Fprintf(progress, "round %d/%d\n", r+1, rounds)
		for _, c := range cases {
			base, _, _, err := measure(c, 1)
			if err != nil {
				return err
			}
			total, nsOp, allocs, err := measure(c, c.ops)
			if err != nil {
				return err
			}
			c.cpu = append(c.cpu, float64(total-base)/float64(c.ops))
			c.wall = append(c.wall, nsOp)
			c.allocs = allocs
		}
	}
	ref := cases[0]
	for _, c := range cases {
		if c.label == anchor {
			ref = c
		}
	}
	fmt.Fprintf(out, "| case | CPU ns/op (median) | CPU ns/op (min) | ns/op (median) | allocs/op | × %s |\n|---|---:|---:|---:|---:|---:|\n", ref.label)
	for _, c := range cases {
		fmt.Fprintf(out, "| %s | %.1f | %.1f | %.1f | %s | %.2f |\n", c.label, median(c.cpu), slices.Min(c.cpu), median(c.wall), c.allocs, median(c.cpu)/median(ref.cpu))
	}
	return nil
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}
