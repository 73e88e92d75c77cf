package natsx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// kvOperation is the header of KV delete and purge markers.
const kvOperation = "KV-Operation"

// MaxBatch is the most writes one Batch takes: the server's default limit of an atomic batch.
const MaxBatch = 1000

// ErrBatch is returned by Batch for writes it cannot make at all: none, too many, or in several
// buckets.
var ErrBatch = errors.New("natsx: invalid batch")

// EnableBatch turns on atomic batch publishing (AllowAtomicPublish) on the stream under KV
// bucket, which Batch needs. It is idempotent.
func EnableBatch(ctx context.Context, js jetstream.JetStream, bucket string) error {
	st, err := js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return fmt.Errorf("natsx: stream of bucket %s: %w", bucket, err)
	}
	cfg := st.CachedInfo().Config
	if cfg.AllowAtomicPublish {
		return nil
	}
	cfg.AllowAtomicPublish = true
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("natsx: enable atomic batches on bucket %s: %w", bucket, err)
	}
	return nil
}

// Batch makes ws, all in one bucket, atomically: JetStream applies all of them or none, and
// checks every expectation (Expect, Revision) at the commit. It returns the revision of the last
// write. A failed expectation — whichever write it was — returns an error for which IsConflict
// is true, and nothing is written; so does a write to a key that a concurrent write is changing
// at the same moment. The bucket's stream needs AllowAtomicPublish (EnableBatch) for more than
// one write. A key may appear once in a batch that has expectations on it.
//
// JetStream's atomic batch: every message carries the batch's ID and its position; the last
// one also carries the commit, and only its acknowledgement says whether the batch was applied.
// One write is one message, published with its expectation, which JetStream applies or refuses
// as a whole by itself: the server then stages no batch (on a stream of one replica in file
// storage, it stages each batch in a file store of its own, which costs it milliseconds).
func Batch(ctx context.Context, js jetstream.JetStream, ws []Write) (uint64, error) {
	if len(ws) == 0 || len(ws) > MaxBatch {
		return 0, fmt.Errorf("%w: %d writes (want 1 to %d)", ErrBatch, len(ws), MaxBatch)
	}
	for _, w := range ws[1:] {
		if w.Bucket != ws[0].Bucket {
			return 0, fmt.Errorf("%w: writes to buckets %s and %s", ErrBatch, ws[0].Bucket, w.Bucket)
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(ws) == 1 {
		return single(ctx, js, ws[0])
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])
	nc := js.Conn()
	for i, w := range ws {
		m := nats.NewMsg("$KV." + w.Bucket + "." + w.Key)
		m.Data = w.Value
		if w.Delete {
			m.Data = nil
			m.Header.Set(kvOperation, "DEL")
		}
		m.Header.Set("Nats-Batch-Id", id)
		m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		if w.Expect {
			m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(w.Revision, 10))
		}
		if ttl := RoundTTL(w.TTL); ttl > 0 {
			m.Header.Set(jetstream.MsgTTLHeader, ttl.String())
		}
		if i < len(ws)-1 {
			if err := nc.PublishMsg(m); err != nil {
				return 0, fmt.Errorf("natsx: batch: %w", err)
			}
			continue
		}
		m.Header.Set("Nats-Batch-Commit", "1")
		resp, err := nc.RequestMsgWithContext(ctx, m)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, fmt.Errorf("natsx: batch commit: %w", err)
		}
		var ack struct {
			Seq   uint64              `json:"seq"`
			Error *jetstream.APIError `json:"error,omitempty"`
		}
		if err := json.Unmarshal(resp.Data, &ack); err != nil {
			return 0, fmt.Errorf("natsx: batch commit: malformed acknowledgement %q: %w", resp.Data, err)
		}
		if ack.Error != nil {
			if IsWrongSequence(ack.Error) {
				return 0, fmt.Errorf("%w: %w", jetstream.ErrKeyExists, ack.Error)
			}
			return 0, fmt.Errorf("natsx: batch: %w", ack.Error)
		}
		return ack.Seq, nil
	}
	panic("unreachable")
}

// single makes one write of a Batch.
func single(ctx context.Context, js jetstream.JetStream, w Write) (uint64, error) {
	m := nats.NewMsg("$KV." + w.Bucket + "." + w.Key)
	m.Data = w.Value
	if w.Delete {
		m.Data = nil
		m.Header.Set(kvOperation, "DEL")
	}
	var opts []jetstream.PublishOpt
	if w.Expect {
		opts = append(opts, jetstream.WithExpectLastSequencePerSubject(w.Revision))
	}
	if ttl := RoundTTL(w.TTL); ttl > 0 {
		opts = append(opts, jetstream.WithMsgTTL(ttl))
	}
	ack, err := js.PublishMsg(ctx, m, opts...)
	switch {
	case err == nil:
		return ack.Sequence, nil
	case ctx.Err() != nil:
		return 0, ctx.Err()
	case IsWrongSequence(err):
		return 0, fmt.Errorf("%w: %w", jetstream.ErrKeyExists, err)
	}
	return 0, fmt.Errorf("natsx: batch: %w", err)
}
