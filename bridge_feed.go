package anya

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go/bridge/feed"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/web5/dwn"
)

// pipelineSpec is a records-fed pipeline the host declares (WithPipeline).
type pipelineSpec struct {
	spec   feed.Spec
	scorer feed.Scorer
}

// WithPipeline adds a pipeline fed by the records store (package bridge/feed): every record
// written under spec's protocol and path in a registered identity's store (the bridges'
// protocol by default) that passes its filter and rules has its features computed (CEL) and
// scored by s — an *ml.Engine the host owns, or nil for the Manager's fraud model — and the
// score, with its explanation, is written back to the record's tenant (bridge.PathScore)
// through the ML→Web5 boundary. A spec that does not compile against the model fails New with
// a *feed.SpecError listing every problem. Defaults to none.
func WithPipeline(spec feed.Spec, s feed.Scorer) Option {
	return func(c *config) { c.pipelines = append(c.pipelines, pipelineSpec{spec, s}) }
}

// openPipelines compiles the host's pipelines and feeds them from the records store's events.
func (m *Manager) openPipelines() error {
	for _, ps := range m.cfg.pipelines {
		s := ps.scorer
		if s == nil {
			s = m.fraud.(*engineScorer).e
		}
		p, err := feed.New(ps.spec, m.br.records, m.br.records, s, m.bounds, feed.WithLogger(m.log))
		if err != nil {
			return fmt.Errorf("anya: pipeline %q: %w", ps.spec.Name, err)
		}
		sub, err := p.Subscribe(m.bus, bus.Named("anya.pipeline."+ps.spec.Name))
		if err != nil {
			return err
		}
		m.subs = append(m.subs, sub)
		m.br.pipelines = append(m.br.pipelines, p)
	}
	return nil
}

// Pipelines returns the records-fed pipelines of WithPipeline, in order, with their counters
// (Stats).
func (m *Manager) Pipelines() []*feed.Pipeline {
	return get(m, func() []*feed.Pipeline { return append([]*feed.Pipeline(nil), m.br.pipelines...) })
}

// Sync returns a two-way sync (package bridge/feed) of tenant's sync records
// (bridge.PathSync, written by the host with the tenant as recipient, which the tenant may
// edit) and a model's outputs, ml; both changed since the last sync, a key is decided by
// strategy (feed.LastWriter, feed.PreferWeb5, feed.PreferML or a function). Each call of the
// Syncer's Sync brings both sides together once; a write that loses a race with the tenant's
// concurrent edit is left for the next one. tenant must be a registered identity.
func (m *Manager) Sync(tenant string, ml feed.MLSide, strategy feed.Strategy) (*feed.Syncer, error) {
	if m == nil || !m.built {
		return nil, notConstructed()
	}
	if _, err := m.bridgeGrant(context.Background(), tenant, dwn.MethodWrite); err != nil {
		return nil, fmt.Errorf("%w: %s (register it with AddIdentity)", ErrUnknownIdentity, tenant)
	}
	return feed.NewSyncer(m.br.records, tenant, ml, strategy, feed.WithLogger(m.log))
}
