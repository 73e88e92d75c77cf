package diddht

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/anya-org/anya-go/web5/did"
)

func FuzzParsePacket(f *testing.F) {
	for n := 1; n <= 3; n++ {
		b, err := os.ReadFile(fmt.Sprintf("%svector-%d-dns-records.json", specDir, n))
		if err != nil {
			f.Fatal(err)
		}
		var recs []Record
		if err := json.Unmarshal(b, &recs); err != nil {
			f.Fatal(err)
		}
		msg, err := MarshalRecords(recs)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(n, msg)
	}
	f.Add(1, []byte{})
	f.Add(2, []byte{0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0})
	ids := map[int]string{
		1: "did:dht:cyuoqaf7itop8ohww4yn5ojg13qaq83r9zihgqntc5i9zwrfdfoo",
		2: "did:dht:cyuoqaf7itop8ohww4yn5ojg13qaq83r9zihgqntc5i9zwrfdfoo",
		3: "did:dht:sr6jgmcc84xig18ix66qbiwnzeiumocaaybh13f5w97bfzus4pcy",
	}
	f.Fuzz(func(t *testing.T, n int, msg []byte) {
		d := did.MustParse(ids[1+(n%3+3)%3])
		p, err := ParsePacket(d, msg)
		if err != nil {
			return
		}
		if p.Deactivated {
			return
		}
		if err := p.Document.Validate(); err != nil {
			t.Fatalf("decoded an invalid document: %v", err)
		}
		// What decodes must encode again and decode to the same document.
		msg2, err := p.Marshal()
		if err != nil {
			return // e.g. a record set over 1000 bytes once normalized, or unrepresentable ids
		}
		p2, err := ParsePacket(d, msg2)
		if err != nil {
			t.Fatalf("re-encoded packet does not decode: %v", err)
		}
		a, _ := json.Marshal(p.Document)
		b, _ := json.Marshal(p2.Document)
		if string(a) != string(b) {
			t.Fatalf("unstable round trip:\n%s\n%s", a, b)
		}
	})
}

func FuzzParseMessage(f *testing.F) {
	f.Add(make([]byte, 72))
	f.Add(append(make([]byte, 72), 1, 2, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			return
		}
		out, _ := m.MarshalBinary()
		if string(out) != string(b) {
			t.Fatal("message does not round-trip")
		}
		g, _ := NewGateway()
		_ = g.Store("cyuoqaf7itop8ohww4yn5ojg13qaq83r9zihgqntc5i9zwrfdfoo", m)
		if g.Len() != 0 {
			t.Fatal("gateway stored an unsigned message")
		}
	})
}
