package dwn

import (
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
	initial_cid    TEXT NOT NULL,
	PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE TABLE dwn_contents (
	tenant      TEXT NOT NULL,
	id          TEXT NOT NULL,
	initial_msg BLOB NOT NULL,
	latest_msg  BLOB NOT NULL,
	data        BLOB NOT NULL,
	PRIMARY KEY (tenant, id)
);
CREATE INDEX dwn_records_created   ON dwn_records (tenant, deleted, date_created, id);
CREATE INDEX dwn_records_published ON dwn_records (tenant, deleted, date_published, id);
CREATE INDEX dwn_records_updated   ON dwn_records (tenant, deleted, date_updated, id);
CREATE INDEX dwn_records_protocol  ON dwn_records (tenant, protocol, protocol_path, deleted, date_created, id);
CREATE INDEX dwn_records_parent    ON dwn_records (tenant, parent_id);
CREATE INDEX dwn_records_schema    ON dwn_records (tenant, schema_uri, deleted, date_created, id);
CREATE INDEX dwn_records_recipient ON dwn_records (tenant, recipient, deleted, date_created, id);
CREATE INDEX dwn_records_context   ON dwn_records (tenant, context_id);
CREATE TABLE dwn_protocols (
	tenant TEXT NOT NULL,
	uri    TEXT NOT NULL,
	cid    TEXT NOT NULL,
	msg    BLOB NOT NULL,
	PRIMARY KEY (tenant, uri)
) WITHOUT ROWID;
`}

// The index properties of records live in dwn_records, small rows that filters scan; their
// messages and data live in dwn_contents, read only for the records a query returns.

// SQLiteStore is the embedded Store, on SQLite (modernc.org/sqlite, pure Go). Each put is
// one transaction that takes the write lock as it begins, so the compare and the write are
// atomic across connections and processes sharing the file. Build one with OpenSQLiteStore
// or NewSQLiteStore: the methods of a zero SQLiteStore return a *NotConstructedError.
type SQLiteStore struct {
	db    *sql.DB
	owned bool

	mu     sync.RWMutex // held for reading by calls, for writing by Close
	closed bool

	// parsed caches decoded messages by CID: messages are immutable, and decoding one
	// costs more than reading its row.
	parsedMu sync.Mutex
	parsed   map[string]*Message

	// stmts caches prepared statements by SQL text (queries build theirs from the filter).
	stmtsMu sync.Mutex
	stmts   map[string]*sql.Stmt
}

// stmtCacheSize bounds the prepared-statement cache of a SQLiteStore.
const stmtCacheSize = 256

// stmt returns a prepared statement for query, and a function to call when done with it.
func (s *SQLiteStore) stmt(ctx context.Context, query string) (*sql.Stmt, func(), error) {
	s.stmtsMu.Lock()
	defer s.stmtsMu.Unlock()
	if st := s.stmts[query]; st != nil {
		return st, func() {}, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	if len(s.stmts) >= stmtCacheSize {
		return st, func() { _ = st.Close() }, nil
	}
	s.stmts[query] = st
	return st, func() {}, nil
}

// parsedCacheSize bounds the decoded-message cache of a SQLiteStore.
const parsedCacheSize = 4096

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
		return nil, &OptionError{Option: "db", Reason: "nil"}
	}
	if err := sqlitex.Migrate(ctx, db, "dwn", sqliteMigrations); err != nil {
		return nil, err
	}
	return &SQLiteStore{db: db, parsed: make(map[string]*Message), stmts: make(map[string]*sql.Stmt)}, nil
}

func defaultStore() (Store, error) {
	return OpenSQLiteStore(context.Background(), sqlitex.Memory)
}

// begin takes the read side of the close lock and checks ctx and the closed flag.
func (s *SQLiteStore) begin(ctx context.Context) (func(), error) {
	if s == nil || s.db == nil {
		return nil, &NotConstructedError{Type: "dwn.SQLiteStore", Constructor: "dwn.OpenSQLiteStore or dwn.NewSQLiteStore"}
	}
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

const indexColumns = `id, context_id, author, protocol, protocol_path, schema_uri, recipient, parent_id, data_format,
	data_cid, data_size, published, date_created, date_published, date_updated, deleted, initial_cid, latest_cid`

const selectRecord = `SELECT r.id, r.context_id, r.author, r.protocol, r.protocol_path, r.schema_uri, r.recipient, r.parent_id,
	r.data_format, r.data_cid, r.data_size, r.published, r.date_created, r.date_published, r.date_updated, r.deleted,
	r.initial_cid, c.initial_msg, r.latest_cid, c.latest_msg, c.data
	FROM dwn_records r JOIN dwn_contents c ON c.tenant = r.tenant AND c.id = r.id`

// message decodes a stored message, or takes it from the cache.
func (s *SQLiteStore) message(cid string, raw []byte) (*Message, error) {
	s.parsedMu.Lock()
	m := s.parsed[cid]
	s.parsedMu.Unlock()
	if m != nil {
		return m, nil
	}
	m, err := ParseMessage(raw)
	if err != nil {
		return nil, err
	}
	if m.CID() != cid {
		return nil, fmt.Errorf("stored message %s has CID %s", cid, m.CID())
	}
	s.parsedMu.Lock()
	if len(s.parsed) >= parsedCacheSize {
		for k := range s.parsed {
			delete(s.parsed, k)
			break
		}
	}
	s.parsed[cid] = m
	s.parsedMu.Unlock()
	return m, nil
}

func (s *SQLiteStore) scanRecord(sc interface{ Scan(...any) error }) (*Record, error) {
	var r Record
	var published, deleted int
	var initialCID, latestCID string
	var initial, latest []byte
	if err := sc.Scan(&r.ID, &r.ContextID, &r.Author, &r.Protocol, &r.ProtocolPath, &r.Schema, &r.Recipient, &r.ParentID,
		&r.DataFormat, &r.DataCID, &r.DataSize, &published, &r.DateCreated, &r.DatePublished, &r.DateUpdated, &deleted,
		&initialCID, &initial, &latestCID, &latest, &r.Data); err != nil {
		return nil, err
	}
	r.Published, r.Deleted = published != 0, deleted != 0
	var err error
	if r.Latest, err = s.message(latestCID, latest); err != nil {
		return nil, fmt.Errorf("stored message of record %s: %w", r.ID, err)
	}
	if r.Initial, err = s.message(initialCID, initial); err != nil {
		return nil, fmt.Errorf("stored message of record %s: %w", r.ID, err)
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
	st, release, err := s.stmt(ctx, selectRecord+` WHERE r.tenant = ? AND r.id = ?`)
	if err != nil {
		return nil, dbErr(ctx, "record", err)
	}
	defer release()
	row := st.QueryRowContext(ctx, tenant, id)
	r, err := s.scanRecord(row)
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
	sel, release1, err := s.stmt(ctx, `SELECT latest_cid FROM dwn_records WHERE tenant = ? AND id = ?`)
	if err != nil {
		return dbErr(ctx, "put record", err)
	}
	defer release1()
	upIndex, release2, err := s.stmt(ctx, upsertIndex)
	if err != nil {
		return dbErr(ctx, "put record", err)
	}
	defer release2()
	upContents, release3, err := s.stmt(ctx, upsertContents)
	if err != nil {
		return dbErr(ctx, "put record", err)
	}
	defer release3()
	err = sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error {
		var cur string
		err := tx.StmtContext(ctx, sel).QueryRowContext(ctx, tenant, r.ID).Scan(&cur)
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
		_, err = tx.StmtContext(ctx, upIndex).ExecContext(ctx,
			tenant, r.ID, r.ContextID, r.Author, r.Protocol, r.ProtocolPath, r.Schema, r.Recipient, r.ParentID, r.DataFormat,
			r.DataCID, r.DataSize, boolInt(r.Published), r.DateCreated, r.DatePublished, r.DateUpdated, boolInt(r.Deleted),
			r.Initial.CID(), r.Latest.CID())
		if err != nil {
			return err
		}
		_, err = tx.StmtContext(ctx, upContents).ExecContext(ctx,
			tenant, r.ID, initial, latest, data)
		return err
	})
	if err != nil {
		return dbErr(ctx, "put record", err)
	}
	return nil
}

const upsertIndex = `INSERT INTO dwn_records (tenant, ` + indexColumns + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, id) DO UPDATE SET
				context_id = excluded.context_id, author = excluded.author, protocol = excluded.protocol,
				protocol_path = excluded.protocol_path, schema_uri = excluded.schema_uri, recipient = excluded.recipient,
				parent_id = excluded.parent_id, data_format = excluded.data_format, data_cid = excluded.data_cid,
				data_size = excluded.data_size, published = excluded.published, date_created = excluded.date_created,
				date_published = excluded.date_published, date_updated = excluded.date_updated, deleted = excluded.deleted,
				initial_cid = excluded.initial_cid, latest_cid = excluded.latest_cid`

const upsertContents = `INSERT INTO dwn_contents (tenant, id, initial_msg, latest_msg, data) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (tenant, id) DO UPDATE SET initial_msg = excluded.initial_msg, latest_msg = excluded.latest_msg, data = excluded.data`

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
	where.WriteString(`r.tenant = ? AND r.deleted = 0`)
	eq := func(column, v string) {
		if v != "" {
			where.WriteString(" AND r." + column + " = ?")
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
		where.WriteString(" AND (r.context_id = ? OR substr(r.context_id, 1, ?) = ?)")
		args = append(args, f.ContextID, utf8.RuneCountInString(prefix), prefix)
	}
	if f.Published != nil {
		where.WriteString(" AND r.published = ?")
		args = append(args, boolInt(*f.Published))
	}
	rng := func(column string, r *DateRange) {
		if r == nil {
			return
		}
		if r.From != "" {
			where.WriteString(" AND r." + column + " >= ?")
			args = append(args, r.From)
		}
		if r.To != "" {
			where.WriteString(" AND r." + column + " < ?")
			args = append(args, r.To)
		}
	}
	rng("date_created", f.DateCreated)
	if f.DatePublished != nil {
		where.WriteString(" AND r.published = 1")
		rng("date_published", f.DatePublished)
	}
	rng("date_updated", f.DateUpdated)
	dir, cmp := "ASC", ">"
	if q.Sort.Descending() {
		dir, cmp = "DESC", "<"
	}
	if c := q.After; c != nil {
		where.WriteString(" AND (r." + col + " " + cmp + " ? OR (r." + col + " = ? AND r.id " + cmp + " ?))")
		args = append(args, c.Value, c.Value, c.RecordID)
	}
	args = append(args, q.Limit)
	st, release, err := s.stmt(ctx, selectRecord+` WHERE `+where.String()+` ORDER BY r.`+col+` `+dir+`, r.id `+dir+` LIMIT ?`)
	if err != nil {
		return nil, dbErr(ctx, "query", err)
	}
	defer release()
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, dbErr(ctx, "query", err)
	}
	defer rows.Close()
	var out []*Record
	for rows.Next() {
		r, err := s.scanRecord(rows)
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
	if s == nil || s.db == nil {
		return nil // a zero store holds nothing
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.stmtsMu.Lock()
	for _, st := range s.stmts {
		_ = st.Close()
	}
	s.stmts = nil
	s.stmtsMu.Unlock()
	if s.owned {
		return s.db.Close()
	}
	return nil
}
