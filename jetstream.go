package anya

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/bus/natsbus"
	"github.com/anya-org/anya-go/internal/natsx"
	"github.com/anya-org/anya-go/internal/sendstore"
	"github.com/anya-org/anya-go/internal/sendstore/natssend"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/security/natsaudit"
	"github.com/anya-org/anya-go/web5/dwn"
	dwnnats "github.com/anya-org/anya-go/web5/dwn/natsstore"
	"github.com/anya-org/anya-go/workflow"
	wfnats "github.com/anya-org/anya-go/workflow/natsstore"
)

// DefaultJetStreamPrefix names the streams and buckets of WithJetStream (see JetStreamPrefix).
const DefaultJetStreamPrefix = "anya"

// JetStreamOption configures WithJetStream.
type JetStreamOption func(*jetStreamConfig)

type jetStreamConfig struct {
	js       jetstream.JetStream
	prefix   string
	replicas int
}

// JetStreamPrefix names the streams and buckets the Manager keeps on JetStream: "<prefix>_bus"
// (upper-cased) and "<prefix>_audit" streams, "<prefix>_workflow", "<prefix>_sends",
// "<prefix>_state", "<prefix>_dwn" and "<prefix>_config" buckets, subjects under "<prefix>.".
// Hosts that share their work use the same prefix; hosts of unrelated deployments on one
// JetStream use different ones. 1 to 32 of a-z 0-9 _ -. Defaults to DefaultJetStreamPrefix.
func JetStreamPrefix(prefix string) JetStreamOption {
	return func(c *jetStreamConfig) { c.prefix = prefix }
}

// DefaultJetStreamReplicas is the replication factor of WithJetStream (see JetStreamReplicas).
const DefaultJetStreamReplicas = 1

// JetStreamReplicas sets the replication factor of every stream and bucket the Manager creates
// (1 to 5; 3 on a three-node JetStream cluster keeps everything through the loss of one node).
// Defaults to DefaultJetStreamReplicas.
func JetStreamReplicas(n int) JetStreamOption {
	return func(c *jetStreamConfig) { c.replicas = n }
}

// WithJetStream makes the Manager one of several hosts sharing their work on NATS JetStream
// (js, over the host's connection, which the host owns and closes after the Manager): the bus
// travels on a JetStream stream (package natsbus); workflow runs, with leases, on a KV bucket
// (workflow/natsstore); send records and coin reservations (internal/sendstore/natssend), the
// payments with the outbox of their events, the identities and the block checkpoint on KV; the
// audit log on one hash chain in a stream (security/natsaudit); the identities' records
// (web5/dwn/natsstore). The link-challenge and pseudonym keys, unless given (WithChallengeKey,
// WithRedactionKey), are created once in the "<prefix>_config" bucket and read by every host, so
// a challenge issued by one host verifies on another. Block triggers run once across the hosts
// (a durable work-queue consumer), every host's caches follow what the others send, and a host
// takes over, when their leases lapse, the payments of a host that died. See the package
// documentation, Scaling out.
//
// Each host should be named (WithHostName). WithJetStream cannot be combined with WithBus.
// Defaults to none: the embedded SQLite stores of one process.
func WithJetStream(js jetstream.JetStream, opts ...JetStreamOption) Option {
	return func(c *config) {
		c.give("WithJetStream")
		jc := jetStreamConfig{js: js, prefix: DefaultJetStreamPrefix, replicas: DefaultJetStreamReplicas}
		for _, o := range opts {
			if o != nil {
				o(&jc)
			}
		}
		c.jetStream = &jc
	}
}

// validateJetStream checks the options of WithJetStream, WithHostName, WithLeaseTTL and
// WithChallengeKey (part of config.validate).
func (c *config) validateJetStream() error {
	bad := func(opt string, v any, reason string) error {
		return &OptionError{Option: opt, Value: v, Reason: reason}
	}
	if jc := c.jetStream; jc != nil {
		switch {
		case jc.js == nil:
			return bad("WithJetStream", nil, "nil JetStream")
		case jc.prefix == "" || len(jc.prefix) > 32 || strings.Trim(jc.prefix, "abcdefghijklmnopqrstuvwxyz0123456789_-") != "":
			return bad("JetStreamPrefix", jc.prefix, "want 1 to 32 of a-z 0-9 _ -")
		case jc.replicas < 1 || jc.replicas > 5:
			return bad("JetStreamReplicas", jc.replicas, "want 1 to 5")
		case c.given["WithBus"]:
			return bad("WithJetStream", nil, "WithBus gives the Manager a bus and WithJetStream makes its own on JetStream: give one of them")
		}
	}
	switch {
	case c.given["WithHostName"] && (c.hostName == "" || len(c.hostName) > 128):
		return bad("WithHostName", c.hostName, "want 1 to 128 bytes")
	case c.given["WithLeaseTTL"] && c.leaseTTL < time.Second:
		return bad("WithLeaseTTL", c.leaseTTL, "shorter than a second (JetStream's TTL granularity)")
	case c.given["WithChallengeKey"] && len(c.challengeKey) < 16:
		return bad("WithChallengeKey", fmt.Sprintf("%d bytes", len(c.challengeKey)), "shorter than 16 bytes")
	}
	return nil
}

