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

// Lease is the right to execute one run, held by one owner (a host, an engine) until it
// expires. Several engines may share a store — several processes on one NATS JetStream
// store, for instance — and each executes a run only while it holds the run's lease.
type Lease struct {
	RunID string
	Owner string
	// Token fences commits: it grows each time the lease is acquired, except when its owner
	// acquires it again while holding it. A commit carries the token of its lease (see
	// Transition.Lease) and the store refuses it once the lease has passed to another owner.
	Token int64
	// Expires is when the lease lapses unless renewed, by the clock of the store (a store whose
	// server keeps the time reports the holder's local time at the request plus the TTL). An
	// engine stops executing a run as soon as it cannot renew its lease before this moment.
	Expires time.Time
}

// Transition is one atomic change to a run: its status, output and error, and its step records.
type Transition struct {
	RunID string
	// Lease is the token of the lease the committer holds (see Lease.Token), or 0 for a commit
	// outside any lease, which a store refuses while another owner holds one.
	Lease   int64
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
//     the last one put or created, or ErrNotFound. CreateIntent MUST durably store the intent
//     unless one is stored under key already, failing then with an error wrapping
//     ErrIntentExists and changing nothing; of concurrent CreateIntents for one key at most one
//     succeeds. Definition MUST return the stored definition, or ErrNotFound.
//   - Acquire MUST give owner the lease of run id for ttl (> 0), and fail with an error wrapping
//     ErrLeaseHeld (a *LeaseError naming the holder), changing nothing, while another owner
//     holds an unexpired lease of the run, and with ErrNotFound for an unknown run. Of
//     concurrent Acquires by different owners at most one succeeds. The lease's token MUST be
//     greater than that of every lease of the run acquired before — except when owner already
//     holds the run's unexpired lease: then Acquire renews it, keeping its token.
//   - Renew MUST extend lease l by ttl if it is still the run's lease (same owner and token,
//     not released, not acquired by another owner since; a lease that expired without anyone
//     acquiring it may be renewed), and fail with an error wrapping ErrLeaseLost otherwise.
//   - Release MUST end lease l if it is still the run's lease, so that another owner may acquire
//     it at once; releasing a lease already lost or released changes nothing and is not an
//     error.
//   - Commit MUST fail with an error wrapping ErrLeaseLost (a *LeaseError), changing nothing,
//     when t.Lease is not the token of the run's current lease (another owner acquired it since:
//     the committer was fenced off), and, for t.Lease = 0, while any owner holds an unexpired
//     lease of the run. Leases are checked in the same atomic step as the version.
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
	CreateIntent(ctx context.Context, key string, data []byte) error
	Intent(ctx context.Context, key string) ([]byte, error)
	Acquire(ctx context.Context, id, owner string, ttl time.Duration) (Lease, error)
	Renew(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	Release(ctx context.Context, l Lease) error
	Close() error
}

// CreateLeaser is a Store that can create a run and take its lease in one atomic step: what
// Create followed by Acquire (for owner, for ttl) does, with one write instead of two and no
// moment in between at which another engine could take the new run's lease. It fails as Create
// does (ErrRunExists for a stored run) and stores nothing then. The engine creates its runs this
// way when its store is a CreateLeaser; SQLiteStore is one.
type CreateLeaser interface {
	CreateLeased(ctx context.Context, run *RunRecord, definition []byte, owner string, ttl time.Duration) (Lease, error)
}

// MemoryStore is a Store in memory, for tests and for hosts that need no durability. The zero
// value is an empty store, ready to use, as NewMemoryStore returns.
type MemoryStore struct {
	mu      sync.Mutex
	closed  bool
	runs    map[string]*RunRecord
	defs    map[string][]byte
	intents map[string][]byte
	leases  map[string]*leaseState
}

// leaseState is the lease of one run as the in-process stores keep it.
type leaseState struct {
	owner   string // "" once released
	token   int64
	expires time.Time
}

// held reports whether the lease is held by someone at now.
func (l *leaseState) held(now time.Time) bool {
	return l != nil && l.owner != "" && now.Before(l.expires)
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{runs: map[string]*RunRecord{}, defs: map[string][]byte{}, intents: map[string][]byte{}, leases: map[string]*leaseState{}}
}

// enter takes the lock; callers must s.mu.Unlock() when it returns nil.
func (s *MemoryStore) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.runs == nil { // the zero MemoryStore
		s.runs, s.defs, s.intents, s.leases = map[string]*RunRecord{}, map[string][]byte{}, map[string][]byte{}, map[string]*leaseState{}
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
	if err := checkFence(s.leases[t.RunID], t, time.Now()); err != nil {
		return err
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

// CreateIntent implements Store.
func (s *MemoryStore) CreateIntent(ctx context.Context, key string, data []byte) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.intents[key]; ok {
		return fmt.Errorf("%w: %s", ErrIntentExists, key)
	}
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

// checkFence refuses a commit whose lease token is not the run's current one (see Store).
func checkFence(l *leaseState, t *Transition, now time.Time) error {
	switch {
	case t.Lease == 0 && l.held(now):
		return &LeaseError{RunID: t.RunID, Owner: l.owner, Token: l.token, Err: ErrLeaseLost}
	case t.Lease != 0 && (l == nil || l.token != t.Lease):
		le := &LeaseError{RunID: t.RunID, Token: t.Lease, Err: ErrLeaseLost}
		if l != nil {
			le.Owner, le.Token = l.owner, l.token
		}
		return le
	}
	return nil
}

// acquireLease is Acquire on the in-process lease table of a run.
func acquireLease(l *leaseState, id, owner string, ttl time.Duration, now time.Time) (*leaseState, Lease, error) {
	if owner == "" || ttl <= 0 {
		return l, Lease{}, fmt.Errorf("%w: lease of run %s for owner %q, ttl %v", ErrInvalidLease, id, owner, ttl)
	}
	if l == nil {
		l = &leaseState{}
	}
	switch {
	case l.held(now) && l.owner != owner:
		return l, Lease{}, &LeaseError{RunID: id, Owner: l.owner, Token: l.token, Err: ErrLeaseHeld}
	case !l.held(now):
		l.token++
	}
	l.owner, l.expires = owner, now.Add(ttl)
	return l, Lease{RunID: id, Owner: owner, Token: l.token, Expires: l.expires}, nil
}

// renewLease is Renew on the in-process lease table of a run.
func renewLease(l *leaseState, lease Lease, ttl time.Duration, now time.Time) (Lease, error) {
	if ttl <= 0 {
		return Lease{}, fmt.Errorf("%w: ttl %v", ErrInvalidLease, ttl)
	}
	if l == nil || l.owner != lease.Owner || l.token != lease.Token || l.owner == "" {
		le := &LeaseError{RunID: lease.RunID, Token: lease.Token, Err: ErrLeaseLost}
		if l != nil {
			le.Owner, le.Token = l.owner, l.token
		}
		return Lease{}, le
	}
	l.expires = now.Add(ttl)
	lease.Expires = l.expires
	return lease, nil
}

// Acquire implements Store.
func (s *MemoryStore) Acquire(ctx context.Context, id, owner string, ttl time.Duration) (Lease, error) {
	if err := s.enter(ctx); err != nil {
		return Lease{}, err
	}
	defer s.mu.Unlock()
	if _, ok := s.runs[id]; !ok {
		return Lease{}, fmt.Errorf("%w: run %s", ErrNotFound, id)
	}
	l, lease, err := acquireLease(s.leases[id], id, owner, ttl, time.Now())
	if err == nil {
		s.leases[id] = l
	}
	return lease, err
}

// Renew implements Store.
func (s *MemoryStore) Renew(ctx context.Context, l Lease, ttl time.Duration) (Lease, error) {
	if err := s.enter(ctx); err != nil {
		return Lease{}, err
	}
	defer s.mu.Unlock()
	return renewLease(s.leases[l.RunID], l, ttl, time.Now())
}

// Release implements Store.
func (s *MemoryStore) Release(ctx context.Context, l Lease) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if cur := s.leases[l.RunID]; cur != nil && cur.owner == l.Owner && cur.token == l.Token {
		cur.owner = ""
	}
	return nil
}

// Close implements Store.
func (s *MemoryStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
