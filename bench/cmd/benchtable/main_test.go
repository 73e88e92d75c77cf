package main

import (
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	in := `goos: linux
BenchmarkDelivery/subs=1/impl=channel-2   1000   50.0 ns/op   0 B/op   0 allocs/op
BenchmarkDelivery/subs=1/impl=channel-2   1000   54.0 ns/op   0 B/op   0 allocs/op
BenchmarkDelivery/subs=1/impl=channel-2   1000   52.0 ns/op   0 B/op   0 allocs/op
BenchmarkDelivery/subs=1/impl=anya-2      1000   104 ns/op    0 B/op   0 allocs/op
BenchmarkDelivery/subs=1/impl=anya        1000   99 ns/op     0 B/op   0 allocs/op
`
	var out strings.Builder
	if err := run(strings.NewReader(in), &out, "impl=channel"); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"| Delivery/subs=1/impl=channel-2 | 52.0 | 0.0 | 0.0 | 1.00 |",
		"| Delivery/subs=1/impl=anya-2 | 104 | 0.0 | 0.0 | 2.00 |",
		"| Delivery/subs=1/impl=anya | 99.0 | 0.0 | 0.0 |  |", // no anchor at -cpu 1 in this input
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing row %q in\n%s", want, got)
		}
	}
}
