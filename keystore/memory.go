package keystore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Memory is a Store in memory, for tests and for hosts that choose keys that do not outlive the
// process. It keeps copies of the secrets in the clear in memory. The zero value is an empty
// store dating entries with time.Now, ready to use.
type Memory struct {
	now func() time.Time

	mu      sync.RWMutex
	entries map[string]Entry
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store. It takes the options that configure a Memory
// store (WithClock); an invalid one, or one that configures an SQL store only (WithKDF), makes
// it return an *OptionError.
func NewMemory(opts ...Option) (*Memory, error) {
	cfg, err := newConfig(kindMemory, opts)
	if err != nil {
		return nil, err
	}
	return &Memory{now: cfg.now, entries: map[string]Entry{}}, nil
}

// Put implements Store.
func (m *Memory) Put(ctx context.Context, e Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := Check(e); err != nil {
		return err
	}
	e = e.Clone()
	now := m.now
	if now == nil { // the zero Memory
		now = time.Now
	}
	e.Created = now().UTC()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = map[string]Entry{}
	}
	if _, ok := m.entries[e.Name]; ok {
		return fmt.Errorf("%w: %q", ErrExists, e.Name)
	}
	m.entries[e.Name] = e
	return nil
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, name string) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	m.mu.RLock()
	e, ok := m.entries[name]
	m.mu.RUnlock()
	if !ok {
		return Entry{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return e.Clone(), nil
}

// List implements Store.
func (m *Memory) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	var out []string
	for name := range m.entries {
		if strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
	}
	m.mu.RUnlock()
	slices.Sort(out)
	return out, nil
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[name]; !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	delete(m.entries, name)
	return nil
}
