package security

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

// roundTrip is what the canonical form stands for: the data encoded to JSON and decoded with
// integers as int64 and other numbers as float64.
func roundTrip(t *testing.T, data map[string]any) map[string]any {
	t.Helper()
	enc, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(enc))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	out, err := fixNumbersAt(m, 0)
	if err != nil {
		t.Fatal(err)
	}
	return out.(map[string]any)
}

type canonStruct struct {
	Name  string  `json:"name"`
	Value float32 `json:"value"`
	When  time.Time
}

func canonSamples() []map[string]any {
	return []map[string]any{
		{},
		{"a": 1, "b": int8(-2), "c": uint64(math.MaxUint64), "d": uint32(7), "e": 2.5, "f": 3.0, "g": float32(0.1), "h": float32(3)},
		{"s": "x\"y\\z\n\t\u2028<>&\x01", "bad": "a\xffb", "n": nil, "t": true, "num": json.Number("12"), "numf": json.Number("1.5")},
		{"deep": map[string]any{"list": []any{1, "two", []any{3.25, false}, map[string]any{"k": int64(-9)}}}},
		{"strs": []string{"a", "b"}, "ints": []int{1, 2}, "i64": []int64{3}, "mf": map[string]float64{"x": 1, "y": 0.5}, "ms": map[string]string{"k": "v"}},
		{"struct": canonStruct{Name: "n", Value: 0.3, When: time.Unix(1_700_000_000, 5).UTC()}, "structs": []canonStruct{{Name: "a"}}},
		{"small": 1e-7, "big": 1e21, "neg": math.Copysign(0, -1), "f32small": float32(1e-7), "huge": 1e300},
	}
}

// TestCanonicalIsTheJSONRoundTrip checks that the canonical copy is what a JSON round trip gives,
// and that its encoding is JSON that decodes to it again.
func TestCanonicalIsTheJSONRoundTrip(t *testing.T) {
	for i, data := range canonSamples() {
		got, err := canonicalData(data)
		if err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		if want := roundTrip(t, data); !reflect.DeepEqual(got, want) {
			t.Errorf("sample %d: canonical\n%#v\nthe JSON round trip\n%#v", i, got, want)
		}
		enc := appendCanonical(nil, got)
		if !json.Valid(enc) {
			t.Fatalf("sample %d: encoding %s is not JSON", i, enc)
		}
		var back map[string]any
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatal(err)
		}
		again, _ := json.Marshal(back)
		want, _ := json.Marshal(roundTrip(t, data))
		if !bytes.Equal(again, want) {
			t.Errorf("sample %d: encoding %s decodes to %s, want %s", i, enc, again, want)
		}
	}
}

// TestCanonicalTables checks that typed numeric tables stay typed, are copies, encode as JSON
// would, and that non-finite numbers are refused as JSON refuses them.
func TestCanonicalTables(t *testing.T) {
	rows := [][]float32{{1, 0.1, -2.5}, {3e-7, 4, 5}}
	data := map[string]any{"rows": rows, "v64": []float64{1.5, 2}, "v32": []float32{0.2}, "t64": [][]float64{{1}, nil}}
	got, err := canonicalData(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["rows"].([][]float32); !ok {
		t.Fatalf("rows crossed as %T", got["rows"])
	}
	got["rows"].([][]float32)[0][0] = 99
	if rows[0][0] != 1 {
		t.Fatal("the canonical table shares the caller's rows")
	}
	got["rows"].([][]float32)[0][0] = 1
	enc := appendCanonical(nil, got)
	want, _ := json.Marshal(data)
	if !bytes.Equal(enc, want) {
		t.Fatalf("encoding %s, JSON %s", enc, want)
	}
	for _, bad := range []any{[]float64{math.NaN()}, [][]float32{{float32(math.Inf(1))}}, math.Inf(-1), float32(math.NaN()), map[string]float64{"x": math.NaN()}} {
		if _, err := canonicalData(map[string]any{"x": bad}); err == nil {
			t.Errorf("%v crossed", bad)
		}
	}
	deep := map[string]any{}
	cur := deep
	for range 70 {
		next := map[string]any{}
		cur["d"] = next
		cur = next
	}
	if _, err := canonicalData(deep); err == nil {
		t.Error("data nested 70 deep crossed")
	}
}

// TestTypedTablesCross checks a typed table through a boundary: its schema type, a policy over
// it, and the copy the receiving side gets.
func TestTypedTablesCross(t *testing.T) {
	bs, err := New([]Boundary{{From: Bitcoin, To: ML, DetectPII: true,
		Fields:   map[string]Field{"rows": {Type: TypeList, Required: true}, "names": {Type: TypeList}},
		Outbound: []Policy{{Name: "rows", Expr: "size(data.rows) <= 2 && data.rows[0][1] < 1.0"}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rows := [][]float32{{1, 0.5}, {2, 0.25}}
	out, err := bs.Cross(ctx, "bitcoin", "ml", "score", map[string]any{"rows": rows, "names": []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := out["rows"].([][]float32); !ok || !reflect.DeepEqual(got, rows) {
		t.Fatalf("rows crossed as %#v", out["rows"])
	}
	if _, err := bs.Cross(ctx, "bitcoin", "ml", "score", map[string]any{"rows": [][]float32{{1, 2}}}); err == nil {
		t.Fatal("a table the policy refuses crossed")
	}
	if _, err := bs.Cross(ctx, "bitcoin", "ml", "score", map[string]any{"rows": rows, "names": []string{"alice@example.com"}}); err == nil {
		t.Fatal("personal data in a list of strings crossed")
	}
}
