package dwn

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/anya-org/anya-go/internal/sqlitex"
)

// sqliteMigrations is the schema of the SQLite store, component "dwn". Append only.
var sqliteMigrations = []string{`
CREATE TABLE dwn_records (
	tenant         TEXT NOT NULL,
	id             TEXT NOT NULL,
	context_id     TEXT NOT NULL,
	author         TEXT NOT NULL,
	protocol       TEXT NOT NULL,
	protocol_path  TEXT NOT NULL,
	schema_uri     TEXT NOT NULL,
	recipient      TEXT NOT NULL,
	parent_id      TEXT NOT NULL,
	data_format    TEXT NOT NULL,
	data_cid       TEXT NOT NULL,
	data_size      INTEGER NOT NULL,
	published      INTEGER NOT NULL,
	date_created   TEXT NOT NULL,
	date_published TEXT NOT NULL,
	date_updated   TEXT NOT NULL,
	deleted        INTEGER NOT NULL,
	latest_cid     TEXT NOT NULL,
	initial_msg    BLOB NOT NULL,
	latest_msg     BLOB NOT NULL,
	data           BLOB,
	PRIMARY KEY (tenant, id)
);
CREATE INDEX dwn_records_created   ON dwn_records (tenant, deleted, date_created, id);
CREATE INDEX dwn_records_published ON dwn_records (tenant, deleted, date_published, id);
CREATE INDEX dwn_records_updated   ON dwn_records (tenant, deleted, date_updated, id);
CREATE INDEX dwn_records_protocol  ON dwn_records (tenant, protocol, protocol_path, date_created, id);
CREATE INDEX dwn_records_parent    ON dwn_records (tenant, parent_id);
CREATE TABLE dwn_protocols (
	tenant TEXT NOT NULL,
	uri    TEXT NOT NULL,
	cid    TEXT NOT NULL,
	msg    BLOB NOT NULL,
	PRIMARY KEY (tenant, uri)
) WITHOUT ROWID;
`}

// SQLiteStore is the embedded Store, on SQLite (modernc.org/sqlite, pure Go). Each put is
// one transaction that takes the write lock as it begins, so the compare and the write are
// atomic across connections and processes sharing the file.
type SQLiteStore struct {
	db    *sql.DB
	owned bool

	mu     sync.RWMutex // held for reading by calls, for writing by Close
	closed bool
}

var _ Store = (*SQLiteStore)(nil)

// OpenSQLiteStore opens (creating if needed) the SQLite database at path, a file or
// sqlitex.Memory (":memory:", a private in-memory database), and returns a store that owns
// it: Close closes the database.
func OpenSQLiteStore(ctx context.Context, path string) (*SQLiteStore, error) {
	db, err := sqlitex.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	s, err := NewSQLiteStore(ctx, db)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// NewSQLiteStore returns a store on db, an SQLite database (opened with sqlitex.Open) that
// other components may share, creating its tables if needed. Close does not close db.
func NewSQLiteStore(ctx context.Context, db *sql.DB) (*SQLiteStore, error) {
	if db == nil {
		return nil, &ConfigError{Field: "db", Reason: "nil"}
	}
	if err := sqlitex.Migrate(ctx, db, "dwn", sqliteMigrations); err != nil {
		return nil, err
	}
	return &SQLiteStore{db: db}, nil
}

func defaultStore() (Store, error) {
	return OpenSQLiteStore(context.Background(), sqlitex.Memory)
}

// begin takes the read side of the close lock and checks ctx and the closed flag.
func (s *SQLiteStore) begin(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, ErrClosed
	}
	return s.mu.RUnlock, nil
}

// dbErr returns ctx.Err() for a failure caused by the context, and wraps the rest.
func dbErr(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ce *ConflictError
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("dwn: sqlite %s: %w", op, err)
}

const recordColumns = `id, context_id, author, protocol, protocol_path, schema_uri, recipient, parent_id, data_format,
	data_cid, data_size, published, date_created, date_published, date_updated, deleted, initial_msg, latest_msg, data`

