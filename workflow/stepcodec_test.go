package workflow

import (
	"bytes"
	"testing"
	"time"
)

func TestStepCodec(t *testing.T) {
	at := time.Unix(0, 1_700_000_000_123_456_789)
	steps := []StepRecord{
		{ID: "a", Index: 0, Status: StepCompleted, Attempt: 2, Output: []byte(`{"x":1}`), Started: at, Finished: at.Add(time.Second)},
		{ID: "b", Index: 1, Status: StepSkipped, Output: nil},
		{ID: "c", Index: 2, Status: StepCompensationFailed, Attempt: 1, CompensationAttempt: 3, Output: []byte{}, Error: "refund refused"},
	}
	enc := encodeSteps(steps)
	got, err := decodeSteps(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range steps {
		w, g := steps[i], got[i]
		if w.ID != g.ID || w.Index != g.Index || w.Status != g.Status || w.Attempt != g.Attempt || w.CompensationAttempt != g.CompensationAttempt ||
			!bytes.Equal(w.Output, g.Output) || (w.Output == nil) != (g.Output == nil) || w.Error != g.Error ||
			!w.Started.Equal(g.Started) || !w.Finished.Equal(g.Finished) {
			t.Fatalf("step %d: got %+v want %+v", i, g, w)
		}
	}
	if got, err := decodeSteps(encodeSteps(nil)); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v %v", got, err)
	}
	// Every truncation and a few corruptions are refused, never a panic.
	for i := 1; i < len(enc); i++ {
		if _, err := decodeSteps(enc[:i]); err == nil {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
	for _, bad := range [][]byte{{9}, {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, append(bytes.Clone(enc), 0)} {
		if _, err := decodeSteps(bad); err == nil {
			t.Fatalf("%x accepted", bad)
		}
	}
}

func FuzzDecodeSteps(f *testing.F) {
	f.Add(encodeSteps([]StepRecord{{ID: "a", Status: StepCompleted, Output: []byte("{}")}}))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		steps, err := decodeSteps(data)
		if err != nil {
			return
		}
		if again, err := decodeSteps(encodeSteps(steps)); err != nil || len(again) != len(steps) {
			t.Fatalf("re-encoding %d steps: %d, %v", len(steps), len(again), err)
		}
	})
}