// WithHostName names this host among the hosts sharing a JetStream (WithJetStream): the owner
// of its workflow leases (1 to 128 bytes). Names must differ between hosts; a host started
// again under its name takes its unfinished payments back at once instead of waiting for their
// leases to lapse. Defaults to a random name for each Manager.
func WithHostName(name string) Option {
	return func(c *config) {
		c.give("WithHostName")
		c.hostName = name
	}
}

// WithLeaseTTL sets how long a host's lease on a payment's run — and on the work one host at a
// time does for all: the fraud monitor, the bridges' block pipeline — lasts without renewal (it
// renews at a third of it): how long the other hosts wait before they take over from a host
// that died or was cut off. At least a second (JetStream's TTL granularity). Defaults to
// workflow.DefaultLeaseTTL.
func WithLeaseTTL(d time.Duration) Option {
	return func(c *config) {
		c.give("WithLeaseTTL")
		c.leaseTTL = d
	}
}

// WithChallengeKey sets the key address-link challenges are authenticated with (at least 16
// bytes): hosts given the same key verify each other's challenges. Defaults to a random key for
// each Manager, or with WithJetStream to the key the hosts share in the "<prefix>_config"
// bucket.
func WithChallengeKey(key []byte) Option {
	return func(c *config) {
		c.give("WithChallengeKey")
		c.challengeKey = bytes.Clone(key)
	}
}

// jsHost holds what WithJetStream gives the Manager.
type jsHost struct {
	cfg       jetStreamConfig
	transport *natsbus.Transport
	local     *bus.Bus // the notifier's bus, in-process: its events are forwarded
	workflow  *wfnats.Store
	dwn       *dwnnats.Store
	audit     *natsaudit.Store
}

func (c *jetStreamConfig) name(suffix string) string { return c.prefix + "_" + suffix }

// openJetStream opens the JetStream backends; the steps after it use them instead of SQLite.
func (m *Manager) openJetStream(ctx context.Context) error {
	jc := m.cfg.jetStream
	if jc == nil {
		return nil
	}
	h := &jsHost{cfg: *jc}
	m.js = h
	var err error
	h.transport, err = natsbus.New(ctx, jc.js, natsbus.WithStream(strings.ToUpper(jc.name("bus"))), natsbus.WithSubjectPrefix(jc.prefix+".bus"),
		natsbus.WithReplicas(jc.replicas), natsbus.WithLogger(m.log))
	if err != nil {
		return err
	}
	m.onClose(h.transport.Close)
	if m.bus, err = bus.New(bus.WithTransport(h.transport, nil), bus.WithLogger(m.log), bus.WithClock(m.now)); err != nil {
		return err
	}
	m.ownBus = true
	m.onClose(m.bus.Close)
	if h.local, err = bus.New(bus.WithLogger(m.log), bus.WithClock(m.now)); err != nil {
		return err
	}
	m.onClose(h.local.Close)
	if err := m.sharedSecrets(ctx); err != nil {
		return err
	}
	if h.workflow, err = wfnats.New(ctx, jc.js, wfnats.WithBucket(jc.name("workflow")), wfnats.WithReplicas(jc.replicas)); err != nil {
		return err
	}
	m.onClose(h.workflow.Close)
	m.store = h.workflow
	sends, err := natssend.New(ctx, jc.js, natssend.WithBucket(jc.name("sends")), natssend.WithReplicas(jc.replicas))
	if err != nil {
		return err
	}
	m.onClose(sends.Close)
	m.sends = sends
	st, err := openNATSState(ctx, jc.js, jc.name("state"), jc.replicas, m.now)
	if err != nil {
		return err
	}
	m.state = st
	if h.dwn, err = dwnnats.New(ctx, jc.js, dwnnats.WithBucket(jc.name("dwn")), dwnnats.WithReplicas(jc.replicas)); err != nil {
		return err
	}
	m.onClose(h.dwn.Close)
	if h.audit, err = natsaudit.New(ctx, jc.js, natsaudit.WithStream(strings.ToUpper(jc.name("audit"))), natsaudit.WithSubject(jc.prefix+".audit"),
		natsaudit.WithReplicas(jc.replicas)); err != nil {
		return err
	}
	return nil
}

