package diddht

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/jose"
)

func openGatewayDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sqlitex.Open(t.Context(), filepath.Join(t.TempDir(), "dht.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// persistentFixture serves a gateway opened on db.
func persistentFixture(t *testing.T, db *sql.DB, now *time.Time, opts ...Option) *fixture {
	t.Helper()
	store, err := NewSQLiteGatewayStore(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return *now }
	gw, err := OpenGateway(t.Context(), store, append([]Option{WithClock(clock)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{gw: gw, now: *now}
	f.srv = httptest.NewServer(gw)
	t.Cleanup(f.srv.Close)
	if f.client, err = NewClient(f.srv.URL+"/", WithHTTPClient(f.srv.Client()), WithClock(clock)); err != nil {
		t.Fatal(err)
	}
	return f
}

// A gateway opened again on its store serves what it served: the DIDs, their current
// documents and their history, within its limits.
func TestGatewayPersists(t *testing.T) {
	ctx := context.Background()
	db := openGatewayDB(t)
	now := time.Unix(1_700_000_000, 0)
	f := persistentFixture(t, db, &now, WithHistory(2))
	a, err := Create(ctx, jose.NewMemoryKeyManager(), WithTypes(4))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // three versions, of which the gateway keeps two
		if err := f.client.Publish(ctx, a); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
	}
	b, err := Create(ctx, jose.NewMemoryKeyManager())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.client.Publish(ctx, b); err != nil {
		t.Fatal(err)
	}
	f.srv.Close()

	g := persistentFixture(t, db, &now, WithHistory(2))
	if g.gw.Len() != 2 {
		t.Fatalf("the reopened gateway holds %d DIDs, want 2", g.gw.Len())
	}
	for _, d := range []string{a.String(), b.String()} {
		res, err := g.client.Resolve(ctx, mustParseDID(t, d))
		if err != nil {
			t.Fatalf("resolve %s after reopening: %v", d, err)
		}
		if res.Document.ID != d {
			t.Fatalf("resolved %s as %s", d, res.Document.ID)
		}
	}
	res, _ := g.client.Resolve(ctx, a.DID)
	if res.DocumentMetadata.VersionID != "1700000120" || len(res.DocumentMetadata.Types) != 1 {
		t.Fatalf("current version %+v", res.DocumentMetadata)
	}
	_, seqs, _ := g.gw.current(a.DID.ID, 0)
	if len(seqs) != 2 || seqs[0] != 1_700_000_060 {
		t.Fatalf("history %v, want the last two versions", seqs)
	}
	// The conflict rules hold across the restart: an older version is refused.
	m, _, _ := f.gw.current(a.DID.ID, 1_700_000_060)
	if err := g.gw.Store(a.DID.ID, m); !errors.Is(err, ErrConflict) {
		t.Fatalf("an older version after reopening: %v", err)
	}
}

// A store whose bytes were altered does not open: every stored message is verified again.
func TestGatewayStoreTampered(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		sql  string
		want error
	}{
		{"flipped signature byte", `UPDATE diddht_gateway SET msg = x'00' || substr(msg, 2)`, ErrInvalidSignature},
		{"record moved to another DID", `UPDATE diddht_gateway SET id = 'o3ky5kx7dq1uouq8e81bdqx1pnchgk8r5bhe3gy5pu9j8a1d4u7y'`, ErrInvalidSignature},
		{"truncated", `UPDATE diddht_gateway SET msg = substr(msg, 1, 40)`, ErrInvalidMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openGatewayDB(t)
			now := time.Unix(1_700_000_000, 0)
			f := persistentFixture(t, db, &now)
			a, _ := Create(ctx, jose.NewMemoryKeyManager())
			if err := f.client.Publish(ctx, a); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, tc.sql); err != nil {
				t.Fatal(err)
			}
			store, _ := NewSQLiteGatewayStore(ctx, db)
			if _, err := OpenGateway(ctx, store); !errors.Is(err, tc.want) {
				t.Fatalf("OpenGateway: %v, want %v", err, tc.want)
			}
		})
	}
}

// failingStore refuses every save.
type failingStore struct{}

func (failingStore) Save(context.Context, string, []*Message) error { return errors.New("disk full") }
func (failingStore) Load(context.Context) (map[string][]*Message, error) {
	return map[string][]*Message{}, nil
}

// A write the store refuses is refused: the gateway does not serve what it could not keep.
func TestGatewayStoreFailure(t *testing.T) {
	ctx := context.Background()
	gw, err := OpenGateway(ctx, failingStore{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	c, _ := NewClient(srv.URL+"/", WithHTTPClient(srv.Client()))
	a, _ := Create(ctx, jose.NewMemoryKeyManager())
	err = c.Publish(ctx, a)
	if err == nil || gw.Len() != 0 {
		t.Fatalf("publish with a failing store: %v, %d DIDs served", err, gw.Len())
	}
	m, _ := SignMessage(ctx, mustSigner(t, a), time.Now().Unix(), mustPacket(t, a))
	if err := gw.Store(a.DID.ID, m); !errors.Is(err, errStore) {
		t.Fatalf("Store: %v", err)
	}
	rec := httptest.NewRecorder()
	body, _ := m.MarshalBinary()
	req := httptest.NewRequest(http.MethodPut, "/"+a.DID.ID, bytesReader(body))
	gw.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("PUT with a failing store: %d", rec.Code)
	}
}

func mustParseDID(t *testing.T, s string) did.DID {
	t.Helper()
	d, err := did.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustSigner(t *testing.T, b *did.BearerDID) jose.Signer {
	t.Helper()
	s, err := b.Signer(context.Background(), did.WithMethod("#0"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustPacket(t *testing.T, b *did.BearerDID) []byte {
	t.Helper()
	p, err := packetOf(b)
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
