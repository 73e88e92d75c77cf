package anya

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/analysis"
	"github.com/anya-org/anya-go/bridge/feed"
	"github.com/anya-org/anya-go/bridge/handler"
	"github.com/anya-org/anya-go/bridge/link"
	"github.com/anya-org/anya-go/bridge/trigger"
	"github.com/anya-org/anya-go/bridge/utxo"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/ml/featurestore"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/vc"
)

// TopicBridgeBlock is the topic of the event the Manager publishes once its bridges have
// processed a block event (source EventSource): the UTXO records of linked addresses updated
// (or undone, for a disconnect), the triggers fired and, with WithBlockAnalysis, the block
// analysed. Its payload is a BridgeBlock.
const TopicBridgeBlock = "anya.bridge.block"

// TopicLinkChanged is the topic of the event the Manager publishes when a link was made
// (BitcoinToWeb5) or revoked (RevokeLink) through it. Its payload is a LinkChange. With
// WithJetStream every host hears it: the others read the DID's links again from the shared
// records store, so their reverse index (Links().Index()) and cached identities follow.
const TopicLinkChanged = "anya.link.changed"

// LinkChange is the payload of TopicLinkChanged.
type LinkChange struct {
	DID     string
	Address string
	Revoked bool `json:",omitempty"`
}

// BridgeBlock is the payload of TopicBridgeBlock.
type BridgeBlock struct {
	// Block is the block processed; Connected is false for a block a reorg disconnected.
	Block     bitcoin.BlockStamp
	Connected bool
	// Triggers are the outcomes of the triggers that fired on the block's transactions, in
	// block order (none for a disconnect).
	Triggers []TriggerOutcome `json:",omitempty"`
	// Handled are what the host's event handlers (WithEventHandler) did with the block's
	// transactions, in block order.
	Handled []HandledEvent `json:",omitempty"`
	// Undone counts the transaction records the disconnect deleted from linked DIDs' stores.
	Undone int `json:",omitempty"`
	// Retracted are the trigger side effects that had run for the disconnected block's
	// transactions, taken back (see TriggerRetraction).
	Retracted []TriggerRetraction `json:",omitempty"`
}

// TriggerOutcome is what one trigger did with an event: see trigger.Outcome. Err is its error
// as text.
type TriggerOutcome struct {
	Event    string
	Trigger  string
	Result   any    `json:",omitempty"`
	Denied   bool   `json:",omitempty"`
	Repeated bool   `json:",omitempty"`
	Err      string `json:",omitempty"`
}

// bridgeCheckpoint names the block pipeline's checkpoint in the host's store.
const bridgeCheckpoint = "anya.bridges"

// bridgeMigrations are the bridges' tables in the state database; append only.
var bridgeMigrations = []string{`
-- The grants each registered identity gave the host for the bridges' protocol
-- (bridge.ProtocolURI), read back at every start (the SQLite stateBackend's).
CREATE TABLE anya_bridge_grants (
	did          TEXT PRIMARY KEY,
	write_grant  TEXT NOT NULL,
	read_grant   TEXT NOT NULL,
	query_grant  TEXT NOT NULL,
	delete_grant TEXT NOT NULL
) WITHOUT ROWID;
-- Labelled decisions for training: an entity of the feature store (a payment the fraud model
-- scored), when it was scored, and its label (1: reported as fraud or disputed).
CREATE TABLE anya_labels (
	entity TEXT PRIMARY KEY,
	time   INTEGER NOT NULL,
	label  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
`, `
-- The next entry of the links' revocation list to hand out (stateBackend.linkEntry).
CREATE TABLE anya_link_entries (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	next INTEGER NOT NULL
);
`}

