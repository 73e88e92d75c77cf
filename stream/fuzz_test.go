package stream_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/anya-org/anya-go/stream"
)

// FuzzRestore feeds arbitrary checkpoint contents to every operator's restore: they are
// refused with a *CheckpointError (or restored), never a panic.
func FuzzRestore(f *testing.F) {
	f.Add("m", []byte(`{"version":1,"shape":"aggregate tumbling(1m0s) inputs 1","watermark":5,"seq":2,"inputs":[{"name":"in0","offset":3}]}`),
		`k/"a"`, []byte(`{"seq":1,"slots":[{"s":0,"e":60000000000,"p":{"acc":1,"n":1}}]}`))
	f.Add("m", []byte(`{"version":1,"shape":"matcher a -> b","inputs":[{"name":"in0","offset":1}]}`),
		`k/"a"`, []byte(`{"seq":1,"parts":[{"start":0,"pos":0,"count":1,"evs":[{"s":0,"src":0,"r":{"offset":1,"time":"2026-01-01T00:00:00Z","value":{"Addr":"a","Sat":1}}}]}]}`))
	f.Add("p/in0", []byte(`[{"offset":1,"time":"2026-01-01T00:00:00Z","value":{"Addr":"a"}}]`), `k/1`, []byte(`{}`))
	f.Add("m", []byte(`{"version":1,"shape":"interval-join [0,10]","inputs":[]}`), `k/"x"`, []byte(`{"seq":1,"as":[{"r":{"offset":1,"time":"2026-01-01T00:00:00Z"}}]}`))
	f.Fuzz(func(t *testing.T, k1 string, v1 []byte, k2 string, v2 []byte) {
		store := stream.NewMemoryStore()
		ctx := context.Background()
		if err := store.Commit(ctx, "p", []stream.Change{{Key: k1, Value: v1}, {Key: k2, Value: v2}}); err != nil {
			t.Fatal(err)
		}
		in := seqOf(rec[tx]{time.Second, tx{"a", 1}})
		check := func(err error) {
			var ce *stream.CheckpointError
			if err != nil && !errors.As(err, &ce) {
				t.Fatalf("restore failed with %v, not a *CheckpointError", err)
			}
		}
		opts := []stream.Option{stream.WithStore(store), stream.WithName("p")}
		a, _ := stream.NewAggregate(byAddr, stream.Tumbling(time.Minute), stream.Count[tx](), opts...)
		check(firstErr(a.Run(ctx, recordSource(in))))
		m, _ := stream.NewMatcher(byAddr, stream.Begin("a", func(tx) bool { return true }).Then("b", func(tx) bool { return true }), opts...)
		check(firstErr(m.Run(ctx, recordSource(in))))
		j, _ := stream.NewIntervalJoin(byAddr, byAddr, 0, 10*time.Second, opts...)
		check(firstErr(j.Run(ctx, recordSource(in), recordSource(in))))
		j3, _ := stream.NewJoin3(byAddr, byAddr, byAddr, stream.Session(time.Minute), opts...)
		check(firstErr(j3.Run(ctx, recordSource(in), recordSource(in), recordSource(in))))
	})
}

func firstErr[R any](seq func(func(R, error) bool)) error {
	var err error
	for _, e := range seq {
		if e != nil && err == nil {
			err = e
		}
	}
	return err
}

func FuzzParseID(f *testing.F) {
	f.Add("")
	f.Add("000102030405060708090a0b0c0d0e0f")
	f.Add("000102030405060708090A0B0C0D0E0F")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := stream.ParseID(s)
		if err != nil {
			return
		}
		back, err := stream.ParseID(id.String())
		if err != nil || back != id {
			t.Fatalf("ParseID(%q) = %v, which prints as %q and parses back as %v, %v", s, id, id.String(), back, err)
		}
		if !id.IsZero() && id.String() != s {
			t.Fatalf("ParseID(%q) = %v, which prints as %q", s, id, id.String())
		}
	})
}
