package natstest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/anya-org/anya-go/internal/natstest"
)

// fakeTB records Fatalf instead of stopping the goroutine.
type fakeTB struct {
	testing.TB
	msgs []string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

// A zero Server fails the test with a message naming Start instead of panicking or dialling
// nowhere; Shutdown does nothing.
func TestZeroServer(t *testing.T) {
	var s natstest.Server
	f := &fakeTB{TB: t}
	if nc := s.Connect(f); nc != nil {
		t.Fatal("Connect on a zero Server returned a connection")
	}
	if js := s.JetStream(f); js != nil {
		t.Fatal("JetStream on a zero Server returned a client")
	}
	s.Restart(f)
	s.Shutdown()
	if len(f.msgs) != 3 {
		t.Fatalf("failures: %q", f.msgs)
	}
	for _, m := range f.msgs {
		if !strings.Contains(m, "natstest.Start") {
			t.Fatalf("failure %q does not name natstest.Start", m)
		}
	}
	if s.StoreDir() != "" {
		t.Fatalf("StoreDir = %q", s.StoreDir())
	}
}