// secretsJSON is the "secrets" entry of the config bucket.
type secretsJSON struct {
	Challenge []byte `json:"challenge"`
	Redaction []byte `json:"redaction"`
}

// sharedSecrets fills the challenge and pseudonym keys the host did not give from the config
// bucket, creating them there (random) the first time any host asks.
func (m *Manager) sharedSecrets(ctx context.Context) error {
	if m.cfg.challengeKey != nil && m.cfg.redactionKey != nil {
		return nil
	}
	jc := m.js.cfg
	kv, err := natsx.OpenKV(ctx, jc.js, natsx.KVConfig{KeyValueConfig: jetstream.KeyValueConfig{Bucket: jc.name("config"),
		Description: "anya hosts' shared configuration", History: 1, Replicas: jc.replicas, Storage: jetstream.FileStorage}})
	if err != nil {
		return fmt.Errorf("anya: config bucket: %w", err)
	}
	fresh := secretsJSON{Challenge: make([]byte, 32), Redaction: make([]byte, 32)}
	_, _ = rand.Read(fresh.Challenge)
	_, _ = rand.Read(fresh.Redaction)
	b, _ := json.Marshal(fresh)
	if _, err := kv.Create(ctx, "secrets", b); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("anya: shared secrets: %w", err)
	}
	e, err := kv.Get(ctx, "secrets")
	if err != nil {
		return fmt.Errorf("anya: shared secrets: %w", err)
	}
	var s secretsJSON
	if err := json.Unmarshal(e.Value(), &s); err != nil || len(s.Challenge) < 16 || len(s.Redaction) < 16 {
		return fmt.Errorf("anya: shared secrets in bucket %s are malformed", jc.name("config"))
	}
	if m.cfg.challengeKey == nil {
		m.cfg.challengeKey = s.Challenge
	}
	if m.cfg.redactionKey == nil {
		m.cfg.redactionKey = s.Redaction
	}
	return nil
}

// auditLog returns the Manager's audit log: on JetStream when the Manager has it.
func (m *Manager) jsAuditLog(opts ...security.Option) (*security.AuditLog, bool, error) {
	if m.js == nil {
		return nil, false, nil
	}
	l, err := security.NewAuditLogOn(m.js.audit, opts...)
	return l, true, err
}

// engineOptions are the workflow engine's options that WithHostName and WithLeaseTTL give.
func (m *Manager) engineOptions() []workflow.Option {
	var opts []workflow.Option
	if m.cfg.hostName != "" {
		opts = append(opts, workflow.WithOwner(m.cfg.hostName))
	}
	if m.cfg.leaseTTL > 0 {
		opts = append(opts, workflow.WithLeaseTTL(m.cfg.leaseTTL))
	}
	return opts
}

// notifierBus is the bus the notifier publishes on: the Manager's, or with JetStream the
// host's own in-process one, whose block events the Manager forwards.
func (m *Manager) notifierBus() *bus.Bus {
	if m.js != nil {
		return m.js.local
	}
	return m.bus
}

// subscribeTriggers wires the block triggers: subscribeBlocks on the embedded defaults; with
// JetStream, every host follows its own notifier for what it keeps in memory (its wallet's
// view, its caches) and forwards the block events to the shared bus under IDs derived from the
// blocks (so the hosts' copies are one message), where one durable consumer shared by the
// hosts hands each to one host, which moves the payments and the shared checkpoint. Each host
// also drops from its caches what the transactions the other hosts broadcast change.
func (m *Manager) subscribeTriggers() error {
	if m.js == nil {
		return m.subscribeBlocks()
	}
	local, err := bus.Subscribe(m.js.local, "bitcoin.block.*", m.onLocalBlock, bus.Named("anya.blocks.local"))
	if err != nil {
		return err
	}
	m.subs = append(m.subs, local)
	cluster, err := bus.Subscribe(m.bus, "bitcoin.block.*", m.onClusterBlock, bus.Named("anya.blocks"),
		bus.Group(m.js.cfg.prefix+".blocks"), bus.Redeliver())
	if err != nil {
		return err
	}
	m.subs = append(m.subs, cluster)
	sent, err := bus.Subscribe(m.bus, bitcoin.TopicTxBroadcast, m.onBroadcast, bus.Named("anya.utxos"))
	if err != nil {
		return err
	}
	m.subs = append(m.subs, sent)
	return nil
}