func scanRecord(sc interface{ Scan(...any) error }) (*Record, error) {
	var r Record
	var published, deleted int
	var initial, latest []byte
	if err := sc.Scan(&r.ID, &r.ContextID, &r.Author, &r.Protocol, &r.ProtocolPath, &r.Schema, &r.Recipient, &r.ParentID,
		&r.DataFormat, &r.DataCID, &r.DataSize, &published, &r.DateCreated, &r.DatePublished, &r.DateUpdated, &deleted,
		&initial, &latest, &r.Data); err != nil {
		return nil, err
	}
	r.Published, r.Deleted = published != 0, deleted != 0
	var err error
	if r.Latest, err = ParseMessage(latest); err != nil {
		return nil, fmt.Errorf("stored message of record %s: %w", r.ID, err)
	}
	r.Initial = r.Latest
	if !bytes.Equal(initial, latest) {
		if r.Initial, err = ParseMessage(initial); err != nil {
			return nil, fmt.Errorf("stored message of record %s: %w", r.ID, err)
		}
	}
	return &r, nil
}

// Record implements Store.
func (s *SQLiteStore) Record(ctx context.Context, tenant, id string) (*Record, error) {
	done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	row := s.db.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM dwn_records WHERE tenant = ? AND id = ?`, tenant, id)
	r, err := scanRecord(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errRecordNotFound(id)
	}
	if err != nil {
		return nil, dbErr(ctx, "record", err)
	}
	return r, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// PutRecord implements Store.
func (s *SQLiteStore) PutRecord(ctx context.Context, tenant string, r *Record, prev string) error {
	done, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	if r.Initial == nil || r.Latest == nil {
		return invalid("record", "a stored record has its initial and latest messages")
	}
	initial, err := r.Initial.withoutData().MarshalJSON()
	if err != nil {
		return err
	}
	latest, err := r.Latest.withoutData().MarshalJSON()
	if err != nil {
		return err
	}
	data := r.Data
	if data == nil {
		data = []byte{}
	}
	err = sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT latest_cid FROM dwn_records WHERE tenant = ? AND id = ?`, tenant, r.ID).Scan(&cur)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if prev != "" {
				return &ConflictError{ID: r.ID, Reason: "record does not exist"}
			}
		case err != nil:
			return err
		case cur != prev:
			return &ConflictError{ID: r.ID, Reason: "record changed"}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO dwn_records (tenant, `+recordColumns+`, latest_cid)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, id) DO UPDATE SET
				context_id = excluded.context_id, author = excluded.author, protocol = excluded.protocol,
				protocol_path = excluded.protocol_path, schema_uri = excluded.schema_uri, recipient = excluded.recipient,
				parent_id = excluded.parent_id, data_format = excluded.data_format, data_cid = excluded.data_cid,
				data_size = excluded.data_size, published = excluded.published, date_created = excluded.date_created,
				date_published = excluded.date_published, date_updated = excluded.date_updated, deleted = excluded.deleted,
				initial_msg = excluded.initial_msg, latest_msg = excluded.latest_msg, data = excluded.data,
				latest_cid = excluded.latest_cid`,
			tenant, r.ID, r.ContextID, r.Author, r.Protocol, r.ProtocolPath, r.Schema, r.Recipient, r.ParentID, r.DataFormat,
			r.DataCID, r.DataSize, boolInt(r.Published), r.DateCreated, r.DatePublished, r.DateUpdated, boolInt(r.Deleted),
			initial, latest, data, r.Latest.CID())
		return err
	})
	if err != nil {
		return dbErr(ctx, "put record", err)
	}
	return nil
}

var sortColumns = map[DateSort]string{
	CreatedAscending: "date_created", CreatedDescending: "date_created",
	PublishedAscending: "date_published", PublishedDescending: "date_published",
	UpdatedAscending: "date_updated", UpdatedDescending: "date_updated",
}

// Query implements Store.
func (s *SQLiteStore) Query(ctx context.Context, tenant string, q StoreQuery) ([]*Record, error) {
	done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if q.Limit <= 0 {
		return nil, nil
	}
	col, ok := sortColumns[q.Sort]
	if !ok {
		return nil, invalid("sort", "unknown order %q", q.Sort)
	}
	var where strings.Builder
	args := []any{tenant}
	where.WriteString(`tenant = ? AND deleted = 0`)
	eq := func(column, v string) {
		if v != "" {
			where.WriteString(" AND " + column + " = ?")
			args = append(args, v)
		}
	}
	f := q.Filter
	eq("protocol", f.Protocol)
	eq("protocol_path", f.ProtocolPath)
	eq("schema_uri", f.Schema)
	eq("recipient", f.Recipient)
	eq("author", f.Author)
	eq("parent_id", f.ParentID)
	eq("id", f.RecordID)
	eq("data_format", f.DataFormat)
	if f.ContextID != "" {
		prefix := f.ContextID + "/"
		where.WriteString(" AND (context_id = ? OR substr(context_id, 1, ?) = ?)")
		args = append(args, f.ContextID, utf8.RuneCountInString(prefix), prefix)
	}
	if f.Published != nil {
		where.WriteString(" AND published = ?")
		args = append(args, boolInt(*f.Published))
	}
	rng := func(column string, r *DateRange) {
		if r == nil {
			return
		}
		if r.From != "" {
			where.WriteString(" AND " + column + " >= ?")
			args = append(args, r.From)
		}
		if r.To != "" {
			where.WriteString(" AND " + column + " < ?")
			args = append(args, r.To)
		}
	}
	rng("date_created", f.DateCreated)
	if f.DatePublished != nil {
		where.WriteString(" AND published = 1")
		rng("date_published", f.DatePublished)
	}
	rng("date_updated", f.DateUpdated)
	dir, cmp := "ASC", ">"
	if q.Sort.Descending() {
		dir, cmp = "DESC", "<"
	}
	if c := q.After; c != nil {
		where.WriteString(" AND (" + col + " " + cmp + " ? OR (" + col + " = ? AND id " + cmp + " ?))")
		args = append(args, c.Value, c.Value, c.RecordID)
	}
	args = append(args, q.Limit)
	rows, err := s.db.QueryContext(ctx, `SELECT `+recordColumns+` FROM dwn_records WHERE `+where.String()+
		` ORDER BY `+col+` `+dir+`, id `+dir+` LIMIT ?`, args...)
	if err != nil {
		return nil, dbErr(ctx, "query", err)
	}
	defer rows.Close()
	var out []*Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, dbErr(ctx, "query", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, "query", err)
	}
	return out, nil
}

// Protocol implements Store.
func (s *SQLiteStore) Protocol(ctx context.Context, tenant, uri string) (*Message, error) {
	done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	var raw []byte
	err = s.db.QueryRowContext(ctx, `SELECT msg FROM dwn_protocols WHERE tenant = ? AND uri = ?`, tenant, uri).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &notFoundError{what: "protocol " + uri}
	}
	if err != nil {
		return nil, dbErr(ctx, "protocol", err)
	}
	m, err := ParseMessage(raw)
	if err != nil {
		return nil, fmt.Errorf("dwn: stored protocol %s: %w", uri, err)
	}
	return m, nil
}

// PutProtocol implements Store.
func (s *SQLiteStore) PutProtocol(ctx context.Context, tenant string, m *Message, prev string) error {
	done, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	uri, err := configuredProtocol(m)
	if err != nil {
		return err
	}
	raw, err := m.MarshalJSON()
	if err != nil {
		return err
	}
	err = sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT cid FROM dwn_protocols WHERE tenant = ? AND uri = ?`, tenant, uri).Scan(&cur)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if prev != "" {
				return &ConflictError{ID: uri, Reason: "protocol definition changed"}
			}
		case err != nil:
			return err
		case cur != prev:
			return &ConflictError{ID: uri, Reason: "protocol definition changed"}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO dwn_protocols (tenant, uri, cid, msg) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant, uri) DO UPDATE SET cid = excluded.cid, msg = excluded.msg`, tenant, uri, m.CID(), raw)
		return err
	})
	if err != nil {
		return dbErr(ctx, "put protocol", err)
	}
	return nil
}

// Protocols implements Store.
func (s *SQLiteStore) Protocols(ctx context.Context, tenant string) ([]*Message, error) {
	done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := s.db.QueryContext(ctx, `SELECT uri, msg FROM dwn_protocols WHERE tenant = ? ORDER BY uri`, tenant)
	if err != nil {
		return nil, dbErr(ctx, "protocols", err)
	}
	defer rows.Close()
	var out []*Message
	for rows.Next() {
		var uri string
		var raw []byte
		if err := rows.Scan(&uri, &raw); err != nil {
			return nil, dbErr(ctx, "protocols", err)
		}
		m, err := ParseMessage(raw)
		if err != nil {
			return nil, fmt.Errorf("dwn: stored protocol %s: %w", uri, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, "protocols", err)
	}
	return out, nil
}

// Close implements Store: it closes the database if the store opened it. It is idempotent.
func (s *SQLiteStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.owned {
		return s.db.Close()
	}
	return nil
}
