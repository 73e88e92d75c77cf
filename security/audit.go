package security

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
)

// Entry kinds and decisions.
const (
	KindCrossing = "crossing" // data crossed (or tried to cross) a boundary
	KindDecision = "decision" // any other security-relevant decision a host records

	DecisionAllow = "allow"
	DecisionDeny  = "deny"
)

// Entry is one audit record. Append fills Seq, Prev and Hash (and Time when zero).
type Entry struct {
	Seq       uint64
	Time      time.Time
	Kind      string
	From, To  string
	Action    string
	Principal string
	Decision  string
	Rule      string
	Reason    string
	DataHash  string // a digest of the data, never the data: the log holds no personal data
	Prev      [32]byte
	Hash      [32]byte
}

// Head identifies an entry by its position and hash — usually the newest, as a checkpoint: keep
// it somewhere the log's writer cannot change (another system, or signed: SignHead) and pass it
// to Verify to detect truncation and rewriting of the entries up to it.
type Head struct {
	Seq  uint64
	Hash [32]byte
}

// String formats the head as "<seq>:<hex hash>"; ParseHead reads it back.
func (h Head) String() string { return fmt.Sprintf("%d:%s", h.Seq, hex.EncodeToString(h.Hash[:])) }

// HashEntry returns the hash the log chains e with: SHA-256 over e.Prev and e's fields other
// than Seq, Prev and Hash, each length-prefixed. An independent verifier (or a test playing an
// attacker who rehashes what it rewrote) computes it with this.
func HashEntry(e Entry) [32]byte { return hashEntry(&e) }

// hashEntry chains an entry: SHA-256 over its predecessor's hash and its own fields, each
// length-prefixed. The position (Seq) is not hashed: the chain itself orders entries, which is
// what lets the verifier tell reordering from modification.
func hashEntry(e *Entry) [32]byte {
	var buf []byte
	return hashEntryBuf(e, &buf)
}

