package natsonline

import (
	"encoding/json"
	"testing"
)

// FuzzDecode feeds decode entries another host (or anything with access to the bucket) could
// have written: it must never panic, and what it accepts must encode back to the same record.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"e":"did:example:a","s":"risk","v":1,"x":[1,2.5],"t":1700000000000000000,"q":3}`))
	f.Add([]byte(`{"x":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decode(data)
		if err != nil {
			return
		}
		again, err := json.Marshal(entry{Entity: r.Entity, Schema: r.Vector.Schema, Version: r.Vector.Version, Values: r.Vector.Values,
			Time: r.Time.UnixNano(), Seq: r.Seq})
		if err != nil {
			return // a value JSON cannot carry (NaN) never came from Put
		}
		r2, err := decode(again)
		if err != nil || r2.Entity != r.Entity || !r2.Time.Equal(r.Time) || r2.Seq != r.Seq || len(r2.Vector.Values) != len(r.Vector.Values) {
			t.Fatalf("round trip: %+v -> %+v, %v", r, r2, err)
		}
	})
}
