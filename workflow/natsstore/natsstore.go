package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/internal/natsx"
	"github.com/anya-org/anya-go/internal/telemetry"
	"github.com/anya-org/anya-go/workflow"
)

var (
	// ErrInvalidOption is wrapped by the *OptionError New returns for an invalid option.
	ErrInvalidOption = errors.New("natsstore: invalid option")
	// ErrNotConstructed is wrapped by the *NotConstructedError of a zero Store.
	ErrNotConstructed = errors.New("natsstore: not constructed")
)

// Store is a workflow.Store on a NATS JetStream KV bucket, which engines in several processes
// share. It is safe for concurrent use. It does not own the connection: Close only makes
// further calls fail. Create it with New: the methods of a zero Store return a
// *NotConstructedError, and its Close returns nil.
type Store struct {
	js    jetstream.JetStream
	kv    jetstream.KeyValue
	blobs natsx.Blobs
	cfg   config
	ops   *telemetry.Ops // nil unless traced

	mu     sync.RWMutex
	closed bool
}

var _ workflow.Store = (*Store)(nil)

// New returns a store on js, creating its KV bucket (with per-key TTLs enabled, for leases)
// and object store if they do not exist.
func New(ctx context.Context, js jetstream.JetStream, opts ...Option) (*Store, error) {
	if js == nil {
		return nil, &OptionError{Option: "js", Reason: "must not be nil"}
	}
	cfg := config{bucket: DefaultBucket, replicas: DefaultReplicas, inlineMax: DefaultInlineMax, storage: jetstream.FileStorage}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	kv, err := natsx.OpenKV(ctx, js, natsx.KVConfig{KeyValueConfig: jetstream.KeyValueConfig{
		Bucket:         cfg.bucket,
		Description:    "anya workflow runs",
		History:        1,
		Storage:        cfg.storage,
		Replicas:       cfg.replicas,
		LimitMarkerTTL: time.Second,
	}})
	if err != nil {
		return nil, fmt.Errorf("natsstore: bucket %s: %w", cfg.bucket, err)
	}
	obs, err := natsx.OpenObjectStore(ctx, js, jetstream.ObjectStoreConfig{
		Bucket: cfg.bucket + "_blobs", Description: "anya workflow large values", Storage: cfg.storage, Replicas: cfg.replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("natsstore: object store %s_blobs: %w", cfg.bucket, err)
	}
	return &Store{js: js, kv: kv, blobs: natsx.Blobs{Store: obs, InlineMax: cfg.inlineMax}, cfg: cfg,
		ops: telemetry.NewOps(cfg.tracerProv, "workflow/natsstore", "nats", cfg.bucket)}, nil
}

// knownErrors name error types on spans.
var knownErrors = [...]error{workflow.ErrConflict, workflow.ErrRunExists, workflow.ErrLeaseHeld, workflow.ErrLeaseLost,
	workflow.ErrIntentExists, workflow.ErrCorruptState, workflow.ErrClosed}

// Keys of the bucket: "run.<id>", "lease.<id>", "open.<id>" (an unfinished run), "def.<hash>"
// and "intent.<key>", each name escaped with natsx.EscapeKey.
func runKey(id string) string     { return "run." + natsx.EscapeKey(id) }
func leaseKey(id string) string   { return "lease." + natsx.EscapeKey(id) }
func openKey(id string) string    { return "open." + natsx.EscapeKey(id) }
func defKey(hash string) string   { return "def." + natsx.EscapeKey(hash) }
func intentKey(key string) string { return "intent." + natsx.EscapeKey(key) }

// runDoc is the KV entry of a run: what commits and leases check, inline, and the record
// (wrapped by Blobs: inline, or a reference to a blob when large).
type runDoc struct {
	Version int64              `json:"v"`
	Status  workflow.RunStatus `json:"s"`
	Lease   int64              `json:"l,omitempty"` // token of the run's latest lease
	Record  []byte             `json:"r"`
}

// leaseDoc is the value of a lease key, which expires with the lease (a per-key TTL).
type leaseDoc struct {
	Owner string `json:"o"`
	Token int64  `json:"t"`
}

type stepJSON struct {
	ID                  string              `json:"id"`
	Index               int                 `json:"i"`
	Status              workflow.StepStatus `json:"s"`
	Attempt             int                 `json:"a,omitempty"`
	CompensationAttempt int                 `json:"ca,omitempty"`
	Output              []byte              `json:"o,omitempty"`
	Error               string              `json:"e,omitempty"`
	Started             int64               `json:"st,omitempty"`
	Finished            int64               `json:"fi,omitempty"`
}

type recordJSON struct {
	ID             string     `json:"id"`
	Workflow       string     `json:"w"`
	DefinitionHash string     `json:"h"`
	Input          []byte     `json:"in"`
	Output         []byte     `json:"out"`
	Error          string     `json:"e,omitempty"`
	Context        []byte     `json:"ctx"`
	Created        int64      `json:"c"`
	Updated        int64      `json:"u"`
	Steps          []stepJSON `json:"st"`
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func encodeRecord(r *workflow.RunRecord) ([]byte, error) {
	j := recordJSON{ID: r.ID, Workflow: r.Workflow, DefinitionHash: r.DefinitionHash, Input: r.Input, Output: r.Output,
		Error: r.Error, Context: r.Context, Created: nanos(r.Created), Updated: nanos(r.Updated), Steps: make([]stepJSON, len(r.Steps))}
	steps := append([]workflow.StepRecord(nil), r.Steps...)
	sort.SliceStable(steps, func(a, b int) bool { return steps[a].Index < steps[b].Index })
	for i, s := range steps {
		j.Steps[i] = stepJSON{ID: s.ID, Index: s.Index, Status: s.Status, Attempt: s.Attempt, CompensationAttempt: s.CompensationAttempt,
			Output: s.Output, Error: s.Error, Started: nanos(s.Started), Finished: nanos(s.Finished)}
	}
	return json.Marshal(j)
}

func decodeRecord(data []byte, d *runDoc) (*workflow.RunRecord, error) {
	var j recordJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, err
	}
	r := &workflow.RunRecord{ID: j.ID, Workflow: j.Workflow, DefinitionHash: j.DefinitionHash, Status: d.Status, Input: j.Input,
		Output: j.Output, Error: j.Error, Context: j.Context, Version: d.Version, Created: fromNanos(j.Created), Updated: fromNanos(j.Updated),
		Steps: make([]workflow.StepRecord, len(j.Steps))}
	for i, s := range j.Steps {
		r.Steps[i] = workflow.StepRecord{ID: s.ID, Index: s.Index, Status: s.Status, Attempt: s.Attempt, CompensationAttempt: s.CompensationAttempt,
			Output: s.Output, Error: s.Error, Started: fromNanos(s.Started), Finished: fromNanos(s.Finished)}
	}
	sort.SliceStable(r.Steps, func(a, b int) bool { return r.Steps[a].Index < r.Steps[b].Index })
	return r, nil
}

// enter checks ctx and Close; the caller must s.mu.RUnlock() when it returns nil.
func (s *Store) enter(ctx context.Context) error {
	if s.kv == nil {
		return &NotConstructedError{Type: "Store", Constructor: "New"}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return workflow.ErrClosed
	}
	return nil
}

// fail returns ctx.Err() when ctx ended during a call, err otherwise.
func fail(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// doc reads the KV entry of run id.
func (s *Store) doc(ctx context.Context, id string) (*runDoc, uint64, error) {
	e, err := s.kv.Get(ctx, runKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, fmt.Errorf("%w: run %s", workflow.ErrNotFound, id)
	}
	if err != nil {
		return nil, 0, err
	}
	var d runDoc
	if err := json.Unmarshal(e.Value(), &d); err != nil {
		return nil, 0, fmt.Errorf("%w: run %s: %v", workflow.ErrCorruptState, id, err)
	}
	return &d, e.Revision(), nil
}

// Create implements workflow.Store. The definition is stored before the run (create-only, so
// the first body stored under a hash stays), and the run's entry in the unfinished list before
// the run itself, so that no crash leaves a run without its definition or unlisted; the run's
// entry is created with compare-and-set, so of two Creates of one ID one fails. (If two Creates
// of one ID with different definitions race, the loser's definition may remain stored: it is
// content-addressed, and harmless.)
func (s *Store) Create(ctx context.Context, run *workflow.RunRecord, definition []byte) (err error) {
	ctx, span := s.ops.Start(ctx, "create")
	defer func() { telemetry.EndOp(span, err, workflow.ErrNotFound, knownErrors[:]...) }()
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	return fail(ctx, s.create(ctx, run, definition))
}

func (s *Store) create(ctx context.Context, run *workflow.RunRecord, definition []byte) error {
	if _, err := s.kv.Get(ctx, runKey(run.ID)); err == nil {
		return fmt.Errorf("%w: %s", workflow.ErrRunExists, run.ID)
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return err
	}
	if definition == nil {
		definition = []byte{}
	}
	if _, err := s.kv.Get(ctx, defKey(run.DefinitionHash)); errors.Is(err, jetstream.ErrKeyNotFound) {
		v, err := s.blobs.Wrap(ctx, definition)
		if err != nil {
			return err
		}
		if _, err := s.kv.Create(ctx, defKey(run.DefinitionHash), v); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
			return err
		}
	} else if err != nil {
		return err
	}
	if !run.Status.Finished() {
		if _, err := s.kv.Put(ctx, openKey(run.ID), strconv.AppendInt(nil, nanos(run.Created), 10)); err != nil {
			return err
		}
	}
	rec, err := encodeRecord(run)
	if err != nil {
		return err
	}
	wrapped, err := s.blobs.Wrap(ctx, rec)
	if err != nil {
		return err
	}
	d, err := json.Marshal(runDoc{Version: run.Version, Status: run.Status, Record: wrapped})
	if err != nil {
		return err
	}
	if _, err := s.kv.Create(ctx, runKey(run.ID), d); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("%w: %s", workflow.ErrRunExists, run.ID)
		}
		return err
	}
	return nil
}

