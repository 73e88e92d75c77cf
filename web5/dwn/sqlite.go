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
`, `
CREATE TABLE dwn_access (
	tenant  TEXT NOT NULL PRIMARY KEY,
	version INTEGER NOT NULL
) WITHOUT ROWID;
`}

// dwn_access holds each tenant's access version (see AccessVersioner), moved in the
// transaction of every protocol definition and permissions record stored.

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
	// costs more than reading its row. It keeps the recently used ones: two generations, the
	// older dropped whole when the newer is full, a message found in the older moving to the
	// newer.
	parsedMu sync.Mutex
	parsed   [2]map[string]*Message // the newer generation first

	// puts are the PutRecord calls waiting for the next transaction; leading is set while one
	// of them writes a batch.
	putsMu  sync.Mutex
	puts    []*pendingPut
	leading bool

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

// parsedCacheSize bounds the decoded-message cache of a SQLiteStore (each generation holds
// half).
const parsedCacheSize = 4096

var (
	_ AccessVersioner = (*SQLiteStore)(nil)
	_ RecordBatcher   = (*SQLiteStore)(nil)
)

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
	return &SQLiteStore{db: db, parsed: [2]map[string]*Message{{}, {}}, stmts: make(map[string]*sql.Stmt)}, nil
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

// cachedMessage returns the decoded message cid from the cache, or nil.
func (s *SQLiteStore) cachedMessage(cid string) *Message {
	s.parsedMu.Lock()
	defer s.parsedMu.Unlock()
	if m := s.parsed[0][cid]; m != nil {
		return m
	}
	m := s.parsed[1][cid]
	if m != nil {
		delete(s.parsed[1], cid)
		s.put(m)
	}
	return m
}

// message decodes a stored message, or takes it from the cache.
func (s *SQLiteStore) message(cid string, raw []byte) (*Message, error) {
	if m := s.cachedMessage(cid); m != nil {
		return m, nil
	}
	m, err := ParseMessage(bytes.Clone(raw)) // raw may be the driver's buffer
	if err != nil {
		return nil, err
	}
	if m.CID() != cid {
		return nil, fmt.Errorf("stored message %s has CID %s", cid, m.CID())
	}
	s.keep(m)
	return m, nil
}

// forget drops a decoded message from the cache.
func (s *SQLiteStore) forget(cid string) {
	s.parsedMu.Lock()
	defer s.parsedMu.Unlock()
	delete(s.parsed[0], cid)
	delete(s.parsed[1], cid)
}

// keep puts a decoded message (without data) in the cache.
func (s *SQLiteStore) keep(m *Message) {
	s.parsedMu.Lock()
	defer s.parsedMu.Unlock()
	if _, ok := s.parsed[0][m.cid]; !ok {
		delete(s.parsed[1], m.cid)
		s.put(m)
	}
}

// put adds m to the newer generation, which becomes the older one when full; s.parsedMu is
// held.
func (s *SQLiteStore) put(m *Message) {
	if len(s.parsed[0]) >= parsedCacheSize/2 {
		s.parsed[1], s.parsed[0] = s.parsed[0], make(map[string]*Message, parsedCacheSize/2)
	}
	s.parsed[0][m.cid] = m
}

// scanRecord reads the record at rows' current row. Its messages come from the cache when it
// holds them, their stored bytes (read in place, not copied) decoded only when it does not.
func (s *SQLiteStore) scanRecord(rows *sql.Rows) (*Record, error) {
	var r Record
	var published, deleted int
	var initialCID, latestCID string
	var initial, latest sql.RawBytes
	if err := rows.Scan(&r.ID, &r.ContextID, &r.Author, &r.Protocol, &r.ProtocolPath, &r.Schema, &r.Recipient, &r.ParentID,
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
	rows, err := st.QueryContext(ctx, tenant, id)
	if err != nil {
		return nil, dbErr(ctx, "record", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, dbErr(ctx, "record", err)
		}
		return nil, errRecordNotFound(id)
	}
	r, err := s.scanRecord(rows)
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

// PutRecord implements Store. A record whose identity and immutable properties are those of
// the stored one (an update of its data, publication or latest message) rewrites only the
// columns that change, so the indexes of the others are left alone; the messages stored are
// kept decoded, so the next read of the record does not decode them again.
//
// Puts made while another is being written are written together, in one transaction (a group
// commit): each is compared and written in turn, exactly as alone, and each call returns once
// the transaction holding its put has committed. A put whose context ends before its turn is
// not written and returns ctx.Err(); a failure of the transaction fails every put in it, and
// none of them is stored.
func (s *SQLiteStore) PutRecord(ctx context.Context, tenant string, r *Record, prev string) error {
	done, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	if r.Initial == nil || r.Latest == nil {
		return invalid("record", "a stored record has its initial and latest messages")
	}
	p, err := newPendingPut(tenant, r, prev)
	if err != nil {
		return err
	}
	p.ctxErr, p.done, p.lead = ctx.Err, make(chan struct{}), make(chan struct{})
	s.putsMu.Lock()
	s.puts = append(s.puts, p)
	leader := !s.leading
	s.leading = true
	s.putsMu.Unlock()
	if !leader {
		select {
		case <-p.done:
			return p.err
		case <-p.lead: // the batch p is in is p's to write
		}
	}
	s.lead(context.WithoutCancel(ctx))
	return p.err
}

// lead writes the puts waiting now, then hands the next batch to its first put.
func (s *SQLiteStore) lead(ctx context.Context) {
	s.putsMu.Lock()
	batch := s.puts
	s.puts = nil
	s.putsMu.Unlock()
	defer func() {
		s.putsMu.Lock()
		defer s.putsMu.Unlock()
		if len(s.puts) > 0 {
			close(s.puts[0].lead) // the next batch is its first put's to write
		} else {
			s.leading = false
		}
	}()
	s.writeBatch(ctx, batch)
}

// pendingPut is a PutRecord waiting for its transaction.
type pendingPut struct {
	ctxErr          func() error // the Err method of the caller's context
	tenant          string
	r               *Record
	prev            string
	initial, latest *Message // without data
	latestJSON      []byte
	data            []byte
	err             error
	done            chan struct{} // closed once err is set
	lead            chan struct{} // closed when p is to write the next batch
}

// fail returns the error of p for a failure err of its transaction: its context's, if that
// ended, else err wrapped.
func (p *pendingPut) fail(err error) error {
	if cerr := p.ctxErr(); cerr != nil {
		return cerr
	}
	return dbErr(context.Background(), "put record", err)
}

// The statements a batch of puts may use, by their place in writeBatch's list.
const (
	putSelectCurrent = iota
	putInsertIndex
	putUpsertIndex
	putUpsertContents
	putUpdateKeepPublication
	putUpdateIfUnchanged
	putUpdateIndex
	putUpdateContents
	putBumpAccess
	putStatements // how many
)

// writeBatch writes batch in one transaction and reports each put's outcome. Statements are
// prepared before the transaction: it holds the connection a preparation would wait for.
func (s *SQLiteStore) writeBatch(ctx context.Context, batch []*pendingPut) {
	var stmts [putStatements]*sql.Stmt
	var releases [putStatements]func()
	defer func() {
		releaseStmts(&releases)
		if v := recover(); v != nil {
			for _, p := range batch {
				p.err = fmt.Errorf("dwn: sqlite put record: %v", v)
				close(p.done)
			}
			panic(v)
		}
		for _, p := range batch {
			close(p.done)
		}
	}()
	if err := s.putStmts(ctx, &stmts, &releases); err != nil {
		for _, p := range batch {
			p.err = p.fail(err)
		}
		return
	}
	err := sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error {
		for _, p := range batch {
			if err := p.ctxErr(); err != nil {
				p.err = err
				continue
			}
			err := s.writePut(ctx, tx, &stmts, p)
			var ce *ConflictError
			if errors.As(err, &ce) {
				p.err = err // nothing of p was written
				continue
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	for _, p := range batch {
		switch {
		case err != nil:
			p.err = p.fail(err)
		case p.err == nil:
			s.keep(p.initial)
			s.keep(p.latest)
			if p.prev != "" && p.prev != p.initial.CID() {
				s.forget(p.prev) // the message this put replaced is no record's now
			}
		}
	}
}

// newPendingPut is the put of r (its initial and latest messages without their data, the
// latest's JSON, the data never nil) in tenant, replacing prev.
func newPendingPut(tenant string, r *Record, prev string) (*pendingPut, error) {
	p := &pendingPut{tenant: tenant, r: r, prev: prev, initial: r.Initial.withoutData(), latest: r.Latest.withoutData(), data: r.Data}
	var err error
	if p.latestJSON, err = p.latest.MarshalJSON(); err != nil {
		return nil, err
	}
	if p.data == nil {
		p.data = []byte{}
	}
	return p, nil
}

// releaseStmts calls the release functions putStmts set.
func releaseStmts(releases *[putStatements]func()) {
	for _, release := range releases {
		if release != nil {
			release()
		}
	}
}

// putQueries are the statements of puts, by their place (putSelectCurrent, ...).
var putQueries = [putStatements]string{selectCurrent, insertIndex, upsertIndex, upsertContents, updateKeepPublication,
	updateIfUnchanged, updateIndex, updateContents, bumpAccess}

// putStmts prepares the statements of puts into stmts, and the functions releasing them into
// releases (which the caller calls, whatever the error).
func (s *SQLiteStore) putStmts(ctx context.Context, stmts *[putStatements]*sql.Stmt, releases *[putStatements]func()) error {
	for i, q := range putQueries {
		var err error
		if stmts[i], releases[i], err = s.stmt(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// PutRecords implements RecordBatcher: the puts are compared and written in order in one
// transaction, committed only if every compare holds.
func (s *SQLiteStore) PutRecords(ctx context.Context, puts []RecordPut) error {
	done, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	if err := checkPuts(puts); err != nil {
		return err
	}
	ps := make([]*pendingPut, len(puts))
	for i, put := range puts {
		if ps[i], err = newPendingPut(put.Tenant, put.Record, put.Prev); err != nil {
			return err
		}
	}
	var stmts [putStatements]*sql.Stmt
	var releases [putStatements]func()
	defer releaseStmts(&releases)
	if err := s.putStmts(ctx, &stmts, &releases); err != nil {
		return dbErr(ctx, "put records", err)
	}
	err = sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error {
		for i, p := range ps {
			if err := s.writePut(ctx, tx, &stmts, p); err != nil {
				var ce *ConflictError
				if errors.As(err, &ce) {
					return &BatchError{Index: i, Err: err}
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		var be *BatchError
		if errors.As(err, &be) && ctx.Err() == nil {
			return be
		}
		return dbErr(ctx, "put records", err)
	}
	for _, p := range ps {
		s.keep(p.initial)
		s.keep(p.latest)
		if p.prev != "" && p.prev != p.initial.CID() {
			s.forget(p.prev)
		}
	}
	return nil
}

// writePut compares and writes one put in tx. A new record (prev "") is inserted unless a
// record with its ID exists. An update of a live record that keeps its identity and immutable
// properties is one conditional UPDATE of the columns that change (the publication columns,
// and their index, only when they change); only when its condition fails are the stored
// properties read, to tell a conflict from a wider rewrite.
func (s *SQLiteStore) writePut(ctx context.Context, tx *sql.Tx, stmts *[putStatements]*sql.Stmt, p *pendingPut) error {
	r, tenant := p.r, p.tenant
	exec := func(i int, args ...any) (int64, error) {
		res, err := tx.StmtContext(ctx, stmts[i]).ExecContext(ctx, args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	var err error
	switch {
	case p.prev == "":
		var n int64
		n, err = exec(putInsertIndex, tenant, r.ID, r.ContextID, r.Author, r.Protocol, r.ProtocolPath, r.Schema, r.Recipient,
			r.ParentID, r.DataFormat, r.DataCID, r.DataSize, boolInt(r.Published), r.DateCreated, r.DatePublished, r.DateUpdated,
			boolInt(r.Deleted), p.initial.CID(), p.latest.CID())
		if err != nil {
			return err
		}
		if n == 0 {
			return &ConflictError{ID: r.ID, Reason: "record changed"}
		}
		err = s.putContents(ctx, tx, stmts, p)
	case !r.Deleted:
		var n int64
		n, err = exec(putUpdateKeepPublication, r.DataFormat, r.DataCID, r.DataSize, r.DateUpdated, p.latest.CID(),
			tenant, r.ID, p.prev, p.initial.CID(), r.ContextID, r.Author, r.Protocol, r.ProtocolPath, r.Schema,
			r.Recipient, r.ParentID, r.DateCreated, boolInt(r.Published), r.DatePublished)
		if err == nil && n == 0 {
			n, err = exec(putUpdateIfUnchanged, r.DataFormat, r.DataCID, r.DataSize, boolInt(r.Published), r.DatePublished,
				r.DateUpdated, p.latest.CID(),
				tenant, r.ID, p.prev, p.initial.CID(), r.ContextID, r.Author, r.Protocol, r.ProtocolPath, r.Schema,
				r.Recipient, r.ParentID, r.DateCreated)
		}
		if err != nil {
			return err
		}
		if n == 1 {
			_, err = exec(putUpdateContents, p.latestJSON, p.data, tenant, r.ID)
			break
		}
		err = s.rewrite(ctx, tx, stmts, p)
	default:
		err = s.rewrite(ctx, tx, stmts, p)
	}
	if err == nil && r.Protocol == PermissionsProtocol {
		_, err = exec(putBumpAccess, tenant)
	}
	return err
}

// rewrite writes an update that is not a narrow one of a live record (a tombstone, or a
// rewrite of the record's identity): compared with the stored properties, then written whole.
func (s *SQLiteStore) rewrite(ctx context.Context, tx *sql.Tx, stmts *[putStatements]*sql.Stmt, p *pendingPut) error {
	r, tenant := p.r, p.tenant
	narrow, err := s.compare(ctx, tx.StmtContext(ctx, stmts[putSelectCurrent]), tenant, r, p.initial.CID(), p.prev)
	if err != nil {
		return err
	}
	if narrow {
		_, err = tx.StmtContext(ctx, stmts[putUpdateIndex]).ExecContext(ctx, r.DataFormat, r.DataCID, r.DataSize, boolInt(r.Published),
			r.DatePublished, r.DateUpdated, p.latest.CID(), tenant, r.ID)
		if err == nil {
			_, err = tx.StmtContext(ctx, stmts[putUpdateContents]).ExecContext(ctx, p.latestJSON, p.data, tenant, r.ID)
		}
		return err
	}
	_, err = tx.StmtContext(ctx, stmts[putUpsertIndex]).ExecContext(ctx,
		tenant, r.ID, r.ContextID, r.Author, r.Protocol, r.ProtocolPath, r.Schema, r.Recipient, r.ParentID, r.DataFormat,
		r.DataCID, r.DataSize, boolInt(r.Published), r.DateCreated, r.DatePublished, r.DateUpdated, boolInt(r.Deleted),
		p.initial.CID(), p.latest.CID())
	if err != nil {
		return err
	}
	return s.putContents(ctx, tx, stmts, p)
}

// putContents writes the messages and data of p's record whole.
func (s *SQLiteStore) putContents(ctx context.Context, tx *sql.Tx, stmts *[putStatements]*sql.Stmt, p *pendingPut) error {
	initial, err := p.initial.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = tx.StmtContext(ctx, stmts[putUpsertContents]).ExecContext(ctx, p.tenant, p.r.ID, initial, p.latestJSON, p.data)
	return err
}

// compare checks the stored version of r against prev (not ""), with sel (selectCurrent), and
// reports whether the put is an update of a live record that keeps its identity and immutable
// properties (initial message's CID initialCID).
func (s *SQLiteStore) compare(ctx context.Context, sel *sql.Stmt, tenant string, r *Record, initialCID, prev string) (narrow bool, err error) {
	var cur, initial, contextID, author, protocol, path, schema, recipient, parent, created string
	var deleted int
	err = sel.QueryRowContext(ctx, tenant, r.ID).Scan(&cur, &initial, &contextID, &author, &protocol, &path, &schema, &recipient,
		&parent, &created, &deleted)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, &ConflictError{ID: r.ID, Reason: "record does not exist"}
	case err != nil:
		return false, err
	case cur != prev:
		return false, &ConflictError{ID: r.ID, Reason: "record changed"}
	}
	return deleted == 0 && !r.Deleted && initial == initialCID && contextID == r.ContextID && author == r.Author &&
		protocol == r.Protocol && path == r.ProtocolPath && schema == r.Schema && recipient == r.Recipient &&
		parent == r.ParentID && created == r.DateCreated, nil
}

// selectCurrent reads what PutRecord compares an update with: the latest message's CID and the
// properties an update keeps.
const selectCurrent = `SELECT latest_cid, initial_cid, context_id, author, protocol, protocol_path, schema_uri, recipient,
	parent_id, date_created, deleted FROM dwn_records WHERE tenant = ? AND id = ?`

// updateIndex and updateContents rewrite what an update of a live record changes.
const (
	updateIndex = `UPDATE dwn_records SET data_format = ?, data_cid = ?, data_size = ?, published = ?, date_published = ?,
			date_updated = ?, latest_cid = ? WHERE tenant = ? AND id = ?`
	updateContents = `UPDATE dwn_contents SET latest_msg = ?, data = ? WHERE tenant = ? AND id = ?`
)

// updateIfUnchanged is updateIndex carried out only if the record is live, its latest message
// is the one the put replaces, and its identity and immutable properties are the put's;
// updateKeepPublication is that for an update that leaves the publication columns as they are
// (so their index is not touched).
const (
	unchangedRecord = ` WHERE tenant = ? AND id = ? AND latest_cid = ? AND deleted = 0 AND initial_cid = ? AND context_id = ?
			AND author = ? AND protocol = ? AND protocol_path = ? AND schema_uri = ? AND recipient = ? AND parent_id = ?
			AND date_created = ?`
	updateIfUnchanged = `UPDATE dwn_records SET data_format = ?, data_cid = ?, data_size = ?, published = ?, date_published = ?,
			date_updated = ?, latest_cid = ?` + unchangedRecord
	updateKeepPublication = `UPDATE dwn_records SET data_format = ?, data_cid = ?, data_size = ?, date_updated = ?,
			latest_cid = ?` + unchangedRecord + ` AND published = ? AND date_published = ?`
)

// insertIndex inserts a new record's index row, or nothing if a record has its ID.
const insertIndex = `INSERT INTO dwn_records (tenant, ` + indexColumns + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, id) DO NOTHING`

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

// Statements of the SQLite store.
const (
	selectProtocolCID = `SELECT cid FROM dwn_protocols WHERE tenant = ? AND uri = ?`
	selectProtocol    = `SELECT cid, msg FROM dwn_protocols WHERE tenant = ? AND uri = ?`
	selectProtocols   = `SELECT uri, cid, msg FROM dwn_protocols WHERE tenant = ? ORDER BY uri`
	upsertProtocol    = `INSERT INTO dwn_protocols (tenant, uri, cid, msg) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant, uri) DO UPDATE SET cid = excluded.cid, msg = excluded.msg`
	bumpAccess = `INSERT INTO dwn_access (tenant, version) VALUES (?, 1)
			ON CONFLICT (tenant) DO UPDATE SET version = version + 1`
	selectAccess = `SELECT version FROM dwn_access WHERE tenant = ?`
)

// AccessVersion implements AccessVersioner.
func (s *SQLiteStore) AccessVersion(ctx context.Context, tenant string) (uint64, error) {
	done, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	st, release, err := s.stmt(ctx, selectAccess)
	if err != nil {
		return 0, dbErr(ctx, "access version", err)
	}
	defer release()
	var v int64
	switch err := st.QueryRowContext(ctx, tenant).Scan(&v); {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, dbErr(ctx, "access version", err)
	}
	return uint64(v), nil
}

// Protocol implements Store. A definition already decoded is taken from the decoded-message
// cache by its CID, without reading or decoding it again.
func (s *SQLiteStore) Protocol(ctx context.Context, tenant, uri string) (*Message, error) {
	done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	st, release, err := s.stmt(ctx, selectProtocolCID)
	if err != nil {
		return nil, dbErr(ctx, "protocol", err)
	}
	defer release()
	var cid string
	err = st.QueryRowContext(ctx, tenant, uri).Scan(&cid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &notFoundError{what: "protocol " + uri}
	}
	if err != nil {
		return nil, dbErr(ctx, "protocol", err)
	}
	if m := s.cachedMessage(cid); m != nil {
		return m, nil
	}
	full, release2, err := s.stmt(ctx, selectProtocol)
	if err != nil {
		return nil, dbErr(ctx, "protocol", err)
	}
	defer release2()
	var raw []byte
	err = full.QueryRowContext(ctx, tenant, uri).Scan(&cid, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &notFoundError{what: "protocol " + uri}
	}
	if err != nil {
		return nil, dbErr(ctx, "protocol", err)
	}
	m, err := s.message(cid, raw)
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
	sel, release1, err := s.stmt(ctx, selectProtocolCID)
	if err != nil {
		return dbErr(ctx, "put protocol", err)
	}
	defer release1()
	up, release2, err := s.stmt(ctx, upsertProtocol)
	if err != nil {
		return dbErr(ctx, "put protocol", err)
	}
	defer release2()
	bump, release3, err := s.stmt(ctx, bumpAccess)
	if err != nil {
		return dbErr(ctx, "put protocol", err)
	}
	defer release3()
	err = sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error {
		var cur string
		err := tx.StmtContext(ctx, sel).QueryRowContext(ctx, tenant, uri).Scan(&cur)
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
		if _, err = tx.StmtContext(ctx, up).ExecContext(ctx, tenant, uri, m.CID(), raw); err != nil {
			return err
		}
		_, err = tx.StmtContext(ctx, bump).ExecContext(ctx, tenant)
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
	st, release, err := s.stmt(ctx, selectProtocols)
	if err != nil {
		return nil, dbErr(ctx, "protocols", err)
	}
	defer release()
	rows, err := st.QueryContext(ctx, tenant)
	if err != nil {
		return nil, dbErr(ctx, "protocols", err)
	}
	defer rows.Close()
	var out []*Message
	for rows.Next() {
		var uri, cid string
		var raw []byte
		if err := rows.Scan(&uri, &cid, &raw); err != nil {
			return nil, dbErr(ctx, "protocols", err)
		}
		m, err := s.message(cid, raw)
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
