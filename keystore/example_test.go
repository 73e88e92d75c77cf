package keystore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/keystore"
)

// A key store in a data directory, encrypted under a key derived from a passphrase: reopened
// with the passphrase it reads its entries; with another one it refuses to open.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "keystore-example-*")
	defer os.RemoveAll(dir)
	db, err := sqlitex.Open(ctx, filepath.Join(dir, "keys.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	s, err := keystore.Open(ctx, db, keystore.Passphrase([]byte("correct horse battery staple")))
	if err != nil {
		fmt.Println(err)
		return
	}
	err = s.Put(ctx, keystore.Entry{Name: "app/signing-key", Secret: []byte{0x01, 0x02, 0x03},
		Meta: map[string]string{"kind": "ed25519"}})
	fmt.Println("put:", err)
	_ = s.Close()

	s, _ = keystore.Open(ctx, db, keystore.Passphrase([]byte("correct horse battery staple")))
	e, err := s.Get(ctx, "app/signing-key")
	fmt.Printf("get: %x %s %v\n", e.Secret, e.Meta["kind"], err)
	names, _ := s.List(ctx, "app/")
	fmt.Println("list:", names)
	_ = s.Close()

	_, err = keystore.Open(ctx, db, keystore.Passphrase([]byte("wrong")))
	fmt.Println("wrong passphrase:", errors.Is(err, keystore.ErrWrongKey))
	// Output:
	// put: <nil>
	// get: 010203 ed25519 <nil>
	// list: [app/signing-key]
	// wrong passphrase: true
}

// Open and NewMemory take one Option type: WithClock configures both, WithKDF only the SQL
// store. The zero Memory is an empty store.
func ExampleNewMemory() {
	ctx := context.Background()
	_, err := keystore.NewMemory(keystore.WithKDF(keystore.DefaultKDF))
	fmt.Println(err)

	at := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	m, _ := keystore.NewMemory(keystore.WithClock(func() time.Time { return at }))
	_ = m.Put(ctx, keystore.Entry{Name: "app/seed", Secret: []byte{1, 2, 3}})
	e, _ := m.Get(ctx, "app/seed")
	fmt.Println(e.Name, e.Created.Format(time.DateOnly))

	var zero keystore.Memory
	_ = zero.Put(ctx, keystore.Entry{Name: "x", Secret: []byte{1}})
	names, _ := zero.List(ctx, "")
	fmt.Println(names)
	// Output:
	// keystore: invalid option WithKDF: does not apply to Memory (it configures an SQL store)
	// app/seed 2030-01-02
	// [x]
}
