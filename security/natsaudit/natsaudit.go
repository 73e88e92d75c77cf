package natsaudit

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/internal/natsx"
	"github.com/anya-org/anya-go/security"
)

// Defaults of New.
const (
	// DefaultStream is the stream that keeps the audit log.
	DefaultStream = "ANYA_AUDIT"
	// DefaultSubject is the subject the entries are published on.
	DefaultSubject = "anya.audit"
	// DefaultReplicas is the stream's replication factor (1: a single server).
	DefaultReplicas = 1
	// scanBatch is how many entries one fetch of Scan asks for.
	scanBatch = 512
)

// ErrInvalidOption is wrapped by the *OptionError New returns.
var ErrInvalidOption = errors.New("natsaudit: invalid option")

// OptionError names an option whose value New refuses.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("natsaudit: invalid option %s(%v): %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// Option configures New.
type Option func(*config)

type config struct {
	stream, subject string
	replicas        int
	storage         jetstream.StorageType
}

// WithStream names the stream. Hosts sharing one audit chain use the same stream and subject.
// Defaults to DefaultStream.
func WithStream(name string) Option { return func(c *config) { c.stream = name } }

// WithSubject sets the subject the entries are published on (a literal subject the stream
// captures alone). Defaults to DefaultSubject.
func WithSubject(subject string) Option { return func(c *config) { c.subject = subject } }

// WithReplicas sets the stream's replication factor in a JetStream cluster (1, 3 or 5).
// Defaults to DefaultReplicas.
func WithReplicas(n int) Option { return func(c *config) { c.replicas = n } }

// WithMemoryStorage keeps the stream in memory: lost when the server stops. Defaults to file
// storage.
func WithMemoryStorage() Option { return func(c *config) { c.storage = jetstream.MemoryStorage } }

func (c *config) validate() error {
	switch {
	case c.stream == "" || len(c.stream) > 64 || strings.Trim(c.stream, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "":
		return &OptionError{Option: "WithStream", Value: c.stream, Reason: "want 1 to 64 of A-Z a-z 0-9 _ -"}
	case c.subject == "" || strings.ContainsAny(c.subject, "*> \t\r\n") || strings.Contains(c.subject, "..") ||
		strings.HasPrefix(c.subject, ".") || strings.HasSuffix(c.subject, "."):
		return &OptionError{Option: "WithSubject", Value: c.subject, Reason: "want a literal subject"}
	case c.replicas < 1 || c.replicas > 5:
		return &OptionError{Option: "WithReplicas", Value: c.replicas, Reason: "want 1 to 5"}
	}
	return nil
}

// Store is a security.AuditStore in a NATS JetStream stream, which hosts share: the entry at
// position n is the stream's message n. It is safe for concurrent use and does not own the
// connection.
type Store struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	cfg    config
}

var _ security.AuditStore = (*Store)(nil)

// New returns a store on js, creating (or updating) its stream: the audit subject only, kept
// for ever, messages neither deletable nor purgeable through the API.
func New(ctx context.Context, js jetstream.JetStream, opts ...Option) (*Store, error) {
	if js == nil {
		return nil, &OptionError{Option: "js", Reason: "nil JetStream"}
	}
	cfg := config{stream: DefaultStream, subject: DefaultSubject, replicas: DefaultReplicas, storage: jetstream.FileStorage}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: cfg.stream, Description: "anya audit log: one hash chain, appended at the expected last sequence",
		Subjects: []string{cfg.subject}, Retention: jetstream.LimitsPolicy, Storage: cfg.storage, Replicas: cfg.replicas,
		Discard: jetstream.DiscardNew, DenyDelete: true, DenyPurge: true,
	})
	if err != nil {
		return nil, fmt.Errorf("natsaudit: stream %s: %w", cfg.stream, err)
	}
	return &Store{js: js, stream: st, cfg: cfg}, nil
}

// entryJSON is a message's body: an entry without its position, which is the message's.
type entryJSON struct {
	Time      int64  `json:"t"`
	Kind      string `json:"k"`
	From      string `json:"f"`
	To        string `json:"to"`
	Action    string `json:"a"`
	Principal string `json:"p"`
	Decision  string `json:"d"`
	Rule      string `json:"r"`
	Reason    string `json:"why"`
	DataHash  string `json:"dh"`
	Prev      string `json:"prev"`
	Hash      string `json:"hash"`
}

// Encode returns the message body of e (everything but its position).
func Encode(e *security.Entry) ([]byte, error) {
	return json.Marshal(entryJSON{Time: e.Time.UnixNano(), Kind: e.Kind, From: e.From, To: e.To, Action: e.Action,
		Principal: e.Principal, Decision: e.Decision, Rule: e.Rule, Reason: e.Reason, DataHash: e.DataHash,
		Prev: hex.EncodeToString(e.Prev[:]), Hash: hex.EncodeToString(e.Hash[:])})
}

