package anya

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/monitor"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/internal/telemetry"
)

// Defaults of the fraud monitor the Manager runs (WithFraudMonitor).
const (
	// DefaultAlertHistory is how many of the newest fraud alerts the Manager keeps in memory
	// for FraudAlerts (and the console's alerts page); older ones are forgotten.
	DefaultAlertHistory = 256
	// MonitorRetry is how long the Manager waits before it runs the monitor again after the
	// monitor stopped on an error (a checkpoint it could not save, the chain gone); the monitor
	// resumes from its checkpoint.
	MonitorRetry = time.Second
)

// Instruments of the fraud monitor the Manager reports through WithMeterProvider (scope
// github.com/anya-org/anya-go/bridge/monitor), read from Monitor.Stats when the meter collects.
const (
	MetricMonitorScored     = "anya.fraud.monitor.scored"      // {transaction}, counter: transactions scored
	MetricMonitorAlerts     = "anya.fraud.monitor.alerts"      // {alert}, counter: alerts raised
	MetricMonitorRetracted  = "anya.fraud.monitor.retracted"   // {alert}, counter: alerts retracted by reorgs
	MetricMonitorUnscored   = "anya.fraud.monitor.unscored"    // {transaction}, counter, by anya.fraud.reason (denied, failed)
	MetricMonitorBatches    = "anya.fraud.monitor.batches"     // {batch}, counter: micro-batches scored
	MetricMonitorQueueDepth = "anya.fraud.monitor.queue.depth" // {transaction}, gauge: mempool transactions waiting for a batch
	MetricMonitorLag        = "anya.fraud.monitor.lag"         // {block}, gauge: the notifier's tip minus the monitor's checkpoint
)

// attrFraudReason says why the monitor left transactions unscored.
const attrFraudReason = attribute.Key("anya.fraud.reason")

// monitorCheckpoint names the monitor's checkpoint in the host's store.
const monitorCheckpoint = "anya.monitor"

// WithFraudMonitor makes the Manager run the fraud monitor (package bridge/monitor) on the
// transaction stream: every mempool transaction paying a linked address and every transaction
// of every connected block is scored by the Manager's fraud engine, with the sender's identity
// features when the address it spends from is linked, through the monitor's trust boundaries
// (added to the Manager's, audited); scores go to anya.fraud.scored, risks at or above the
// Manager's threshold (WithRiskThreshold) to anya.fraud.alert, and alerts a reorg takes back to
// anya.fraud.retracted. The monitor resumes after a checkpoint in the host's store, runs on a
// goroutine the Manager stops at Close, and with WithJetStream on one host at a time (see the
// package documentation, Fraud monitor). opts are applied after the Manager's own (identities,
// checkpoint, threshold, logger, clock), so they may change any of them.
//
// Defaults to off: scoring every transaction of every block costs an engine call per
// micro-batch and three audited crossings, which a host that only makes payments does not need
// (its payments are scored as they are made).
func WithFraudMonitor(opts ...monitor.Option) Option {
	return func(c *config) {
		c.monitorOn = true
		c.monitorOpts = append(c.monitorOpts, opts...)
	}
}

// FraudAlert is an alert of the fraud monitor, as the Manager's bus brought it, with the
// retraction that withdrew it, if a reorg did.
type FraudAlert struct {
	monitor.Alert
	Retraction *monitor.Retraction `json:"retraction,omitempty"`
}

// monitorHost is what the Manager keeps of its fraud monitor.
type monitorHost struct {
	mon *monitor.Monitor
	cp  *monitorCheckpoints

	// The addresses whose mempool transactions the monitor is given, by output script.
	watchMu sync.Mutex
	scripts map[string][]byte
	changed chan struct{}

	// The newest alerts, oldest first, by ID.
	alertsMu sync.Mutex
	alerts   []FraudAlert

	leaseMu sync.Mutex
	leader  bool // the monitor is running here: always without JetStream, the lease holder with it

	metrics metric.Registration
}

