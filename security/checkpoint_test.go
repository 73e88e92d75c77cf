package security_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/security"
)

func TestSignedHeadRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := security.Head{Seq: 42}
	copy(h.Hash[:], bytes.Repeat([]byte{0xab}, 32))
	at := time.Date(2026, 3, 1, 12, 0, 0, 999, time.UTC)
	sh, err := security.SignHead(ctx, h, at, hostSigner(t))
	if err != nil {
		t.Fatal(err)
	}
	back, err := security.ParseSignedHead(ctx, sh.String(), hostVerifier(t))
	if err != nil {
		t.Fatal(err)
	}
	if back.Head() != h || back.Checkpoint() != h || !back.IssuedAt().Equal(at.Truncate(time.Second)) ||
		back.KeyID() != hostKID || back.Algorithm() != security.AlgEdDSA || back.String() != sh.String() {
		t.Fatalf("parsed %+v from %+v", back, sh)
	}
	// The token is three base64url segments; the header names the key and the type.
	if n := strings.Count(sh.String(), "."); n != 2 {
		t.Fatalf("%d dots in %s", n, sh)
	}

	// A host that rotates keys verifies by kid.
	old, _ := security.NewEd25519Verifier(malloryKey.Public().(ed25519.PublicKey), "did:web:host.example#audit-0")
	current := hostVerifier(t)
	rotating := security.VerifierFunc(func(ctx context.Context, alg, kid string, in, sig []byte) error {
		if kid == "did:web:host.example#audit-0" {
			return old.Verify(ctx, alg, kid, in, sig)
		}
		return current.Verify(ctx, alg, kid, in, sig)
	})
	if _, err := security.ParseSignedHead(ctx, sh.String(), rotating); err != nil {
		t.Fatal(err)
	}
	if _, err := security.ParseSignedHead(ctx, sh.String(), nil); !errors.Is(err, security.ErrSignature) {
		t.Fatalf("no verifier: %v", err)
	}
}

func TestParseHead(t *testing.T) {
	h := security.Head{Seq: 7}
	h.Hash[0] = 0xfe
	got, err := security.ParseHead(h.String())
	if err != nil || got != h {
		t.Fatalf("ParseHead(%s) = %v, %v", h, got, err)
	}
	for _, s := range []string{"", "7", ":" + goodHash, "-1:" + goodHash, "07:" + goodHash, "7:" + strings.ToUpper(goodHash),
		"7:" + goodHash[1:], "7:" + goodHash + "00", "9223372036854775808:" + goodHash, "7 :" + goodHash} {
		if _, err := security.ParseHead(s); !errors.Is(err, security.ErrInvalidHead) {
			t.Errorf("ParseHead(%q) = %v", s, err)
		}
	}
}

func TestSignerAndVerifierKeys(t *testing.T) {
	if _, err := security.NewEd25519Signer(hostKey[:31], hostKID); !errors.Is(err, security.ErrInvalidKey) {
		t.Errorf("short private key: %v", err)
	}
	if _, err := security.NewEd25519Signer(hostKey, ""); !errors.Is(err, security.ErrInvalidKey) {
		t.Errorf("empty kid: %v", err)
	}
	if _, err := security.NewEd25519Verifier(ed25519.PublicKey(hostKey[:31]), hostKID); !errors.Is(err, security.ErrInvalidKey) {
		t.Errorf("short public key: %v", err)
	}
	if _, err := security.NewEd25519Verifier(hostKey.Public().(ed25519.PublicKey), ""); !errors.Is(err, security.ErrInvalidKey) {
		t.Errorf("empty kid: %v", err)
	}
	// A signer the format cannot carry is refused when signing.
	for _, s := range []security.Signer{badSigner{alg: "none", kid: "k"}, badSigner{alg: "EdDSA"}, badSigner{alg: "", kid: "k"}} {
		if _, err := security.SignHead(context.Background(), security.Head{}, now, s); !errors.Is(err, security.ErrCheckpoint) {
			t.Errorf("SignHead with %+v: %v", s, err)
		}
	}
	if _, err := security.SignHead(context.Background(), security.Head{}, now, badSigner{alg: "EdDSA", kid: "k", err: errors.New("hsm offline")}); !errors.Is(err, security.ErrCheckpoint) {
		t.Errorf("failing signer: %v", err)
	}
}