// decode reads a message body into e (its Seq set by the caller). wellFormed is false when the
// body is not an entry or its hashes are malformed: e's fields are then whatever could be read,
// and e.Prev and e.Hash zero.
func decode(body []byte, e *security.Entry) (wellFormed bool) {
	seq := e.Seq
	*e = security.Entry{Seq: seq}
	var j entryJSON
	if err := json.Unmarshal(body, &j); err != nil {
		return false
	}
	e.Time, e.Kind, e.From, e.To, e.Action = time.Unix(0, j.Time), j.Kind, j.From, j.To, j.Action
	e.Principal, e.Decision, e.Rule, e.Reason, e.DataHash = j.Principal, j.Decision, j.Rule, j.Reason, j.DataHash
	prev, err1 := hex.DecodeString(j.Prev)
	hash, err2 := hex.DecodeString(j.Hash)
	if err1 != nil || err2 != nil || len(prev) != 32 || len(hash) != 32 {
		return false
	}
	copy(e.Prev[:], prev)
	copy(e.Hash[:], hash)
	return true
}

func fail(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// Last implements security.AuditStore: the stream's last sequence, and the hash of the newest
// entry still stored (the one there, unless it was deleted).
func (s *Store) Last(ctx context.Context) (security.Head, error) {
	if err := ctx.Err(); err != nil {
		return security.Head{}, err
	}
	info, err := s.stream.Info(ctx)
	if err != nil {
		return security.Head{}, fail(ctx, fmt.Errorf("natsaudit: stream %s: %w", s.cfg.stream, err))
	}
	if info.State.Msgs == 0 {
		return security.Head{Seq: info.State.LastSeq}, nil
	}
	m, err := s.stream.GetLastMsgForSubject(ctx, s.cfg.subject)
	if err != nil {
		return security.Head{}, fail(ctx, fmt.Errorf("natsaudit: newest entry: %w", err))
	}
	e := security.Entry{Seq: m.Sequence}
	decode(m.Data, &e)
	return security.Head{Seq: info.State.LastSeq, Hash: e.Hash}, nil
}

// Append implements security.AuditStore: a publish that JetStream stores only if the stream's
// last sequence is e.Seq-1.
func (s *Store) Append(ctx context.Context, e *security.Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.Seq == 0 {
		return fmt.Errorf("%w: position 0", security.ErrAuditConflict)
	}
	body, err := Encode(e)
	if err != nil {
		return err
	}
	_, err = s.js.PublishMsg(ctx, &nats.Msg{Subject: s.cfg.subject, Data: body},
		jetstream.WithExpectStream(s.cfg.stream), jetstream.WithExpectLastSequence(e.Seq-1))
	switch {
	case err == nil:
		return nil
	case natsx.IsWrongSequence(err):
		return fmt.Errorf("%w: %w", security.ErrAuditConflict, err)
	}
	return fail(ctx, fmt.Errorf("natsaudit: append %d: %w", e.Seq, err))
}

// Scan implements security.AuditStore: the view is the stream up to its last sequence at the
// call, read in order by an ordered consumer; the recorded head is that last sequence (a
// stream's last sequence stays when its newest messages are deleted).
func (s *Store) Scan(ctx context.Context, from, to uint64, fn func(e *security.Entry, wellFormed bool) error) (security.RecordedHead, error) {
	if err := ctx.Err(); err != nil {
		return security.RecordedHead{}, err
	}
	info, err := s.stream.Info(ctx)
	if err != nil {
		return security.RecordedHead{}, fail(ctx, fmt.Errorf("natsaudit: stream %s: %w", s.cfg.stream, err))
	}
	rh := security.RecordedHead{Found: true, Seq: info.State.LastSeq}
	last := info.State.LastSeq
	if to != 0 && to < last {
		last = to
	}
	from = max(from, 1, info.State.FirstSeq)
	if info.State.Msgs == 0 || from > last {
		return rh, nil
	}
	cons, err := s.js.OrderedConsumer(ctx, s.cfg.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{s.cfg.subject}, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from,
	})
	if err != nil {
		return security.RecordedHead{}, fail(ctx, fmt.Errorf("natsaudit: read: %w", err))
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		return security.RecordedHead{}, fail(ctx, fmt.Errorf("natsaudit: read: %w", err))
	}
	if ci.NumPending == 0 {
		return rh, nil
	}
	var e security.Entry
	pending := ci.NumPending // messages from the start position on, as of the consumer's creation
	for {
		// Ask for no more than are pending, so that a fetch returns as soon as they are in.
		batch, err := cons.Fetch(int(min(pending, scanBatch)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return security.RecordedHead{}, fail(ctx, fmt.Errorf("natsaudit: read: %w", err))
		}
		got := 0
		done := false
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return security.RecordedHead{}, fmt.Errorf("natsaudit: read: %w", err)
			}
			seq := md.Sequence.Stream
			if done || seq > last {
				done = true
				continue
			}
			e.Seq = seq
			ok := decode(m.Data(), &e)
			if err := fn(&e, ok); err != nil {
				return security.RecordedHead{}, err
			}
			pending = md.NumPending
			if seq == last || pending == 0 {
				done = true
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return security.RecordedHead{}, fail(ctx, fmt.Errorf("natsaudit: read: %w", err))
		}
		if done {
			return rh, nil
		}
		if got == 0 {
			if err := ctx.Err(); err != nil {
				return security.RecordedHead{}, err
			}
			return security.RecordedHead{}, fmt.Errorf("natsaudit: read: the stream stopped delivering before entry %d", last)
		}
	}
}
