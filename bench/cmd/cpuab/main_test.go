package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fakeBench writes an executable that behaves like a test binary whose one benchmark burns
// work units of CPU per operation (an awk loop) and prints its result line.
func fakeBench(t *testing.T, work int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake.test")
	script := `#!/bin/sh
n=1
while [ $# -gt 0 ]; do
  if [ "$1" = "-test.benchtime" ]; then n=${2%x}; fi
  shift
done
awk -v n="$n" -v w=` + strconv.Itoa(work) + ` 'BEGIN { s = 0; for (i = 0; i < n * w; i++) s += i; printf "BenchmarkFake\t%d\t%d ns/op\t0 B/op\t0 allocs/op\n", n, w }'
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCPUTimeRatio(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	cheap, dear := fakeBench(t, 10), fakeBench(t, 40)
	cases, err := parse([]string{"cheap=" + cheap + ":Fake:200000", "dear=" + dear + ":Fake:200000"})
	if err != nil {
		t.Fatal(err)
	}
	var out, progress strings.Builder
	if err := run(&out, &progress, cases, 3, "cheap"); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`\| dear \| [\d.]+ \| [\d.]+ \| 40\.0 \| 0 \| ([\d.]+) \|`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no row for the dear case in\n%s", out.String())
	}
	// Four times the work per operation: the CPU ratio says so, whatever else runs.
	if r, _ := strconv.ParseFloat(m[1], 64); r < 2.5 || r > 6 {
		t.Errorf("CPU ratio %.2f for 4× the work\n%s", r, out.String())
	}
	if !strings.Contains(out.String(), "| cheap |") || !strings.Contains(out.String(), "| 1.00 |") {
		t.Errorf("the anchor row is missing\n%s", out.String())
	}
}

func TestParseRefuses(t *testing.T) {
	for name, args := range map[string][]string{
		"none":          nil,
		"no label":      {"=bin:Bench:100"},
		"no pattern":    {"a=bin:100"},
		"ops not a num": {"a=bin:Bench:many"},
		"one op":        {"a=bin:Bench:1"},
	} {
		if _, err := parse(args); err == nil {
			t.Errorf("%s: %q accepted", name, args)
		}
	}
	cs, err := parse([]string{"a=bin:^BenchmarkX$/^k=v:w$:100"})
	if err != nil || cs[0].pattern != "^BenchmarkX$/^k=v:w$" || cs[0].ops != 100 || cs[0].binary != "bin" {
		t.Errorf("a pattern with a colon: %+v, %v", cs, err)
	}
}
