package security_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/security/audittest"
)

func TestAuditStoreConformance(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audittest.Backend {
		db, err := sqlitex.Open(t.Context(), filepath.Join(t.TempDir(), "audit.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return audittest.Backend{
			Open: func(t *testing.T) security.AuditStore {
				s, err := security.NewSQLiteAuditStore(t.Context(), db)
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
			Rewrite: func(ctx context.Context, es []security.Entry, recorded security.Head) error {
				return sqlitex.Tx(ctx, db, func(tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, `DELETE FROM security_audit`); err != nil {
						return err
					}
					for _, e := range es {
						if _, err := tx.ExecContext(ctx, `INSERT INTO security_audit (seq, time, kind, from_p, to_p, action, principal, decision, rule, reason, data_hash, prev, hash)
							VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.Seq, e.Time.UnixNano(), e.Kind, e.From, e.To, e.Action, e.Principal,
							e.Decision, e.Rule, e.Reason, e.DataHash, e.Prev[:], e.Hash[:]); err != nil {
							return err
						}
					}
					_, err := tx.ExecContext(ctx, `UPDATE security_audit_head SET seq = ?, hash = ?`, recorded.Seq, recorded.Hash[:])
					return err
				})
			},
		}
	})
}
