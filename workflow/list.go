package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Bounds of List.
const (
	// DefaultListLimit is how many runs List returns without ListLimit.
	DefaultListLimit = 50
	// MaxListLimit bounds ListLimit.
	MaxListLimit = 1000
)

// RunSummary is a stored run without its payloads and steps: what List returns.
type RunSummary struct {
	ID       string
	Workflow string
	Status   RunStatus
	Error    string // why it failed
	Created  time.Time
	Updated  time.Time
}

// ListOption narrows or pages List. Options that do not hold refuse the call with an
// *OptionError.
type ListOption func(*listConfig)

type listConfig struct {
	workflow string
	statuses []RunStatus
	field    string
	value    string
	before   string
	limit    int
	bad      *OptionError
}

func (c *listConfig) invalid(option, reason string) {
	if c.bad == nil {
		c.bad = &OptionError{Option: option, Reason: reason}
	}
}

// ListWorkflow keeps the runs of the named workflow. Defaults to every workflow.
func ListWorkflow(name string) ListOption {
	return func(c *listConfig) {
		if name == "" {
			c.invalid("ListWorkflow", "empty workflow name")
		}
		c.workflow = name
	}
}

// ListStatus keeps the runs whose status is one of statuses. Defaults to every status.
func ListStatus(statuses ...RunStatus) ListOption {
	return func(c *listConfig) {
		for _, s := range statuses {
			if !s.valid() {
				c.invalid("ListStatus", fmt.Sprintf("unknown status %q", s))
			}
		}
		c.statuses = append(c.statuses, statuses...)
	}
}

// ListInput keeps the runs whose input has field set to the string value. field is a top-level
// input name: a letter or an underscore, then letters, digits and underscores. Defaults to no
// condition on the input.
func ListInput(field, value string) ListOption {
	return func(c *listConfig) {
		if !validField(field) {
			c.invalid("ListInput", fmt.Sprintf("field %q is not a name of letters, digits and underscores", clipName(field)))
		}
		c.field, c.value = field, value
	}
}

// ListBefore pages: it keeps the runs listed after run id (created before it, or at the same
// time with a smaller ID). Give it the ID of the last run of the previous page. Defaults to the
// newest runs.
func ListBefore(id string) ListOption {
	return func(c *listConfig) {
		if !validRunID(id) {
			c.invalid("ListBefore", "malformed run id")
		}
		c.before = id
	}
}

// ListLimit sets how many runs List returns at most, 1 to MaxListLimit. Defaults to
// DefaultListLimit.
func ListLimit(n int) ListOption {
	return func(c *listConfig) {
		if n < 1 || n > MaxListLimit {
			c.invalid("ListLimit", fmt.Sprintf("%d is not in 1..%d", n, MaxListLimit))
		}
		c.limit = n
	}
}

func newListConfig(opts []ListOption) (listConfig, error) {
	c := listConfig{limit: DefaultListLimit}
	for _, o := range opts {
		if o == nil {
			c.invalid("ListOption", "nil option")
			continue
		}
		o(&c)
	}
	if c.bad != nil {
		return listConfig{}, c.bad
	}
	return c, nil
}

func validField(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func clipName(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Lister is a Store that lists its runs: the newest first (by Created, then by ID, descending),
// narrowed and paged by the options, each summarized. The SQLite store and MemoryStore are
// Listers. List MUST return a cancelled ctx's error, and ErrClosed after Close.
type Lister interface {
	List(ctx context.Context, opts ...ListOption) ([]RunSummary, error)
}

var (
	_ Lister = (*SQLiteStore)(nil)
	_ Lister = (*MemoryStore)(nil)
)

// List returns the stored runs, the newest first, narrowed and paged by the options (see
// Lister). A store that cannot list returns an error wrapping errors.ErrUnsupported; an invalid
// option an *OptionError.
func (e *Engine) List(ctx context.Context, opts ...ListOption) ([]RunSummary, error) {
	l, ok := e.store.(Lister)
	if !ok {
		return nil, fmt.Errorf("workflow: %T cannot list runs: %w", e.store, errors.ErrUnsupported)
	}
	return l.List(ctx, opts...)
}

// List implements Lister.
func (s *SQLiteStore) List(ctx context.Context, opts ...ListOption) ([]RunSummary, error) {
	c, err := newListConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	var (
		where []string
		args  []any
	)
	if c.workflow != "" {
		where, args = append(where, "workflow = ?"), append(args, c.workflow)
	}
	if len(c.statuses) > 0 {
		marks := strings.Repeat(", ?", len(c.statuses))[2:]
		where = append(where, "status IN ("+marks+")")
		for _, st := range c.statuses {
			args = append(args, string(st))
		}
	}
	if c.field != "" {
		// The field is checked to be a plain name: it cannot escape the JSON path.
		where, args = append(where, "json_extract(input, '$.' || ?) = ?"), append(args, c.field, c.value)
	}
	if c.before != "" {
		where = append(where, "(created, id) < (SELECT created, id FROM workflow_runs WHERE id = ?)")
		args = append(args, c.before)
	}
	q := "SELECT id, workflow, status, error, created, updated FROM workflow_runs"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created DESC, id DESC LIMIT ?"
	args = append(args, c.limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("workflow: list runs: %w", err)
	}
	defer rows.Close()
	out := []RunSummary{}
	for rows.Next() {
		var (
			r                RunSummary
			status           string
			created, updated int64
		)
		if err := rows.Scan(&r.ID, &r.Workflow, &status, &r.Error, &created, &updated); err != nil {
			return nil, fmt.Errorf("workflow: list runs: %w", err)
		}
		r.Status, r.Created, r.Updated = RunStatus(status), fromNanos(created), fromNanos(updated)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("workflow: list runs: %w", err)
	}
	return out, nil
}

// List implements Lister.
func (s *MemoryStore) List(ctx context.Context, opts ...ListOption) ([]RunSummary, error) {
	c, err := newListConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	newer := func(a, b *RunRecord) bool { // a is listed before b
		if !a.Created.Equal(b.Created) {
			return a.Created.After(b.Created)
		}
		return a.ID > b.ID
	}
	var cursor *RunRecord
	if c.before != "" {
		if cursor = s.runs[c.before]; cursor == nil {
			return []RunSummary{}, nil
		}
	}
	var runs []*RunRecord
	for _, r := range s.runs {
		switch {
		case c.workflow != "" && r.Workflow != c.workflow:
		case len(c.statuses) > 0 && !slices.Contains(c.statuses, r.Status):
		case c.field != "" && !inputHas(r.Input, c.field, c.value):
		case cursor != nil && !newer(cursor, r):
		default:
			runs = append(runs, r)
		}
	}
	slices.SortFunc(runs, func(a, b *RunRecord) int {
		if newer(a, b) {
			return -1
		}
		return 1
	})
	out := []RunSummary{}
	for _, r := range runs[:min(len(runs), c.limit)] {
		out = append(out, RunSummary{ID: r.ID, Workflow: r.Workflow, Status: r.Status, Error: r.Error, Created: r.Created, Updated: r.Updated})
	}
	return out, nil
}

// inputHas reports whether the JSON object input has field set to the string value.
func inputHas(input []byte, field, value string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(input, &m) != nil {
		return false
	}
	var s string
	return json.Unmarshal(m[field], &s) == nil && s == value
}
