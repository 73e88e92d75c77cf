package workflow

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// RunStatus is where a run is.
type RunStatus string

// Run statuses. Running and compensating runs are unfinished: Resume continues them.
const (
	StatusRunning      RunStatus = "running"      // steps are being executed
	StatusCompensating RunStatus = "compensating" // a step failed; completed steps are being undone
	StatusCompleted    RunStatus = "completed"    // every step completed or was skipped
	StatusTerminated   RunStatus = "terminated"   // a step's terminate_if ended the run early
	StatusFailed       RunStatus = "failed"       // a step failed; compensations (if any) have run
)

// Finished reports whether s is final.
func (s RunStatus) Finished() bool {
	return s == StatusCompleted || s == StatusTerminated || s == StatusFailed
}

func (s RunStatus) valid() bool { return s == StatusRunning || s == StatusCompensating || s.Finished() }

// StepStatus is where a step is. A step with no record has not been reached.
type StepStatus string

// Step statuses.
const (
	StepRunning            StepStatus = "running"             // an attempt has begun
	StepCompleted          StepStatus = "completed"           // the operation succeeded
	StepSkipped            StepStatus = "skipped"             // its condition was false
	StepFailed             StepStatus = "failed"              // the operation failed for good
	StepCompensating       StepStatus = "compensating"        // its compensation has begun
	StepCompensated        StepStatus = "compensated"         // its compensation succeeded
	StepCompensationFailed StepStatus = "compensation_failed" // its compensation failed for good
)

// RunRecord is a run as a Store keeps it. Payloads are JSON, which the store keeps as opaque
// bytes.
type RunRecord struct {
	ID             string
	Workflow       string
	DefinitionHash string // the hex SHA-256 of the definition's JSON, stored with Create
	Status         RunStatus
	Input          []byte // JSON object
	Output         []byte // JSON object, once finished
	Error          string // why it failed
	Context        []byte // the security context the run was started under (JSON), restored on resume
	Version        int64  // 1 at Create, +1 at each Commit
	Created        time.Time
	Updated        time.Time
	Steps          []StepRecord // in definition order (by Index)
}

// StepRecord is one step of a run.
type StepRecord struct {
	ID                  string
	Index               int // position in the definition
	Status              StepStatus
	Attempt             int    // operation calls made so far
	CompensationAttempt int    // compensation calls made so far
	Output              []byte // JSON object, once completed
	Error               string
	Started             time.Time
	Finished            time.Time
}

// Transition is one atomic change to a run: its status, output and error, and its step records.
type Transition struct {
	RunID   string
	Version int64 // the version the run must have now; it becomes Version+1
	Status  RunStatus
	Output  []byte
	Error   string
	Time    time.Time
	Steps   []StepRecord // the run's step records after the change, all of them: they replace the stored ones
}

// Store keeps runs durably. Every method is safe for concurrent use. The contract, proved for
// every implementation by workflowtest.Run:
//
//   - Create MUST store run as given and, in the same atomic step, store definition under
//     run.DefinitionHash unless a definition is already stored under that hash. It MUST fail
//     with an error wrapping ErrRunExists, changing nothing, when a run with run.ID is stored.
//   - Commit MUST apply t atomically (all of it or nothing) and only if the stored run's Version
//     equals t.Version and its Status is not final, failing with ErrConflict otherwise and
//     ErrNotFound for an unknown run. It sets Status, Output, Error, Updated (t.Time) and Steps
//     (replacing them all, ordered by Index) and increments Version.
//   - When Create or Commit returns nil the change MUST be durable: a Store reopened after the
//     process dies (kill -9) returns it. In-memory stores are exempt, being lost with the process.
//   - Load MUST return a copy (changing it changes nothing stored) with steps ordered by Index,
//     or ErrNotFound.
//   - Unfinished MUST return the IDs of runs whose status is not final, oldest Created first.
//   - PutIntent MUST durably replace the intent under key before returning; Intent MUST return
//     the last one put, or ErrNotFound. Definition MUST return the stored definition, or
//     ErrNotFound.
//   - Byte slices passed in MUST NOT be retained, and those returned MUST NOT be shared.
//   - A canceled ctx MUST make a call return ctx.Err() (or an error wrapping it) without effect.
//   - After Close every method MUST return ErrClosed; Close MUST be idempotent.
type Store interface {
	Create(ctx context.Context, run *RunRecord, definition []byte) error
	Commit(ctx context.Context, t *Transition) error
	Load(ctx context.Context, id string) (*RunRecord, error)
	Unfinished(ctx context.Context) ([]string, error)
	Definition(ctx context.Context, hash string) ([]byte, error)
	PutIntent(ctx context.Context, key string, data []byte) error
	Intent(ctx context.Context, key string) ([]byte, error)
	Close() error
}

