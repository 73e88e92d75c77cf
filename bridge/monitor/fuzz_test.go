package monitor

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
)

// decodeCrossed decodes JSON as a crossing returns it: objects as map[string]any, lists as
// []any, integers as int64 and other numbers as float64.
func decodeCrossed(b []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil || m == nil {
		return nil, false
	}
	var fix func(v any) any
	fix = func(v any) any {
		switch x := v.(type) {
		case json.Number:
			if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
				return i
			}
			f, _ := x.Float64()
			return f
		case []any:
			for i := range x {
				x[i] = fix(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = fix(x[k])
			}
		}
		return v
	}
	fix(m)
	return m, true
}

// FuzzCrossedData feeds arbitrary crossed data to the readers of the three crossings: they
// never panic, and what they accept has the shape the monitor sent.
func FuzzCrossedData(f *testing.F) {
	for _, seed := range []string{
		`{"feature_names":["a","b"],"feature_rows":[[1,2.5],[3,4]],"row_index":[0,1]}`,
		`{"model":"fraud@1","scores":[0.1,0.9],"factors":[[],[{"feature":"a","value":1,"contribution":-0.5}]]}`,
		`{"feature_names":["a"],"feature_rows":[["x"]]}`,
		`{"model":"","scores":[2]}`,
		`{"feature_names":["a","b"],"feature_rows":[[1e400,2]],"row_index":[99999999999999999999]}`,
		`{"scores":null,"factors":{"a":1}}`,
	} {
		f.Add([]byte(seed))
	}
	names := []string{"a", "b"}
	f.Fuzz(func(t *testing.T, b []byte) {
		data, ok := decodeCrossed(b)
		if !ok {
			return
		}
		for n := 0; n <= 2; n++ {
			if rows, err := crossedRows(data, names, n); err == nil {
				if len(rows) != n {
					t.Fatalf("%d rows for %d", len(rows), n)
				}
				for _, r := range rows {
					if len(r) != len(names) {
						t.Fatalf("row %v", r)
					}
				}
			}
			sent := []int{0, 1}[:min(n, 2)]
			if idx, err := crossedIndex(data, sent, n); err == nil {
				for i, x := range idx {
					if x != sent[i] || x >= n {
						t.Fatalf("index %v for %v", idx, sent)
					}
				}
			}
			if risks, model, factors, err := crossedReport(data, n); err == nil {
				if len(risks) != n || model == "" || (factors != nil && len(factors) != n) {
					t.Fatalf("report %v %q %v", risks, model, factors)
				}
				for _, r := range risks {
					if !(r >= 0 && r <= 1) {
						t.Fatalf("risk %v", r)
					}
				}
			}
		}
	})
}
