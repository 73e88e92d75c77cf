package stream_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go/stream"
	"github.com/anya-org/anya-go/stream/streamtest"
)

// ev is a cross-protocol event keyed by DID.
type ev struct {
	Kind string // "created", "linked", "paid", ...
	DID  string
	Addr string
	Sat  int64
}

func kind(k string) func(ev) bool { return func(e ev) bool { return e.Kind == k } }
func byDID(e ev) string           { return e.DID }

func renderMatches(ms []stream.Match[string, ev]) []string {
	var out []string
	for _, m := range ms {
		var steps []string
		for _, e := range m.Events {
			steps = append(steps, fmt.Sprintf("%s@%d", e.Step, int(e.Time.Sub(t0)/time.Second)))
		}
		out = append(out, fmt.Sprintf("%s %s %s", m.Kind, m.Key, strings.Join(steps, ",")))
	}
	return out
}

func matchAll(t *testing.T, p *stream.Pattern[ev], in []stream.Record[ev], opts ...stream.Option) ([]string, *stream.Matcher[string, ev]) {
	t.Helper()
	m, err := stream.NewMatcher(byDID, p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return renderMatches(collect(t, m.Run(t.Context(), recordSource(in)))), m
}

// The seed's cross-protocol pattern: a DID is created, linked to an address, then a
// transaction of at least X from that address, within 10 minutes.
func seedPattern(minSat int64) *stream.Pattern[ev] {
	return stream.Begin("created", kind("created")).
		Then("linked", kind("linked")).
		Then("paid", func(e ev) bool { return e.Kind == "paid" && e.Sat >= minSat }).
		Where(func(e ev, m stream.Partial[ev]) bool {
			l, ok := m.Last("linked")
			return ok && l.Value.Addr == e.Addr
		}).
		Within(10 * time.Minute)
}

func TestPatternSequence(t *testing.T) {
	in := seqOf(
		rec[ev]{s(0), ev{"created", "did:a", "", 0}},
		rec[ev]{s(10), ev{"noise", "did:a", "", 0}},
		rec[ev]{s(20), ev{"linked", "did:a", "bc1a", 0}},
		rec[ev]{s(30), ev{"paid", "did:a", "bc1a", 10}},      // too small
		rec[ev]{s(40), ev{"paid", "did:a", "bc1other", 900}}, // not from the linked address
		rec[ev]{s(50), ev{"paid", "did:a", "bc1a", 500}},
		rec[ev]{s(0), ev{"created", "did:b", "", 0}},
		rec[ev]{s(60), ev{"linked", "did:b", "bc1b", 0}},
		rec[ev]{s(700), ev{"paid", "did:b", "bc1b", 500}}, // 11m40s after creation: outside Within
	)
	// the records are not in time order across keys; a bound makes them on time
	m, err := stream.NewMatcher(byDID, seedPattern(100))
	if err != nil {
		t.Fatal(err)
	}
	ms := collect(t, m.Run(t.Context(), recordSource(in, stream.OutOfOrder(time.Hour))))
	got := renderMatches(ms)
	wantLines(t, got, []string{"insert did:a created@0,linked@20,paid@50"})
	if ms[0].Step("paid")[0].Value.Sat != 500 || !ms[0].Start.Equal(t0) || !ms[0].End.Equal(at(s(50))) || ms[0].ID.IsZero() {
		t.Fatalf("match %+v", ms[0])
	}
}

func TestPatternNegation(t *testing.T) {
	// "no link before the payment"
	p := stream.Begin("created", kind("created")).NotThen("linked", kind("linked")).Then("paid", kind("paid")).Within(10 * time.Minute)
	in := seqOf(
		rec[ev]{s(0), ev{"created", "did:a", "", 0}}, rec[ev]{s(10), ev{"linked", "did:a", "", 0}}, rec[ev]{s(20), ev{"paid", "did:a", "", 0}},
		rec[ev]{s(30), ev{"created", "did:b", "", 0}}, rec[ev]{s(40), ev{"paid", "did:b", "", 0}}, rec[ev]{s(50), ev{"linked", "did:b", "", 0}},
	)
	got, _ := matchAll(t, p, in)
	wantLines(t, got, []string{"insert did:b created@30,paid@40"})
}

func TestPatternTrailingNegation(t *testing.T) {
	// "created, and not linked within 5 minutes": emitted when the 5 minutes have passed.
	p := stream.Begin("created", kind("created")).NotThen("linked", kind("linked")).Within(5 * time.Minute)
	in := seqOf(
		rec[ev]{s(0), ev{"created", "did:a", "", 0}}, rec[ev]{s(100), ev{"linked", "did:a", "", 0}},
		rec[ev]{s(10), ev{"created", "did:b", "", 0}}, rec[ev]{s(400), ev{"linked", "did:b", "", 0}},
		rec[ev]{s(20), ev{"created", "did:c", "", 0}},
	)
	m, _ := stream.NewMatcher(byDID, p)
	in2 := streamtest.NewManual[ev](t)
	out := streamtest.Collect(t, m.Run(t.Context(), in2.Source()))
	for _, r := range in {
		in2.EmitRecord(r)
	}
	in2.Watermark(at(s(309)))
	in2.Sync()
	if got := out.Take(); len(got) != 0 {
		t.Fatalf("emitted before Within passed: %v", renderMatches(got))
	}
	in2.Watermark(at(s(330)))
	in2.Sync()
	wantLines(t, renderMatches(out.Take()), []string{"insert did:b created@10", "insert did:c created@20"})
	in2.End()
	if err := out.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestPatternOptionalAndRepeated(t *testing.T) {
	t.Run("Optional", func(t *testing.T) {
		p := stream.Begin("created", kind("created")).Then("verified", kind("verified")).Optional().Then("paid", kind("paid"))
		in := seqOf(
			rec[ev]{s(0), ev{"created", "did:a", "", 0}}, rec[ev]{s(1), ev{"paid", "did:a", "", 0}},
			rec[ev]{s(2), ev{"created", "did:b", "", 0}}, rec[ev]{s(3), ev{"verified", "did:b", "", 0}}, rec[ev]{s(4), ev{"paid", "did:b", "", 0}},
		)
		got, _ := matchAll(t, p, in, stream.WithMaxKeys(10))
		wantLines(t, got, []string{"insert did:a created@0,paid@1", "insert did:b created@2,verified@3,paid@4"})
	})
	t.Run("Times", func(t *testing.T) {
		// two to three failed attempts, then a success
		p := stream.Begin("start", kind("start")).Then("fail", kind("fail")).Times(2, 3).Then("ok", kind("ok"))
		in := seqOf(
			rec[ev]{s(0), ev{"start", "did:a", "", 0}}, rec[ev]{s(1), ev{"fail", "did:a", "", 0}}, rec[ev]{s(2), ev{"ok", "did:a", "", 0}}, // one fail: the ok is skipped
			rec[ev]{s(3), ev{"fail", "did:a", "", 0}}, rec[ev]{s(4), ev{"fail", "did:a", "", 0}}, rec[ev]{s(5), ev{"ok", "did:a", "", 0}}, // 3 fails now: matches
			rec[ev]{s(0), ev{"start", "did:b", "", 0}}, rec[ev]{s(1), ev{"fail", "did:b", "", 0}}, rec[ev]{s(2), ev{"fail", "did:b", "", 0}}, rec[ev]{s(3), ev{"ok", "did:b", "", 0}},
		)
		m, _ := stream.NewMatcher(byDID, p)
		got := renderMatches(collect(t, m.Run(t.Context(), recordSource(in, stream.OutOfOrder(time.Minute)))))
		wantLines(t, got, []string{"insert did:a start@0,fail@1,fail@3,fail@4,ok@5", "insert did:b start@0,fail@1,fail@2,ok@3"})
	})
	t.Run("OneOrMoreAtEnd", func(t *testing.T) {
		// a repeated last step completes at its minimum
		p := stream.Begin("start", kind("start")).Then("fail", kind("fail")).Times(3, -1)
		in := seqOf(rec[ev]{s(0), ev{"start", "did:a", "", 0}}, rec[ev]{s(1), ev{"fail", "did:a", "", 0}}, rec[ev]{s(2), ev{"fail", "did:a", "", 0}},
			rec[ev]{s(3), ev{"fail", "did:a", "", 0}}, rec[ev]{s(4), ev{"fail", "did:a", "", 0}})
		got, _ := matchAll(t, p, in)
		wantLines(t, got, []string{"insert did:a start@0,fail@1,fail@2,fail@3"})
	})
}

func TestPatternSkipAndAllMatches(t *testing.T) {
	p := stream.Begin("created", kind("created")).Then("paid", kind("paid"))
	in := seqOf(rec[ev]{s(0), ev{"created", "did:a", "", 0}}, rec[ev]{s(1), ev{"created", "did:a", "", 0}}, rec[ev]{s(2), ev{"paid", "did:a", "", 0}},
		rec[ev]{s(3), ev{"paid", "did:a", "", 0}})
	got, _ := matchAll(t, p, in)
	wantLines(t, got, []string{"insert did:a created@0,paid@2"})
	got, _ = matchAll(t, p, in, stream.WithAllMatches())
	wantLines(t, got, []string{"insert did:a created@0,paid@2", "insert did:a created@1,paid@2"})
	_, m := matchAll(t, p, in, stream.WithMaxPartials(1), stream.WithAllMatches())
	if st := m.Stats(); st.Refused != 1 {
		t.Fatalf("the second partial match was not refused: %+v", st)
	}
}

func TestPatternLateRetraction(t *testing.T) {
	// created, no link, then paid: a late link between them withdraws the match.
	p := stream.Begin("created", kind("created")).NotThen("linked", kind("linked")).Then("paid", kind("paid")).Within(10 * time.Minute)
	m, err := stream.NewMatcher(byDID, p, stream.WithLatePolicy(stream.LateUpdate), stream.WithAllowedLateness(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	in := streamtest.NewManual[ev](t)
	out := streamtest.Collect(t, m.Run(t.Context(), in.Source()))
	in.Emit(at(s(0)), ev{"created", "did:a", "", 0})
	in.Emit(at(s(20)), ev{"paid", "did:a", "", 0})
	in.Watermark(at(s(30)))
	in.Sync()
	first := out.Take()
	if len(first) != 1 || first[0].Kind != stream.Insert {
		t.Fatalf("match before the late link: %v", renderMatches(first))
	}
	in.Emit(at(s(10)), ev{"linked", "did:a", "", 0}) // late
	in.Sync()
	got := out.Take()
	if len(got) != 1 || got[0].Kind != stream.Retract || got[0].Replaces != first[0].ID {
		t.Fatalf("late link: %v", renderMatches(got))
	}
	// A late event that changes nothing emits nothing.
	in.Emit(at(s(15)), ev{"noise", "did:a", "", 0})
	in.Sync()
	if got := out.Take(); len(got) != 0 {
		t.Fatalf("late noise: %v", renderMatches(got))
	}
	in.End()
	if err := out.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestPatternErrors(t *testing.T) {
	ok := kind("x")
	for name, p := range map[string]*stream.Pattern[ev]{
		"no steps":                    nil,
		"empty name":                  stream.Begin("", ok),
		"nil condition":               stream.Begin[ev]("a", nil),
		"duplicate name":              stream.Begin("a", ok).Then("a", ok),
		"negation first":              stream.Begin("a", ok).Optional(),
		"optional last":               stream.Begin("a", ok).Then("b", ok).Optional(),
		"trailing negation no within": stream.Begin("a", ok).NotThen("b", ok),
		"negation next to optional":   stream.Begin("a", ok).NotThen("b", ok).Then("c", ok).Optional().Then("d", ok),
		"repeated negation":           stream.Begin("a", ok).NotThen("b", ok).Times(1, 2).Then("c", ok),
		"bad times":                   stream.Begin("a", ok).Then("b", ok).Times(3, 2),
		"zero within":                 stream.Begin("a", ok).Within(0),
		"where before steps":          (&stream.Pattern[ev]{}).Where(func(ev, stream.Partial[ev]) bool { return true }),
	} {
		if _, err := stream.NewMatcher(byDID, p); !errors.Is(err, stream.ErrInvalidPattern) {
			t.Errorf("%s: got %v, want ErrInvalidPattern", name, err)
		}
	}
	if _, err := stream.NewMatcher(byDID, stream.Begin("a", ok).Then("b", ok), stream.WithLatePolicy(stream.LateUpdate)); !errors.Is(err, stream.ErrInvalidOption) {
		t.Errorf("LateUpdate without Within: %v", err)
	}
}
