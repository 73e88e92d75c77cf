package dwn

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn/internal/ipld"
	"github.com/anya-org/anya-go/web5/jose"
)

// The message CID is computed from the message's parts (the descriptor's dag-cbor spliced in);
// it must be the CID of the message's wire form without data read as JSON, for every kind of
// message and whichever optional parts it carries.
func TestMessageCIDIsTheWireFormCID(t *testing.T) {
	ctx := context.Background()
	author, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	tenant := author.String()
	ts := WithTimestamp(time.Date(2025, 4, 5, 6, 7, 8, 9000, time.UTC))
	def := &Protocol{Protocol: "https://example.com/chat", Published: true,
		Types:     map[string]ProtocolType{"thread": {DataFormats: []string{"text/plain"}}, "message": {}},
		Structure: map[string]*RuleSet{"thread": {Children: map[string]*RuleSet{"message": {}}}}}
	var msgs []*Message
	add := func(m *Message, err error) *Message {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
		return m
	}
	thread := add(NewWrite(ctx, author, tenant, Write{Protocol: def.Protocol, ProtocolPath: "thread", DataFormat: "text/plain",
		Data: []byte("hello"), Published: true}, ts))
	parent := &Record{ID: thread.RecordID(), ContextID: thread.ContextID()}
	add(NewWrite(ctx, author, tenant, Write{Protocol: def.Protocol, ProtocolPath: "thread/message", DataFormat: "text/plain",
		Data: []byte("reply"), Parent: parent, Recipient: tenant}, ts, WithPermissionGrant(thread.RecordID())))
	add(NewWrite(ctx, author, tenant, Write{Schema: "https://example.com/note", DataFormat: "application/json", Data: []byte(`{}`)}, ts))
	add(NewRead(ctx, author, tenant, thread.RecordID(), ts))
	add(NewDelete(ctx, author, tenant, thread.RecordID(), ts))
	published := true
	add(NewQuery(ctx, author, tenant, Query{Filter: Filter{Protocol: def.Protocol, Published: &published,
		DateCreated: &DateRange{From: "2025-01-01T00:00:00.000000Z"}}, Sort: UpdatedDescending, Limit: 7}, ts))
	add(NewProtocolsConfigure(ctx, author, tenant, def, ts))
	add(NewProtocolsQuery(ctx, author, tenant, def.Protocol, ts))
	add(NewGrant(ctx, author, Grant{Grantee: tenant, Expires: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Scope: Scope{Interface: InterfaceRecords, Method: MethodWrite, Protocol: def.Protocol}}, ts))
	for _, m := range msgs {
		for _, m := range []*Message{m, m.withoutData()} {
			raw, err := json.Marshal(m.wire(false))
			if err != nil {
				t.Fatal(err)
			}
			want, err := ipld.JSONCID(raw)
			if err != nil {
				t.Fatal(err)
			}
			if m.CID() != want {
				t.Fatalf("%s.%s message: CID %s, the wire form's is %s", m.desc.Interface, m.desc.Method, m.CID(), want)
			}
			parsed, err := ParseMessage(raw)
			if err != nil {
				t.Fatal(err)
			}
			if parsed.CID() != want {
				t.Fatalf("%s.%s message parsed: CID %s, the wire form's is %s", m.desc.Interface, m.desc.Method, parsed.CID(), want)
			}
		}
	}
}
