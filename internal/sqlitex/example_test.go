package sqlitex_test

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/anya-org/anya-go/internal/sqlitex"
)

func Example() {
	ctx := context.Background()
	db, err := sqlitex.Open(ctx, sqlitex.Memory)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	err = sqlitex.Migrate(ctx, db, "notes", []string{
		`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`,
	})
	if err != nil {
		panic(err)
	}
	err = sqlitex.Tx(ctx, db, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO notes (body) VALUES (?)`, "hello")
		return err
	})
	if err != nil {
		panic(err)
	}
	var body string
	_ = db.QueryRowContext(ctx, `SELECT body FROM notes`).Scan(&body)
	fmt.Println(body)
	// Output: hello
}
