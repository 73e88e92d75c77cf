package bus_test

import (
	"strings"
	"testing"

	"github.com/anya-org/anya-go/bus"
)

// FuzzPatterns checks that pattern and topic validation never panic, that matching agrees with a
// straightforward token-by-token reference, and that valid topics always match themselves.
func FuzzPatterns(f *testing.F) {
	for _, s := range [][2]string{
		{"a.b.c", "a.b.c"}, {"a.*.c", "a.x.c"}, {"a.>", "a.b.c"}, {">", "x"}, {"a..b", "a.b"},
		{"a.>.b", "a.x.b"}, {"*", ""}, {"a b", "a b"}, {"a.b*", "a.b"}, {"é.*", "é.x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, topic string) {
		perr := bus.ValidatePattern(pat)
		terr := bus.ValidateTopic(topic)
		got := bus.MatchTopic(pat, topic)
		if perr != nil || terr != nil {
			if got {
				t.Fatalf("invalid pattern %q or topic %q matched", pat, topic)
			}
			return
		}
		if want := refMatch(pat, topic); got != want {
			t.Fatalf("MatchTopic(%q, %q) = %v, reference says %v", pat, topic, got, want)
		}
		if !bus.MatchTopic(topic, topic) {
			t.Fatalf("valid topic %q does not match itself", topic)
		}
	})
}

func refMatch(pat, topic string) bool {
	p, tp := strings.Split(pat, "."), strings.Split(topic, ".")
	for i, tok := range p {
		if tok == ">" {
			return len(tp) > i
		}
		if i >= len(tp) || (tok != "*" && tok != tp[i]) {
			return false
		}
	}
	return len(p) == len(tp)
}
