package natsbus

import (
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/anya-org/anya-go/bus"
)

// FuzzDecode feeds decode what a foreign publisher could put on the bus's subjects: it must
// never panic, and what it accepts must encode back to itself.
func FuzzDecode(f *testing.F) {
	f.Add("p.s.a.b", HeaderKey, "k", HeaderPrefix+"x", "v")
	f.Add("p.s.a%20b", HeaderID, "00000000-0000-0001-0000-000000000001", HeaderTime, "12")
	f.Add("p.s.%2E", HeaderSource, `"\x00"`, HeaderPrefix+"%2E", `" a"`)
	f.Add("q.s.a", "", "", "", "")
	f.Fuzz(func(t *testing.T, subj, h1, v1, h2, v2 string) {
		h := nats.Header{}
		if h1 != "" {
			h[h1] = []string{v1}
		}
		if h2 != "" {
			h[h2] = append(h[h2], v2)
		}
		m, err := decode("p.s", subj, h)
		if err != nil {
			return
		}
		again, err := decode("p.s", subject("p.s", m.Topic), header(&m))
		if err != nil {
			t.Fatalf("re-encoded %+v does not decode: %v", m, err)
		}
		if !sameMeta(m, again) {
			t.Fatalf("round trip changed the envelope:\n %+v\n %+v", m, again)
		}
	})
}

// FuzzEnvelope checks that any valid topic and any strings in the envelope survive the wire.
func FuzzEnvelope(f *testing.F) {
	f.Add("a.b", "key", "src", "h", "v", int64(1))
	f.Add("a%b.é", " k", "\"s\"", "x.y", "\r\n", int64(-5))
	f.Fuzz(func(t *testing.T, topic, key, source, hk, hv string, nanos int64) {
		if bus.ValidateTopic(topic) != nil {
			return
		}
		m := bus.Meta{Topic: topic, Key: key, Source: source, Time: time.Unix(0, nanos), Headers: bus.Headers{hk: hv}}
		m.ID, _ = bus.ParseID("00000000-0000-0001-0000-000000000001")
		got, err := decode("p.s", subject("p.s", topic), header(&m))
		if err != nil {
			t.Fatalf("decode(encode(%+v)): %v", m, err)
		}
		if !sameMeta(m, got) {
			t.Fatalf("round trip changed the envelope:\n %+v\n %+v", m, got)
		}
	})
}

func sameMeta(a, b bus.Meta) bool {
	if !a.Time.Equal(b.Time) {
		return false
	}
	a.Time, b.Time = time.Time{}, time.Time{}
	if len(a.Headers) == 0 && len(b.Headers) == 0 {
		a.Headers, b.Headers = nil, nil
	}
	return reflect.DeepEqual(a, b)
}