// bridges is what the Manager wires of the bridge packages (see the package documentation,
// "Bridges").
type bridges struct {
	records   *bridge.Records // the host's records client for bridge.ProtocolURI
	book      bridge.GrantBook
	cp        *bridge.Checkpoint
	linker    *link.Linker
	utxo      *utxo.Bridge
	once      *handler.Store
	triggers  *trigger.Engine
	handlers  *handler.Dispatcher // nil without WithEventHandler
	analyzer  *analysis.Analyzer
	features  *featurestore.Store
	learn     learner
	pipelines []*feed.Pipeline

	// setupMu serialises the bridge setup of identities, which signs grants as each one.
	setupMu sync.Mutex
	// musig holds the MuSig2 signing sessions of the identities the Manager signs as
	// (bridge_multisig.go).
	musig musigSessions
	// blockTxs are the transactions of the block whose triggers fire, by txid.
	blockTxs sync.Map
	// The last block event the pipeline applied, and a channel closed when it changes.
	atMu    sync.Mutex
	at      bitcoin.BlockStamp
	atMoved chan struct{}
	// docs are the digests of the registered identities' documents as last resolved.
	docs sync.Map
	// stamps dates the bridges' records-store messages.
	stamps stamps
	// leading is set while this host applies the blocks to the bridges: always without
	// JetStream; with it, while the host holds the bridges' lease.
	leading atomic.Bool
}

// stamps hands out strictly increasing times from a clock: a record updated twice within the
// clock's resolution (a checkpoint moved by two blocks in a row, under a clock that a test
// holds still) gets a later timestamp each time, as the records store requires.
type stamps struct {
	mu   sync.Mutex
	last time.Time
}

func (s *stamps) now(clock func() time.Time) func() time.Time {
	return func() time.Time {
		t := clock().UTC().Truncate(time.Microsecond)
		s.mu.Lock()
		defer s.mu.Unlock()
		if !t.After(s.last) {
			t = s.last.Add(time.Microsecond)
		}
		s.last = t
		return t
	}
}

// openBridges wires the bridges: the host's records client (with the grants every registered
// identity gave it), the two-way linker and its index, the UTXO bridge, the trigger engine
// with its once-per-event store, the analyzer, the feature store and its recorders.
func (m *Manager) openBridges(ctx context.Context) error {
	if err := sqlitex.Migrate(ctx, m.stateDB, "anya_bridges", bridgeMigrations); err != nil {
		return err
	}
	var err error
	if m.br.records, err = bridge.NewRecords(guardedNode{m}, m.host, bridge.WithClock(m.br.stamps.now(m.now)),
		bridge.WithGrants(m.bridgeGrant)); err != nil {
		return err
	}
	if _, err := bridge.Setup(ctx, m.node, m.host, "", 0, m.now); err != nil {
		return err
	}
	if m.br.cp, err = bridge.NewCheckpoint(m.br.records, m.host.String(), bridgeCheckpoint); err != nil {
		return err
	}
	dids, err := m.loadBridgeGrants(ctx)
	if err != nil {
		return err
	}
	// The identities whose keys the Manager holds, registered before their stores had the
	// bridges' protocol (a data directory of an earlier version), get it now.
	for _, d := range m.Identities() {
		if _, err := m.br.book.Lookup(ctx, d, dwn.MethodWrite); err == nil {
			continue
		}
		id, err := m.Identity(d)
		if err != nil {
			continue
		}
		if err := m.setupBridges(ctx, id.DID); err != nil {
			return err
		}
		dids = append(dids, d)
	}
	lopts := []link.Option{link.WithChallengeKey(m.challengeKey), link.WithClock(m.now), link.WithLogger(m.log),
		link.WithChallengeTTL(DefaultChallengeTTL), link.WithValidity(DefaultLinkValidity), link.WithTrustedIssuers(m.cfg.trusted...),
		link.WithSharedStore(m.js != nil)}
	if m.js != nil {
		// Hosts linking at the same moment take distinct entries of the one revocation list.
		lopts = append(lopts, link.WithEntries(m.state.linkEntry))
	}
	if m.br.linker, err = link.New(ctx, m.host, m.resolver, m.br.records, m.net, lopts...); err != nil {
		return err
	}
	if m.br.utxo, err = utxo.New(m.chain, m.br.records, utxo.WithLogger(m.log)); err != nil {
		return err
	}
	if m.br.once, err = handler.NewStore(ctx, m.stateDB); err != nil {
		return err
	}
	m.onClose(m.br.once.Close)
	if err := m.openTriggers(ctx); err != nil {
		return err
	}
	aopts := []analysis.Option{analysis.WithOwners(m.br.linker.Index().Owners), analysis.WithFeatures(m.extractor),
		analysis.WithWeb5(m.analysisWeb5), analysis.WithML(m.analysisML)}
	if m.br.analyzer, err = analysis.New(m.chain, m.bounds, m.net, aopts...); err != nil {
		return err
	}
	if err := m.openLearn(ctx); err != nil {
		return err
	}
	if err := m.openPipelines(); err != nil {
		return err
	}
	// The links and UTXO records of the registered identities, as the stores hold them.
	if err := m.br.linker.Load(ctx, dids...); err != nil {
		if ctx.Err() != nil {
			return err
		}
		m.log.Warn("anya: links left out at start", "err", err)
	}
	if err := m.br.utxo.Load(ctx, dids...); err != nil {
		m.log.Warn("anya: UTXO records left out at start", "err", err)
	}
	if err := m.followLinks(); err != nil {
		return err
	}
	return m.trackLinked(ctx, dids...)
}

