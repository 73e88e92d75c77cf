package security_test

import (
	"context"
	"errors"
	"testing"

	"github.com/anya-org/anya-go/security"
)

// The methods of a zero Boundaries, AuditLog, Ed25519Signer and Ed25519Verifier return a
// *NotConstructedError naming their constructor — a zero Boundaries refuses every crossing —
// and the zero AuditLog's Close and Shutdown return nil. Nothing panics.
func TestZeroValues(t *testing.T) {
	ctx := context.Background()
	nc := func(what string, err error, constructor string) {
		t.Helper()
		var e *security.NotConstructedError
		if !errors.As(err, &e) || !errors.Is(err, security.ErrNotConstructed) || e.Constructor != constructor {
			t.Errorf("%s: err = %v, want a *NotConstructedError naming security.%s", what, err, constructor)
		}
	}

	var bs security.Boundaries
	out, err := bs.Cross(ctx, "ml", "bitcoin", security.ActionSendPayment, map[string]any{"approved": false})
	if out != nil {
		t.Errorf("a zero Boundaries let data cross: %v", out)
	}
	nc("Boundaries.Cross", err, "New")
	if same, err := bs.Cross(ctx, "web5", "web5", "x", map[string]any{"a": 1}); err != nil || same["a"] != 1 {
		t.Errorf("a crossing within one protocol is no crossing: %v, %v", same, err)
	}

	var l security.AuditLog
	_, err = l.Append(ctx, security.Entry{Kind: security.KindCrossing})
	nc("AuditLog.Append", err, "OpenAuditLog")
	_, err = l.Checkpoint(ctx)
	nc("AuditLog.Checkpoint", err, "OpenAuditLog")
	_, err = l.Head(ctx)
	nc("AuditLog.Head", err, "OpenAuditLog")
	_, err = l.Entries(ctx, 1, 10)
	nc("AuditLog.Entries", err, "OpenAuditLog")
	_, err = l.Verify(ctx)
	nc("AuditLog.Verify", err, "OpenAuditLog")
	if err := l.Shutdown(ctx); err != nil {
		t.Errorf("AuditLog.Shutdown: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("AuditLog.Close: %v", err)
	}

	var s security.Ed25519Signer
	if s.Algorithm() != security.AlgEdDSA || s.KeyID() != "" {
		t.Errorf("zero signer: %q %q", s.Algorithm(), s.KeyID())
	}
	_, err = s.Sign(ctx, []byte("data"))
	nc("Ed25519Signer.Sign", err, "NewEd25519Signer")
	var v security.Ed25519Verifier
	nc("Ed25519Verifier.Verify", v.Verify(ctx, security.AlgEdDSA, "", []byte("data"), make([]byte, 64)), "NewEd25519Verifier")
	// A zero signer cannot become an audit log's checkpoint signer.
	if _, err := security.OpenAuditLog(ctx, t.TempDir()+"/a.db", security.WithCheckpointSigner(&s)); !errors.Is(err, security.ErrInvalidOption) {
		t.Errorf("zero signer accepted: %v", err)
	}

	var c *security.Context
	if c.HasScope("x") || c.IdentityVerified(now) {
		t.Error("a nil Context has scopes or a verified identity")
	}
	var sh security.SignedHead
	if sh.Head() != (security.Head{}) || sh.String() != "" || sh.KeyID() != "" {
		t.Error("a zero SignedHead is not empty")
	}
}