// Commit implements workflow.Store: a compare-and-set of the run's entry on its KV revision,
// after checking version, status and lease token in the entry read.
func (s *Store) Commit(ctx context.Context, t *workflow.Transition) (err error) {
	ctx, span := s.ops.Start(ctx, "commit")
	defer func() { telemetry.EndOp(span, err, workflow.ErrNotFound, knownErrors[:]...) }()
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	return fail(ctx, s.commit(ctx, t))
}

func (s *Store) commit(ctx context.Context, t *workflow.Transition) error {
	for {
		d, rev, err := s.doc(ctx, t.RunID)
		if err != nil {
			return err
		}
		if err := s.fence(ctx, t, d); err != nil {
			return err
		}
		if d.Version != t.Version {
			return fmt.Errorf("%w: run %s is at version %d, not %d", workflow.ErrConflict, t.RunID, d.Version, t.Version)
		}
		if d.Status.Finished() {
			return fmt.Errorf("%w: run %s is %s", workflow.ErrConflict, t.RunID, d.Status)
		}
		old, err := s.blobs.Unwrap(ctx, d.Record)
		if err != nil {
			return fmt.Errorf("%w: run %s: %v", workflow.ErrCorruptState, t.RunID, err)
		}
		r, err := decodeRecord(old, d)
		if err != nil {
			return fmt.Errorf("%w: run %s: %v", workflow.ErrCorruptState, t.RunID, err)
		}
		r.Status, r.Output, r.Error, r.Updated, r.Steps = t.Status, t.Output, t.Error, t.Time, t.Steps
		rec, err := encodeRecord(r)
		if err != nil {
			return err
		}
		wrapped, err := s.blobs.Wrap(ctx, rec)
		if err != nil {
			return err
		}
		nd, err := json.Marshal(runDoc{Version: d.Version + 1, Status: t.Status, Lease: d.Lease, Record: wrapped})
		if err != nil {
			return err
		}
		if _, err := s.kv.Update(ctx, runKey(t.RunID), nd, rev); err != nil {
			if natsx.IsConflict(err) {
				continue // the entry changed: read it again and tell why
			}
			return err
		}
		if t.Status.Finished() {
			// Best effort: Unfinished skips (and removes) entries of finished runs.
			_ = s.kv.Delete(ctx, openKey(t.RunID))
		}
		return nil
	}
}