// MonitorHealth is the fraud monitor as Health reports it.
type MonitorHealth struct {
	// Running is false while the monitor waits to run: with WithJetStream, while another host
	// holds the monitor's lease.
	Running bool
	// Checkpoint is the last block the monitor processed and saved as its checkpoint (where it
	// resumes after a restart); Lag is the notifier's tip minus it.
	Checkpoint bitcoin.BlockStamp
	Lag        int32
	// QueueDepth counts the mempool transactions waiting for a micro-batch.
	QueueDepth int
	Stats      monitor.Stats
}

// Monitor returns the fraud monitor the Manager runs (WithFraudMonitor), nil when it runs none.
// Its Stats, Checkpoint and ScoreBlock serve the host; the Manager runs it.
func (m *Manager) Monitor() *monitor.Monitor {
	return get(m, func() *monitor.Monitor {
		if m.mon == nil {
			return nil
		}
		return m.mon.mon
	})
}

// FraudAlerts returns the newest fraud alerts the Manager's bus brought (up to
// DefaultAlertHistory), newest first, each with its retraction if a reorg withdrew it. With
// WithJetStream they include the alerts of the host running the monitor. Empty without
// WithFraudMonitor.
func (m *Manager) FraudAlerts() []FraudAlert {
	if m == nil || m.mon == nil {
		return nil
	}
	h := m.mon
	h.alertsMu.Lock()
	defer h.alertsMu.Unlock()
	out := make([]FraudAlert, 0, len(h.alerts))
	for i := len(h.alerts) - 1; i >= 0; i-- {
		a := h.alerts[i]
		if a.Retraction != nil {
			r := *a.Retraction
			a.Retraction = &r
		}
		out = append(out, a)
	}
	return out
}

// openMonitor builds the fraud monitor from the Manager's chain, notifier, bus, fraud engine
// and boundaries, with the link index as its identities and its checkpoint in the host's
// store, and starts it.
func (m *Manager) openMonitor(ctx context.Context) error {
	if !m.cfg.monitorOn {
		return nil
	}
	es, ok := m.fraud.(*engineScorer)
	if !ok {
		return &OptionError{Option: "WithFraudMonitor", Reason: "the fraud model is not scored by an ml.Engine"}
	}
	h := &monitorHost{scripts: map[string][]byte{}, changed: make(chan struct{}, 1)}
	h.cp = &monitorCheckpoints{m: m}
	opts := append([]monitor.Option{monitor.WithIdentities(monitorIdentities{m}), monitor.WithCheckpoints(h.cp),
		monitor.WithThreshold(m.cfg.riskThreshold), monitor.WithLogger(m.log), monitor.WithClock(m.now)}, m.cfg.monitorOpts...)
	mon, err := monitor.New(m.chain, m.notifier, m.bus, es.e, m.bounds, opts...)
	if err != nil {
		var oe *monitor.OptionError
		if errors.As(err, &oe) {
			return &OptionError{Option: "WithFraudMonitor", Value: oe.Option, Reason: oe.Error()}
		}
		return err
	}
	h.mon = mon
	m.mon = h
	if err := m.monitorMetrics(); err != nil {
		return err
	}
	// The alerts the bus brings, this host's monitor's or (with JetStream) another host's.
	alerts, err := bus.Subscribe(m.bus, monitor.TopicAlert, func(_ context.Context, e bus.Envelope[monitor.Alert]) error {
		h.addAlert(e.Payload)
		return nil
	}, bus.Named("anya.fraud.alerts"))
	if err != nil {
		return err
	}
	m.subs = append(m.subs, alerts)
	retracted, err := bus.Subscribe(m.bus, monitor.TopicRetracted, func(_ context.Context, e bus.Envelope[monitor.Retraction]) error {
		h.retract(e.Payload)
		return nil
	}, bus.Named("anya.fraud.retractions"))
	if err != nil {
		return err
	}
	m.subs = append(m.subs, retracted)
	// The linked addresses known at start; Link adds the new ones.
	dids, err := m.registeredDIDs(ctx)
	if err != nil {
		return err
	}
	for _, d := range dids {
		for _, a := range m.br.linker.Index().Addresses(d) {
			if addr, err := bitcoin.ParseAddress(a, m.net); err == nil {
				m.watchLinked(addr)
			}
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { m.watchMempool(runCtx) })
	wg.Go(func() { m.runMonitor(runCtx) })
	m.onStop(func() error {
		cancel()
		wg.Wait()
		if h.metrics != nil {
			return h.metrics.Unregister()
		}
		return nil
	})
	return nil
}

// registeredDIDs returns the identities that gave the host the bridges' grants, and those whose
// keys it holds.
func (m *Manager) registeredDIDs(ctx context.Context) ([]string, error) {
	rows, err := m.stateDB.QueryContext(ctx, `SELECT did FROM anya_bridge_grants`)
	if err != nil {
		return nil, fmt.Errorf("anya: registered identities: %w", err)
	}
	defer rows.Close()
	var dids []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("anya: registered identities: %w", err)
		}
		dids = append(dids, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("anya: registered identities: %w", err)
	}
	for _, d := range m.Identities() {
		if !slices.Contains(dids, d) {
			dids = append(dids, d)
		}
	}
	return dids, nil
}

