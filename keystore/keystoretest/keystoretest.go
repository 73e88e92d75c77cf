package keystoretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/anya-org/anya-go/keystore"
)

// Run checks the keystore.Store contract on stores newStore returns, a new empty one per
// subtest.
func Run(t *testing.T, newStore func(t *testing.T) keystore.Store) {
	t.Run("PutGet", func(t *testing.T) { testPutGet(t, newStore(t)) })
	t.Run("Copies", func(t *testing.T) { testCopies(t, newStore(t)) })
	t.Run("Immutable", func(t *testing.T) { testImmutable(t, newStore(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
	t.Run("Invalid", func(t *testing.T) { testInvalid(t, newStore(t)) })
	t.Run("List", func(t *testing.T) { testList(t, newStore(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newStore(t)) })
	t.Run("Canceled", func(t *testing.T) { testCanceled(t, newStore(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newStore(t)) })
	t.Run("OnePutWins", func(t *testing.T) { testOnePutWins(t, newStore(t)) })
	t.Run("Entries", func(t *testing.T) { testEntries(t, newStore(t)) })
}

// Entries returns valid entries at the edges of what a store must keep: binary secrets with
// zero bytes, the longest name, the longest secret, metadata at its limit, names outside ASCII.
func Entries() []keystore.Entry {
	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	big := make([]byte, keystore.MaxSecretLen)
	for i := range big {
		big[i] = byte(i * 7)
	}
	return []keystore.Entry{
		{Name: "edge/binary", Secret: bin, Meta: map[string]string{"kind": "binary"}},
		{Name: "edge/" + strings.Repeat("n", keystore.MaxNameLen-5), Secret: []byte{0}},
		{Name: "edge/largest-secret", Secret: big},
		{Name: "edge/meta-limit", Secret: []byte("s"), Meta: map[string]string{"k": strings.Repeat("v", keystore.MaxMetaLen-1)}},
		{Name: "edge/ünïcödé/ключ/鍵", Secret: []byte("unicode name"), Meta: map[string]string{"ключ": "鍵"}},
		{Name: "edge/sql'; DROP TABLE x; --", Secret: []byte("quotes"), Meta: map[string]string{"q": "'\"`"}},
	}
}

func testEntries(t *testing.T, s keystore.Store) {
	want := Entries()
	for _, e := range want {
		if err := s.Put(t.Context(), e); err != nil {
			t.Fatalf("Put %.40q: %v", e.Name, err)
		}
	}
	for _, w := range want {
		e := get(t, s, w.Name)
		if !bytes.Equal(e.Secret, w.Secret) || len(e.Meta) != len(w.Meta) {
			t.Errorf("%.40q came back as %d bytes, %d metadata keys", w.Name, len(e.Secret), len(e.Meta))
		}
		for k, v := range w.Meta {
			if e.Meta[k] != v {
				t.Errorf("%.40q: metadata %q changed", w.Name, k)
			}
		}
	}
	if names, _ := s.List(t.Context(), "edge/"); len(names) != len(want) {
		t.Errorf("List: %d names, want %d", len(names), len(want))
	}
}

func put(t *testing.T, s keystore.Store, name, secret string, meta map[string]string) {
	t.Helper()
	if err := s.Put(t.Context(), keystore.Entry{Name: name, Secret: []byte(secret), Meta: meta}); err != nil {
		t.Fatalf("Put %q: %v", name, err)
	}
}

func get(t *testing.T, s keystore.Store, name string) keystore.Entry {
	t.Helper()
	e, err := s.Get(t.Context(), name)
	if err != nil {
		t.Fatalf("Get %q: %v", name, err)
	}
	return e
}

func testPutGet(t *testing.T, s keystore.Store) {
	secret := []byte{0, 1, 2, 0xff, 'k', 'e', 'y'}
	meta := map[string]string{"kind": "identity", "did": "did:example:123", "unicode": "é✓"}
	if err := s.Put(t.Context(), keystore.Entry{Name: "app/identity/did:example:123", Secret: secret, Meta: meta}); err != nil {
		t.Fatal(err)
	}
	e := get(t, s, "app/identity/did:example:123")
	if e.Name != "app/identity/did:example:123" || !bytes.Equal(e.Secret, secret) || len(e.Meta) != len(meta) {
		t.Fatalf("Get returned %+v", e)
	}
	for k, v := range meta {
		if e.Meta[k] != v {
			t.Errorf("meta %q = %q, want %q", k, e.Meta[k], v)
		}
	}
	if e.Created.IsZero() {
		t.Error("Get returned no creation time")
	}
	put(t, s, "no-meta", "x", nil)
	if e := get(t, s, "no-meta"); len(e.Meta) != 0 || string(e.Secret) != "x" {
		t.Errorf("entry without metadata: %+v", e)
	}
}

func testCopies(t *testing.T, s keystore.Store) {
	secret := []byte("secret")
	meta := map[string]string{"k": "v"}
	if err := s.Put(t.Context(), keystore.Entry{Name: "n", Secret: secret, Meta: meta}); err != nil {
		t.Fatal(err)
	}
	secret[0], meta["k"] = 'X', "changed"
	e := get(t, s, "n")
	if string(e.Secret) != "secret" || e.Meta["k"] != "v" {
		t.Fatalf("the caller's later changes reached the store: %q %v", e.Secret, e.Meta)
	}
	e.Secret[0], e.Meta["k"] = 'Y', "changed"
	if e := get(t, s, "n"); string(e.Secret) != "secret" || e.Meta["k"] != "v" {
		t.Fatalf("changes to a returned entry reached the store: %q %v", e.Secret, e.Meta)
	}
}

func testImmutable(t *testing.T, s keystore.Store) {
	put(t, s, "n", "first", map[string]string{"v": "1"})
	err := s.Put(t.Context(), keystore.Entry{Name: "n", Secret: []byte("second")})
	if !errors.Is(err, keystore.ErrExists) {
		t.Fatalf("second Put of a name: %v, want ErrExists", err)
	}
	if e := get(t, s, "n"); string(e.Secret) != "first" || e.Meta["v"] != "1" {
		t.Fatalf("a refused Put changed the entry: %+v", e)
	}
}

func testNotFound(t *testing.T, s keystore.Store) {
	if _, err := s.Get(t.Context(), "missing"); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("Get of a missing name: %v, want ErrNotFound", err)
	}
	if err := s.Delete(t.Context(), "missing"); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("Delete of a missing name: %v, want ErrNotFound", err)
	}
}

func testInvalid(t *testing.T, s keystore.Store) {
	bigMeta := map[string]string{"k": strings.Repeat("v", keystore.MaxMetaLen)}
	for _, tc := range []struct {
		name string
		e    keystore.Entry
	}{
		{"empty name", keystore.Entry{Name: "", Secret: []byte("s")}},
		{"name too long", keystore.Entry{Name: strings.Repeat("n", keystore.MaxNameLen+1), Secret: []byte("s")}},
		{"newline in name", keystore.Entry{Name: "a\nb", Secret: []byte("s")}},
		{"NUL in name", keystore.Entry{Name: "a\x00b", Secret: []byte("s")}},
		{"DEL in name", keystore.Entry{Name: "a\x7fb", Secret: []byte("s")}},
		{"C1 control in name", keystore.Entry{Name: "a\u0085b", Secret: []byte("s")}},
		{"name not UTF-8", keystore.Entry{Name: "a\xffb", Secret: []byte("s")}},
		{"empty secret", keystore.Entry{Name: "n"}},
		{"secret too long", keystore.Entry{Name: "n", Secret: make([]byte, keystore.MaxSecretLen+1)}},
		{"empty metadata key", keystore.Entry{Name: "n", Secret: []byte("s"), Meta: map[string]string{"": "v"}}},
		{"metadata not UTF-8", keystore.Entry{Name: "n", Secret: []byte("s"), Meta: map[string]string{"k": "\xfe"}}},
		{"metadata too long", keystore.Entry{Name: "n", Secret: []byte("s"), Meta: bigMeta}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Put(t.Context(), tc.e); !errors.Is(err, keystore.ErrInvalidEntry) {
				t.Fatalf("Put: %v, want ErrInvalidEntry", err)
			}
		})
	}
	names, err := s.List(t.Context(), "")
	if err != nil || len(names) != 0 {
		t.Fatalf("refused entries were stored: %q %v", names, err)
	}
	put(t, s, strings.Repeat("n", keystore.MaxNameLen), "s", nil)
	if err := s.Put(t.Context(), keystore.Entry{Name: "max", Secret: make([]byte, keystore.MaxSecretLen)}); err != nil {
		t.Fatalf("a secret of MaxSecretLen bytes: %v", err)
	}
}

func testList(t *testing.T, s keystore.Store) {
	for _, n := range []string{"b/2", "a/1", "b/1", "b", "bb/1", "b/é", "b/z", "c"} {
		put(t, s, n, "s", nil)
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a/1", "b", "b/1", "b/2", "b/z", "b/é", "bb/1", "c"}},
		{"b/", []string{"b/1", "b/2", "b/z", "b/é"}},
		{"b", []string{"b", "b/1", "b/2", "b/z", "b/é", "bb/1"}},
		{"b/é", []string{"b/é"}},
		{"d", nil},
		{"%", nil},
		{"_", nil},
	} {
		got, err := s.List(t.Context(), tc.prefix)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

func testDelete(t *testing.T, s keystore.Store) {
	put(t, s, "n", "first", nil)
	put(t, s, "m", "other", nil)
	if err := s.Delete(t.Context(), "n"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), "n"); !errors.Is(err, keystore.ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if got, _ := s.List(t.Context(), ""); !slices.Equal(got, []string{"m"}) {
		t.Fatalf("List after Delete: %q", got)
	}
	put(t, s, "n", "second", nil)
	if e := get(t, s, "n"); string(e.Secret) != "second" {
		t.Fatalf("Put after Delete: %q", e.Secret)
	}
}

func testCanceled(t *testing.T, s keystore.Store) {
	put(t, s, "n", "s", nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Put(ctx, keystore.Entry{Name: "m", Secret: []byte("s")}); !errors.Is(err, context.Canceled) {
		t.Errorf("Put: %v", err)
	}
	if _, err := s.Get(ctx, "n"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: %v", err)
	}
	if _, err := s.List(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("List: %v", err)
	}
	if err := s.Delete(ctx, "n"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete: %v", err)
	}
	if e := get(t, s, "n"); string(e.Secret) != "s" {
		t.Errorf("canceled calls changed the store")
	}
	if _, err := s.Get(t.Context(), "m"); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("a canceled Put stored its entry: %v", err)
	}
}

func testConcurrent(t *testing.T, s keystore.Store) {
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("c/%02d", i)
			if err := s.Put(t.Context(), keystore.Entry{Name: name, Secret: []byte(name)}); err != nil {
				errs <- err
				return
			}
			e, err := s.Get(t.Context(), name)
			if err != nil || string(e.Secret) != name {
				errs <- fmt.Errorf("%s: %q %v", name, e.Secret, err)
			}
			if _, err := s.List(t.Context(), "c/"); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, _ := s.List(t.Context(), "c/"); len(got) != n {
		t.Errorf("%d entries after %d concurrent puts", len(got), n)
	}
}

func testOnePutWins(t *testing.T, s keystore.Store) {
	const n = 8
	var won, lost atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := s.Put(t.Context(), keystore.Entry{Name: "race", Secret: []byte{byte(i + 1)}})
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, keystore.ErrExists):
				lost.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 || lost.Load() != n-1 {
		t.Fatalf("%d puts of one name succeeded and %d were refused, want 1 and %d", won.Load(), lost.Load(), n-1)
	}
}
