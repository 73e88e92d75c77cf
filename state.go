package anya

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/internal/sqlitex"
)

// The Manager's own tables in the state database, next to the workflow store and the send
// records; append only.
var stateMigrations = []string{`
CREATE TABLE anya_identities (
	did         TEXT PRIMARY KEY,
	first_seen  INTEGER NOT NULL,
	write_grant TEXT NOT NULL DEFAULT '',
	query_grant TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE TABLE anya_stats (
	did         TEXT PRIMARY KEY,
	payments    INTEGER NOT NULL DEFAULT 0,
	volume_sat  INTEGER NOT NULL DEFAULT 0,
	links       INTEGER NOT NULL DEFAULT 0,
	credentials INTEGER NOT NULL DEFAULT 0,
	kyc         INTEGER NOT NULL DEFAULT 0,
	reports     INTEGER NOT NULL DEFAULT 0,
	disputes    INTEGER NOT NULL DEFAULT 0,
	records     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE anya_payments (
	payment_id TEXT PRIMARY KEY,
	did        TEXT NOT NULL,
	txid       TEXT NOT NULL,
	record_id  TEXT NOT NULL,
	to_address TEXT NOT NULL,
	amount_sat INTEGER NOT NULL,
	risk       REAL NOT NULL,
	status     TEXT NOT NULL,
	height     INTEGER NOT NULL,
	block      TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX anya_payments_txid ON anya_payments (txid);
CREATE INDEX anya_payments_status ON anya_payments (status, height) WHERE status <> 'confirmed';
CREATE INDEX anya_payments_block ON anya_payments (block) WHERE block <> '';
CREATE TABLE anya_features (
	payment_id TEXT PRIMARY KEY,
	vector     BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE anya_checkpoint (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	height INTEGER NOT NULL,
	hash   BLOB NOT NULL
);
`, `
-- Each payment's published state (shown: '' before its first event, then broadcast or
-- confirmed) and how many events it has had; the events themselves wait in the outbox, written
-- in the transaction that changes the payment, until they are published.
ALTER TABLE anya_payments ADD COLUMN shown TEXT NOT NULL DEFAULT '';
ALTER TABLE anya_payments ADD COLUMN events INTEGER NOT NULL DEFAULT 0;
UPDATE anya_payments SET shown = CASE status WHEN 'confirmed' THEN 'confirmed' ELSE 'broadcast' END;
CREATE TABLE anya_outbox (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	payment_id TEXT NOT NULL,
	topic      TEXT NOT NULL,
	event      BLOB NOT NULL
);
`, `
-- Each verified payment the Manager started, from its start: outcome '' until the Manager saw
-- its run end, then sent, unverified, blocked or failed; refusal is why it was not sent (JSON),
-- noted by the step that failed or when the run ended. A payment whose run ended unsent gets
-- its event in the transaction that notes it.
CREATE TABLE anya_outcomes (
	payment_id TEXT PRIMARY KEY,
	outcome    TEXT NOT NULL DEFAULT '',
	refusal    BLOB
) WITHOUT ROWID;
CREATE INDEX anya_outcomes_open ON anya_outcomes (outcome) WHERE outcome = '';
-- Every event of a payment, as queued in the outbox: its history.
CREATE TABLE anya_history (
	payment_id TEXT NOT NULL,
	seq        INTEGER NOT NULL,
	topic      TEXT NOT NULL,
	event      BLOB NOT NULL,
	PRIMARY KEY (payment_id, seq)
) WITHOUT ROWID;
`}

// stateStore is the Manager's access to its tables.
type stateStore struct {
	db    *sql.DB
	stmts map[string]*sql.Stmt
}