// MemoryStore is a Store in memory, for tests and for hosts that need no durability. The zero
// value is not usable; call NewMemoryStore.
type MemoryStore struct {
	mu      sync.Mutex
	closed  bool
	runs    map[string]*RunRecord
	defs    map[string][]byte
	intents map[string][]byte
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{runs: map[string]*RunRecord{}, defs: map[string][]byte{}, intents: map[string][]byte{}}
}

func (s *MemoryStore) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	return nil
}

func copyRun(r *RunRecord) *RunRecord {
	c := *r
	c.Input = bytes.Clone(r.Input)
	c.Output = bytes.Clone(r.Output)
	c.Context = bytes.Clone(r.Context)
	c.Steps = make([]StepRecord, len(r.Steps))
	for i, st := range r.Steps {
		c.Steps[i] = st
		c.Steps[i].Output = bytes.Clone(st.Output)
	}
	return &c
}

// Create implements Store.
func (s *MemoryStore) Create(ctx context.Context, run *RunRecord, definition []byte) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.runs[run.ID]; ok {
		return fmt.Errorf("%w: %s", ErrRunExists, run.ID)
	}
	c := copyRun(run)
	sort.SliceStable(c.Steps, func(i, j int) bool { return c.Steps[i].Index < c.Steps[j].Index })
	s.runs[run.ID] = c
	if _, ok := s.defs[run.DefinitionHash]; !ok {
		s.defs[run.DefinitionHash] = bytes.Clone(definition)
	}
	return nil
}

// Commit implements Store.
func (s *MemoryStore) Commit(ctx context.Context, t *Transition) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	r, ok := s.runs[t.RunID]
	if !ok {
		return fmt.Errorf("%w: run %s", ErrNotFound, t.RunID)
	}
	if r.Version != t.Version {
		return fmt.Errorf("%w: run %s is at version %d, not %d", ErrConflict, t.RunID, r.Version, t.Version)
	}
	if r.Status.Finished() {
		return fmt.Errorf("%w: run %s is %s", ErrConflict, t.RunID, r.Status)
	}
	r.Status, r.Output, r.Error, r.Updated = t.Status, bytes.Clone(t.Output), t.Error, t.Time
	r.Version++
	r.Steps = make([]StepRecord, len(t.Steps))
	for i, st := range t.Steps {
		st.Output = bytes.Clone(st.Output)
		r.Steps[i] = st
	}
	sort.SliceStable(r.Steps, func(i, j int) bool { return r.Steps[i].Index < r.Steps[j].Index })
	return nil
}

// Load implements Store.
func (s *MemoryStore) Load(ctx context.Context, id string) (*RunRecord, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok {
		return nil, fmt.Errorf("%w: run %s", ErrNotFound, id)
	}
	return copyRun(r), nil
}

// Unfinished implements Store.
func (s *MemoryStore) Unfinished(ctx context.Context) ([]string, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var runs []*RunRecord
	for _, r := range s.runs {
		if !r.Status.Finished() {
			runs = append(runs, r)
		}
	}
	sort.Slice(runs, func(i, j int) bool {
		if !runs[i].Created.Equal(runs[j].Created) {
			return runs[i].Created.Before(runs[j].Created)
		}
		return runs[i].ID < runs[j].ID
	})
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return ids, nil
}

// Definition implements Store.
func (s *MemoryStore) Definition(ctx context.Context, hash string) ([]byte, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	d, ok := s.defs[hash]
	if !ok {
		return nil, fmt.Errorf("%w: definition %s", ErrNotFound, hash)
	}
	return bytes.Clone(d), nil
}

// PutIntent implements Store.
func (s *MemoryStore) PutIntent(ctx context.Context, key string, data []byte) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.intents[key] = bytes.Clone(data)
	return nil
}

// Intent implements Store.
func (s *MemoryStore) Intent(ctx context.Context, key string) ([]byte, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	d, ok := s.intents[key]
	if !ok {
		return nil, fmt.Errorf("%w: intent %s", ErrNotFound, key)
	}
	return bytes.Clone(d), nil
}

// Close implements Store.
func (s *MemoryStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
