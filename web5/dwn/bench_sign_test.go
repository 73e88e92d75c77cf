package dwn_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/web5test"
)

// BenchmarkNewWrite measures building and signing a write (what a host pays before Process):
// a 100-byte record of the tenant's own, and an update of one.
func BenchmarkNewWrite(b *testing.B) {
	ctx := context.Background()
	alice := web5test.Alice(b)
	tenant := alice.String()
	data := fmt.Appendf(nil, "%0100d", 7)
	first, err := dwn.NewWrite(ctx, alice, tenant, dwn.Write{DataFormat: "text/plain", Data: data})
	if err != nil {
		b.Fatal(err)
	}
	d := first.Descriptor()
	rec := &dwn.Record{ID: first.RecordID(), Author: tenant, DataFormat: d.DataFormat, DataCID: d.DataCID, DataSize: d.DataSize,
		DateCreated: d.DateCreated, DateUpdated: d.MessageTimestamp, Initial: first, Latest: first}
	for _, c := range []struct {
		name string
		w    dwn.Write
	}{
		{"create", dwn.Write{DataFormat: "text/plain", Data: data}},
		{"update", dwn.Write{Update: rec, Data: data}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if _, err := dwn.NewWrite(ctx, alice, tenant, c.w); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