// publishLink publishes the TopicLinkChanged event of a link made or revoked.
func (m *Manager) publishLink(ctx context.Context, ch LinkChange) {
	if err := bus.Publish(ctx, m.bus, TopicLinkChanged, ch, bus.WithKey(ch.DID), bus.WithSource(EventSource)); err != nil &&
		!errors.Is(err, bus.ErrClosed) {
		m.log.Warn("anya: publish", "topic", TopicLinkChanged, "err", err)
	}
}

// followLinks makes a host sharing its state (WithJetStream) follow the links made and revoked
// through the others: on their TopicLinkChanged event it reads the DID's links again into its
// index and drops the DID's cached identity.
func (m *Manager) followLinks() error {
	if m.js == nil {
		return nil
	}
	sub, err := bus.Subscribe(m.bus, TopicLinkChanged, func(ctx context.Context, e bus.Envelope[LinkChange]) error {
		d := e.Payload.DID
		m.invalidateIdentity(d)
		if err := m.br.linker.Refresh(ctx, d); err != nil && ctx.Err() == nil {
			m.log.Warn("anya: read the links of a DID again", "did", d, "err", err)
		}
		if m.br.leading.Load() {
			m.retrack(ctx, d)
		}
		return nil
	}, bus.Named("anya.links"))
	if err != nil {
		return err
	}
	m.subs = append(m.subs, sub)
	// The hosts that do not apply the blocks follow the one that does: WaitBridges returns
	// once the shared checkpoint has moved.
	moved, err := bus.Subscribe(m.bus, TopicBridgeBlock, func(ctx context.Context, _ bus.Envelope[BridgeBlock]) error {
		if m.br.leading.Load() {
			return nil
		}
		at, err := m.br.cp.Refresh(ctx)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("anya: read the bridges' checkpoint", "err", err)
			}
			return nil
		}
		m.moveBridges(at)
		return nil
	}, bus.Named("anya.bridges.follow"))
	if err != nil {
		return err
	}
	m.subs = append(m.subs, moved)
	return nil
}

