package workflow

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

func TestAppendJSON(t *testing.T) {
	v := map[string]any{
		"s": "quote\" back\\ nl\n tab\t ctl\x01 del\x7f é ✓ \u2028 <&>", "bad": "a\xffb",
		"i": int64(-42), "big": int64(math.MaxInt64), "f": 0.25, "tiny": 1e-7, "huge": 1.5e300, "neg": -3.75,
		"t": true, "n": nil, "l": []any{int64(1), "x", []any{}, map[string]any{}}, "o": map[string]any{"b": int64(2), "a": int64(1)},
	}
	enc, err := encodeJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeValue(enc)
	if err != nil {
		t.Fatalf("%s: %v", enc, err)
	}
	want, _ := normalize(v)
	want.(map[string]any)["bad"] = "a\ufffdb"
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", back, want)
	}
	// Same text as encoding/json for what both produce the same way (no HTML characters).
	plain := map[string]any{"a": 0.1, "b": 1e-7, "c": 1e21, "d": "x\ny", "e": []any{int64(1), nil}}
	ours, _ := encodeJSON(plain)
	std, _ := json.Marshal(plain)
	if string(ours) != string(std) {
		t.Fatalf("ours %s, encoding/json %s", ours, std)
	}
	for _, bad := range []any{math.NaN(), math.Inf(1), struct{}{}} {
		if _, err := encodeJSON(bad); err == nil {
			t.Errorf("%v encoded", bad)
		}
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add(`{"a":[1,2.5,"x\u0000"],"b":{"c":null,"d":true}}`)
	f.Add(`"\ud800"`)
	f.Fuzz(func(t *testing.T, src string) {
		v, err := decodeValue([]byte(src))
		if err != nil {
			return
		}
		enc, err := encodeJSON(v)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		back, err := decodeValue(enc)
		if err != nil || !reflect.DeepEqual(back, v) {
			t.Fatalf("%q → %s → %#v (%v)", src, enc, back, err)
		}
	})
}
