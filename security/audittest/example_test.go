package audittest_test

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/security"
)

// What a Backend's Open returns: handles on one store's data — here SQLite in memory — whose
// logs keep one chain, as the suite's OneChainManyWriters checks.
func Example() {
	ctx := context.Background()
	db, _ := sqlitex.Open(ctx, sqlitex.Memory)
	defer db.Close()
	open := func() security.AuditStore {
		s, err := security.NewSQLiteAuditStore(ctx, db)
		if err != nil {
			panic(err)
		}
		return s
	}
	first, _ := security.NewAuditLogOn(open())
	second, _ := security.NewAuditLogOn(open())
	_, _ = first.Append(ctx, security.Entry{Kind: security.KindDecision})
	e, _ := second.Append(ctx, security.Entry{Kind: security.KindDecision})
	fmt.Println("the second handle appended at", e.Seq)
	// Output: the second handle appended at 2
}