// retrack brings the UTXO bridge of the host applying the blocks up to date with d's links,
// when they were made or revoked through another host: the records that host wrote are read
// again, the addresses linked since are tracked, those no longer linked are not.
func (m *Manager) retrack(ctx context.Context, d string) {
	if err := m.br.utxo.Reload(ctx, d); err != nil && ctx.Err() == nil {
		m.log.Warn("anya: read the UTXO records of a DID again", "did", d, "err", err)
	}
	linked := m.br.linker.Index().Addresses(d)
	for _, a := range m.br.utxo.Addresses(d) {
		if !slices.Contains(linked, a.String()) {
			if err := m.br.utxo.Untrack(ctx, d, a); err != nil && ctx.Err() == nil {
				m.log.Warn("anya: stop tracking the UTXOs of a revoked link", "did", d, "address", a.String(), "err", err)
			}
		}
	}
	if err := m.trackLinked(ctx, d); err != nil && ctx.Err() == nil {
		m.log.Warn("anya: track the UTXOs of a DID's linked addresses", "did", d, "err", err)
	}
}

// trackLinked makes the UTXO bridge track every address the index links to dids.
func (m *Manager) trackLinked(ctx context.Context, dids ...string) error {
	for _, d := range dids {
		for _, a := range m.br.linker.Index().Addresses(d) {
			addr, err := bitcoin.ParseAddress(a, m.net)
			if err != nil {
				continue
			}
			if err := m.br.utxo.Track(ctx, d, addr); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				m.log.Warn("anya: track the UTXOs of a linked address", "did", d, "address", a, "err", err)
			}
		}
	}
	return nil
}

// loadBridgeGrants puts the stored bridge grants in the grant book and returns their DIDs.
func (m *Manager) loadBridgeGrants(ctx context.Context) ([]string, error) {
	all, err := m.state.bridgeGrants(ctx)
	if err != nil {
		return nil, err
	}
	dids := make([]string, 0, len(all))
	for d, g := range all {
		m.br.book.Add(d, g)
		dids = append(dids, d)
	}
	slices.Sort(dids)
	return dids, nil
}

// bridgeGrant is the bridges' GrantFunc: the grant book, and with WithJetStream, on a miss, the
// grants another host took since this one started (kept in the shared state).
func (m *Manager) bridgeGrant(ctx context.Context, tenant, method string) (string, error) {
	id, err := m.br.book.Lookup(ctx, tenant, method)
	if err == nil || m.js == nil {
		return id, err
	}
	g, ok, serr := m.state.bridgeGrant(ctx, tenant)
	if serr != nil {
		return "", serr
	}
	if !ok {
		return "", err
	}
	m.br.book.Add(tenant, g)
	return m.br.book.Lookup(ctx, tenant, method)
}

// setupBridges installs the bridges' protocol in b's store and takes grants for the host,
// once per identity: the grants are kept in the state, and hosts sharing it (WithJetStream)
// that set up one identity at once all use the grants stored first (the others' stay unused in
// the identity's store until they expire).
func (m *Manager) setupBridges(ctx context.Context, b *did.BearerDID) error {
	d := b.String()
	if _, err := m.br.book.Lookup(ctx, d, dwn.MethodWrite); err == nil {
		return nil
	}
	m.br.setupMu.Lock()
	defer m.br.setupMu.Unlock()
	g, ok, err := m.state.bridgeGrant(ctx, d)
	if err != nil {
		return err
	}
	if ok {
		m.br.book.Add(d, g)
		return nil
	}
	if g, err = bridge.Setup(ctx, m.node, b, m.host.String(), DefaultGrantValidity, m.now); err != nil {
		return err
	}
	if g, err = m.state.putBridgeGrant(ctx, d, g); err != nil {
		return fmt.Errorf("anya: store the bridge grants of %s: %w", d, err)
	}
	m.br.book.Add(d, g)
	return nil
}

// startBridges starts the block pipeline: a goroutine following the notifier from the
// bridges' checkpoint, so that a restarted host replays every block it missed.
func (m *Manager) startBridges(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.leadBridges(ctx)
	}()
	m.onStop(func() error {
		cancel()
		<-done
		return nil
	})
	return m.startLearn()
}

// bridgeRetry is how long the block pipeline waits before it tries again after a failure.
const bridgeRetry = time.Second

