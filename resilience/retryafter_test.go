package resilience_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go/resilience"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"120", 2 * time.Minute},
		{"0", 0},
		{" 5\t", 5 * time.Second},
		{"Wed, 21 Oct 2015 07:28:30 GMT", 30 * time.Second},          // IMF-fixdate (RFC 9110's example date)
		{"Wednesday, 21-Oct-15 07:29:00 GMT", time.Minute},           // RFC 850
		{"Wed Oct 21 07:30:00 2015", 2 * time.Minute},                // asctime
		{"Tue, 20 Oct 2015 07:28:00 GMT", 0},                         // in the past
		{"9223372036", 9223372036 * time.Second},                     // the largest that fits
		{"Wed, 21 Oct 2015 07:28:00 GMT", 0},                         // now
		{"Thu, 22 Oct 2015 07:28:00 GMT", 24 * time.Hour},            //
		{"Wed, 21 Oct 2015 07:28:01 GMT ", time.Second},              // trailing space
		{"\tWed, 21 Oct 2015 07:28:01 GMT", time.Second},             // leading tab
		{"0000000000000000000000000000000000000000001", time.Second}, // leading zeros
	} {
		got, err := resilience.ParseRetryAfter(tc.in, now)
		if err != nil || got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", " ", "-1", "1.5", "12a", "soon", "9223372037", "99999999999999999999999",
		"Wed, 21 Oct 2015 07:28:30 UTC", "Wed, 32 Oct 2015 07:28:30 GMT", "+5", strings.Repeat("x", 1000)} {
		got, err := resilience.ParseRetryAfter(in, now)
		if !errors.Is(err, resilience.ErrInvalidRetryAfter) || got != 0 {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want ErrInvalidRetryAfter", in, got, err)
		}
		if len(err.Error()) > 200 {
			t.Errorf("error message of %d bytes for a long input", len(err.Error()))
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "Wed, 21 Oct 2015 07:28:00 GMT", "Wednesday, 21-Oct-15 07:28:00 GMT",
		"Wed Oct 21 07:28:00 2015", "-1", "", "9223372037", " 5 "} {
		f.Add(s)
	}
	now := time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := resilience.ParseRetryAfter(s, now)
		if err != nil {
			if d != 0 || !errors.Is(err, resilience.ErrInvalidRetryAfter) {
				t.Fatalf("ParseRetryAfter(%q) = %v, %v", s, d, err)
			}
			return
		}
		if d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v: negative", s, d)
		}
		// A hint carried by an error survives wrapping.
		hinted := resilience.WithRetryAfter(errors.New("busy"), d)
		var h resilience.RetryAfterHint
		if !errors.As(hinted, &h) || h.RetryAfter() != d {
			t.Fatalf("hint lost: %v", hinted)
		}
	})
}

func TestWithRetryAfter(t *testing.T) {
	if resilience.WithRetryAfter(nil, time.Second) != nil {
		t.Fatal("WithRetryAfter(nil) is not nil")
	}
	err := resilience.WithRetryAfter(errBoom, -time.Second)
	var h resilience.RetryAfterHint
	if !errors.As(err, &h) || h.RetryAfter() != 0 || !errors.Is(err, errBoom) || err.Error() != "boom" {
		t.Fatalf("err = %v", err)
	}
	if resilience.Permanent(nil) != nil {
		t.Fatal("Permanent(nil) is not nil")
	}
}