// blockID is the ID of a block event on the shared bus: the same on every host.
func blockID(topic string, hash chainhash.Hash) bus.ID {
	return bus.DerivedID(topic + "/" + hash.String())
}

// onLocalBlock drops what a block changes from this host's memory and forwards the event.
func (m *Manager) onLocalBlock(ctx context.Context, e bus.Envelope[bitcoin.BlockEvent]) error {
	m.wallet.Invalidate()
	src := bus.WithSource(bitcoin.BusSource)
	switch ev := e.Payload.(type) {
	case bitcoin.BlockConnected:
		if blk, err := m.chain.Block(ctx, ev.Hash); err == nil {
			m.invalidateBlock(blk)
			txids := make([]chainhash.Hash, len(blk.Transactions))
			for i, tx := range blk.Transactions {
				txids[i] = tx.TxHash()
			}
			m.wallet.Confirmed(txids...)
		}
		return bus.Publish(ctx, m.bus, e.Topic, ev, bus.WithID(blockID(e.Topic, ev.Hash)), bus.WithKey(ev.Hash.String()), src)
	case bitcoin.BlockDisconnected:
		if blk, err := m.chain.Block(ctx, ev.Hash); err == nil {
			m.invalidateBlock(blk)
		}
		return bus.Publish(ctx, m.bus, e.Topic, ev, bus.WithID(blockID(e.Topic, ev.Hash)), bus.WithKey(ev.Hash.String()), src)
	}
	return nil
}

// blockWork is what the cluster's block trigger reads of a block event.
type blockWork struct {
	Height int32            `json:"height"`
	Hash   chainhash.Hash   `json:"hash"`
	Header wire.BlockHeader `json:"header"`
}

// onClusterBlock runs the block trigger for the hosts: a block event, whichever, makes this
// host bring the shared checkpoint up to the chain.
func (m *Manager) onClusterBlock(ctx context.Context, e bus.Envelope[blockWork]) error {
	var hint *bitcoin.BlockConnected
	if e.Topic == bitcoin.TopicBlockConnected {
		hint = &bitcoin.BlockConnected{Height: e.Payload.Height, Hash: e.Payload.Hash, Header: e.Payload.Header}
	}
	return m.syncBlocks(ctx, hint)
}

// maxSyncBlocks bounds the blocks one syncBlocks moves over; the next block event continues.
const maxSyncBlocks = 1000

// syncBlocks moves the shared checkpoint to the chain's tip a block at a time — back over the
// blocks that left the main chain (blockDisconnected), then forward over the new ones
// (blockConnected) — whatever event asked for it: the hosts' copies of an event, an event
// delivered again, or events out of order all end in the same state, and a block whose event
// was lost is moved over with the next. connected, when the checkpoint is still unset, is the
// block to start from.
func (m *Manager) syncBlocks(ctx context.Context, connected *bitcoin.BlockConnected) error {
	m.blocks.Lock()
	defer m.blocks.Unlock()
	defer m.publishOutbox(ctx)
	if err := m.state.blocksBegin(ctx); err != nil {
		return err
	}
	defer func() {
		if err := m.state.blocksEnd(context.WithoutCancel(ctx)); err != nil {
			m.log.Warn("anya: block trigger end", "err", err)
		}
	}()
	m.wallet.Invalidate()
	for range maxSyncBlocks {
		cp, err := m.state.checkpoint(ctx)
		if err != nil {
			return err
		}
		if cp.IsZero() {
			if connected == nil {
				return nil // the first connection sets it
			}
			cp = bitcoin.BlockStamp{Height: connected.Height - 1, Hash: connected.Header.PrevBlock}
			if err := m.state.setCheckpoint(ctx, cp); err != nil {
				return err
			}
		}
		tip, err := m.chain.BestBlock(ctx)
		if err != nil {
			return err
		}
		onChain := false
		if cp.Height <= tip.Height {
			h, err := m.chain.BlockHash(ctx, cp.Height)
			if err != nil {
				return err
			}
			onChain = h == cp.Hash
		}
		if onChain {
			if cp.Height == tip.Height {
				return nil
			}
			hash, err := m.chain.BlockHash(ctx, cp.Height+1)
			if err != nil {
				return err
			}
			hdr, err := m.chain.BlockHeader(ctx, hash)
			if err != nil {
				return err
			}
			if err := m.blockConnected(ctx, bitcoin.BlockConnected{Height: cp.Height + 1, Hash: hash, Header: hdr}); err != nil {
				return err
			}
			continue
		}
		hdr, err := m.chain.BlockHeader(ctx, cp.Hash)
		if err != nil {
			return fmt.Errorf("anya: the checkpoint's block %s: %w", cp.Hash, err)
		}
		if err := m.blockDisconnected(ctx, bitcoin.BlockDisconnected{Height: cp.Height, Hash: cp.Hash, Header: hdr}); err != nil {
			return err
		}
	}
	return nil
}