// leadBridges runs the block pipeline until ctx ends; with JetStream only while this host
// holds the bridges' lease (hosts sharing their state apply each block to the bridges once, on
// one host at a time, as they score it once with the fraud monitor). A host that takes the
// lease over reads the checkpoint, the grants and the UTXO records the previous holder left
// before it follows the blocks from there.
func (m *Manager) leadBridges(ctx context.Context) {
	m.lead(ctx, lease{bucket: "bridges", about: "anya bridges: the lease of the host applying the blocks", name: "bridges' block pipeline"},
		bridgeRetry, m.br.leading.Store, func(ctx context.Context) error {
			if m.js != nil {
				if err := m.takeOverBridges(ctx); err != nil {
					return err
				}
			}
			return m.followBlocks(ctx)
		})
}

// takeOverBridges reads again what another host holding the bridges' lease may have changed:
// the checkpoint, the identities' grants, their UTXO records and the addresses to track.
func (m *Manager) takeOverBridges(ctx context.Context) error {
	if _, err := m.br.cp.Refresh(ctx); err != nil {
		return err
	}
	dids, err := m.loadBridgeGrants(ctx)
	if err != nil {
		return err
	}
	if err := m.br.utxo.Reload(ctx, dids...); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m.log.Warn("anya: UTXO records left out", "err", err)
	}
	return m.trackLinked(ctx, dids...)
}

