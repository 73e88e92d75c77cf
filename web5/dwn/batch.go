package dwn

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// MaxBatchSize bounds the messages of one ProcessMany call (and the puts of one PutRecords).
const MaxBatchSize = 10000

// RecordBatcher is a Store that writes many records in one atomic step. SQLiteStore and
// MemoryStore implement it; Node.ProcessMany needs it.
type RecordBatcher interface {
	Store
	// PutRecords stores every put, in order, each compared as PutRecord compares one (with the
	// puts before it in the batch in place), or none of them: if one's compare fails it returns
	// a *BatchError naming that put (wrapping an error matching ErrConflict), and on any other
	// failure its error; either way nothing of the batch is stored. A batch of permissions
	// records moves the tenants' access versions as PutRecord does.
	PutRecords(ctx context.Context, puts []RecordPut) error
}

// RecordPut is one put of a batch: r stored in tenant if the CID of the record's current
// Latest message is Prev ("" for a record the tenant does not hold).
type RecordPut struct {
	Tenant string
	Record *Record
	Prev   string
}

// Envelope is a message and the tenant it is sent to, one element of a ProcessMany batch.
type Envelope struct {
	Tenant  string
	Message *Message
}

// BatchError reports the message (or put) of a batch that was refused, and why: Index is its
// place in the batch. Nothing of the batch was written. It unwraps to the refusal, so
// errors.Is(err, ErrForbidden), errors.As(err, &*ConflictError) and the like see through it.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("dwn: batch refused at message %d (nothing written): %v", e.Index, e.Err)
}

func (e *BatchError) Unwrap() error { return e.Err }

// checkPuts checks the shape of a batch of puts.
func checkPuts(puts []RecordPut) error {
	if len(puts) > MaxBatchSize {
		return invalid("batch", "more than %d puts", MaxBatchSize)
	}
	for i, p := range puts {
		if p.Record == nil || p.Record.Initial == nil || p.Record.Latest == nil {
			return &BatchError{Index: i, Err: invalid("record", "a stored record has its initial and latest messages")}
		}
	}
	return nil
}

// ProcessMany carries out a batch of Records Write messages, each sent to its tenant, all or
// nothing: every message is verified, checked and authorised exactly as Process would, against
// the store as it stands before the batch (a message does not see the records others of the
// batch write: a parent must be stored before its children's batch), and then all the records
// are stored in one atomic step of the store (one transaction of a SQLiteStore) — or, if one
// message is refused, none is: the error is a *BatchError naming the first refused message by
// its index and unwrapping to the error Process would have returned for it (a *MessageError,
// *AuthError, *ForbiddenError, *ConflictError, ...). A write that loses to one another writer
// stored between the checks and the store's step is refused the same way (ErrConflict).
// Events are published, one per record, once the batch is stored. The replies are in the
// order of the batch.
//
// A batch holds only Records Write messages that are not permission grants or revocations
// (those change who may write, so they are written one by one with Process), each record at
// most once, at most MaxBatchSize messages. The node's store must implement RecordBatcher
// (both embedded stores do); with another store ProcessMany returns ErrBatchUnsupported and
// does nothing. Cancellation is returned as ctx.Err(), never as a refusal.
func (n *Node) ProcessMany(ctx context.Context, batch []Envelope) ([]*Reply, error) {
	if err := n.open(ctx); err != nil {
		return nil, err
	}
	store, ok := n.store.(RecordBatcher)
	if !ok {
		return nil, ErrBatchUnsupported
	}
	if len(batch) == 0 {
		return nil, nil
	}
	if n.tel != nil {
		return n.tel.batch(ctx, len(batch), func(ctx context.Context) ([]*Reply, error) { return n.processMany(ctx, store, batch) })
	}
	return n.processMany(ctx, store, batch)
}

// processMany is ProcessMany on a constructed, open node with a batching store, for a
// non-empty batch.
func (n *Node) processMany(ctx context.Context, store RecordBatcher, batch []Envelope) ([]*Reply, error) {
	if len(batch) > MaxBatchSize {
		return nil, invalid("batch", "more than %d messages", MaxBatchSize)
	}
	type key struct{ tenant, id string }
	seen := make(map[key]int, len(batch))
	var buckets []int
	for i, e := range batch {
		m := e.Message
		switch {
		case m == nil:
			return nil, &BatchError{Index: i, Err: invalid("message", "nil")}
		case m.desc.Interface != InterfaceRecords || m.desc.Method != MethodWrite:
			return nil, &BatchError{Index: i, Err: invalid("descriptor", "a batch holds Records.Write messages only, not %s.%s", m.desc.Interface, m.desc.Method)}
		case m.desc.Protocol == PermissionsProtocol:
			return nil, &BatchError{Index: i, Err: invalid("descriptor.protocol", "permission grants and revocations are written one by one (Process)")}
		}
		k := key{e.Tenant, m.recordID}
		if j, dup := seen[k]; dup {
			return nil, &BatchError{Index: i, Err: invalid("recordId", "the batch writes record %s twice (messages %d and %d)", m.recordID, j, i)}
		}
		seen[k] = i
		buckets = append(buckets, n.bucket(e.Tenant))
	}
	// The tenants' locks, each once, in one order (so that two batches never wait for each
	// other).
	slices.Sort(buckets)
	buckets = slices.Compact(buckets)
	for _, b := range buckets {
		n.locks[b].Lock()
	}
	defer func() {
		for _, b := range buckets {
			n.locks[b].Unlock()
		}
	}()
	// Each tenant's access version is read once for the batch: its checks rest on the
	// protocols and grants as they stood then (no message of a batch changes them).
	memos := make(map[string]*versionMemo)
	puts := make([]RecordPut, len(batch))
	for i, e := range batch {
		memo := memos[e.Tenant]
		if memo == nil {
			memo = &versionMemo{}
			memos[e.Tenant] = memo
		}
		rec, prev, err := n.checkBatched(ctx, e.Tenant, e.Message, memo)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
				return nil, cerr
			}
			return nil, &BatchError{Index: i, Err: err}
		}
		puts[i] = RecordPut{Tenant: e.Tenant, Record: rec, Prev: prev}
	}
	if err := store.PutRecords(ctx, puts); err != nil {
		return nil, err
	}
	replies := make([]*Reply, len(batch))
	for i, e := range batch {
		n.emit(ctx, e.Tenant, EventRecordWritten, e.Message, puts[i].Record)
		replies[i] = &Reply{Record: puts[i].Record.Clone()}
	}
	return replies, nil
}

// checkBatched is Process's checks of one write of a batch, the tenant's lock held.
func (n *Node) checkBatched(ctx context.Context, tenant string, m *Message, memo *versionMemo) (*Record, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	ctx, author, err := n.admit(ctx, tenant, m, memo)
	if err != nil {
		return nil, "", err
	}
	return n.checkWrite(ctx, tenant, author, m, "")
}