// watchLinked gives the monitor the mempool transactions paying addr (a linked address): its
// payments out, through their change, and those it receives.
func (m *Manager) watchLinked(addr bitcoin.Address) {
	if m.mon == nil {
		return
	}
	h := m.mon
	h.watchMu.Lock()
	defer h.watchMu.Unlock()
	s := addr.PkScript()
	if _, ok := h.scripts[string(s)]; ok {
		return
	}
	h.scripts[string(s)] = s
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// watchMempool keeps one notifier watch of the linked addresses' scripts, renewed when one is
// added. The notifier publishes what it reports on its bus (bitcoin.TopicMempoolTx), where the
// monitor takes it; with JetStream the notifier's bus is the host's own, and the reports are
// forwarded to the shared bus under IDs derived from their txids, so that the hosts' copies
// are one message for the monitor wherever it runs.
func (m *Manager) watchMempool(ctx context.Context) {
	h := m.mon
	var reg *bitcoin.Registration[bitcoin.MempoolTx]
	defer func() {
		if reg != nil {
			reg.Cancel()
		}
	}()
	for {
		var events <-chan bitcoin.MempoolTx
		if reg != nil {
			events = reg.Events()
		}
		select {
		case <-ctx.Done():
			return
		case <-h.changed:
			h.watchMu.Lock()
			scripts := make([][]byte, 0, len(h.scripts))
			for _, s := range h.scripts {
				scripts = append(scripts, s)
			}
			h.watchMu.Unlock()
			next, err := m.notifier.WatchMempool(ctx, scripts)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, bitcoin.ErrClosed) {
					return
				}
				m.log.Warn("anya: watch the mempool of the linked addresses", "err", err)
				continue
			}
			if reg != nil {
				reg.Cancel()
			}
			reg = next
		case ev, ok := <-events:
			if !ok {
				reg = nil
				continue
			}
			if m.js == nil {
				continue // the notifier published it on the Manager's bus
			}
			if err := bus.Publish(ctx, m.bus, bitcoin.TopicMempoolTx, ev, bus.WithKey(ev.Txid.String()),
				bus.WithID(bus.DerivedID(bitcoin.TopicMempoolTx+"/"+ev.Txid.String())), bus.WithSource(bitcoin.BusSource)); err != nil &&
				ctx.Err() == nil && !errors.Is(err, bus.ErrClosed) {
				m.log.Warn("anya: forward a mempool transaction", "txid", ev.Txid, "err", err)
			}
		}
	}
}

