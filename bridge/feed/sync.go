package feed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/web5/dwn"
)

// Version is one side's value of a key and when it was written.
type Version struct {
	Value map[string]any
	Time  time.Time
}

// MLSide is the model side of a sync: the model's outputs by key (an entity, a record ...).
// Implementations MUST be safe for concurrent use.
type MLSide interface {
	Outputs(ctx context.Context) (map[string]Version, error)
	Put(ctx context.Context, key string, v Version) error
}

// Strategy decides a conflict — both sides changed a key since the last sync — and returns the
// version both sides get.
type Strategy func(key string, web5, ml Version) (Version, error)

// LastWriter keeps the version written last (by its time); a tie goes to Web5.
func LastWriter() Strategy {
	return func(_ string, w, m Version) (Version, error) {
		if m.Time.After(w.Time) {
			return m, nil
		}
		return w, nil
	}
}

// PreferWeb5 keeps the records store's version.
func PreferWeb5() Strategy { return func(_ string, w, _ Version) (Version, error) { return w, nil } }

// PreferML keeps the model's version.
func PreferML() Strategy { return func(_ string, _, m Version) (Version, error) { return m, nil } }

// SyncRecords is the records side of a sync: a *bridge.Records.
type SyncRecords interface {
	Create(ctx context.Context, tenant, path string, data any, opts ...bridge.WriteOption) (*dwn.Record, error)
	Update(ctx context.Context, tenant string, rec *dwn.Record, data any) (*dwn.Record, error)
	Query(ctx context.Context, tenant, path string, f dwn.Filter) ([]*dwn.Record, error)
}

var _ SyncRecords = (*bridge.Records)(nil)

// syncData is a sync record's data.
type syncData struct {
	Key   string         `json:"key"`
	Value map[string]any `json:"value"`
}

// Conflict is a key both sides changed since the last sync, and what the strategy kept.
type Conflict struct {
	Key       string
	Web5, ML  Version
	Kept      Version
	KeptWeb5  bool // the kept value is Web5's
	KeptML    bool // the kept value is the model's
	Decided   bool // false when the strategy failed (Err)
	Err       error
	WriteLost bool // a write lost a race with a concurrent edit; the next sync retries
}

// Report is what one sync did.
type Report struct {
	ToWeb5, ToML int
	Conflicts    []Conflict
	// Lost counts writes that lost a race with a concurrent edit; the next sync retries them.
	Lost int
}

// Syncer keeps a tenant's records at bridge.PathSync (one per key; the tenant, their
// recipient, may co-update them) and a model's outputs in sync both ways. It remembers, per
// key, the value both sides agreed on at the last sync: a side whose value differs from it
// changed; when both did, the Strategy decides. A restarted Syncer has no memory: its first
// sync treats every difference as a conflict. Safe for concurrent use; syncs run one at a time.
type Syncer struct {
	records  SyncRecords
	tenant   string
	ml       MLSide
	strategy Strategy
	cfg      config

	mu   sync.Mutex
	base map[string]string
}