type badSigner struct {
	alg, kid string
	err      error
}

func (b badSigner) Algorithm() string { return b.alg }
func (b badSigner) KeyID() string     { return b.kid }
func (b badSigner) Sign(context.Context, []byte) ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	return []byte("sig"), nil
}

// publisher records the checkpoints it is given, as strings (what a host would store), and
// fails while fail is set.
type publisher struct {
	mu   sync.Mutex
	got  []string
	fail bool
}

func (p *publisher) PublishCheckpoint(_ context.Context, h *security.SignedHead) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return errors.New("store unavailable")
	}
	p.got = append(p.got, h.String())
	return nil
}

// seqs parses what was published and returns the positions.
func (p *publisher) seqs(t *testing.T) []uint64 {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []uint64
	for _, s := range p.got {
		sh, err := security.ParseSignedHead(context.Background(), s, hostVerifier(t))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sh.Head().Seq)
	}
	return out
}

func (p *publisher) newest(t *testing.T) *security.SignedHead {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	sh, err := security.ParseSignedHead(context.Background(), p.got[len(p.got)-1], hostVerifier(t))
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

func TestCheckpointsArePublished(t *testing.T) {
	ctx := context.Background()
	pub := &publisher{}
	path := filepath.Join(t.TempDir(), "audit.db")
	log, err := security.OpenAuditLog(ctx, path, security.WithCheckpointSigner(hostSigner(t)),
		security.WithCheckpointPublisher(pub), security.WithCheckpointEvery(4))
	if err != nil {
		t.Fatal(err)
	}
	fill(t, log, 10)
	if got := fmt.Sprint(pub.seqs(t)); got != "[4 8]" {
		t.Fatalf("published %s, want every 4th entry", got)
	}
	sh, err := log.Checkpoint(ctx)
	if err != nil || sh.Head().Seq != 10 {
		t.Fatalf("Checkpoint = %v, %v", sh, err)
	}
	fill(t, log, 1)
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(pub.seqs(t)); got != "[4 8 10 11]" {
		t.Fatalf("published %s, want the explicit one and one on close", got)
	}
	// The newest published checkpoint verifies the reopened log.
	log, err = security.OpenAuditLog(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	rep, err := log.Verify(ctx, pub.newest(t))
	if err != nil || rep.Checkpoint.Seq != 11 || rep.Entries != 11 {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
}

func TestCheckpointPublishFailureIsRetried(t *testing.T) {
	pub := &publisher{fail: true}
	var logged bytes.Buffer
	log, _ := openAudit(t, security.WithCheckpointSigner(hostSigner(t)), security.WithCheckpointPublisher(pub),
		security.WithCheckpointEvery(3), security.WithCheckpointOnClose(false),
		security.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	fill(t, log, 4) // entry 3 is due; its checkpoint fails; the Append still succeeds
	if len(pub.seqs(t)) != 0 || !strings.Contains(logged.String(), "checkpoint not published") {
		t.Fatalf("published %v, logged %q", pub.seqs(t), logged.String())
	}
	if _, err := log.Checkpoint(context.Background()); !errors.Is(err, security.ErrCheckpoint) {
		t.Fatalf("Checkpoint with a failing publisher: %v", err)
	}
	pub.mu.Lock()
	pub.fail = false
	pub.mu.Unlock()
	fill(t, log, 1) // entry 5 is not due, but a checkpoint is overdue
	fill(t, log, 1) // entry 6 is due
	fill(t, log, 1) // entry 7: nothing
	if got := fmt.Sprint(pub.seqs(t)); got != "[5 6]" {
		t.Fatalf("published %s", got)
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(pub.seqs(t)); got != "[5 6]" {
		t.Fatalf("published %s on a close without checkpoint", got)
	}
}

func TestCheckpointOnCloseReportsFailure(t *testing.T) {
	pub := &publisher{fail: true}
	log, _ := openAudit(t, security.WithCheckpointSigner(hostSigner(t)), security.WithCheckpointPublisher(pub))
	fill(t, log, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := log.Shutdown(ctx); !errors.Is(err, security.ErrCheckpoint) {
		t.Fatalf("Shutdown with a failing publisher: %v", err)
	}
	if err := log.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if _, err := log.Append(ctx, security.Entry{}); !errors.Is(err, security.ErrClosed) {
		t.Fatalf("Append after Shutdown: %v", err)
	}
}

func TestCheckpointConcurrentAppends(t *testing.T) {
	pub := &publisher{}
	log, _ := openAudit(t, security.WithCheckpointSigner(hostSigner(t)), security.WithCheckpointPublisher(pub),
		security.WithCheckpointEvery(5))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				if _, err := log.Append(context.Background(), security.Entry{Kind: security.KindDecision, Action: fmt.Sprintf("w%d-%d", w, i)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	seqs := pub.seqs(t)
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("checkpoints out of order: %v", seqs)
		}
	}
	if len(seqs) == 0 || seqs[len(seqs)-1] != 100 {
		t.Fatalf("the newest entry was not checkpointed: %v", seqs)
	}
}

func TestCheckpointWithoutSigner(t *testing.T) {
	log, _ := openAudit(t)
	if _, err := log.Checkpoint(context.Background()); !errors.Is(err, security.ErrNoSigner) {
		t.Fatalf("Checkpoint without a signer: %v", err)
	}
	if _, err := security.SignHead(context.Background(), security.Head{}, now, nil); !errors.Is(err, security.ErrNoSigner) {
		t.Fatalf("SignHead without a signer: %v", err)
	}
}

func TestAuditOptions(t *testing.T) {
	pub := security.CheckpointPublisherFunc(func(context.Context, *security.SignedHead) error { return nil })
	for name, opts := range map[string][]security.Option{
		"WithClock":               {security.WithClock(nil)},
		"WithLogger":              {security.WithLogger(nil)},
		"WithRedactionKey":        {security.WithRedactionKey(make([]byte, 32))}, // configures Boundaries
		"WithCostLimit":           {security.WithCostLimit(5)},
		"WithCheckpointEvery":     {security.WithCheckpointEvery(-1)},
		"WithCheckpointPublisher": {security.WithCheckpointPublisher(pub)},
		"WithCheckpointSigner":    {security.WithCheckpointSigner(badSigner{alg: "none", kid: "k"})},
	} {
		path := filepath.Join(t.TempDir(), "a.db")
		_, err := security.OpenAuditLog(context.Background(), path, opts...)
		var oe *security.OptionError
		if !errors.As(err, &oe) || oe.Option != name || !errors.Is(err, security.ErrInvalidOption) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a refused OpenAuditLog created the database: %v", name, err)
		}
	}
	if _, err := security.NewAuditLog(context.Background(), nil); !errors.Is(err, security.ErrInvalidOption) {
		t.Errorf("NewAuditLog of a nil database: %v", err)
	}
	// An audit option given to New does not apply either.
	var oe *security.OptionError
	if _, err := security.New(security.DefaultBoundaries(), security.WithCheckpointEvery(10)); !errors.As(err, &oe) || oe.Option != "WithCheckpointEvery" || !strings.Contains(err.Error(), "does not apply to Boundaries") {
		t.Errorf("New(WithCheckpointEvery): %v", err)
	}
}