var stateQueries = map[string]string{
	"identity":       `SELECT first_seen, write_grant, query_grant FROM anya_identities WHERE did = ?`,
	"seen":           `INSERT INTO anya_identities (did, first_seen) VALUES (?, ?) ON CONFLICT (did) DO NOTHING`,
	"register":       `INSERT INTO anya_identities (did, first_seen, write_grant, query_grant) VALUES (?, ?, ?, ?) ON CONFLICT (did) DO UPDATE SET write_grant = excluded.write_grant, query_grant = excluded.query_grant`,
	"stats":          `SELECT payments, volume_sat, links, credentials, kyc, reports, disputes, records FROM anya_stats WHERE did = ?`,
	"addStats":       `INSERT INTO anya_stats (did, payments, volume_sat, links, credentials, kyc, reports, disputes, records) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (did) DO UPDATE SET payments = payments + excluded.payments, volume_sat = volume_sat + excluded.volume_sat, links = links + excluded.links, credentials = credentials + excluded.credentials, kyc = max(kyc, excluded.kyc), reports = reports + excluded.reports, disputes = disputes + excluded.disputes, records = records + excluded.records`,
	"insertPayment":  `INSERT INTO anya_payments (payment_id, did, txid, record_id, to_address, amount_sat, risk, status, height, block) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (payment_id) DO NOTHING`,
	"shown":          `SELECT shown, events FROM anya_payments WHERE payment_id = ?`,
	"movePayment":    `UPDATE anya_payments SET status = ?, height = ?, block = ?, shown = ?, events = ? WHERE payment_id = ?`,
	"enqueue":        `INSERT INTO anya_outbox (payment_id, topic, event) VALUES (?, ?, ?)`,
	"outbox":         `SELECT seq, topic, event FROM anya_outbox ORDER BY seq LIMIT 256`,
	"dequeue":        `DELETE FROM anya_outbox WHERE seq IN (SELECT value FROM json_each(?))`,
	"putFeatures":    `INSERT INTO anya_features (payment_id, vector) VALUES (?, ?) ON CONFLICT (payment_id) DO NOTHING`,
	"features":       `SELECT vector FROM anya_features WHERE payment_id = ?`,
	"checkpoint":     `SELECT height, hash FROM anya_checkpoint WHERE id = 1`,
	"setCheckpoint":  `INSERT INTO anya_checkpoint (id, height, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET height = excluded.height, hash = excluded.hash`,
	"pendingInBlock": `SELECT payment_id, did, txid, record_id, to_address, amount_sat, risk, status, height, block FROM anya_payments WHERE status = 'broadcast' AND txid IN (SELECT value FROM json_each(?))`,
	"inBlock":        `SELECT payment_id, did, txid, record_id, to_address, amount_sat, risk, status, height, block FROM anya_payments WHERE status <> 'broadcast' AND block = ?`,
	"unconfirmed":    `SELECT payment_id, did, txid, record_id, to_address, amount_sat, risk, status, height, block FROM anya_payments WHERE status <> 'confirmed'`,
	"includedBelow":  `SELECT payment_id, did, txid, record_id, to_address, amount_sat, risk, status, height, block FROM anya_payments WHERE status = 'included' AND height <= ?`,
	"payment":        `SELECT payment_id, did, txid, record_id, to_address, amount_sat, risk, status, height, block FROM anya_payments WHERE payment_id = ?`,
	"history":        `SELECT event FROM anya_history WHERE payment_id = ? ORDER BY seq`,
	"addHistory":     `INSERT INTO anya_history (payment_id, seq, topic, event) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
	"lastSeq":        `SELECT coalesce(max(seq), 0) FROM anya_history WHERE payment_id = ?`,
	"startOutcome":   `INSERT INTO anya_outcomes (payment_id) VALUES (?) ON CONFLICT (payment_id) DO NOTHING`,
	"putRefusal":     `INSERT INTO anya_outcomes (payment_id, refusal) VALUES (?, ?) ON CONFLICT (payment_id) DO UPDATE SET refusal = excluded.refusal WHERE anya_outcomes.outcome = ''`,
	"settle":         `INSERT INTO anya_outcomes (payment_id, outcome, refusal) VALUES (?, ?, ?) ON CONFLICT (payment_id) DO UPDATE SET outcome = excluded.outcome, refusal = excluded.refusal WHERE anya_outcomes.outcome = ''`,
	"sentOutcome":    `UPDATE anya_outcomes SET outcome = 'sent' WHERE payment_id = ? AND outcome = ''`,
	"outcome":        `SELECT outcome, refusal FROM anya_outcomes WHERE payment_id = ?`,
	"openOutcomes":   `SELECT payment_id FROM anya_outcomes WHERE outcome = ''`,
	"dropOutcome":    `DELETE FROM anya_outcomes WHERE payment_id = ? AND outcome = ''`,
	"bridgeGrant":    `SELECT write_grant, read_grant, query_grant, delete_grant FROM anya_bridge_grants WHERE did = ?`,
	"bridgeGrants":   `SELECT did, write_grant, read_grant, query_grant, delete_grant FROM anya_bridge_grants`,
	"linkEntry":      `INSERT INTO anya_link_entries (id, next) VALUES (1, ? + 1) ON CONFLICT (id) DO UPDATE SET next = max(next, excluded.next - 1) + 1 RETURNING next - 1`,
	"putBridgeGrant": `INSERT INTO anya_bridge_grants (did, write_grant, read_grant, query_grant, delete_grant) VALUES (?, ?, ?, ?, ?) ON CONFLICT (did) DO NOTHING`,
}

func openState(ctx context.Context, db *sql.DB) (*stateStore, error) {
	if err := sqlitex.Migrate(ctx, db, "anya", stateMigrations); err != nil {
		return nil, err
	}
	// The bridges' tables (their grants among them) are the bridges' migrations.
	if err := sqlitex.Migrate(ctx, db, "anya_bridges", bridgeMigrations); err != nil {
		return nil, err
	}
	if err := sqlitex.Migrate(ctx, db, "anya_bridge_writes", writesMigrations); err != nil {
		return nil, err
	}
	s := &stateStore{db: db, stmts: map[string]*sql.Stmt{}}
	for name, q := range stateQueries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			_ = s.close()
			return nil, fmt.Errorf("anya: prepare %s: %w", name, err)
		}
		s.stmts[name] = st
	}
	return s, nil
}

func (s *stateStore) close() error {
	for _, st := range s.stmts {
		_ = st.Close()
	}
	s.stmts = map[string]*sql.Stmt{}
	return nil
}

func (s *stateStore) exec(ctx context.Context, name string, args ...any) (sql.Result, error) {
	r, err := s.stmts[name].ExecContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("anya: state %s: %w", name, err)
	}
	return r, nil
}

// identityRow is what the Manager keeps about a DID.
type identityRow struct {
	FirstSeen              time.Time
	WriteGrant, QueryGrant string // the host's grants in the DID's records store; empty if unregistered
}

func (s *stateStore) identity(ctx context.Context, d string) (identityRow, bool, error) {
	var (
		row   identityRow
		first int64
	)
	err := s.stmts["identity"].QueryRowContext(ctx, d).Scan(&first, &row.WriteGrant, &row.QueryGrant)
	if errors.Is(err, sql.ErrNoRows) {
		return identityRow{}, false, nil
	}
	if err != nil {
		return identityRow{}, false, fmt.Errorf("anya: state identity: %w", err)
	}
	row.FirstSeen = time.Unix(0, first)
	return row, true, nil
}

// seen records the first time the Manager met d and returns it.
func (s *stateStore) seen(ctx context.Context, d string, now time.Time) (identityRow, error) {
	row, ok, err := s.identity(ctx, d)
	if err != nil || ok {
		return row, err
	}
	if _, err := s.exec(ctx, "seen", d, now.UnixNano()); err != nil {
		return identityRow{}, err
	}
	row, _, err = s.identity(ctx, d)
	return row, err
}

func (s *stateStore) register(ctx context.Context, d string, now time.Time, writeGrant, queryGrant string) error {
	_, err := s.exec(ctx, "register", d, now.UnixNano(), writeGrant, queryGrant)
	return err
}

// bridgeGrant returns the grants d gave the host for the bridges' protocol.
func (s *stateStore) bridgeGrant(ctx context.Context, d string) (bridge.Grants, bool, error) {
	var g bridge.Grants
	err := s.stmts["bridgeGrant"].QueryRowContext(ctx, d).Scan(&g.Write, &g.Read, &g.Query, &g.Delete)
	if errors.Is(err, sql.ErrNoRows) {
		return bridge.Grants{}, false, nil
	}
	if err != nil {
		return bridge.Grants{}, false, fmt.Errorf("anya: bridge grants of %s: %w", d, err)
	}
	return g, true, nil
}

// bridgeGrants returns the bridges' grants of every DID that gave them.
func (s *stateStore) bridgeGrants(ctx context.Context) (map[string]bridge.Grants, error) {
	rows, err := s.stmts["bridgeGrants"].QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("anya: bridge grants: %w", err)
	}
	defer rows.Close()
	out := map[string]bridge.Grants{}
	for rows.Next() {
		var (
			d string
			g bridge.Grants
		)
		if err := rows.Scan(&d, &g.Write, &g.Read, &g.Query, &g.Delete); err != nil {
			return nil, fmt.Errorf("anya: bridge grants: %w", err)
		}
		out[d] = g
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("anya: bridge grants: %w", err)
	}
	return out, nil
}

// putBridgeGrant stores g as d's bridge grants unless some are stored, and returns those that
// stand.
func (s *stateStore) putBridgeGrant(ctx context.Context, d string, g bridge.Grants) (bridge.Grants, error) {
	if _, err := s.exec(ctx, "putBridgeGrant", d, g.Write, g.Read, g.Query, g.Delete); err != nil {
		return bridge.Grants{}, err
	}
	got, ok, err := s.bridgeGrant(ctx, d)
	if err == nil && !ok {
		err = fmt.Errorf("anya: bridge grants of %s: not stored", d)
	}
	return got, err
}

// linkEntry hands out the next entry of the links' revocation list, at least floor.
func (s *stateStore) linkEntry(ctx context.Context, floor int) (int, error) {
	var e int
	if err := s.stmts["linkEntry"].QueryRowContext(ctx, floor).Scan(&e); err != nil {
		return 0, fmt.Errorf("anya: state link entry: %w", err)
	}
	return e, nil
}

// stats are the counters the Manager keeps per DID as it writes to the records stores.
type stats struct {
	Payments, VolumeSat, Links, Credentials, KYC, Reports, Disputes, Records int64
}

func (s *stateStore) stats(ctx context.Context, d string) (stats, error) {
	var st stats
	err := s.stmts["stats"].QueryRowContext(ctx, d).Scan(&st.Payments, &st.VolumeSat, &st.Links, &st.Credentials, &st.KYC,
		&st.Reports, &st.Disputes, &st.Records)
	if errors.Is(err, sql.ErrNoRows) {
		return stats{}, nil
	}
	if err != nil {
		return stats{}, fmt.Errorf("anya: state stats: %w", err)
	}
	return st, nil
}

func addStats(ctx context.Context, s *stateStore, ex execer, d string, st stats) error {
	_, err := ex.StmtContext(ctx, s.stmts["addStats"]).ExecContext(ctx, d, st.Payments, st.VolumeSat, st.Links, st.Credentials, st.KYC,
		st.Reports, st.Disputes, st.Records)
	if err != nil {
		return fmt.Errorf("anya: state stats: %w", err)
	}
	return nil
}

// execer is a *sql.Tx.
type execer interface {
	StmtContext(ctx context.Context, st *sql.Stmt) *sql.Stmt
}

// addStatsNow adds st to d's counters in a transaction of its own.
func (s *stateStore) addStats(ctx context.Context, d string, st stats) error {
	return sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error { return addStats(ctx, s, tx, d, st) })
}

// Payment statuses in the payments table and in the payment records.
const (
	PaymentBroadcast = "broadcast" // in the mempool
	PaymentIncluded  = "included"  // in a block, with fewer confirmations than WithConfirmations asks
	PaymentConfirmed = "confirmed" // confirmed by the configured number of blocks
)

// paymentRow is a sent payment whose record the Manager wrote.
type paymentRow struct {
	PaymentID, DID, Txid, RecordID, ToAddress string
	AmountSat                                 int64
	Risk                                      float64
	Status                                    string
	Height                                    int32
	Block                                     string
}

func scanPayment(sc interface{ Scan(...any) error }) (paymentRow, error) {
	var p paymentRow
	err := sc.Scan(&p.PaymentID, &p.DID, &p.Txid, &p.RecordID, &p.ToAddress, &p.AmountSat, &p.Risk, &p.Status, &p.Height, &p.Block)
	return p, err
}

// insertPayment stores p and, when it is new, counts it in its sender's stats, in one
// transaction. It reports whether p was new.
func (s *stateStore) insertPayment(ctx context.Context, p paymentRow) (bool, error) {
	var added bool
	err := sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error {
		r, err := tx.StmtContext(ctx, s.stmts["insertPayment"]).ExecContext(ctx, p.PaymentID, p.DID, p.Txid, p.RecordID, p.ToAddress,
			p.AmountSat, p.Risk, p.Status, p.Height, p.Block)
		if err != nil {
			return fmt.Errorf("anya: state payment: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return nil
		}
		added = true
		if err := addStats(ctx, s, tx, p.DID, stats{Payments: 1, VolumeSat: p.AmountSat, Records: 1}); err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, s.stmts["sentOutcome"]).ExecContext(ctx, p.PaymentID); err != nil {
			return fmt.Errorf("anya: state outcome: %w", err)
		}
		return s.move(ctx, s.inTx(ctx, tx), paymentMove{Row: p, Status: p.Status, At: blockStamp(p)})
	})
	return added, err
}

// shownStatus is the status a payment shows (in its record and its events): confirmed, or
// broadcast until it is.
func shownStatus(status string) string {
	if status == PaymentConfirmed {
		return PaymentConfirmed
	}
	return PaymentBroadcast
}

// move moves payment mv.Row to mv.Status at block mv.At within tx, queueing in the outbox the
// events of every step between the state it showed and the one it shows now: a payment's
// first state is sent, then confirmed and reorged alternate. Each event carries the payment's
// next sequence number. A payment not stored is an error wrapping errPaymentNotStored.
func (s *stateStore) move(ctx context.Context, tx *txStmts, mv paymentMove) error {
	var (
		shown string
		n     int
	)
	err := tx.stmt("shown").QueryRowContext(ctx, mv.Row.PaymentID).Scan(&shown, &n)
	if errors.Is(err, sql.ErrNoRows) {
		err = errPaymentNotStored
	}
	if err != nil {
		return fmt.Errorf("anya: state payment %s: %w", mv.Row.PaymentID, err)
	}
	evs, to := eventsOf(mv.Row, shown, n, mv.Status, mv.At)
	for _, e := range evs {
		if err := s.enqueue(ctx, tx, e.Topic, e.Event); err != nil {
			return err
		}
	}
	if _, err := tx.stmt("movePayment").ExecContext(ctx, mv.Status, mv.At.Height, blockHash(mv.At), to, n+len(evs),
		mv.Row.PaymentID); err != nil {
		return fmt.Errorf("anya: state payment %s: %w", mv.Row.PaymentID, err)
	}
	return nil
}

// enqueue queues ev on topic in the outbox and adds it to its payment's history, within tx.
func (s *stateStore) enqueue(ctx context.Context, tx *txStmts, topic string, ev PaymentEvent) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if _, err := tx.stmt("enqueue").ExecContext(ctx, ev.PaymentID, topic, body); err != nil {
		return fmt.Errorf("anya: state outbox: %w", err)
	}
	if _, err := tx.stmt("addHistory").ExecContext(ctx, ev.PaymentID, ev.Seq, topic, body); err != nil {
		return fmt.Errorf("anya: state history: %w", err)
	}
	return nil
}

// payment returns the row of a sent payment.
func (s *stateStore) payment(ctx context.Context, paymentID string) (paymentRow, bool, error) {
	p, err := scanPayment(s.stmts["payment"].QueryRowContext(ctx, paymentID))
	if errors.Is(err, sql.ErrNoRows) {
		return paymentRow{}, false, nil
	}
	if err != nil {
		return paymentRow{}, false, fmt.Errorf("anya: state payment: %w", err)
	}
	return p, true, nil
}

// history returns a payment's events, in order.
func (s *stateStore) history(ctx context.Context, paymentID string) ([]PaymentEvent, error) {
	rows, err := s.stmts["history"].QueryContext(ctx, paymentID)
	if err != nil {
		return nil, fmt.Errorf("anya: state history: %w", err)
	}
	defer rows.Close()
	var out []PaymentEvent
	for rows.Next() {
		var (
			body []byte
			ev   PaymentEvent
		)
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("anya: state history: %w", err)
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			return nil, fmt.Errorf("anya: state history of %s: %w", paymentID, err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// start notes that the Manager starts payment id, with its fraud vector when it has one, in
// one transaction.
func (s *stateStore) start(ctx context.Context, id string, features []float32) error {
	var body []byte
	if features != nil {
		var err error
		if body, err = json.Marshal(features); err != nil {
			return err
		}
	}
	return sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.StmtContext(ctx, s.stmts["startOutcome"]).ExecContext(ctx, id); err != nil {
			return fmt.Errorf("anya: state outcome: %w", err)
		}
		if body == nil {
			return nil
		}
		if _, err := tx.StmtContext(ctx, s.stmts["putFeatures"]).ExecContext(ctx, id, body); err != nil {
			return fmt.Errorf("anya: state features: %w", err)
		}
		return nil
	})
}

// putRefusal notes why payment id's step failed, until its run ends.
func (s *stateStore) putRefusal(ctx context.Context, id string, r *Refusal) error {
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, "putRefusal", id, body)
	return err
}

// outcome returns what the Manager noted of payment id: its outcome ("" while unfinished) and
// refusal (nil when none).
func (s *stateStore) outcome(ctx context.Context, id string) (Outcome, *Refusal, error) {
	var (
		out  string
		body []byte
	)
	err := s.stmts["outcome"].QueryRowContext(ctx, id).Scan(&out, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("anya: state outcome: %w", err)
	}
	if len(body) == 0 {
		return Outcome(out), nil, nil
	}
	var r Refusal
	if err := json.Unmarshal(body, &r); err != nil {
		return "", nil, fmt.Errorf("anya: state refusal of %s: %w", id, err)
	}
	return Outcome(out), &r, nil
}

// settle notes that ev's payment ended unsent (ev.Outcome, ev.Refusal) and, the first time,
// queues ev — numbered after the payment's earlier events — in one transaction. It reports
// whether it queued it.
func (s *stateStore) settle(ctx context.Context, topic string, ev PaymentEvent) (bool, error) {
	var body []byte // NULL without a refusal, so that outcome reports none
	if ev.Refusal != nil {
		var err error
		if body, err = json.Marshal(ev.Refusal); err != nil {
			return false, err
		}
	}
	var queued bool
	err := sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error {
		r, err := tx.StmtContext(ctx, s.stmts["settle"]).ExecContext(ctx, ev.PaymentID, string(ev.Outcome), body)
		if err != nil {
			return fmt.Errorf("anya: state outcome: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return nil // noted before
		}
		if err := tx.StmtContext(ctx, s.stmts["lastSeq"]).QueryRowContext(ctx, ev.PaymentID).Scan(&ev.Seq); err != nil {
			return fmt.Errorf("anya: state history: %w", err)
		}
		ev.Seq++
		queued = true
		return s.enqueue(ctx, s.inTx(ctx, tx), topic, ev)
	})
	return queued, err
}

// markSent notes that payment id ended sent (its events come with its payment row).
func (s *stateStore) markSent(ctx context.Context, id string) error {
	_, err := s.exec(ctx, "sentOutcome", id)
	return err
}

// openOutcomes returns the payments the Manager started and has not seen end.
func (s *stateStore) openOutcomes(ctx context.Context) ([]string, error) {
	rows, err := s.stmts["openOutcomes"].QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("anya: state outcomes: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("anya: state outcomes: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// dropOutcome forgets a payment that never started (its run was never created).
func (s *stateStore) dropOutcome(ctx context.Context, id string) error {
	_, err := s.exec(ctx, "dropOutcome", id)
	return err
}

// blockStamp returns the block a payment row names (zero when none).
func blockStamp(p paymentRow) bitcoin.BlockStamp {
	h, err := chainhash.NewHashFromStr(p.Block)
	if p.Block == "" || err != nil {
		return bitcoin.BlockStamp{}
	}
	return bitcoin.BlockStamp{Height: p.Height, Hash: *h}
}

// outboxEvent is a payment event waiting to be published.
type outboxEvent struct {
	Seq   int64
	Topic string
	Event PaymentEvent
}

// outbox returns the oldest events waiting to be published, in order.
func (s *stateStore) outbox(ctx context.Context) ([]outboxEvent, error) {
	rows, err := s.stmts["outbox"].QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("anya: state outbox: %w", err)
	}
	defer rows.Close()
	var out []outboxEvent
	for rows.Next() {
		var (
			e    outboxEvent
			body []byte
		)
		if err := rows.Scan(&e.Seq, &e.Topic, &body); err != nil {
			return nil, fmt.Errorf("anya: state outbox: %w", err)
		}
		if err := json.Unmarshal(body, &e.Event); err != nil {
			return nil, fmt.Errorf("anya: state outbox event %d: %w", e.Seq, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// dequeue removes published events, in one statement.
func (s *stateStore) dequeue(ctx context.Context, evs []outboxEvent) error {
	if len(evs) == 0 {
		return nil
	}
	list := make([]byte, 0, 8*len(evs)+2)
	list = append(list, '[')
	for i, e := range evs {
		if i > 0 {
			list = append(list, ',')
		}
		list = strconv.AppendInt(list, e.Seq, 10)
	}
	list = append(list, ']')
	_, err := s.exec(ctx, "dequeue", string(list))
	return err
}

func (s *stateStore) paymentsQuery(ctx context.Context, name string, args ...any) ([]paymentRow, error) {
	rows, err := s.stmts[name].QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("anya: state %s: %w", name, err)
	}
	defer rows.Close()
	var out []paymentRow
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("anya: state %s: %w", name, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// pendingIn returns the unconfirmed payments among txids.
func (s *stateStore) pendingIn(ctx context.Context, txids []chainhash.Hash) ([]paymentRow, error) {
	ids := make([]string, len(txids))
	for i, t := range txids {
		ids[i] = t.String()
	}
	list, _ := json.Marshal(ids)
	return s.paymentsQuery(ctx, "pendingInBlock", string(list))
}

// inBlock returns the payments included or confirmed in block.
func (s *stateStore) inBlock(ctx context.Context, block chainhash.Hash) ([]paymentRow, error) {
	return s.paymentsQuery(ctx, "inBlock", block.String())
}

// unconfirmed returns the payments not yet confirmed.
func (s *stateStore) unconfirmed(ctx context.Context) ([]paymentRow, error) {
	return s.paymentsQuery(ctx, "unconfirmed")
}

// includedBelow returns the payments included (not yet confirmed) at or below height.
func (s *stateStore) includedBelow(ctx context.Context, height int32) ([]paymentRow, error) {
	return s.paymentsQuery(ctx, "includedBelow", height)
}

// movePayments makes moves in order, each to its status with the events of the state it
// shows, all in one transaction. A move of a payment that is not stored is left out (its error
// is returned, joined with the others') and the rest are made.
func (s *stateStore) movePayments(ctx context.Context, moves []paymentMove) error {
	if len(moves) == 0 {
		return nil
	}
	var missing []error
	err := sqlitex.Tx(ctx, s.db, func(tx *sql.Tx) error {
		missing = missing[:0]
		ts := s.inTx(ctx, tx)
		for _, mv := range moves {
			err := s.move(ctx, ts, mv)
			if errors.Is(err, errPaymentNotStored) {
				missing = append(missing, err)
				continue
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return errors.Join(missing...)
}

// txStmts are the state's prepared statements bound to one transaction, each bound once.
type txStmts struct {
	ctx   context.Context
	tx    *sql.Tx
	s     *stateStore
	bound map[string]*sql.Stmt
}

func (s *stateStore) inTx(ctx context.Context, tx *sql.Tx) *txStmts {
	return &txStmts{ctx: ctx, tx: tx, s: s, bound: map[string]*sql.Stmt{}}
}

// stmt returns the statement name bound to the transaction.
func (t *txStmts) stmt(name string) *sql.Stmt {
	st, ok := t.bound[name]
	if !ok {
		st = t.tx.StmtContext(t.ctx, t.s.stmts[name])
		t.bound[name] = st
	}
	return st
}

func (s *stateStore) features(ctx context.Context, paymentID string) ([]float32, bool, error) {
	var b []byte
	err := s.stmts["features"].QueryRowContext(ctx, paymentID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("anya: state features: %w", err)
	}
	var v []float32
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, false, fmt.Errorf("anya: state features of %s: %w", paymentID, err)
	}
	return v, true, nil
}

func (s *stateStore) checkpoint(ctx context.Context) (bitcoin.BlockStamp, error) {
	var (
		h    int32
		hash []byte
	)
	err := s.stmts["checkpoint"].QueryRowContext(ctx).Scan(&h, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return bitcoin.BlockStamp{}, nil
	}
	if err != nil {
		return bitcoin.BlockStamp{}, fmt.Errorf("anya: state checkpoint: %w", err)
	}
	if len(hash) != chainhash.HashSize {
		return bitcoin.BlockStamp{}, fmt.Errorf("anya: state checkpoint: %d-byte hash", len(hash))
	}
	var cp bitcoin.BlockStamp
	cp.Height = h
	copy(cp.Hash[:], hash)
	return cp, nil
}

func (s *stateStore) setCheckpoint(ctx context.Context, cp bitcoin.BlockStamp) error {
	_, err := s.exec(ctx, "setCheckpoint", cp.Height, cp.Hash[:])
	return err
}
