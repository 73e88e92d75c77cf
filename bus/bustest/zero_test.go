package bustest_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anya-org/anya-go/bus/bustest"
)

// A zero Recorder records nothing and never panics: Wait for a message ends with its context.
func TestZeroRecorder(t *testing.T) {
	var r bustest.Recorder[int]
	if r.Subscription() != nil || r.Len() != 0 || len(r.Envelopes()) != 0 || len(r.Payloads()) != 0 {
		t.Fatalf("zero recorder: %v %d %v %v", r.Subscription(), r.Len(), r.Envelopes(), r.Payloads())
	}
	if got, err := r.Wait(context.Background(), 0); err != nil || len(got) != 0 {
		t.Fatalf("Wait(0) = %v, %v", got, err)
	}
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := r.Wait(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait(1) = %v, want the context's deadline", err)
		}
	})
}
