package natsstore

import (
	"encoding/json"
	"testing"

	"github.com/anya-org/anya-go/workflow"
)

// FuzzDecodeRecord feeds decodeRecord entries anything with access to the bucket could have
// written: it must never panic, and what it accepts must encode back to the same record.
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(`{"id":"r1","w":"pay","h":"h1","in":"e30=","st":[{"id":"a","i":0,"s":"running","a":1}]}`))
	f.Add([]byte(`{"st":null}`))
	f.Add([]byte(`{"c":-1,"u":9223372036854775807}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &runDoc{Version: 2, Status: workflow.StatusRunning}
		r, err := decodeRecord(data, d)
		if err != nil {
			return
		}
		enc, err := encodeRecord(r)
		if err != nil {
			t.Fatalf("encode %+v: %v", r, err)
		}
		r2, err := decodeRecord(enc, d)
		if err != nil {
			t.Fatalf("decode(encode(%+v)): %v", r, err)
		}
		a, _ := json.Marshal(r)
		b, _ := json.Marshal(r2)
		if string(a) != string(b) {
			t.Fatalf("round trip changed the record:\n%s\n%s", a, b)
		}
	})
}
