// Command benchtable turns `go test -bench` output into the markdown tables of bench/README.md:
// the median ns/op, B/op and allocs/op of every benchmark over its -count runs, and its ratio to
// an anchor in the same group.
//
// Benchmarks are grouped by their name with the anchor's path element removed, so with
// -anchor impl=channel the row "Delivery/subs=8/impl=anya-2" is compared with
// "Delivery/subs=8/impl=channel-2" (same sub-benchmark, same -cpu).
//
//	go test -run '^$' -bench Delivery -benchmem -cpu 1,2 -count 3 ./busbench/ | go run ./cmd/benchtable -anchor impl=channel
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

type sample struct{ ns, bytes, allocs []float64 }

func main() {
	anchor := flag.String("anchor", "", "path element (key=value) naming the anchor of each group, e.g. impl=channel")
	flag.Parse()
	if err := run(os.Stdin, os.Stdout, *anchor); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer, anchor string) error {
	samples := make(map[string]*sample)
	var order []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		s, ok := samples[name]
		if !ok {
			s = &sample{}
			samples[name] = s
			order = append(order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				s.ns = append(s.ns, v)
			case "B/op":
				s.bytes = append(s.bytes, v)
			case "allocs/op":
				s.allocs = append(s.allocs, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	fmt.Fprintln(out, "| benchmark | ns/op | B/op | allocs/op | × anchor |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|")
	for _, name := range order {
		s := samples[name]
		ratio := ""
		if anchor != "" {
			if an := anchorName(name, anchor); an != "" {
				if a, ok := samples[an]; ok && len(a.ns) > 0 && median(a.ns) > 0 {
					ratio = fmt.Sprintf("%.2f", median(s.ns)/median(a.ns))
				}
			}
		}
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s |\n", name, num(s.ns), num(s.bytes), num(s.allocs), ratio)
	}
	return nil
}

// anchorName replaces the element with the anchor's key in name by the anchor element.
func anchorName(name, anchor string) string {
	key, _, ok := strings.Cut(anchor, "=")
	if !ok {
		return ""
	}
	base, cpu := name, ""
	if i := strings.LastIndex(name, "-"); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			base, cpu = name[:i], name[i:]
		}
	}
	parts := strings.Split(base, "/")
	found := false
	for i, p := range parts {
		if strings.HasPrefix(p, key+"=") {
			parts[i] = anchor
			found = true
		}
	}
	if !found {
		return ""
	}
	return strings.Join(parts, "/") + cpu
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

func num(v []float64) string {
	if len(v) == 0 {
		return ""
	}
	m := median(v)
	if m >= 100 {
		return strconv.FormatFloat(m, 'f', 0, 64)
	}
	return strconv.FormatFloat(m, 'f', 1, 64)
}
