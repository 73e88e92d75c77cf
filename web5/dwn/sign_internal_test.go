package dwn

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/jose"
)

// The New… builders of writes, reads and deletes assemble the message from the descriptor
// they built instead of decoding what they signed; the message must be exactly the one a
// receiver gets from its JSON form (ParseMessage), part for part, for every kind of write.
func TestSignedMessageIsTheParsedMessage(t *testing.T) {
	ctx := context.Background()
	author, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	other, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	tenant := author.String()
	ts := WithTimestamp(time.Date(2025, 4, 5, 6, 7, 8, 9000, time.UTC))
	const proto = "https://example.com/chat"
	thread, err := NewWrite(ctx, author, tenant, Write{Protocol: proto, ProtocolPath: "thread", DataFormat: "text/plain",
		Data: []byte("hello"), Published: true}, ts)
	if err != nil {
		t.Fatal(err)
	}
	threadRec := &Record{ID: thread.RecordID(), ContextID: thread.ContextID(), Protocol: proto, ProtocolPath: "thread",
		DataFormat: "text/plain", DateCreated: thread.desc.DateCreated, DateUpdated: thread.desc.MessageTimestamp,
		Published: true, DatePublished: thread.desc.DatePublished, Initial: thread, Latest: thread}
	cases := []struct {
		name  string
		build func() (*Message, error)
	}{
		{"plain write", func() (*Message, error) {
			return NewWrite(ctx, author, tenant, Write{DataFormat: "application/json", Data: []byte(`{"a":1}`)}, ts)
		}},
		{"empty data", func() (*Message, error) {
			return NewWrite(ctx, author, tenant, Write{DataFormat: "application/octet-stream"}, ts)
		}},
		{"schema, recipient, published, HTML characters", func() (*Message, error) {
			return NewWrite(ctx, author, tenant, Write{Schema: "https://example.com/s?a=1&b=2", DataFormat: "text/plain; x=<y>&z",
				Recipient: other.String(), Published: true, Data: []byte("x")}, ts)
		}},
		{"protocol top level", func() (*Message, error) { return thread, nil }},
		{"protocol child", func() (*Message, error) {
			return NewWrite(ctx, author, tenant, Write{Protocol: proto, ProtocolPath: "thread/message", DataFormat: "text/plain",
				Parent: threadRec, Data: []byte("hi")}, ts)
		}},
		{"update", func() (*Message, error) {
			return NewWrite(ctx, author, tenant, Write{Update: threadRec, Data: []byte("hello again")}, ts)
		}},
		{"update unpublished", func() (*Message, error) {
			return NewWrite(ctx, author, tenant, Write{Update: threadRec, Data: []byte("quiet")})
		}},
		{"under a grant, for another tenant", func() (*Message, error) {
			return NewWrite(ctx, other, tenant, Write{DataFormat: "text/plain", Data: []byte("g")}, ts,
				WithPermissionGrant(thread.RecordID()))
		}},
		{"large data", func() (*Message, error) {
			return NewWrite(ctx, author, tenant, Write{DataFormat: "application/octet-stream", Data: make([]byte, 300<<10)}, ts)
		}},
		{"read", func() (*Message, error) { return NewRead(ctx, author, tenant, thread.RecordID(), ts) }},
		{"delete", func() (*Message, error) { return NewDelete(ctx, author, tenant, thread.RecordID(), ts) }},
		{"invalid UTF-8 in the schema (decoded again)", func() (*Message, error) {
			return NewWrite(ctx, author, tenant, Write{Schema: "https://example.com/\xff", DataFormat: "text/plain", Data: []byte("u")}, ts)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := c.build()
			if err != nil {
				t.Fatal(err)
			}
			raw, err := m.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if want, err := json.Marshal(m.wire(true)); err != nil || string(raw) != string(want) {
				t.Fatalf("MarshalJSON differs from encoding/json's form (%v):\n%s\n%s", err, raw, want)
			}
			parsed, err := ParseMessage(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, parsed) {
				t.Fatalf("built message differs from the parsed one:\nbuilt  %+v\nparsed %+v", m, parsed)
			}
			if m.desc.Method == MethodWrite {
				initial, err := m.isInitialWrite(m.Author())
				if err != nil {
					t.Fatal(err)
				}
				// Computed again from the signed descriptor, not from what the builder noted.
				c := *m
				c.entryAuthor = ""
				want, err := c.isInitialWrite(m.Author())
				if err != nil {
					t.Fatal(err)
				}
				if initial != want {
					t.Fatalf("isInitialWrite = %v, computed again %v", initial, want)
				}
			}
		})
	}
}

// The hand-written wire form of any message ParseMessage accepts is encoding/json's, and reads
// back as the same message.
func FuzzMarshalJSON(f *testing.F) {
	ctx := context.Background()
	author, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		f.Fatal(err)
	}
	for _, w := range []Write{
		{DataFormat: "text/plain", Data: []byte("hello")},
		{DataFormat: "text/plain; a=<b>&c", Schema: "https://example.com/s", Published: true},
		{Protocol: "https://example.com/p", ProtocolPath: "x", DataFormat: "application/json", Data: []byte(`{"a":"\u2028"}`)},
	} {
		m, err := NewWrite(ctx, author, author.String(), w)
		if err != nil {
			f.Fatal(err)
		}
		raw, _ := m.MarshalJSON()
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := ParseMessage(raw)
		if err != nil {
			return
		}
		out, err := m.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if want, err := json.Marshal(m.wire(true)); err != nil || string(out) != string(want) {
			t.Fatalf("MarshalJSON differs from encoding/json's form (%v):\n%s\n%s", err, out, want)
		}
		back, err := ParseMessage(out)
		if err != nil || back.CID() != m.CID() {
			t.Fatalf("the wire form reads back as %v, %v", back, err)
		}
	})
}