// fence refuses a commit whose lease token is not the run's (see workflow.Store).
func (s *Store) fence(ctx context.Context, t *workflow.Transition, d *runDoc) error {
	if t.Lease != 0 {
		if t.Lease != d.Lease {
			return &workflow.LeaseError{RunID: t.RunID, Token: d.Lease, Err: workflow.ErrLeaseLost}
		}
		return nil
	}
	l, _, err := s.lease(ctx, t.RunID)
	if err != nil {
		return err
	}
	if l != nil {
		return &workflow.LeaseError{RunID: t.RunID, Owner: l.Owner, Token: l.Token, Err: workflow.ErrLeaseLost}
	}
	return nil
}

// Load implements workflow.Store.
func (s *Store) Load(ctx context.Context, id string) (_ *workflow.RunRecord, err error) {
	ctx, span := s.ops.Start(ctx, "load")
	defer func() { telemetry.EndOp(span, err, workflow.ErrNotFound, knownErrors[:]...) }()
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	d, _, err := s.doc(ctx, id)
	if err != nil {
		return nil, fail(ctx, err)
	}
	data, err := s.blobs.Unwrap(ctx, d.Record)
	if err != nil {
		return nil, fail(ctx, fmt.Errorf("%w: run %s: %v", workflow.ErrCorruptState, id, err))
	}
	r, err := decodeRecord(data, d)
	if err != nil {
		return nil, fmt.Errorf("%w: run %s: %v", workflow.ErrCorruptState, id, err)
	}
	return r, nil
}