// onBroadcast drops from this host's caches and wallet view what another host's transaction
// changed: the coins it spent and the addresses it pays (its change among them).
func (m *Manager) onBroadcast(ctx context.Context, e bus.Envelope[bitcoin.TxBroadcast]) error {
	if m.wallet.IsPending(e.Payload.Txid) {
		return nil // this host's own: its view has it already
	}
	rec, err := m.sender.Record(ctx, e.Payload.Key)
	if err != nil {
		return nil // not a send of the hosts' store
	}
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(rec.RawTx)); err != nil {
		return nil
	}
	var spent []wire.OutPoint
	for _, in := range tx.TxIn {
		spent = append(spent, in.PreviousOutPoint)
	}
	for _, a := range m.utxoIdx.spent(spent) {
		m.utxos.Invalidate(a)
	}
	for _, out := range tx.TxOut {
		if a, err := bitcoin.AddressFromScript(out.PkScript, m.net); err == nil {
			m.utxos.Invalidate(a.String())
			if m.wallet.Owns(a.String()) {
				m.wallet.Invalidate(a.String())
			}
		}
	}
	return nil
}

// recheckRecorded closes the window between the record step's look at its transaction's
// status and the payment row it stored, for hosts sharing the state: a block trigger on
// another host that ran in between may have missed the row, so the status is looked up again
// and the payment moved.
func (m *Manager) recheckRecorded(ctx context.Context, row paymentRow, before blockFence) error {
	after, err := m.state.blocksFence(ctx)
	if err != nil {
		return err
	}
	if after == before && !before.Active {
		return nil
	}
	txid, err := chainhash.NewHashFromStr(row.Txid)
	if err != nil {
		return err
	}
	status, at, err := m.txStatus(ctx, *txid)
	if errors.Is(err, bitcoin.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if status == row.Status && blockHash(at) == row.Block {
		return nil
	}
	return m.setPayment(ctx, row, status, at)
}

// send is sendOnce, again while another host reserved the coins it chose first: those are
// then reserved in the shared store, and the next build leaves them alone.
func (m *Manager) send(ctx context.Context, paymentID, from, to string, amount int64) (sent, error) {
	for n := 0; ; n++ {
		s, err := m.sendOnce(ctx, paymentID, from, to, amount)
		if !errors.Is(err, sendstore.ErrCoinReserved) || n >= maxRebuilds {
			return s, err
		}
		m.log.Info("anya: another payment reserved the coins first; building again", "payment", paymentID, "err", err)
	}
}

// startTakeover starts, with JetStream, the goroutine that continues the unfinished payments
// whose host died or was cut off: every lease TTL it resumes the runs whose lease lapsed
// (those another host holds are left alone). Close stops it.
func (m *Manager) startTakeover(context.Context) error {
	if m.js == nil {
		return nil
	}
	every := m.cfg.leaseTTL
	if every == 0 {
		every = workflow.DefaultLeaseTTL
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := m.Resume(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, ErrClosed) {
				m.log.Debug("anya: takeover", "err", err)
			}
		}
	}()
	m.onClose(func() error {
		cancel()
		<-done
		return nil
	})
	return nil
}

// paymentEventID is the bus ID of a payment event: the same however often, and by whichever
// host, it is published, so that a de-duplicating transport keeps it once.
func paymentEventID(ev PaymentEvent) bus.ID {
	return bus.DerivedID(fmt.Sprintf("anya.payment/%s/%d", ev.PaymentID, ev.Seq))
}

// rewritePaymentRecord sets the status of payment p's record, reading the record again when
// another host changed it meanwhile (a block trigger and a start's reconciliation on two hosts
// may move one payment at once; the loser finds the record as the winner left it).
func (m *Manager) rewritePaymentRecord(ctx context.Context, p paymentRow, status string, at bitcoin.BlockStamp) error {
	for n := 0; ; n++ {
		rec, err := m.readRecord(ctx, p.DID, p.RecordID)
		if err != nil {
			return fmt.Errorf("anya: payment %s record: %w", p.PaymentID, err)
		}
		err = m.updatePaymentRecord(ctx, p.DID, rec, status, at)
		if err == nil || !errors.Is(err, dwn.ErrConflict) || n >= maxRebuilds {
			return err
		}
	}
}
