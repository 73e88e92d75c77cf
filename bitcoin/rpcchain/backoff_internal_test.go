package rpcchain

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	want := []time.Duration{50, 100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := backoff(50*time.Millisecond, time.Second, i); got != w*time.Millisecond {
			t.Errorf("attempt %d: %v, want %v", i, got, w*time.Millisecond)
		}
	}
	if got := backoff(time.Second, time.Second, 1000); got != time.Second {
		t.Errorf("long outage: %v", got)
	}
}
