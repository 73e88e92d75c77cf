package dwn_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/web5test"
)

// seedMessages returns the JSON of one valid message of every kind.
func seedMessages(t testing.TB) [][]byte {
	ctx := context.Background()
	alice := web5test.Alice(t)
	tenant := alice.String()
	p, err := dwn.ParseProtocol([]byte(chatProtocol))
	if err != nil {
		t.Fatal(err)
	}
	w, err := dwn.NewWrite(ctx, alice, tenant, dwn.Write{Protocol: "https://example.com/chat", ProtocolPath: "thread",
		Schema: "https://example.com/thread", DataFormat: "application/json", Data: []byte(`{"a":1}`), Published: true, Recipient: tenant})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	msgs := []*dwn.Message{w}
	for _, f := range []func() (*dwn.Message, error){
		func() (*dwn.Message, error) { return dwn.NewRead(ctx, alice, tenant, w.RecordID()) },
		func() (*dwn.Message, error) { return dwn.NewDelete(ctx, alice, tenant, w.RecordID()) },
		func() (*dwn.Message, error) {
			return dwn.NewQuery(ctx, alice, tenant, dwn.Query{Filter: dwn.Filter{Protocol: "https://example.com/chat", Published: &yes,
				DateCreated: &dwn.DateRange{From: dwn.Timestamp(time.Unix(0, 0))}}, Limit: 3, Sort: dwn.UpdatedDescending})
		},
		func() (*dwn.Message, error) { return dwn.NewProtocolsConfigure(ctx, alice, tenant, p) },
		func() (*dwn.Message, error) {
			return dwn.NewProtocolsQuery(ctx, alice, tenant, "https://example.com/chat")
		},
		func() (*dwn.Message, error) {
			return dwn.NewGrant(ctx, alice, dwn.Grant{Grantee: web5test.Bob(t).String(), Expires: time.Now().Add(time.Hour),
				Scope: dwn.Scope{Interface: "Records", Method: "Read"}})
		},
	} {
		m, err := f()
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		if out[i], err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func FuzzParseMessage(f *testing.F) {
	for _, s := range seedMessages(f) {
		f.Add(s)
	}
	f.Add([]byte(`{"descriptor": {"interface": "Records", "method": "Read", "messageTimestamp": "2024-01-01T00:00:00.000000Z", "recordId": "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"}}`))
	f.Add([]byte(`{"descriptor": {"interface": "Protocols", "method": "Configure", "messageTimestamp": "2024-01-01T00:00:00.000000Z", "definition": {"protocol": "https://x.example", "types": {"a": {}}, "structure": {"a": {"$actions": [{"who": "anyone", "can": ["read"]}], "a": {}}}}}}`))
	f.Add([]byte(`{"descriptor": {"dataSize": 1e400}}`))
	f.Add([]byte(`[]`))
	net := web5test.NewNetwork(f)
	node, err := dwn.New(net.Resolver(f), dwn.WithStore(dwn.NewMemoryStore()))
	if err != nil {
		f.Fatal(err)
	}
	tenant := web5test.Alice(f).String()
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := dwn.ParseMessage(data)
		if err != nil {
			if m != nil {
				t.Fatal("a message with an error")
			}
			var me *dwn.MessageError
			var pe *dwn.ProtocolError
			if !errors.As(err, &me) && !errors.As(err, &pe) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		// The wire form round-trips to the same message.
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := dwn.ParseMessage(again)
		if err != nil {
			t.Fatalf("marshalled message does not parse: %v\n%s", err, again)
		}
		if m2.CID() != m.CID() || m2.DescriptorCID() != m.DescriptorCID() || m2.Author() != m.Author() {
			t.Fatal("round trip changed the message")
		}
		// Processing never panics and answers with a typed error.
		if _, err := node.Process(context.Background(), tenant, m); err != nil {
			for _, want := range []error{dwn.ErrInvalidMessage, dwn.ErrUnauthenticated, dwn.ErrForbidden, dwn.ErrNotFound, dwn.ErrConflict, dwn.ErrStale} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("untyped error from Process: %v", err)
		}
	})
}

func TestParseMessageRejects(t *testing.T) {
	seeds := seedMessages(t)
	edit := func(i int, fn func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(seeds[i], &m); err != nil {
			t.Fatal(err)
		}
		fn(m)
		b, _ := json.Marshal(m)
		return b
	}
	// editD changes the descriptor of an unsigned copy, so that the change itself (not the
	// signature no longer matching) is what ParseMessage must refuse.
	editD := func(i int, fn func(m map[string]any)) []byte {
		return edit(i, func(m map[string]any) {
			delete(m, "authorization")
			fn(m)
		})
	}
	desc := func(m map[string]any) map[string]any { return m["descriptor"].(map[string]any) }
	cases := map[string][]byte{
		"empty":                   []byte(``),
		"not an object":           []byte(`[1]`),
		"no descriptor":           []byte(`{}`),
		"trailing data":           append(append([]byte{}, seeds[1]...), []byte(` {}`)...),
		"unknown top-level":       edit(1, func(m map[string]any) { m["extra"] = 1 }),
		"unknown interface":       editD(1, func(m map[string]any) { desc(m)["interface"] = "Messages" }),
		"field of another method": editD(1, func(m map[string]any) { desc(m)["dataCid"] = "x" }),
		"case-folded field":       editD(1, func(m map[string]any) { desc(m)["RecordId"] = desc(m)["recordId"] }),
		"case-folded filter":      editD(3, func(m map[string]any) { desc(m)["filter"].(map[string]any)["Schema"] = "https://x.example" }),
		"case-folded range": editD(3, func(m map[string]any) {
			desc(m)["filter"].(map[string]any)["dateCreated"] = map[string]any{"FROM": "2024-01-01T00:00:00.000000Z"}
		}),
		"case-folded pagination": editD(3, func(m map[string]any) { desc(m)["pagination"] = map[string]any{"Limit": 3} }),
		"case-folded definition": editD(4, func(m map[string]any) { desc(m)["definition"].(map[string]any)["Published"] = true }),
		"case-folded rule": editD(4, func(m map[string]any) {
			desc(m)["definition"].(map[string]any)["structure"].(map[string]any)["thread"].(map[string]any)["$actions"] = []any{map[string]any{"WHO": "anyone", "can": []any{"read"}}}
		}),
		"bad timestamp":          editD(1, func(m map[string]any) { desc(m)["messageTimestamp"] = "2024-01-01T00:00:00Z" }),
		"bad record ID":          editD(1, func(m map[string]any) { desc(m)["recordId"] = "Qm123" }),
		"data on a read":         editD(1, func(m map[string]any) { m["encodedData"] = "AA" }),
		"data not matching CID":  editD(0, func(m map[string]any) { m["encodedData"] = "e30" }),
		"data not base64url":     editD(0, func(m map[string]any) { m["encodedData"] = "e30=" }),
		"negative size":          editD(0, func(m map[string]any) { desc(m)["dataSize"] = -1 }),
		"huge integer":           editD(0, func(m map[string]any) { desc(m)["dataSize"] = json.Number("18446744073709551616") }),
		"write without recordId": editD(0, func(m map[string]any) { delete(m, "recordId") }),
		"recordId on a read":     editD(1, func(m map[string]any) { m["recordId"] = desc(m)["recordId"] }),
		"published without date": editD(0, func(m map[string]any) { delete(desc(m), "datePublished") }),
		"recipient not a DID":    editD(0, func(m map[string]any) { desc(m)["recipient"] = "bob" }),
		"protocol path with $":   editD(0, func(m map[string]any) { desc(m)["protocolPath"] = "$thread" }),
		"query without filter":   editD(3, func(m map[string]any) { delete(desc(m), "filter") }),
		"query limit too large":  editD(3, func(m map[string]any) { desc(m)["pagination"] = map[string]any{"limit": dwn.MaxQueryLimit + 1} }),
		"unknown sort":           editD(3, func(m map[string]any) { desc(m)["dateSort"] = "random" }),
		"two signatures": edit(1, func(m map[string]any) {
			s := m["authorization"].(map[string]any)["signature"].(map[string]any)
			s["signatures"] = append(s["signatures"].([]any), s["signatures"].([]any)[0])
		}),
		"kid without fragment": edit(1, func(m map[string]any) {
			s := m["authorization"].(map[string]any)["signature"].(map[string]any)["signatures"].([]any)[0].(map[string]any)
			s["protected"] = "eyJhbGciOiJFZERTQSIsImtpZCI6ImRpZDprZXk6ejZNayJ9"
		}),
		"payload not JSON": edit(1, func(m map[string]any) {
			m["authorization"].(map[string]any)["signature"].(map[string]any)["payload"] = "bm90IGpzb24"
		}),
		"oversized": []byte(`{"descriptor": "` + strings.Repeat("a", dwn.MaxMessageSize) + `"}`),
	}
	for name, data := range cases {
		_, err := dwn.ParseMessage(data)
		var me *dwn.MessageError
		if !errors.As(err, &me) {
			t.Errorf("%s: %v, want a *MessageError", name, err)
		}
	}
	// The unsigned seeds themselves parse: the cases above fail for their change alone.
	for i := range seeds {
		if _, err := dwn.ParseMessage(editD(i, func(map[string]any) {})); err != nil {
			t.Errorf("unsigned seed %d: %v", i, err)
		}
	}
	for i, s := range seeds {
		if _, err := dwn.ParseMessage(s); err != nil {
			t.Errorf("seed %d: %v", i, err)
		}
	}
}

func FuzzParseProtocol(f *testing.F) {
	f.Add([]byte(chatProtocol))
	f.Add([]byte(vaultProtocol))
	f.Add([]byte(`{"protocol": "https://x.example", "types": {"a": {}}, "structure": {"a": {"$size": {"max": 3}, "a": {"$actions": [{"who": "author", "of": "a", "can": ["read"]}]}}}}`))
	f.Add([]byte(`{"protocol": "https://x.example", "types": {"a": {}}, "structure": {"a": {"$role": true}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := dwn.ParseProtocol(data)
		if err != nil {
			if !errors.Is(err, dwn.ErrInvalidProtocol) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dwn.ParseProtocol(b); err != nil {
			t.Fatalf("a valid definition does not parse back: %v\n%s", err, b)
		}
	})
}