// NewSyncer returns a syncer of tenant's sync records and ml with strategy.
func NewSyncer(records SyncRecords, tenant string, ml MLSide, strategy Strategy, opts ...Option) (*Syncer, error) {
	switch {
	case records == nil:
		return nil, &OptionError{Option: "records", Value: nil, Reason: "nil"}
	case tenant == "":
		return nil, &OptionError{Option: "tenant", Value: "", Reason: "empty"}
	case ml == nil:
		return nil, &OptionError{Option: "ml", Value: nil, Reason: "nil"}
	case strategy == nil:
		return nil, &OptionError{Option: "strategy", Value: nil, Reason: "a conflict strategy is required"}
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Syncer{records: records, tenant: tenant, ml: ml, strategy: strategy, cfg: cfg, base: map[string]string{}}, nil
}

func fingerprint(v map[string]any) string {
	b, _ := json.Marshal(v) // maps marshal with sorted keys
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Sync brings both sides together once.
func (s *Syncer) Sync(ctx context.Context) (*Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, err := s.records.Query(ctx, s.tenant, bridge.PathSync, dwn.Filter{})
	if err != nil {
		return nil, err
	}
	web := map[string]*dwn.Record{}
	webV := map[string]Version{}
	for _, r := range recs {
		var d syncData
		if err := json.Unmarshal(r.Data, &d); err != nil || d.Key == "" {
			s.cfg.log.Warn("feed: unreadable sync record", "record", r.ID, "err", err)
			continue
		}
		t, _ := time.Parse(dwn.TimestampLayout, r.DateUpdated)
		if old, ok := web[d.Key]; ok && old.DateUpdated >= r.DateUpdated {
			continue
		}
		web[d.Key], webV[d.Key] = r, Version{Value: d.Value, Time: t}
	}
	mlV, err := s.ml.Outputs(ctx)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for k := range webV {
		keys[k] = true
	}
	for k := range mlV {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	rep := &Report{}
	var errs []error
	for _, k := range sorted {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		w, wok := webV[k]
		m, mok := mlV[k]
		b := s.base[k]
		switch {
		case wok && !mok:
			if err := s.toML(ctx, rep, k, w); err != nil {
				errs = append(errs, err)
			}
		case mok && !wok:
			_, err := s.records.Create(ctx, s.tenant, bridge.PathSync, syncData{Key: k, Value: m.Value}, bridge.WithRecipient(s.tenant))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			rep.ToWeb5++
			s.base[k] = fingerprint(m.Value)
		default:
			hw, hm := fingerprint(w.Value), fingerprint(m.Value)
			switch {
			case hw == hm:
				s.base[k] = hw
			case hw != b && hm == b:
				if err := s.toML(ctx, rep, k, w); err != nil {
					errs = append(errs, err)
				}
			case hm != b && hw == b:
				s.toWeb5(ctx, rep, web[k], k, m, &errs)
			default:
				c := Conflict{Key: k, Web5: w, ML: m}
				v, err := s.strategy(k, w, m)
				if err != nil {
					c.Err = err
					rep.Conflicts = append(rep.Conflicts, c)
					continue
				}
				c.Kept, c.Decided = v, true
				hv := fingerprint(v.Value)
				c.KeptWeb5, c.KeptML = hv == hw, hv == hm
				lostBefore := rep.Lost
				if hv != hw {
					s.toWeb5(ctx, rep, web[k], k, v, &errs)
				}
				if hv != hm {
					if err := s.toML(ctx, rep, k, v); err != nil {
						errs = append(errs, err)
					}
				}
				c.WriteLost = rep.Lost > lostBefore
				if !c.WriteLost {
					s.base[k] = hv
				}
				rep.Conflicts = append(rep.Conflicts, c)
			}
		}
	}
	return rep, errors.Join(errs...)
}

func (s *Syncer) toML(ctx context.Context, rep *Report, k string, v Version) error {
	if err := s.ml.Put(ctx, k, v); err != nil {
		return fmt.Errorf("feed: sync %s to ML: %w", k, err)
	}
	rep.ToML++
	s.base[k] = fingerprint(v.Value)
	return nil
}

// toWeb5 updates the key's record; a write that loses a race with the tenant's edit is
// counted in rep.Lost and left for the next sync.
func (s *Syncer) toWeb5(ctx context.Context, rep *Report, rec *dwn.Record, k string, v Version, errs *[]error) {
	_, err := s.records.Update(ctx, s.tenant, rec, syncData{Key: k, Value: v.Value})
	if errors.Is(err, dwn.ErrConflict) {
		rep.Lost++
		return
	}
	if err != nil {
		*errs = append(*errs, fmt.Errorf("feed: sync %s to Web5: %w", k, err))
		return
	}
	rep.ToWeb5++
	s.base[k] = fingerprint(v.Value)
}
