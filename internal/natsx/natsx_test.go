package natsx_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go/internal/natsx"
)

var kvToken = regexp.MustCompile(`^[-/_=a-zA-Z0-9]+$`)

func TestEscapeKey(t *testing.T) {
	keys := []string{"", "=", "==", "a", "a.b", "a_b", "a=2Eb", "a b", "é", "e\u0301", "\xff", "a\x00", "%", ".", "..", "/", "日本", strings.Repeat("x.", 600)}
	seen := map[string]string{}
	for _, k := range keys {
		e := natsx.EscapeKey(k)
		if !kvToken.MatchString(e) {
			t.Fatalf("EscapeKey(%q) = %q: not a KV token", k, e)
		}
		if prev, ok := seen[e]; ok {
			t.Fatalf("EscapeKey(%q) = EscapeKey(%q) = %q", k, prev, e)
		}
		seen[e] = k
		back, err := natsx.UnescapeKey(e)
		if err != nil || back != k {
			t.Fatalf("UnescapeKey(%q) = %q, %v; want %q", e, back, err, k)
		}
	}
}

func TestUnescapeKeyRejects(t *testing.T) {
	for name, k := range map[string]string{
		"empty":          "",
		"dot":            "a.b",
		"truncated":      "a=4",
		"truncated2":     "a=",
		"lower hex":      "a=2e",
		"escaped plain":  "=41",
		"bad hex":        "=ZZ",
		"space":          "a b",
		"non-ascii byte": "\xff",
	} {
		if got, err := natsx.UnescapeKey(k); err == nil {
			t.Errorf("%s: UnescapeKey(%q) = %q, want an error", name, k, got)
		}
	}
}

func FuzzEscapeKey(f *testing.F) {
	for _, s := range []string{"", "a.b", "=", "\x00\xff", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := natsx.EscapeKey(s)
		if !kvToken.MatchString(e) {
			t.Fatalf("EscapeKey(%q) = %q", s, e)
		}
		if back, err := natsx.UnescapeKey(e); err != nil || back != s {
			t.Fatalf("round trip %q -> %q -> %q, %v", s, e, back, err)
		}
		if u, err := natsx.UnescapeKey(s); err == nil && natsx.EscapeKey(u) != s {
			t.Fatalf("UnescapeKey(%q) = %q, which escapes to %q", s, u, natsx.EscapeKey(u))
		}
	})
}

func TestRoundTTL(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{
		0: 0, -time.Second: 0, time.Nanosecond: time.Second, time.Second: time.Second,
		1500 * time.Millisecond: 2 * time.Second, time.Minute: time.Minute,
	} {
		if got := natsx.RoundTTL(in); got != want {
			t.Errorf("RoundTTL(%v) = %v, want %v", in, got, want)
		}
	}
}
