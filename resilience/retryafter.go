package resilience

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// httpDateLayouts are the HTTP-date formats a recipient must accept (RFC 9110, section 5.6.7):
// IMF-fixdate and the obsolete RFC 850 and asctime formats.
var httpDateLayouts = [...]string{
	"Mon, 02 Jan 2006 15:04:05 GMT",
	"Monday, 02-Jan-06 15:04:05 GMT",
	"Mon Jan _2 15:04:05 2006",
}

// ParseRetryAfter parses the value of an HTTP Retry-After header (RFC 9110, section 10.2.3):
// a number of seconds, or an HTTP date, which it turns into the wait from now (0 for a date in
// the past). Attach the result to the call's error with [WithRetryAfter] for a [Retry] to
// honour it.
func ParseRetryAfter(value string, now time.Time) (time.Duration, error) {
	v := strings.Trim(value, " \t")
	if v == "" {
		return 0, invalidRetryAfter(value, "empty")
	}
	if v[0] >= '0' && v[0] <= '9' {
		var secs int64
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c < '0' || c > '9' {
				return 0, invalidRetryAfter(value, "not a number of seconds")
			}
			secs = secs*10 + int64(c-'0')
			if secs > math.MaxInt64/int64(time.Second) {
				return 0, invalidRetryAfter(value, "too many seconds")
			}
		}
		return time.Duration(secs) * time.Second, nil
	}
	for _, layout := range httpDateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return max(t.Sub(now), 0), nil
		}
	}
	return 0, invalidRetryAfter(value, "not an HTTP date")
}

func invalidRetryAfter(value, reason string) error {
	if len(value) > 64 {
		value = value[:64] + "…"
	}
	return fmt.Errorf("%w %q: %s", ErrInvalidRetryAfter, value, reason)
}