// runMonitor runs the monitor until ctx ends, again after MonitorRetry when it stops on an
// error; with JetStream, only while this host holds the monitor's lease, so that one host at a
// time scores the blocks and raises the alerts.
func (m *Manager) runMonitor(ctx context.Context) {
	m.lead(ctx, lease{bucket: "monitor", about: "anya fraud monitor: the lease of the host running it", name: "fraud monitor"},
		MonitorRetry, m.mon.setLeader, m.mon.mon.Run)
}

func (h *monitorHost) setLeader(v bool) {
	h.leaseMu.Lock()
	h.leader = v
	h.leaseMu.Unlock()
}

func (h *monitorHost) running() bool {
	h.leaseMu.Lock()
	defer h.leaseMu.Unlock()
	return h.leader
}

// addAlert keeps an alert, once by ID, forgetting the oldest beyond DefaultAlertHistory.
func (h *monitorHost) addAlert(a monitor.Alert) {
	h.alertsMu.Lock()
	defer h.alertsMu.Unlock()
	for _, k := range h.alerts {
		if k.ID == a.ID {
			return
		}
	}
	h.alerts = append(h.alerts, FraudAlert{Alert: a})
	if n := len(h.alerts) - DefaultAlertHistory; n > 0 {
		h.alerts = slices.Delete(h.alerts, 0, n)
	}
}

// retract marks the alert r withdraws.
func (h *monitorHost) retract(r monitor.Retraction) {
	h.alertsMu.Lock()
	defer h.alertsMu.Unlock()
	for i := range h.alerts {
		if h.alerts[i].ID == r.AlertID {
			h.alerts[i].Retraction = &r
			return
		}
	}
}

// monitorHealth reports the monitor; nil when the Manager runs none.
func (m *Manager) monitorHealth() *MonitorHealth {
	if m.mon == nil {
		return nil
	}
	mon := m.mon.mon
	mh := &MonitorHealth{Running: m.mon.running(), Checkpoint: m.mon.cp.last(), QueueDepth: mon.QueueDepth(), Stats: mon.Stats()}
	if tip := m.notifier.Tip(); !mh.Checkpoint.IsZero() && tip.Height > mh.Checkpoint.Height {
		mh.Lag = tip.Height - mh.Checkpoint.Height
	}
	return mh
}

// monitorMetrics registers the monitor's instruments, read from its counters when the meter
// collects.
func (m *Manager) monitorMetrics() error {
	if m.cfg.meterProv == nil || telemetry.IsNoopMeterProvider(m.cfg.meterProv) {
		return nil
	}
	meter := telemetry.Meter(m.cfg.meterProv, "bridge/monitor")
	counter := func(name, unit, desc string) (metric.Int64ObservableCounter, error) {
		return meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	}
	scored, err := counter(MetricMonitorScored, "{transaction}", "Transactions the fraud monitor scored, each once.")
	if err != nil {
		return err
	}
	alerts, err := counter(MetricMonitorAlerts, "{alert}", "Fraud alerts raised: risk at or above the threshold.")
	if err != nil {
		return err
	}
	retracted, err := counter(MetricMonitorRetracted, "{alert}", "Fraud alerts withdrawn by reorgs.")
	if err != nil {
		return err
	}
	unscored, err := counter(MetricMonitorUnscored, "{transaction}", "Transactions left unscored: a boundary denied their batch, or scoring failed.")
	if err != nil {
		return err
	}
	batches, err := counter(MetricMonitorBatches, "{batch}", "Micro-batches the fraud monitor scored.")
	if err != nil {
		return err
	}
	depth, err := meter.Int64ObservableGauge(MetricMonitorQueueDepth, metric.WithUnit("{transaction}"),
		metric.WithDescription("Mempool transactions waiting for a micro-batch."))
	if err != nil {
		return err
	}
	lag, err := meter.Int64ObservableGauge(MetricMonitorLag, metric.WithUnit("{block}"),
		metric.WithDescription("Blocks the notifier has that the fraud monitor has not processed."))
	if err != nil {
		return err
	}
	denied, failed := telemetry.Set(attrFraudReason.String("denied")), telemetry.Set(attrFraudReason.String("failed"))
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		h := m.monitorHealth()
		st := h.Stats
		o.ObserveInt64(scored, int64(st.Scored))
		o.ObserveInt64(alerts, int64(st.Alerts))
		o.ObserveInt64(retracted, int64(st.Retracted))
		o.ObserveInt64(unscored, int64(st.Denied), denied)
		o.ObserveInt64(unscored, int64(st.Failed), failed)
		o.ObserveInt64(batches, int64(st.Batches))
		o.ObserveInt64(depth, int64(h.QueueDepth))
		o.ObserveInt64(lag, int64(h.Lag))
		return nil
	}, scored, alerts, retracted, unscored, batches, depth, lag)
	if err != nil {
		return err
	}
	m.mon.metrics = reg
	return nil
}

