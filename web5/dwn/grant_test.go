package dwn_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/web5/dwn"
)

const vaultProtocol = `{
	"protocol": "https://example.com/vault",
	"published": false,
	"types": {"item": {"dataFormats": ["text/plain"]}},
	"structure": {"item": {}}
}`

func (e *env) grant(g dwn.Grant) *dwn.Record {
	e.t.Helper()
	m, err := dwn.NewGrant(e.ctx, e.alice, g)
	return e.ok(e.alice.String(), m, err).Record
}

func item(text string) dwn.Write {
	return dwn.Write{Protocol: "https://example.com/vault", ProtocolPath: "item", DataFormat: "text/plain", Data: []byte(text)}
}

func TestGrants(t *testing.T) {
	e := newEnv(t)
	tenant := e.alice.String()
	e.install(tenant, vaultProtocol)
	day := time.Now().Add(24 * time.Hour)
	write := e.grant(dwn.Grant{Grantee: e.bob.String(), Expires: day,
		Scope: dwn.Scope{Interface: dwn.InterfaceRecords, Method: dwn.MethodWrite, Protocol: "https://example.com/vault"}})
	query := e.grant(dwn.Grant{Grantee: e.bob.String(), Expires: day,
		Scope: dwn.Scope{Interface: dwn.InterfaceRecords, Method: dwn.MethodQuery, Protocol: "https://example.com/vault"}})
	secret := e.write(e.alice, tenant, item("alice's"))

	// Without the grant the protocol has no rule for Bob.
	m, err := dwn.NewWrite(e.ctx, e.bob, tenant, item("bob's"))
	e.refused(tenant, m, err, dwn.ErrForbidden)
	bobs := e.write(e.bob, tenant, item("bob's"), dwn.WithPermissionGrant(write.ID))
	// Bob updates his own record under the grant.
	e.write(e.bob, tenant, dwn.Write{Update: bobs, Data: []byte("bob's v2")}, dwn.WithPermissionGrant(write.ID))

	if ids := e.queryIDs(e.bob, tenant, dwn.Query{Filter: dwn.Filter{Protocol: "https://example.com/vault"}}, dwn.WithPermissionGrant(query.ID)); !slices.Equal(ids, []string{secret.ID, bobs.ID}) {
		t.Fatalf("query under a grant: %v", ids)
	}
	// The grant is readable by its grantee, as its recipient.
	m, err = dwn.NewRead(e.ctx, e.bob, tenant, write.ID)
	e.ok(tenant, m, err)

	t.Run("scope", func(t *testing.T) {
		m, err := dwn.NewRead(e.ctx, e.bob, tenant, secret.ID, dwn.WithPermissionGrant(write.ID))
		e.refused(tenant, m, err, dwn.ErrForbidden)
		m, err = dwn.NewWrite(e.ctx, e.bob, tenant, note("outside the protocol"), dwn.WithPermissionGrant(write.ID))
		e.refused(tenant, m, err, dwn.ErrForbidden)
		m, err = dwn.NewQuery(e.ctx, e.bob, tenant, dwn.Query{}, dwn.WithPermissionGrant(query.ID))
		e.refused(tenant, m, err, dwn.ErrForbidden)
		m, err = dwn.NewDelete(e.ctx, e.bob, tenant, secret.ID, dwn.WithPermissionGrant(write.ID))
		e.refused(tenant, m, err, dwn.ErrForbidden)
		// A write grant does not let Bob overwrite Alice's record.
		m, err = dwn.NewWrite(e.ctx, e.bob, tenant, dwn.Write{Update: secret, Data: []byte("x")}, dwn.WithPermissionGrant(write.ID))
		e.refused(tenant, m, err, dwn.ErrForbidden)
	})
	t.Run("another grantee", func(t *testing.T) {
		m, err := dwn.NewWrite(e.ctx, e.mallory, tenant, item("mallory's"), dwn.WithPermissionGrant(write.ID))
		e.refused(tenant, m, err, dwn.ErrForbidden)
	})
	t.Run("not a grant", func(t *testing.T) {
		m, err := dwn.NewWrite(e.ctx, e.bob, tenant, item("x"), dwn.WithPermissionGrant(secret.ID))
		e.refused(tenant, m, err, dwn.ErrForbidden)
		m, err = dwn.NewWrite(e.ctx, e.bob, tenant, item("x"), dwn.WithPermissionGrant(bobs.ID))
		e.refused(tenant, m, err, dwn.ErrForbidden)
	})
	t.Run("grant from another tenant", func(t *testing.T) {
		// Bob grants himself write access in his own tenant; it means nothing in Alice's.
		own, err := dwn.NewGrant(e.ctx, e.bob, dwn.Grant{Grantee: e.bob.String(), Expires: day,
			Scope: dwn.Scope{Interface: dwn.InterfaceRecords, Method: dwn.MethodWrite}})
		g := e.ok(e.bob.String(), own, err).Record
		m, err := dwn.NewWrite(e.ctx, e.bob, tenant, note("x"), dwn.WithPermissionGrant(g.ID))
		e.refused(tenant, m, err, dwn.ErrForbidden)
	})
	t.Run("only the tenant writes grants", func(t *testing.T) {
		data, _ := json.Marshal(map[string]any{"dateExpires": dwn.Timestamp(day),
			"scope": map[string]string{"interface": "Records", "method": "Write"}})
		m, err := dwn.NewWrite(e.ctx, e.bob, tenant, dwn.Write{Protocol: dwn.PermissionsProtocol, ProtocolPath: "grant",
			Recipient: e.bob.String(), DataFormat: "application/json", Data: data}, dwn.WithPermissionGrant(write.ID))
		e.refused(tenant, m, err, dwn.ErrForbidden)
		m, err = dwn.NewGrant(e.ctx, e.bob, dwn.Grant{Grantee: e.bob.String(), Expires: day,
			Scope: dwn.Scope{Interface: dwn.InterfaceRecords, Method: dwn.MethodWrite}})
		e.refused(tenant, m, err, dwn.ErrForbidden)
		m, err = dwn.NewDelete(e.ctx, e.bob, tenant, write.ID)
		e.refused(tenant, m, err, dwn.ErrForbidden)
	})
	t.Run("malformed grant", func(t *testing.T) {
		m, err := dwn.NewWrite(e.ctx, e.alice, tenant, dwn.Write{Protocol: dwn.PermissionsProtocol, ProtocolPath: "grant",
			Recipient: e.bob.String(), DataFormat: "application/json", Data: []byte(`{"scope": {"interface": "Records", "method": "Own"}}`)})
		e.refused(tenant, m, err, dwn.ErrInvalidMessage)
		if _, err := dwn.NewGrant(e.ctx, e.alice, dwn.Grant{Grantee: e.bob.String(), Expires: day,
			Scope: dwn.Scope{Interface: dwn.InterfaceRecords, Method: dwn.MethodWrite, Protocol: dwn.PermissionsProtocol}}); !errors.Is(err, dwn.ErrInvalidMessage) {
			t.Fatalf("a grant over the permissions protocol: %v", err)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		rev, err := dwn.NewRevocation(e.ctx, e.alice, write)
		e.ok(tenant, rev, err)
		m, err := dwn.NewWrite(e.ctx, e.bob, tenant, item("after revocation"), dwn.WithPermissionGrant(write.ID))
		err = e.refused(tenant, m, err, dwn.ErrGrantRevoked)
		var fe *dwn.ForbiddenError
		if !errors.As(err, &fe) || !errors.Is(err, dwn.ErrForbidden) {
			t.Fatalf("revoked grant: %T %v", err, err)
		}
		// Bob may not remove the revocation.
		revs := e.queryIDs(e.alice, tenant, dwn.Query{Filter: dwn.Filter{Protocol: dwn.PermissionsProtocol, ProtocolPath: "grant/revocation"}})
		if len(revs) != 1 {
			t.Fatalf("revocations: %v", revs)
		}
		m, err = dwn.NewDelete(e.ctx, e.bob, tenant, revs[0])
		e.refused(tenant, m, err, dwn.ErrForbidden)
	})
}

// TestGrantExpiry runs in a synctest bubble: the node's clock is time.Now, which the
// bubble's fake clock drives.
func TestGrantExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		tenant := e.alice.String()
		e.install(tenant, vaultProtocol)
		g := e.grant(dwn.Grant{Grantee: e.bob.String(), Expires: time.Now().Add(time.Hour),
			Scope: dwn.Scope{Interface: dwn.InterfaceRecords, Method: dwn.MethodWrite, Protocol: "https://example.com/vault"}})
		e.write(e.bob, tenant, item("in time"), dwn.WithPermissionGrant(g.ID))

		time.Sleep(time.Hour)
		m, err := dwn.NewWrite(e.ctx, e.bob, tenant, item("too late"), dwn.WithPermissionGrant(g.ID))
		e.refused(tenant, m, err, dwn.ErrGrantExpired)
		// Backdating the message does not help: expiry is also checked against the node's clock.
		m, err = dwn.NewWrite(e.ctx, e.bob, tenant, item("backdated"), dwn.WithPermissionGrant(g.ID), dwn.WithTimestamp(time.Now().Add(-30*time.Minute)))
		e.refused(tenant, m, err, dwn.ErrGrantExpired)
		// Nor does predating the grant.
		m, err = dwn.NewWrite(e.ctx, e.bob, tenant, item("before the grant"), dwn.WithPermissionGrant(g.ID), dwn.WithTimestamp(time.Now().Add(-2*time.Hour)))
		e.refused(tenant, m, err, dwn.ErrForbidden)
	})
}

