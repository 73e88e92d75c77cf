package diddht

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"

	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/web5/did"
)

// GatewayStore keeps what a Gateway serves, so that a gateway opened again on it (OpenGateway)
// serves the same DIDs with the same history.
//
// Contract: implementations MUST be safe for concurrent use and honour ctx. Save MUST replace,
// atomically, every version stored for the DID suffix id with versions (oldest first); Load
// MUST return what the last Save of each suffix stored, the versions oldest first. A store
// reads back bytes it wrote, but the gateway verifies every message it loads again: a store
// need not be trusted.
type GatewayStore interface {
	Save(ctx context.Context, id string, versions []*Message) error
	Load(ctx context.Context) (map[string][]*Message, error)
}

var gatewayMigrations = []string{`
CREATE TABLE diddht_gateway (
	id  TEXT NOT NULL,
	seq INTEGER NOT NULL,
	msg BLOB NOT NULL,
	PRIMARY KEY (id, seq)
) WITHOUT ROWID;
`}

// errStoreNotConstructed is the error of a zero SQLiteGatewayStore.
var errStoreNotConstructed = &did.NotConstructedError{Type: "diddht.SQLiteGatewayStore", Constructor: "diddht.NewSQLiteGatewayStore"}

// SQLiteGatewayStore is a GatewayStore in an SQLite database. It is safe for concurrent use.
// Build one with NewSQLiteGatewayStore: the methods of a zero SQLiteGatewayStore return a
// *did.NotConstructedError.
type SQLiteGatewayStore struct {
	db *sql.DB
}

var _ GatewayStore = (*SQLiteGatewayStore)(nil)

// NewSQLiteGatewayStore returns a store in db (an SQLite database of the modernc.org/sqlite
// driver, which other components may share), creating its table if needed.
func NewSQLiteGatewayStore(ctx context.Context, db *sql.DB) (*SQLiteGatewayStore, error) {
	if db == nil {
		return nil, &did.OptionError{Option: "NewSQLiteGatewayStore db", Reason: "nil"}
	}
	if err := sqlitex.Migrate(ctx, db, "diddht_gateway", gatewayMigrations); err != nil {
		return nil, err
	}
	return &SQLiteGatewayStore{db: db}, nil
}

// Save implements GatewayStore.
func (s *SQLiteGatewayStore) Save(ctx context.Context, id string, versions []*Message) error {
	if s == nil || s.db == nil {
		return errStoreNotConstructed
	}
	return sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM diddht_gateway WHERE id = ?`, id); err != nil {
			return fmt.Errorf("diddht: gateway store: %w", err)
		}
		for _, m := range versions {
			b, err := m.MarshalBinary()
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO diddht_gateway (id, seq, msg) VALUES (?, ?, ?)`, id, m.Seq, b); err != nil {
				return fmt.Errorf("diddht: gateway store: %w", err)
			}
		}
		return nil
	})
}

// Load implements GatewayStore. A row that does not parse is reported, not skipped.
func (s *SQLiteGatewayStore) Load(ctx context.Context) (map[string][]*Message, error) {
	if s == nil || s.db == nil {
		return nil, errStoreNotConstructed
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, msg FROM diddht_gateway ORDER BY id, seq`)
	if err != nil {
		return nil, fmt.Errorf("diddht: gateway store: %w", err)
	}
	defer rows.Close()
	out := map[string][]*Message{}
	for rows.Next() {
		var (
			id  string
			raw []byte
		)
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, fmt.Errorf("diddht: gateway store: %w", err)
		}
		m, err := ParseMessage(raw)
		if err != nil {
			return nil, fmt.Errorf("diddht: gateway store: %s: %w", id, err)
		}
		out[id] = append(out[id], m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("diddht: gateway store: %w", err)
	}
	return out, nil
}

// OpenGateway returns a gateway that keeps what it serves in store, serving at once what store
// holds: every stored message is verified again, as a PUT would be (a message that fails is an
// error: the store was altered), and kept within WithMaxRecords and WithHistory.
func OpenGateway(ctx context.Context, store GatewayStore, opts ...Option) (*Gateway, error) {
	if store == nil {
		return nil, &did.OptionError{Option: "OpenGateway store", Reason: "nil"}
	}
	g, err := NewGateway(opts...)
	if err != nil {
		return nil, err
	}
	stored, err := store.Load(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(stored))
	for id := range stored {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		versions := stored[id]
		sort.SliceStable(versions, func(i, j int) bool { return versions[i].Seq < versions[j].Seq })
		for _, m := range versions {
			if err := g.apply(id, m); err != nil && !errors.Is(err, ErrConflict) {
				return nil, fmt.Errorf("diddht: stored record of %s (seq %d): %w", id, m.Seq, err)
			}
		}
	}
	g.store = store
	return g, nil
}
