package natsaudit

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/internal/natstest"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/security/audittest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var streams atomic.Int64

// rewrite replaces the stream as an attacker with JetStream admin rights could: delete it,
// create it again (allowing deletes), publish the entries at their positions — publishing a
// filler and deleting it where a position has none — up to the recorded position.
func rewrite(js jetstream.JetStream, name, subject string) func(ctx context.Context, es []security.Entry, recorded security.Head) error {
	return func(ctx context.Context, es []security.Entry, recorded security.Head) error {
		if err := js.DeleteStream(ctx, name); err != nil {
			return err
		}
		st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject}})
		if err != nil {
			return err
		}
		at := map[uint64]security.Entry{}
		for _, e := range es {
			at[e.Seq] = e
		}
		for seq := uint64(1); seq <= recorded.Seq; seq++ {
			e, ok := at[seq]
			body := []byte("filler")
			if ok {
				if body, err = Encode(&e); err != nil {
					return err
				}
			}
			ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: body})
			if err != nil {
				return err
			}
			if ack.Sequence != seq {
				return fmt.Errorf("published at %d, not %d", ack.Sequence, seq)
			}
			if !ok {
				if err := st.DeleteMsg(ctx, seq); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

func TestConformance(t *testing.T) {
	srv := natstest.Start(t)
	audittest.Run(t, func(t *testing.T) audittest.Backend {
		n := streams.Add(1)
		name, subject := fmt.Sprint("AUDIT", n), fmt.Sprint("audit.", n)
		return audittest.Backend{
			Open: func(t *testing.T) security.AuditStore {
				s, err := New(t.Context(), srv.JetStream(t), WithStream(name), WithSubject(subject))
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
			Rewrite: rewrite(srv.JetStream(t), name, subject),
		}
	})
}

// The stream refuses the deletions an attacker without admin rights would try.
func TestDeleteAndPurgeRefused(t *testing.T) {
	ctx := t.Context()
	js := natstest.Start(t).JetStream(t)
	s, err := New(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	l, err := security.NewAuditLogOn(s)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := l.Append(ctx, security.Entry{Kind: security.KindDecision, Decision: security.DecisionAllow}); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := js.Stream(ctx, DefaultStream)
	if err := st.DeleteMsg(ctx, 2); err == nil {
		t.Fatal("an entry was deleted")
	}
	if err := st.Purge(ctx); err == nil {
		t.Fatal("the log was purged")
	}
	if rep, err := l.Verify(ctx); err != nil || rep.Entries != 3 {
		t.Fatalf("Verify: %+v %v", rep, err)
	}
}

// Entries survive a restart of the server, and appending continues the chain.
func TestServerRestart(t *testing.T) {
	ctx := t.Context()
	srv := natstest.Start(t)
	s, err := New(ctx, srv.JetStream(t))
	if err != nil {
		t.Fatal(err)
	}
	l, _ := security.NewAuditLogOn(s)
	for range 5 {
		if _, err := l.Append(ctx, security.Entry{Kind: security.KindDecision}); err != nil {
			t.Fatal(err)
		}
	}
	srv.Restart(t)
	s2, err := New(ctx, srv.JetStream(t))
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := security.NewAuditLogOn(s2)
	e, err := l2.Append(ctx, security.Entry{Kind: security.KindDecision})
	if err != nil || e.Seq != 6 {
		t.Fatalf("append after the restart: %+v %v", e, err)
	}
	if rep, err := l2.Verify(ctx); err != nil || rep.Entries != 6 {
		t.Fatalf("Verify: %+v %v", rep, err)
	}
}

func TestOptionsRejected(t *testing.T) {
	js := natstest.Start(t).JetStream(t)
	for name, opts := range map[string][]Option{
		"empty stream":     {WithStream("")},
		"dotted stream":    {WithStream("a.b")},
		"wildcard subject": {WithSubject("audit.*")},
		"empty subject":    {WithSubject("")},
		"replicas 4+2":     {WithReplicas(6)},
	} {
		var oe *OptionError
		if _, err := New(t.Context(), js, opts...); !errors.As(err, &oe) || !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A message body comes from the server: decoding never panics, and what it accepts as an entry
// encodes back to the same entry.
func FuzzDecode(f *testing.F) {
	good, _ := Encode(&security.Entry{Kind: "k", Action: "a", Prev: [32]byte{1}, Hash: [32]byte{2}})
	for _, s := range [][]byte{good, nil, []byte("{}"), []byte(`{"prev":"zz"}`), []byte("filler")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e := security.Entry{Seq: 7}
		if !decode(body, &e) {
			if e.Prev != ([32]byte{}) || e.Hash != ([32]byte{}) || e.Seq != 7 {
				t.Fatalf("malformed body left %+v", e)
			}
			return
		}
		again, err := Encode(&e)
		if err != nil {
			t.Fatal(err)
		}
		back := security.Entry{Seq: 7}
		if !decode(again, &back) || back != e {
			t.Fatalf("round trip %+v -> %+v", e, back)
		}
	})
}