func TestReplays(t *testing.T) {
	e := newEnv(t)
	tenant := e.alice.String()
	first, err := dwn.NewWrite(e.ctx, e.alice, tenant, note("v1"))
	r := e.ok(tenant, first, err).Record
	e.refused(tenant, first, nil, dwn.ErrConflict)

	second, err := dwn.NewWrite(e.ctx, e.alice, tenant, dwn.Write{Update: r, Data: []byte("v2")})
	r2 := e.ok(tenant, second, err).Record
	e.refused(tenant, second, nil, dwn.ErrConflict)
	// An update built on the first version but timestamped before the second loses.
	stale, err := dwn.NewWrite(e.ctx, e.alice, tenant, dwn.Write{Update: r, Data: []byte("v1b")})
	if err != nil {
		t.Fatal(err)
	}
	if stale.Timestamp() > r2.DateUpdated {
		stale, err = dwn.NewWrite(e.ctx, e.alice, tenant, dwn.Write{Update: r, Data: []byte("v1b")}, dwn.WithTimestamp(mustTime(t, r2.DateUpdated).Add(-time.Microsecond)))
	}
	e.refused(tenant, stale, err, dwn.ErrConflict)

	del, err := dwn.NewDelete(e.ctx, e.alice, tenant, r.ID)
	e.ok(tenant, del, err)
	e.refused(tenant, del, nil, dwn.ErrConflict)
	e.refused(tenant, first, nil, dwn.ErrConflict)
	e.refused(tenant, second, nil, dwn.ErrConflict)

	p, _ := dwn.ParseProtocol([]byte(vaultProtocol))
	conf, err := dwn.NewProtocolsConfigure(e.ctx, e.alice, tenant, p)
	e.ok(tenant, conf, err)
	e.refused(tenant, conf, nil, dwn.ErrConflict)
	older, err := dwn.NewProtocolsConfigure(e.ctx, e.alice, tenant, p, dwn.WithTimestamp(time.Now().Add(-time.Hour)))
	e.refused(tenant, older, err, dwn.ErrConflict)

	t.Run("stale reads", func(t *testing.T) {
		old := dwn.WithTimestamp(time.Now().Add(-dwn.DefaultMaxMessageAge - time.Minute))
		m, err := dwn.NewQuery(e.ctx, e.alice, tenant, dwn.Query{}, old)
		e.refused(tenant, m, err, dwn.ErrStale)
		m, err = dwn.NewRead(e.ctx, e.alice, tenant, r.ID, old)
		e.refused(tenant, m, err, dwn.ErrStale)
		m, err = dwn.NewProtocolsQuery(e.ctx, e.alice, tenant, "", old)
		e.refused(tenant, m, err, dwn.ErrStale)
	})
	t.Run("future timestamps", func(t *testing.T) {
		m, err := dwn.NewWrite(e.ctx, e.alice, tenant, note("from the future"), dwn.WithTimestamp(time.Now().Add(time.Hour)))
		e.refused(tenant, m, err, dwn.ErrInvalidMessage)
	})
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(dwn.TimestampLayout, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestQueryPagination(t *testing.T) {
	e := newEnv(t)
	tenant := e.alice.String()
	base := time.Now().Add(-time.Minute)
	var published []string
	for i := range 25 {
		w := note("n")
		w.Published = i%3 == 0
		r := e.write(e.alice, tenant, w, dwn.WithTimestamp(base.Add(time.Duration(i)*time.Millisecond)))
		if w.Published {
			published = append(published, r.ID)
		}
	}
	page := func(author string, limit int, sort dwn.DateSort) []string {
		who := e.alice
		if author == "bob" {
			who = e.bob
		}
		var all []string
		cursor := ""
		for range 30 {
			m, err := dwn.NewQuery(e.ctx, who, tenant, dwn.Query{Limit: limit, Cursor: cursor, Sort: sort})
			r := e.ok(tenant, m, err)
			if len(r.Records) > limit {
				t.Fatalf("page of %d for limit %d", len(r.Records), limit)
			}
			for _, rec := range r.Records {
				all = append(all, rec.ID)
			}
			if r.Cursor == "" {
				return all
			}
			cursor = r.Cursor
		}
		t.Fatal("pagination does not end")
		return nil
	}
	everything := e.queryIDs(e.alice, tenant, dwn.Query{})
	if len(everything) != 25 {
		t.Fatalf("%d records", len(everything))
	}
	if got := page("alice", 10, ""); !slices.Equal(got, everything) {
		t.Fatalf("pages of 10:\n%v\n%v", got, everything)
	}
	desc := slices.Clone(everything)
	slices.Reverse(desc)
	if got := page("alice", 7, dwn.CreatedDescending); !slices.Equal(got, desc) {
		t.Fatalf("descending pages of 7")
	}
	// Bob sees only the published records, in full pages, across hidden ones.
	if got := page("bob", 2, ""); !slices.Equal(got, published) {
		t.Fatalf("Bob's pages:\n%v\n%v", got, published)
	}
	m, err := dwn.NewQuery(e.ctx, e.alice, tenant, dwn.Query{Limit: 5, Cursor: "bm90IGEgY3Vyc29y"})
	e.refused(tenant, m, err, dwn.ErrInvalidMessage)
}

func TestEvents(t *testing.T) {
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	events := make(chan dwn.Event, 16)
	sub, err := bus.Subscribe(b, dwn.TopicPrefix+".>", func(_ context.Context, ev bus.Envelope[dwn.Event]) error {
		if ev.Topic != dwn.Topic(ev.Payload.Tenant, ev.Payload.Kind) || ev.Source != dwn.EventSource {
			t.Errorf("event on %s from %s: %+v", ev.Topic, ev.Source, ev.Payload)
		}
		events <- ev.Payload
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	e := newEnv(t, dwn.WithBus(b))
	tenant := e.alice.String()
	r := e.write(e.alice, tenant, note("hello"))
	next := func() dwn.Event {
		t.Helper()
		select {
		case ev := <-events:
			return ev
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
		}
		return dwn.Event{}
	}
	ev := next()
	if ev.Kind != dwn.EventRecordWritten || ev.Tenant != tenant || ev.Record.ID != r.ID || ev.Record.Data != nil || ev.Message.RecordID() != r.ID {
		t.Fatalf("write event: %+v", ev)
	}
	// Refused messages publish nothing.
	m, err := dwn.NewWrite(e.ctx, e.bob, tenant, note("refused"))
	e.refused(tenant, m, err, dwn.ErrForbidden)
	e.install(tenant, vaultProtocol)
	if ev := next(); ev.Kind != dwn.EventProtocolConfigured || ev.Record != nil || ev.Message.Descriptor().Definition.Protocol != "https://example.com/vault" {
		t.Fatalf("protocol event: %+v", ev)
	}
	del, err := dwn.NewDelete(e.ctx, e.alice, tenant, r.ID)
	e.ok(tenant, del, err)
	if ev := next(); ev.Kind != dwn.EventRecordDeleted || !ev.Record.Deleted || ev.Record.ID != r.ID {
		t.Fatalf("delete event: %+v", ev)
	}
	select {
	case ev := <-events:
		t.Fatalf("unexpected event %+v", ev)
	default:
	}
}

func TestTopics(t *testing.T) {
	for _, tenant := range []string{"did:web:example.com", "did:web:a.b.c%3A8080:users:x", "did:key:z6Mk", "did:example:*>"} {
		for _, kind := range []string{dwn.EventRecordWritten, dwn.EventRecordDeleted, dwn.EventProtocolConfigured} {
			topic := dwn.Topic(tenant, kind)
			if err := bus.ValidateTopic(topic); err != nil {
				t.Errorf("%s: %v", topic, err)
			}
			if !bus.MatchTopic(dwn.TopicPrefix+"."+dwn.TenantToken(tenant)+".>", topic) || !bus.MatchTopic("web5.dwn.*."+kind, topic) {
				t.Errorf("%s does not match the documented patterns", topic)
			}
		}
	}
	if dwn.TenantToken("did:web:a.b") == dwn.TenantToken("did:web:a:b") {
		t.Fatal("tenant tokens collide")
	}
}