// followBlocks applies every block event to the bridges, in chain order, from the checkpoint,
// until ctx ends (it returns ctx.Err()) or the chain closes (bitcoin.ErrClosed); after a
// failure it starts again from the checkpoint.
func (m *Manager) followBlocks(ctx context.Context) error {
	for {
		from, err := m.br.cp.Load(ctx)
		if err == nil && !from.IsZero() {
			if _, herr := m.chain.BlockHeader(ctx, from.Hash); herr != nil {
				m.log.Warn("anya: bridges' checkpoint unknown to the chain; following from its tip", "checkpoint", from, "err", herr)
				from = bitcoin.BlockStamp{}
			}
		}
		if err == nil {
			for ev, ierr := range m.notifier.Blocks(ctx, from) {
				if ierr != nil {
					err = ierr
					break
				}
				if err = m.applyBridges(ctx, ev); err != nil {
					break
				}
			}
		}
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, bitcoin.ErrClosed):
			return err
		}
		m.log.Warn("anya: bridges' block pipeline; retrying from the checkpoint", "err", err)
		t := time.NewTimer(bridgeRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// applyBridges applies one block event: a connect updates the UTXO records, then fires the
// triggers on the block's transactions (and analyses it, with WithBlockAnalysis); a
// disconnect undoes the transaction records the block's triggers wrote, then the UTXO
// records. The checkpoint moves last, so a crash replays the block, which changes nothing
// twice.
func (m *Manager) applyBridges(ctx context.Context, ev bitcoin.BlockEvent) error {
	out := BridgeBlock{}
	switch e := ev.(type) {
	case bitcoin.BlockConnected:
		out.Block, out.Connected = e.Stamp(), true
		if err := m.br.utxo.Apply(ctx, ev); err != nil {
			return err
		}
		blk, err := m.chain.Block(ctx, e.Hash)
		if err != nil {
			return fmt.Errorf("anya: block %s: %w", e.Hash, err)
		}
		stamp := e.Stamp()
		// Every transaction but the coinbase fires the triggers; their actions find the
		// block's transactions here rather than on the chain.
		for _, tx := range blk.Transactions[min(1, len(blk.Transactions)):] {
			txid := tx.TxHash().String()
			m.br.blockTxs.Store(txid, tx)
			tev := trigger.TxEvent(tx, &stamp, m.net, m.br.linker.Index().Owners, m.now())
			outs, err := m.br.triggers.Fire(ctx, tev)
			var handled *HandledEvent
			if err == nil {
				handled, err = m.dispatch(ctx, tev)
			}
			m.br.blockTxs.Delete(txid)
			if err != nil {
				return err
			}
			if handled != nil {
				out.Handled = append(out.Handled, *handled)
			}
			for _, o := range outs {
				if o.Err != nil {
					m.log.Warn("anya: trigger", "trigger", o.Trigger, "event", tev.ID, "denied", o.Denied, "err", o.Err)
				}
				out.Triggers = append(out.Triggers, triggerOutcome(tev.ID, o))
			}
		}
		if m.cfg.blockAnalysis {
			res, err := m.br.analyzer.AnalyzeBlock(ctx, stamp)
			if err != nil {
				return err
			}
			if err := bus.Publish(ctx, m.bus, TopicBlockAnalysed, res, bus.WithKey(stamp.Hash.String()), bus.WithSource(EventSource)); err != nil &&
				!errors.Is(err, bus.ErrClosed) {
				m.log.Warn("anya: publish", "topic", TopicBlockAnalysed, "err", err)
			}
		}
	case bitcoin.BlockDisconnected:
		out.Block = e.Stamp()
		n, retracted, err := m.undoBlock(ctx, e)
		if err != nil {
			return err
		}
		out.Undone, out.Retracted = n, retracted
		if err := m.br.utxo.Apply(ctx, ev); err != nil {
			return err
		}
	default:
		return nil
	}
	next := out.Block
	if !out.Connected {
		next = bitcoin.BlockStamp{Height: out.Block.Height - 1, Hash: ev.(bitcoin.BlockDisconnected).Header.PrevBlock}
	}
	if err := m.br.cp.Save(ctx, next); err != nil {
		return err
	}
	m.moveBridges(next)
	if err := bus.Publish(ctx, m.bus, TopicBridgeBlock, out, bus.WithKey(out.Block.Hash.String()), bus.WithSource(EventSource)); err != nil &&
		!errors.Is(err, bus.ErrClosed) {
		m.log.Warn("anya: publish", "topic", TopicBridgeBlock, "err", err)
	}
	return nil
}

func triggerOutcome(event string, o trigger.Outcome) TriggerOutcome {
	t := TriggerOutcome{Event: event, Trigger: o.Trigger, Result: o.Result, Denied: o.Denied, Repeated: o.Repeated}
	if o.Err != nil {
		t.Err = o.Err.Error()
	}
	return t
}

// blockOf reads the block hash out of a transaction event's ID ("bitcoin.tx/<txid>/<hash>").
func blockOf(eventID string) (chainhash.Hash, bool) {
	const prefix = trigger.KindTx + "/"
	if len(eventID) != len(prefix)+64+1+64 || eventID[:len(prefix)] != prefix {
		return chainhash.Hash{}, false
	}
	h, err := chainhash.NewHashFromStr(eventID[len(prefix)+65:])
	if err != nil {
		return chainhash.Hash{}, false
	}
	return *h, true
}

// The accessors of the bridges. For a Manager New did not create they return nil.

// Links returns the two-way linker: the links the Manager issued, their revocation list, and
// the reverse index (Links().Index(): address → DIDs, DID → addresses, link metadata).
func (m *Manager) Links() *link.Linker { return get(m, func() *link.Linker { return m.br.linker }) }

// UTXOs returns the UTXO bridge keeping the confirmed UTXOs of linked addresses as records
// in their DIDs' stores (Set returns one address's set as its record holds it).
func (m *Manager) UTXOs() *utxo.Bridge { return get(m, func() *utxo.Bridge { return m.br.utxo }) }

// BridgeRecords returns the host's client of the bridges' records (bridge.ProtocolURI) in
// the stores of the registered identities, under the grants they gave the host.
func (m *Manager) BridgeRecords() *bridge.Records {
	return get(m, func() *bridge.Records { return m.br.records })
}

// Triggers returns the trigger engine: the Manager fires it on every transaction of every
// block (trigger.TxEvent), on its identities' DID document changes (trigger.DIDEvent) and on
// records-store events (trigger.RecordEvent); hosts may fire their own events.
func (m *Manager) Triggers() *trigger.Engine {
	return get(m, func() *trigger.Engine { return m.br.triggers })
}

// Analyzer returns the chain analyzer whose Web5 and ML legs the Manager provides (see
// WithBlockAnalysis).
func (m *Manager) Analyzer() *analysis.Analyzer {
	return get(m, func() *analysis.Analyzer { return m.br.analyzer })
}

// FeatureStore returns the feature store the Manager writes every scored vector to (see
// FeaturesFile).
func (m *Manager) FeatureStore() *featurestore.Store {
	return get(m, func() *featurestore.Store { return m.br.features })
}

// guardedNode is the records store as the bridges reach it: through the records store's
// circuit breaker (BreakerRecords).
type guardedNode struct{ m *Manager }

func (g guardedNode) Process(ctx context.Context, tenant string, msg *dwn.Message) (*dwn.Reply, error) {
	return guard(ctx, g.m, BreakerRecords, func(ctx context.Context) (*dwn.Reply, error) {
		return g.m.node.Process(ctx, tenant, msg)
	})
}

func (g guardedNode) ProcessIfLatest(ctx context.Context, tenant string, msg *dwn.Message, latest string) (*dwn.Reply, error) {
	return guard(ctx, g.m, BreakerRecords, func(ctx context.Context) (*dwn.Reply, error) {
		return g.m.node.ProcessIfLatest(ctx, tenant, msg, latest)
	})
}

// statusLists fetches status list credentials for the Manager's verifier: the host's own
// revocation list of links from its linker, as it is now (with WithJetStream, as the shared
// store holds it), the others with
// WithCredentialStatus's fetcher.
func (m *Manager) statusLists() vc.StatusListFetcher {
	return vc.StatusListFetcherFunc(func(ctx context.Context, url string) (string, error) {
		if m.br.linker != nil {
			if own, _ := m.br.linker.StatusList(); own == url {
				return m.br.linker.FetchStatusList(ctx, url)
			}
		}
		return m.cfg.status.FetchStatusList(ctx, url)
	})
}

// moveBridges notes that the pipeline applied the events up to at.
func (m *Manager) moveBridges(at bitcoin.BlockStamp) {
	m.br.atMu.Lock()
	defer m.br.atMu.Unlock()
	m.br.at = at
	if m.br.atMoved != nil {
		close(m.br.atMoved)
		m.br.atMoved = nil
	}
}

// WaitBridges waits until the bridges have processed the chain up to block b — the UTXO
// records updated, the triggers fired — and returns the block they are at: b, or a block
// after it. A block a reorg took back counts once the bridges are on its replacement at the
// same height or above.
func (m *Manager) WaitBridges(ctx context.Context, b bitcoin.BlockStamp) (bitcoin.BlockStamp, error) {
	return call(ctx, m, func() (bitcoin.BlockStamp, error) {
		if m.js != nil && !m.br.leading.Load() {
			// Another host applies the blocks: start from where the shared checkpoint is.
			if at, err := m.br.cp.Refresh(ctx); err == nil && !at.IsZero() {
				m.moveBridges(at)
			}
		}
		for {
			m.br.atMu.Lock()
			at := m.br.at
			if m.br.atMoved == nil {
				m.br.atMoved = make(chan struct{})
			}
			moved := m.br.atMoved
			m.br.atMu.Unlock()
			if !at.IsZero() && (at.Height > b.Height || at.Height == b.Height && (at.Hash == b.Hash || !m.onMainChain(ctx, b))) {
				return at, nil
			}
			select {
			case <-moved:
			case <-m.stopped:
				return bitcoin.BlockStamp{}, ErrClosed
			case <-ctx.Done():
				return bitcoin.BlockStamp{}, ctx.Err()
			}
		}
	})
}

// onMainChain reports whether b is on the chain's main chain (true when the chain cannot say).
func (m *Manager) onMainChain(ctx context.Context, b bitcoin.BlockStamp) bool {
	h, err := m.chain.BlockHash(ctx, b.Height)
	return err != nil || h == b.Hash
}