// hashEntryBuf is hashEntry with a scratch buffer the caller reuses, so that hashing many entries
// allocates nothing.
func hashEntryBuf(e *Entry, buf *[]byte) [32]byte {
	b := append((*buf)[:0], e.Prev[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	for _, s := range [...]string{e.Kind, e.From, e.To, e.Action, e.Principal, e.Decision, e.Rule, e.Reason, e.DataHash} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	*buf = b
	return sha256.Sum256(b)
}

var auditMigrations = []string{`
CREATE TABLE security_audit (
	seq       INTEGER PRIMARY KEY,
	time      INTEGER NOT NULL,
	kind      TEXT NOT NULL,
	from_p    TEXT NOT NULL,
	to_p      TEXT NOT NULL,
	action    TEXT NOT NULL,
	principal TEXT NOT NULL,
	decision  TEXT NOT NULL,
	rule      TEXT NOT NULL,
	reason    TEXT NOT NULL,
	data_hash TEXT NOT NULL,
	prev      BLOB NOT NULL,
	hash      BLOB NOT NULL
);
CREATE TABLE security_audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash BLOB NOT NULL
);`}

// DefaultCheckpointEvery is how many entries apart automatic checkpoints are (WithCheckpointEvery).
const DefaultCheckpointEvery = 1000

// MaxVerifyProblems bounds the findings one Verify reports; VerifyReport.Omitted counts the rest.
const MaxVerifyProblems = 1000

// CheckpointPublisher keeps signed checkpoints outside the log — a record in the host's own
// store, another system, a transaction anchoring it on chain — where whoever can write the log's
// database cannot reach them. Verify, given the newest one published, then detects any rewrite
// of the entries up to it.
//
// PublishCheckpoint is called with checkpoints in increasing position from one AuditLog, never
// two at once. It MUST NOT append to, checkpoint or close the log it publishes for, and SHOULD
// bound its own work (Close waits for the final checkpoint).
type CheckpointPublisher interface {
	PublishCheckpoint(ctx context.Context, h *SignedHead) error
}

// CheckpointPublisherFunc adapts a function to CheckpointPublisher.
type CheckpointPublisherFunc func(ctx context.Context, h *SignedHead) error

// PublishCheckpoint calls f.
func (f CheckpointPublisherFunc) PublishCheckpoint(ctx context.Context, h *SignedHead) error {
	return f(ctx, h)
}

// AuditLog is a tamper-evident, append-only log in SQLite: each entry is chained to its
// predecessor by a SHA-256 hash, and the newest entry is also recorded in a head row. Verify
// detects entries modified, deleted (in the middle, at the start, or the newest ones), reordered
// or appended behind the log's back.
//
// The chain is not keyed: someone who can write the database can rewrite the newest entries and
// rehash them consistently. Checkpoints close that gap: with WithCheckpointSigner the log's head
// is signed by the host's key (a SignedHead, a compact JWS), and with WithCheckpointPublisher each
// checkpoint is kept outside the log; Verify given the newest one then proves the log intact up
// to it. Entries after the newest published checkpoint are protected by the chain alone.
//
// Appends are optimistic: the log chains an entry to the newest head it knows and the store
// takes it only at the next position; when another writer — another process or host on the
// same store — took that position, the log reads the new head and chains again. So several
// writers keep one chain, which never forks. It is safe for concurrent use. On a store that
// appends batches (BatchAuditStore, such as SQLite's), appends made at once are committed
// together: while one batch is being stored the next ones queue, and the queue is stored as one
// batch in one transaction, chained in the order it queued (the chain's order is the commit
// order). Every Append returns only once its entry is stored — durable as the store makes it —
// never when it is merely chained in memory; there is no faster mode that returns earlier.
//
// Create it with OpenAuditLog, NewAuditLog or NewAuditLogOn: the methods of a zero AuditLog
// return a *NotConstructedError, and its Close and Shutdown return nil.
type AuditLog struct {
	store AuditStore
	db    *sql.DB // closed by Close when owned
	owned bool
	cfg   config
	tel   *auditTelemetry // nil unless traced or metered

	mu     sync.RWMutex
	closed bool

	appendMu sync.Mutex // one append (or batch) at a time
	last     *Head      // the newest head this log knows (under appendMu); nil: read it

	// Group commit, on a BatchAuditStore: appends queue up while one of their callers, the
	// leader, commits everything queued in one batch; then the first of those queued since
	// leads the next batch.
	batch   BatchAuditStore // nil: the store appends one entry at a time
	queueMu sync.Mutex
	queue   []*queuedAppend
	leading bool // a caller is committing a batch (under queueMu)

	pubMu     sync.Mutex  // serializes signing and publishing
	published uint64      // the newest position published by this process; under pubMu
	pending   atomic.Bool // an automatic checkpoint is due: the last one failed or was skipped
}

// OpenAuditLog opens (creating if needed) an audit log in the SQLite file at path; Close closes
// it. An invalid option, or one that configures Boundaries, is refused with an *OptionError,
// and nothing is opened.
func OpenAuditLog(ctx context.Context, path string, opts ...Option) (*AuditLog, error) {
	if _, err := newConfig(kindAuditLog, opts); err != nil {
		return nil, err
	}
	db, err := sqlitex.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	l, err := NewAuditLog(ctx, db, opts...)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	l.db, l.owned = db, true
	return l, nil
}

// NewAuditLog returns an audit log in db, an SQLite database (modernc.org/sqlite driver) other
// components may share, creating its tables if needed (a SQLiteAuditStore). Close does not close
// db. An invalid option, or one that configures Boundaries, is refused with an *OptionError.
func NewAuditLog(ctx context.Context, db *sql.DB, opts ...Option) (*AuditLog, error) {
	if db == nil {
		return nil, &OptionError{Option: "db", Reason: "must not be nil"}
	}
	if _, err := newConfig(kindAuditLog, opts); err != nil {
		return nil, err
	}
	store, err := NewSQLiteAuditStore(ctx, db)
	if err != nil {
		return nil, err
	}
	return NewAuditLogOn(store, opts...)
}

// NewAuditLogOn returns an audit log whose entries live in store (see AuditStore): several
// logs — in several processes or hosts — on one store keep one chain. Close does not close
// store. An invalid option, or one that configures Boundaries, is refused with an *OptionError.
func NewAuditLogOn(store AuditStore, opts ...Option) (*AuditLog, error) {
	cfg, err := newConfig(kindAuditLog, opts)
	if err != nil {
		return nil, err
	}
	if store == nil {
		return nil, &OptionError{Option: "store", Reason: "nil AuditStore"}
	}
	tel, err := newAuditTelemetry(&cfg)
	if err != nil {
		return nil, err
	}
	l := &AuditLog{store: store, cfg: cfg, tel: tel}
	l.batch, _ = store.(BatchAuditStore)
	return l, nil
}

func notAuditLog() error { return &NotConstructedError{Type: "AuditLog", Constructor: "OpenAuditLog"} }

func (l *AuditLog) enter(ctx context.Context) error {
	if l.store == nil {
		return notAuditLog()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

// Append adds e at the end of the chain and returns it as stored. A cancelled ctx returns
// ctx.Err(). With WithCheckpointPublisher, an Append that reaches a checkpoint position (or
// follows a checkpoint that failed) signs and publishes the new head before it returns; a failure
// to do so is logged, not returned: the entry is in the log.
func (l *AuditLog) Append(ctx context.Context, e Entry) (Entry, error) {
	if l.tel != nil {
		return l.appendTraced(ctx, e)
	}
	return l.appendEntry(ctx, e)
}

func (l *AuditLog) appendEntry(ctx context.Context, e Entry) (Entry, error) {
	if err := l.enter(ctx); err != nil {
		return Entry{}, err
	}
	if e.Time.IsZero() {
		e.Time = l.cfg.now()
	}
	err := l.append(ctx, &e)
	l.mu.RUnlock()
	if err != nil {
		if ctx.Err() != nil {
			return Entry{}, ctx.Err()
		}
		return Entry{}, fmt.Errorf("security: audit append: %w", err)
	}
	l.autoCheckpoint(ctx, Head{Seq: e.Seq, Hash: e.Hash})
	return e, nil
}

// queuedAppend is an entry waiting for the batch that commits it.
type queuedAppend struct {
	e    *Entry
	done chan error // the batch's outcome, or errLead
}

// errLead tells a queued append to lead the next batch.
var errLead = errors.New("security: lead the next audit batch")

// append chains e to the newest head and stores it, chaining it again after the new head as
// long as another writer takes the position first. On a BatchAuditStore, appends made while a
// batch is being committed are committed together in the next one (one transaction), in the
// order they queued: the chain's order is the commit order. Each returns when its batch is
// stored.
func (l *AuditLog) append(ctx context.Context, e *Entry) error {
	if l.batch == nil {
		return l.appendOne(ctx, e)
	}
	me := &queuedAppend{e: e, done: make(chan error, 1)}
	l.queueMu.Lock()
	l.queue = append(l.queue, me)
	lead := !l.leading
	l.leading = true
	l.queueMu.Unlock()
	if !lead {
		// The batch a leader commits is bounded work (SQLite's busy timeout): wait for it.
		if err := <-me.done; err != errLead {
			return err
		}
	}
	l.queueMu.Lock()
	batch := l.queue
	l.queue = nil
	l.queueMu.Unlock()
	// The batch holds other callers' entries: it is committed whatever becomes of this caller's
	// ctx, and this caller's cancellation does not fail theirs.
	err := l.appendBatch(context.WithoutCancel(ctx), batch)
	var mine error
	for _, q := range batch {
		if q == me {
			mine = err
		} else {
			q.done <- err
		}
	}
	l.queueMu.Lock()
	if len(l.queue) > 0 {
		l.queue[0].done <- errLead
	} else {
		l.leading = false
	}
	l.queueMu.Unlock()
	return mine
}

// appendBatch chains the queued entries after the newest head and stores them in one step,
// chaining them again after the new head as long as another writer takes the position first.
func (l *AuditLog) appendBatch(ctx context.Context, batch []*queuedAppend) error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	es := make([]*Entry, len(batch))
	for i, q := range batch {
		es[i] = q.e
	}
	var buf []byte
	for conflicts := 0; ; conflicts++ {
		if l.last == nil {
			h, err := l.store.Last(ctx)
			if err != nil {
				return err
			}
			l.last = &h
		}
		prev := *l.last
		for _, e := range es {
			e.Seq, e.Prev = prev.Seq+1, prev.Hash
			e.Hash = hashEntryBuf(e, &buf)
			prev = Head{Seq: e.Seq, Hash: e.Hash}
		}
		err := l.batch.AppendBatch(ctx, es)
		if err == nil {
			l.last = &prev
			return nil
		}
		l.last = nil
		if !errors.Is(err, ErrAuditConflict) {
			return err
		}
		if conflicts >= maxAppendConflicts {
			return fmt.Errorf("%d appends in a row lost the position to other writers: %w", conflicts+1, err)
		}
	}
}

// appendOne is append on a store without batches: one entry at a time.
func (l *AuditLog) appendOne(ctx context.Context, e *Entry) error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	for conflicts := 0; ; conflicts++ {
		if l.last == nil {
			h, err := l.store.Last(ctx)
			if err != nil {
				return err
			}
			l.last = &h
		}
		e.Seq, e.Prev = l.last.Seq+1, l.last.Hash
		e.Hash = hashEntry(e)
		err := l.store.Append(ctx, e)
		if err == nil {
			l.last = &Head{Seq: e.Seq, Hash: e.Hash}
			return nil
		}
		l.last = nil
		if !errors.Is(err, ErrAuditConflict) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if conflicts >= maxAppendConflicts {
			return fmt.Errorf("%d appends in a row lost the position to other writers: %w", conflicts+1, err)
		}
	}
}

// maxAppendConflicts bounds how often one Append chains its entry again before it gives up.
const maxAppendConflicts = 1000

// autoCheckpoint publishes h when it is at a checkpoint position or a checkpoint is overdue. It
// never waits for another publication: if one is running, the next Append tries again.
func (l *AuditLog) autoCheckpoint(ctx context.Context, h Head) {
	if l.cfg.publisher == nil {
		return
	}
	due := l.cfg.every > 0 && h.Seq%uint64(l.cfg.every) == 0
	if !due && !l.pending.Load() {
		return
	}
	if !l.pubMu.TryLock() {
		l.pending.Store(true)
		return
	}
	defer l.pubMu.Unlock()
	l.mu.RLock()
	closed := l.closed
	l.mu.RUnlock()
	if closed { // Close made (or skipped) the final checkpoint: publish nothing after it
		return
	}
	if h.Seq <= l.published {
		l.pending.Store(false)
		return
	}
	if _, err := l.publishLocked(ctx, h); err != nil {
		l.pending.Store(true)
		l.cfg.logger.WarnContext(ctx, "security: audit checkpoint not published; trying again at the next append", "seq", h.Seq, "error", err)
		return
	}
	l.pending.Store(false)
}

// publishLocked signs h and hands it to the publisher, if any. The caller holds pubMu.
func (l *AuditLog) publishLocked(ctx context.Context, h Head) (*SignedHead, error) {
	sh, err := SignHead(ctx, h, l.cfg.now(), l.cfg.signer)
	if err != nil {
		return nil, err
	}
	if l.cfg.publisher == nil {
		return sh, nil
	}
	if err := l.cfg.publisher.PublishCheckpoint(ctx, sh); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: publish entry %d: %v", ErrCheckpoint, h.Seq, err)
	}
	l.published = max(l.published, h.Seq)
	return sh, nil
}

// Checkpoint signs the log's current head with the WithCheckpointSigner key, publishes it with
// the WithCheckpointPublisher publisher, if any, and returns it: store its String() where the
// log's writer cannot reach it, and pass it (ParseSignedHead) to Verify. Without a signer it
// returns ErrNoSigner; a failure to sign or publish wraps ErrCheckpoint; a cancelled ctx returns
// ctx.Err().
func (l *AuditLog) Checkpoint(ctx context.Context) (*SignedHead, error) {
	if l.store == nil {
		return nil, notAuditLog()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if l.cfg.signer == nil {
		return nil, ErrNoSigner
	}
	h, err := l.Head(ctx)
	if err != nil {
		return nil, err
	}
	l.pubMu.Lock()
	defer l.pubMu.Unlock()
	sh, err := l.publishLocked(ctx, h)
	if err != nil {
		if l.cfg.publisher != nil {
			l.pending.Store(true)
		}
		return nil, err
	}
	return sh, nil
}

// Head returns the newest entry's position and hash (zero for an empty log).
func (l *AuditLog) Head(ctx context.Context) (Head, error) {
	if err := l.enter(ctx); err != nil {
		return Head{}, err
	}
	defer l.mu.RUnlock()
	return l.head(ctx)
}

func (l *AuditLog) head(ctx context.Context) (Head, error) {
	h, err := l.store.Last(ctx)
	if err != nil && ctx.Err() != nil {
		return Head{}, ctx.Err()
	}
	return h, err
}

const entryColumns = `seq, time, kind, from_p, to_p, action, principal, decision, rule, reason, data_hash, prev, hash`

// Entries returns up to limit entries from position from (1-based) on, in order.
func (l *AuditLog) Entries(ctx context.Context, from uint64, limit int) ([]Entry, error) {
	if err := l.enter(ctx); err != nil {
		return nil, err
	}
	defer l.mu.RUnlock()
	if limit <= 0 {
		return nil, nil
	}
	from = max(from, 1)
	var out []Entry
	_, err := l.store.Scan(ctx, from, from+uint64(limit)-1, func(e *Entry, _ bool) error {
		out = append(out, *e)
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("security: audit entries: %w", err)
	}
	return out, nil
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	Entries int
	Head    Head // the newest entry as found
	// Checkpoint is the newest checkpoint given to Verify that the log matches with no finding at
	// or before its position: the log is proven intact up to it. Entries after it are checked
	// against the chain alone. Zero when no checkpoint was given or none holds.
	Checkpoint Head
	Problems   []*TamperError // at most MaxVerifyProblems, in order of position
	Omitted    int            // findings beyond MaxVerifyProblems, not listed
}

// Verify walks the whole log and checks that every entry's hash matches its content, that each
// is chained to the one before it, that positions run 1, 2, 3, ... without gaps, that the newest
// entry is the one recorded in the head row and, for each checkpoint given, that the entry at its
// position still has its hash — so that the log cannot have been rewritten up to it, nor
// truncated below it. Give it the newest signed head published (ParseSignedHead): an older
// one proves integrity up to its own position only. With several checkpoints, a rewrite is
// narrowed to the entries between the newest one that holds and the first one that does not.
//
// It reports every finding (up to MaxVerifyProblems), classified as modified, deleted,
// reordered, truncated, inserted or broken; the error is nil for an intact log, otherwise it
// joins the *TamperErrors (each wrapping ErrTampered). A cancelled ctx returns ctx.Err() and no
// report.
//
// Verify reads the log from one snapshot, row by row: its memory does not grow with the log
// (a second pass over positions and hashes classifies broken links when there are any).
func (l *AuditLog) Verify(ctx context.Context, checkpoints ...Checkpoint) (*VerifyReport, error) {
	if err := l.enter(ctx); err != nil {
		return nil, err
	}
	defer l.mu.RUnlock()
	rep, err := l.verify(ctx, checkpointHeads(checkpoints))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("security: audit verify: %w", err)
	}
	if len(rep.Problems) == 0 {
		return rep, nil
	}
	errs := make([]error, len(rep.Problems))
	for i, p := range rep.Problems {
		errs[i] = p
	}
	return rep, errors.Join(errs...)
}

// checkpointHeads returns the heads of the checkpoints given, by position, leaving out nil ones
// and position 0 (an empty log).
func checkpointHeads(cps []Checkpoint) []Head {
	var out []Head
	for _, c := range cps {
		switch x := c.(type) {
		case nil:
			continue
		case *Head:
			if x == nil {
				continue
			}
		case *SignedHead:
			if x == nil {
				continue
			}
		}
		if h := c.Checkpoint(); h.Seq > 0 {
			out = append(out, h)
		}
	}
	slices.SortStableFunc(out, func(a, b Head) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// brokenLink is an entry not chained to its predecessor, classified once every position's hash
// is known.
type brokenLink struct {
	seq   uint64
	prev  [32]byte
	gap   bool // positions jump before it: already reported as deleted
	first bool
}

func (l *AuditLog) verify(ctx context.Context, cps []Head) (*VerifyReport, error) {
	rep := &VerifyReport{}
	add := func(seq uint64, k TamperKind, format string, args ...any) {
		if len(rep.Problems) >= MaxVerifyProblems {
			rep.Omitted++
			return
		}
		rep.Problems = append(rep.Problems, &TamperError{Seq: seq, Kind: k, Detail: fmt.Sprintf(format, args...)})
	}
	found := make([]int8, len(cps)) // per checkpoint: 0 not seen, 1 matches, -1 differs
	var (
		broken     []brokenLink
		prev       Entry
		buf        []byte
		ci         int
		overBroken int
	)
	// One pass over the store's snapshot, entry by entry.
	recorded, err := l.store.Scan(ctx, 1, 0, func(e *Entry, wellFormed bool) error {
		if !wellFormed || hashEntryBuf(e, &buf) != e.Hash {
			add(e.Seq, TamperModified, "content does not match its hash")
		}
		first := rep.Entries == 0
		wantSeq := prev.Seq + 1
		if first {
			wantSeq = 1
		}
		gap := e.Seq != wantSeq
		if gap {
			add(wantSeq, TamperDeleted, "entries %d to %d are missing", wantSeq, e.Seq-1)
		}
		var want [32]byte
		if !first {
			want = prev.Hash
		}
		if e.Prev != want {
			if len(broken) < MaxVerifyProblems {
				broken = append(broken, brokenLink{seq: e.Seq, prev: e.Prev, gap: gap, first: first})
			} else {
				overBroken++
			}
		}
		for ci < len(cps) && cps[ci].Seq <= e.Seq {
			if cps[ci].Seq == e.Seq {
				found[ci] = -1
				if e.Hash == cps[ci].Hash {
					found[ci] = 1
				}
			}
			ci++
		}
		rep.Entries++
		prev.Seq, prev.Hash = e.Seq, e.Hash
		return nil
	})
	if err != nil {
		return nil, err
	}
	if rep.Entries > 0 {
		rep.Head = Head{Seq: prev.Seq, Hash: prev.Hash}
	}
	if err := l.classifyBroken(ctx, rep.Head.Seq, broken, add); err != nil {
		return nil, err
	}
	rep.Omitted += overBroken

	switch {
	case !recorded.Found:
		if rep.Entries > 0 {
			add(1, TamperModified, "the store's record of its newest entry is missing")
		}
	case rep.Head.Seq < recorded.Seq:
		add(rep.Head.Seq+1, TamperTruncated, "the store records entry %d as its newest, the log ends at %d", recorded.Seq, rep.Head.Seq)
	case rep.Head.Seq > recorded.Seq:
		add(recorded.Seq+1, TamperInserted, "entries after the recorded head %d", recorded.Seq)
	case recorded.HasHash && rep.Head.Hash != recorded.Hash:
		add(recorded.Seq, TamperModified, "the newest entry is not the one the store records")
	}

	var holds uint64 // the newest checkpoint position that matched
	truncated := false
	for i, cp := range cps {
		switch {
		case rep.Head.Seq < cp.Seq:
			if !truncated {
				add(rep.Head.Seq+1, TamperTruncated, "a checkpoint records entry %d, the log ends at %d", cps[len(cps)-1].Seq, rep.Head.Seq)
				truncated = true
			}
		case found[i] == 0:
			add(cp.Seq, TamperDeleted, "the checkpointed entry is missing")
		case found[i] < 0:
			add(cp.Seq, TamperModified, "entry %d is not the checkpointed entry: the log was rewritten within entries %d to %d", cp.Seq, holds+1, cp.Seq)
		default:
			holds = max(holds, cp.Seq)
		}
	}
	slices.SortStableFunc(rep.Problems, func(a, b *TamperError) int { return cmp.Compare(a.Seq, b.Seq) })
	if rep.Omitted == 0 {
		for i := len(cps) - 1; i >= 0; i-- {
			if found[i] == 1 && (len(rep.Problems) == 0 || rep.Problems[0].Seq > cps[i].Seq) {
				rep.Checkpoint = cps[i]
				break
			}
		}
	}
	return rep, nil
}

// classifyBroken tells, for each entry not chained to its predecessor, whether it was moved
// (its predecessor's hash is at another position), chained as a first entry, or follows deleted
// or rewritten entries. It reads positions and hashes once more, up to head (the end of the
// first pass), keeping only the hashes asked for.
func (l *AuditLog) classifyBroken(ctx context.Context, head uint64, broken []brokenLink, add func(uint64, TamperKind, string, ...any)) error {
	if len(broken) == 0 {
		return nil
	}
	at := make(map[[32]byte]uint64, len(broken)) // predecessor hash -> the position holding it (0: none)
	for _, b := range broken {
		at[b.prev] = 0
	}
	_, err := l.store.Scan(ctx, 1, head, func(e *Entry, wellFormed bool) error {
		if !wellFormed {
			return nil
		}
		if _, ok := at[e.Hash]; ok {
			at[e.Hash] = e.Seq
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, b := range broken {
		switch pos := at[b.prev]; {
		case pos != 0 && pos != b.seq:
			add(b.seq, TamperReordered, "chained after the entry now at %d", pos)
		case b.prev == [32]byte{}:
			add(b.seq, TamperReordered, "chained as the first entry")
		case b.gap:
			// already reported as deleted
		case b.first:
			add(1, TamperDeleted, "the entries before this one are missing")
		default:
			add(b.seq, TamperBroken, "not chained to the entry before it: entries before it were deleted, or the entry before it was rewritten")
		}
	}
	return nil
}

// Shutdown closes the log like Close, first making (with WithCheckpointPublisher and
// WithCheckpointOnClose) a checkpoint of the newest entry unless it was already published; ctx
// bounds that checkpoint. It returns the checkpoint's error, if any, joined with the database's.
// It is idempotent.
func (l *AuditLog) Shutdown(ctx context.Context) error {
	if l.store == nil {
		return nil
	}
	l.mu.Lock() // waits for appends in flight; later ones get ErrClosed
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	var err error
	if l.cfg.publisher != nil && l.cfg.onClose {
		err = l.finalCheckpoint(ctx)
	}
	if l.owned && l.db != nil {
		err = errors.Join(err, l.db.Close())
	}
	return err
}

func (l *AuditLog) finalCheckpoint(ctx context.Context) error {
	h, err := l.head(ctx)
	if err != nil {
		return err
	}
	l.pubMu.Lock()
	defer l.pubMu.Unlock()
	if h.Seq == 0 || (h.Seq <= l.published && !l.pending.Load()) {
		return nil
	}
	_, err = l.publishLocked(ctx, h)
	return err
}

// Close closes the log (and its database, if OpenAuditLog opened it), after the checkpoint on
// close (see Shutdown, which bounds it with a context). It is idempotent.
func (l *AuditLog) Close() error { return l.Shutdown(context.Background()) }