// Unfinished implements workflow.Store: it reads the unfinished list and checks each run's
// status, dropping the entries of runs that finished (a crash between a run's last commit and
// the removal of its entry leaves one behind).
func (s *Store) Unfinished(ctx context.Context) (_ []string, err error) {
	ctx, span := s.ops.Start(ctx, "unfinished")
	defer func() { telemetry.EndOp(span, err, workflow.ErrNotFound, knownErrors[:]...) }()
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	ids, err := s.unfinished(ctx)
	return ids, fail(ctx, err)
}

func (s *Store) unfinished(ctx context.Context) ([]string, error) {
	w, err := s.kv.Watch(ctx, "open.>", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	type open struct {
		id      string
		created int64
	}
	var runs []open
	for e := range w.Updates() {
		if e == nil {
			break // the current values are all in
		}
		id, err := natsx.UnescapeKey(e.Key()[len("open."):])
		if err != nil {
			return nil, fmt.Errorf("%w: unfinished entry %q", workflow.ErrCorruptState, e.Key())
		}
		created, err := strconv.ParseInt(string(e.Value()), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: unfinished entry %q", workflow.ErrCorruptState, e.Key())
		}
		runs = append(runs, open{id, created})
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sort.Slice(runs, func(i, j int) bool {
		if runs[i].created != runs[j].created {
			return runs[i].created < runs[j].created
		}
		return runs[i].id < runs[j].id
	})
	ids := make([]string, 0, len(runs))
	for _, r := range runs {
		d, _, err := s.doc(ctx, r.id)
		switch {
		case errors.Is(err, workflow.ErrNotFound):
			continue // its Create has not finished (or never will)
		case err != nil:
			return nil, err
		case d.Status.Finished():
			_ = s.kv.Delete(ctx, openKey(r.id))
			continue
		}
		ids = append(ids, r.id)
	}
	return ids, nil
}

// Definition implements workflow.Store.
func (s *Store) Definition(ctx context.Context, hash string) (_ []byte, err error) {
	ctx, span := s.ops.Start(ctx, "definition")
	defer func() { telemetry.EndOp(span, err, workflow.ErrNotFound, knownErrors[:]...) }()
	return s.value(ctx, defKey(hash), "definition", hash)
}

// Intent implements workflow.Store.
func (s *Store) Intent(ctx context.Context, key string) (_ []byte, err error) {
	ctx, span := s.ops.Start(ctx, "intent")
	defer func() { telemetry.EndOp(span, err, workflow.ErrNotFound, knownErrors[:]...) }()
	return s.value(ctx, intentKey(key), "intent", key)
}

func (s *Store) value(ctx context.Context, key, what, name string) ([]byte, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: %s %s", workflow.ErrNotFound, what, name)
	}
	if err != nil {
		return nil, fail(ctx, err)
	}
	v, err := s.blobs.Unwrap(ctx, e.Value())
	if err != nil {
		return nil, fail(ctx, fmt.Errorf("%w: %s %s: %v", workflow.ErrCorruptState, what, name, err))
	}
	return v, nil
}

// PutIntent implements workflow.Store.
func (s *Store) PutIntent(ctx context.Context, key string, data []byte) (err error) {
	ctx, span := s.ops.Start(ctx, "put_intent")
	defer func() { telemetry.EndOp(span, err, workflow.ErrNotFound, knownErrors[:]...) }()
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	v, err := s.blobs.Wrap(ctx, data)
	if err == nil {
		_, err = s.kv.Put(ctx, intentKey(key), v)
	}
	return fail(ctx, err)
}

// CreateIntent implements workflow.Store with a KV create (compare-and-set on absence).
func (s *Store) CreateIntent(ctx context.Context, key string, data []byte) (err error) {
	ctx, span := s.ops.Start(ctx, "create_intent")
	defer func() { telemetry.EndOp(span, err, workflow.ErrNotFound, knownErrors[:]...) }()
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	v, err := s.blobs.Wrap(ctx, data)
	if err == nil {
		_, err = s.kv.Create(ctx, intentKey(key), v)
		if errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("%w: %s", workflow.ErrIntentExists, key)
		}
	}
	return fail(ctx, err)
}

// Close implements workflow.Store. It does not close the connection.
func (s *Store) Close() error {
	if s.kv == nil {
		return nil
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}