// monitorIdentities are the monitor's identities: the link index for the DID an address is
// linked to, the Manager's identity features for the DID.
type monitorIdentities struct{ m *Manager }

func (i monitorIdentities) Owner(_ context.Context, address string) (string, error) {
	if dids := i.m.br.linker.Index().DIDs(address); len(dids) > 0 {
		return dids[0], nil
	}
	return "", nil
}

func (i monitorIdentities) Features(ctx context.Context, d, address string) (map[string]float64, error) {
	return i.m.identityFeatures(ctx, d, address)
}

// monitorCheckpoints keeps the monitor's checkpoint as a record in the host's store (with
// WithJetStream, the shared one): each Run loads it afresh, so that the host that takes the
// monitor over resumes where the last one stopped.
type monitorCheckpoints struct {
	m     *Manager
	mu    sync.Mutex
	cur   *bridge.Checkpoint
	saved bitcoin.BlockStamp // as last loaded or saved
}

// last returns the checkpoint as last loaded or saved: where a restarted monitor resumes.
func (c *monitorCheckpoints) last() bitcoin.BlockStamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.saved
}

func (c *monitorCheckpoints) Load(ctx context.Context) (bitcoin.BlockStamp, error) {
	cp, err := bridge.NewCheckpoint(c.m.br.records, c.m.host.String(), monitorCheckpoint)
	if err != nil {
		return bitcoin.BlockStamp{}, err
	}
	c.mu.Lock()
	c.cur = cp
	c.mu.Unlock()
	b, err := cp.Load(ctx)
	if err != nil || b.IsZero() {
		return b, err
	}
	// A checkpoint the chain does not know (a new chain under an old data directory) is
	// dropped: the monitor starts at the tip.
	if _, herr := c.m.chain.BlockHeader(ctx, b.Hash); herr != nil {
		if ctx.Err() != nil {
			return bitcoin.BlockStamp{}, ctx.Err()
		}
		c.m.log.Warn("anya: the fraud monitor's checkpoint is unknown to the chain; following from its tip", "checkpoint", b, "err", herr)
		return bitcoin.BlockStamp{}, nil
	}
	c.mu.Lock()
	c.saved = b
	c.mu.Unlock()
	return b, nil
}

func (c *monitorCheckpoints) Save(ctx context.Context, b bitcoin.BlockStamp) error {
	c.mu.Lock()
	cp := c.cur
	c.mu.Unlock()
	if cp == nil {
		var err error
		if cp, err = bridge.NewCheckpoint(c.m.br.records, c.m.host.String(), monitorCheckpoint); err != nil {
			return err
		}
	}
	if err := cp.Save(ctx, b); err != nil {
		return err
	}
	c.mu.Lock()
	c.saved = b
	c.mu.Unlock()
	return nil
}
