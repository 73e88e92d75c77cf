package anya

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"golang.org/x/sync/errgroup"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/handler"
	"github.com/anya-org/anya-go/bridge/trigger"
	"github.com/anya-org/anya-go/bridge/utxo"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
)

// Topics of the bridges' events (source EventSource).
const (
	// TopicBlockAnalysed carries the *analysis.BlockResult of every block connected, with
	// WithBlockAnalysis.
	TopicBlockAnalysed = "anya.analysis.block"
	// TopicDIDUpdated carries a DIDUpdate when a registered identity's DID resolves to another
	// document than it did before (the Manager resolves it again when its cached identity
	// expires, or a record of its store changes); the triggers fire on it (trigger.DIDEvent).
	TopicDIDUpdated = "anya.did.updated"
	// TopicReputationRescored carries a Rescored for every identity the periodic re-scoring
	// scored (WithRescoreInterval).
	TopicReputationRescored = "anya.reputation.rescored"
)

// DIDUpdate is the payload of TopicDIDUpdated.
type DIDUpdate struct {
	DID      string
	Version  string // a digest of the document
	Document *did.Document
}

// TxRecord is the data of a transaction record (bridge.PathTx) the record-linked-tx trigger
// writes in a linked DID's store: a confirmed transaction paying one of its linked addresses,
// whose link verified when the block arrived. A reorg that takes the block back deletes it.
type TxRecord struct {
	Txid        string `json:"txid"`
	Address     string `json:"address"`
	AmountSat   int64  `json:"amount_sat"` // the transaction's total output value
	BlockHeight int64  `json:"block_height"`
	BlockHash   string `json:"block_hash"`
	Event       string `json:"event"` // the trigger event's ID
}

// ScoreRecord is the data of a score record (bridge.PathScore) the Manager writes in an
// identity's store: its reputation as the periodic re-scoring computed it.
type ScoreRecord struct {
	Kind    string   `json:"kind"` // "reputation"
	Model   string   `json:"model"`
	Score   float64  `json:"score"`
	Factors []Factor `json:"factors,omitempty"`
	At      string   `json:"at"` // RFC 3339
}

// TriggerRetraction is a trigger side effect taken back because the block of its event was
// disconnected: see trigger.Retraction. The effect is marked retracted in the handler store
// (the block coming back runs it again); Undone reports that its action's Undo ran (the
// record-linked-tx action's records are deleted by the Manager itself, counted in
// BridgeBlock.Undone); an effect without Undo is for the host to compensate, from Result.
type TriggerRetraction struct {
	Event   string
	Trigger string `json:",omitempty"`
	// Handler and Effect name a side effect of a host's event handler (WithEventHandler)
	// instead of a trigger's: it is only marked retracted.
	Handler string `json:",omitempty"`
	Effect  string `json:",omitempty"`
	Result  any    `json:",omitempty"`
	Undone  bool   `json:",omitempty"`
	Err     string `json:",omitempty"`
}

// HandledEvent is what the host's event handlers (WithEventHandler) did with one event: each
// matching handler's values after the post-processors, by handler name, and each side
// effect's outcome. Err is a handler's or post-processor's error: no side effect ran.
type HandledEvent struct {
	Event   string
	Values  map[string]map[string]any `json:",omitempty"`
	Effects []HandledEffect           `json:",omitempty"`
	Err     string                    `json:",omitempty"`
}

// HandledEffect is the outcome of one side effect of an event handler: see
// handler.EffectOutcome.
type HandledEffect struct {
	Handler  string
	Effect   string
	Result   any    `json:",omitempty"`
	Repeated bool   `json:",omitempty"`
	Denied   bool   `json:",omitempty"`
	Err      string `json:",omitempty"`
}

// dispatch runs the host's event handlers on ev (nil when none matched or none are
// registered); only the context ending is an error.
func (m *Manager) dispatch(ctx context.Context, ev trigger.Event) (*HandledEvent, error) {
	if m.br.handlers == nil {
		return nil, nil
	}
	out, err := m.br.handlers.Dispatch(ctx, handler.Event{ID: ev.ID, Kind: ev.Kind, Time: ev.Time, Data: ev.Data})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	h := &HandledEvent{Event: ev.ID}
	if err != nil {
		m.log.Warn("anya: event handler", "event", ev.ID, "err", err)
		h.Err = err.Error()
		return h, nil
	}
	if len(out.Results) == 0 {
		return nil, nil
	}
	for _, r := range out.Results {
		if len(r.Values) > 0 {
			if h.Values == nil {
				h.Values = map[string]map[string]any{}
			}
			h.Values[r.Handler] = r.Values
		}
	}
	for _, e := range out.Effects {
		x := HandledEffect{Handler: e.Handler, Effect: e.Effect, Result: e.Result, Repeated: e.Repeated, Denied: e.Denied}
		if e.Err != nil {
			x.Err = e.Err.Error()
			m.log.Warn("anya: event handler's side effect", "handler", e.Handler, "effect", e.Effect, "event", ev.ID, "denied", e.Denied, "err", e.Err)
		}
		h.Effects = append(h.Effects, x)
	}
	return h, nil
}

// writesMigrations are the bridges' table of the stores the triggers wrote to, by block;
// append only.
var writesMigrations = []string{`
-- The DIDs in whose stores the triggers wrote transaction records for a block, written before
-- the record, so that a disconnect of the block finds them even when the link that led there
-- was revoked since (and the reverse index no longer names the DID).
CREATE TABLE anya_bridge_writes (
	block TEXT NOT NULL,
	did   TEXT NOT NULL,
	PRIMARY KEY (block, did)
) WITHOUT ROWID;
`}

// openTriggers compiles the triggers — DefaultDefinitions(WithLargeTx) and the host's
// (WithTriggers), with the Manager's actions for the defaults and the host's (WithTriggerAction)
// — with side effects once per event through the handler store.
func (m *Manager) openTriggers(ctx context.Context) error {
	defs := append(trigger.DefaultDefinitions(m.cfg.largeTx), m.cfg.triggers...)
	opts := []trigger.Option{trigger.WithOnce(m.br.once), trigger.WithLogger(m.log),
		trigger.WithAction(trigger.ActionRecordTx, trigger.Action{Run: m.recordTx}),
		trigger.WithAction(trigger.ActionAssessTx, trigger.Action{Prepare: m.prepareAssessTx, Run: m.assessTx}),
		trigger.WithAction(trigger.ActionRescore, trigger.Action{Prepare: m.prepareRescore, Run: m.rescore}),
	}
	for _, a := range m.cfg.triggerActions {
		opts = append(opts, trigger.WithAction(a.name, a.action))
	}
	var err error
	m.br.triggers, err = trigger.New(defs, m.bounds, opts...)
	if err != nil {
		return fmt.Errorf("anya: triggers: %w", err)
	}
	if len(m.cfg.handlers) > 0 {
		if m.br.handlers, err = handler.New(m.br.once, handler.WithBoundary(m.bounds), handler.WithLogger(m.log)); err != nil {
			return err
		}
		for _, h := range m.cfg.handlers {
			if err := m.br.handlers.Handle(h.pattern, h.name, h.f); err != nil {
				return err
			}
		}
		for _, p := range m.cfg.postProcessors {
			if err := m.br.handlers.PostProcess(p.name, p.f); err != nil {
				return err
			}
		}
	}
	// DID document changes and records-store events fire the triggers from the bus.
	sub, err := bus.Subscribe(m.bus, TopicDIDUpdated, func(ctx context.Context, e bus.Envelope[DIDUpdate]) error {
		return m.fire(ctx, trigger.DIDEvent(e.Payload.Document, e.Payload.Version, false, m.now()))
	}, bus.Named("anya.triggers.did"))
	if err != nil {
		return err
	}
	m.subs = append(m.subs, sub)
	for _, kind := range []string{dwn.EventRecordWritten, dwn.EventRecordDeleted} {
		sub, err := bus.Subscribe(m.bus, dwn.TopicPrefix+".*."+kind, func(ctx context.Context, e bus.Envelope[dwn.Event]) error {
			return m.fire(ctx, trigger.RecordEvent(e.Payload, m.now()))
		}, bus.Named("anya.triggers.records"))
		if err != nil {
			return err
		}
		m.subs = append(m.subs, sub)
	}
	return nil
}

// fire fires the triggers on ev, then runs the host's event handlers on it, logging what
// failed; only the context ending is an error.
func (m *Manager) fire(ctx context.Context, ev trigger.Event) error {
	outs, err := m.br.triggers.Fire(ctx, ev)
	for _, o := range outs {
		if o.Err != nil {
			m.log.Warn("anya: trigger", "trigger", o.Trigger, "event", ev.ID, "denied", o.Denied, "err", o.Err)
		}
	}
	if err != nil {
		return err
	}
	_, err = m.dispatch(ctx, ev)
	return err
}

// noteDocument notes the document a registered identity resolved to and, when it differs
// from the one it resolved to before in this process, announces the change
// (TopicDIDUpdated), on which the triggers fire.
func (m *Manager) noteDocument(ctx context.Context, d string, doc *did.Document) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return
	}
	sum := sha256.Sum256(raw)
	version := hex.EncodeToString(sum[:8])
	prev, seen := m.br.docs.Swap(d, version)
	if !seen || prev == version {
		return
	}
	up := DIDUpdate{DID: d, Version: version, Document: doc}
	if err := bus.Publish(ctx, m.bus, TopicDIDUpdated, up, bus.WithKey(d), bus.WithSource(EventSource)); err != nil &&
		!errors.Is(err, bus.ErrClosed) {
		m.log.Warn("anya: publish", "topic", TopicDIDUpdated, "err", err)
	}
}

// recordTx is the record-linked-tx action (Web5 side): for each (DID, address) the
// transaction pays, the link is verified again and, if it holds, the transaction is recorded
// in the DID's store.
func (m *Manager) recordTx(ctx context.Context, eventID string, data map[string]any) (any, error) {
	hash, ok := blockOf(eventID)
	if !ok {
		return nil, fmt.Errorf("anya: %s is not a confirmed transaction's event", eventID)
	}
	txid, _ := data["txid"].(string)
	amount, height := int64(number(data["amount_sat"])), int64(number(data["block_height"]))
	links, _ := data["links"].([]any)
	type linkWrite struct{ did, address string }
	pairs := make([]linkWrite, 0, len(links))
	for _, l := range links {
		lm, _ := l.(map[string]any)
		d, _ := lm["did"].(string)
		addr, _ := lm["address"].(string)
		if d == "" || addr == "" {
			continue
		}
		pairs = append(pairs, linkWrite{d, addr})
	}
	// Every link is verified again, several at once (each is independent: its identity, its
	// credential's checks); the verdicts keep the links' order.
	passed := make([]bool, len(pairs))
	vg, vctx := errgroup.WithContext(ctx)
	vg.SetLimit(utxo.DefaultConcurrency * runtime.GOMAXPROCS(0))
	for i, p := range pairs {
		vg.Go(func() error {
			v, err := m.verifyLink(vctx, p.did, p.address, "")
			if err != nil {
				return err
			}
			passed[i] = v.Verified
			return nil
		})
	}
	if err := vg.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	unverified := []string{}
	var verified []linkWrite
	for i, p := range pairs {
		if !passed[i] {
			unverified = append(unverified, p.did+" "+p.address)
			continue
		}
		verified = append(verified, p)
	}
	// The stores written are noted first, at once, in the state every host shares, so that a
	// reorg finds them all, whichever host handles it.
	if len(verified) > 0 {
		dids := make([]string, len(verified))
		for i, v := range verified {
			dids[i] = v.did
		}
		if err := m.state.noteBridgeWrites(ctx, hash.String(), dids); err != nil {
			return nil, fmt.Errorf("anya: note the writes of %s: %w", txid, err)
		}
	}
	// One record per store, written concurrently: the records store commits concurrent writes
	// together.
	recorded := make([]string, len(verified))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(utxo.DefaultConcurrency * runtime.GOMAXPROCS(0))
	for i, v := range verified {
		g.Go(func() error {
			rec, err := m.br.records.Create(gctx, v.did, bridge.PathTx, TxRecord{Txid: txid, Address: v.address, AmountSat: amount,
				BlockHeight: height, BlockHash: hash.String(), Event: eventID})
			if err != nil {
				return fmt.Errorf("anya: record %s in %s's store: %w", txid, v.did, err)
			}
			recorded[i] = rec.ID
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return map[string]any{"recorded": recorded, "unverified": unverified}, nil
}

// undoBlock deletes the transaction records the triggers wrote for a block that a reorg took
// back — in the store of every DID they were written for: those its outputs' addresses are
// linked to now, and those noted when the records were written (a link revoked since) — and
// retracts the block's trigger events (trigger.Engine.Retract), so that the block firing again
// (if it comes back) runs them again. It returns how many records it deleted and the side
// effects it retracted.
func (m *Manager) undoBlock(ctx context.Context, ev bitcoin.BlockDisconnected) (int, []TriggerRetraction, error) {
	blk, err := m.chain.Block(ctx, ev.Hash)
	if err != nil {
		return 0, nil, fmt.Errorf("anya: block %s: %w", ev.Hash, err)
	}
	owners := m.br.linker.Index().Owners
	hash := ev.Hash.String()
	dids := map[string]bool{}
	var events []string
	for _, tx := range blk.Transactions {
		events = append(events, trigger.KindTx+"/"+tx.TxHash().String()+"/"+hash)
		for _, o := range tx.TxOut {
			for _, d := range owners(o.PkScript) {
				dids[d] = true
			}
		}
	}
	written, err := m.state.bridgeWrites(ctx, hash)
	if err != nil {
		return 0, nil, fmt.Errorf("anya: the writes noted for block %s: %w", hash, err)
	}
	for _, d := range written {
		dids[d] = true
	}
	n := 0
	for d := range dids {
		recs, err := m.br.records.Query(ctx, d, bridge.PathTx, dwn.Filter{})
		if errors.Is(err, bridge.ErrNoGrant) {
			continue // not an identity of this host
		}
		if err != nil {
			return n, nil, err
		}
		for _, r := range recs {
			var tr TxRecord
			if json.Unmarshal(r.Data, &tr) != nil || tr.BlockHash != hash {
				continue
			}
			if err := m.br.records.Delete(ctx, d, r.ID); err != nil {
				return n, nil, err
			}
			n++
		}
	}
	var retracted []TriggerRetraction
	for _, id := range events {
		rs, err := m.br.triggers.Retract(ctx, id)
		for _, r := range rs {
			x := TriggerRetraction{Event: id, Trigger: r.Trigger, Result: r.Result, Undone: r.Undone}
			if r.Err != nil {
				x.Err = r.Err.Error()
				m.log.Warn("anya: undo a trigger's side effect", "trigger", r.Trigger, "event", id, "err", r.Err)
			}
			retracted = append(retracted, x)
		}
		if err != nil {
			return n, retracted, err
		}
		if m.br.handlers == nil {
			continue
		}
		effs, err := m.br.handlers.Retract(ctx, id)
		for _, e := range effs {
			retracted = append(retracted, TriggerRetraction{Event: id, Handler: e.Handler, Effect: e.Effect, Result: e.Result})
		}
		if err != nil {
			return n, retracted, err
		}
	}
	if err := m.state.dropBridgeWrites(ctx, hash); err != nil {
		return n, retracted, fmt.Errorf("anya: the writes noted for block %s: %w", hash, err)
	}
	return n, retracted, nil
}

// prepareAssessTx is the sending half of assess-large-tx: the transaction's features, by
// name, join its params.
func (m *Manager) prepareAssessTx(ctx context.Context, ev trigger.Event, params map[string]any) (map[string]any, error) {
	txid, _ := params["txid"].(string)
	h, err := chainhash.NewHashFromStr(txid)
	if err != nil {
		return nil, fmt.Errorf("anya: txid %q: %w", txid, err)
	}
	var (
		tx     *wire.MsgTx
		height = int32(int64(number(ev.Data["block_height"])))
	)
	if cached, ok := m.br.blockTxs.Load(txid); ok {
		tx = cached.(*wire.MsgTx)
	} else {
		info, err := m.chain.Tx(ctx, *h)
		if err != nil {
			return nil, err
		}
		tx = info.Tx
		if info.Block != nil {
			height = info.Block.Height
		}
	}
	v, err := m.extractor.Tx(ctx, tx, height, nil)
	if err != nil {
		return nil, err
	}
	names := bitcoin.TxFeatureSchema().Names
	feats := make(map[string]any, len(names))
	for i, name := range names {
		if i < len(v) {
			feats[name] = float64(v[i])
		}
	}
	out := map[string]any{"txid": txid, "amount_sat": params["amount_sat"], "features": feats}
	return out, nil
}

// assessTx is the receiving half of assess-large-tx (ML side): the fraud model scores the
// transaction's features (recorded in the feature store under "tx:<txid>").
func (m *Manager) assessTx(ctx context.Context, _ string, data map[string]any) (any, error) {
	return m.analysisML(ctx, data)
}

// prepareRescore is the sending half of rescore-on-did-change (Web5 side): the identity's
// features, numbers only.
func (m *Manager) prepareRescore(ctx context.Context, _ trigger.Event, params map[string]any) (map[string]any, error) {
	d, _ := params["did"].(string)
	feats, err := m.identityFeatures(ctx, d, "")
	if err != nil {
		return nil, err
	}
	return map[string]any{"identity_features": toAny(feats)}, nil
}

// rescore is the receiving half of rescore-on-did-change (ML side): the reputation model
// scores the features, recorded under the identity's pseudonym.
func (m *Manager) rescore(ctx context.Context, eventID string, data map[string]any) (any, error) {
	seen, err := numbers(data["identity_features"])
	if err != nil {
		return nil, err
	}
	entity := ""
	if rest, ok := strings.CutPrefix(eventID, trigger.KindDIDUpdated+"/"); ok {
		if i := strings.LastIndexByte(rest, '/'); i > 0 {
			entity = m.pseudonym(rest[:i])
		}
	}
	score, model, _, err := m.reputation.score(ctx, entity, vector(m.reputation, seen))
	if err != nil {
		return nil, err
	}
	return map[string]any{"score": score, "model": model}, nil
}

// analysisWeb5 is the analyzer's Web5 leg: whether the link of the DID and the address a
// transaction pays still verifies.
func (m *Manager) analysisWeb5(ctx context.Context, data map[string]any) (map[string]any, error) {
	d, _ := data["did"].(string)
	addr, _ := data["address"].(string)
	v, err := m.verifyLink(ctx, d, addr, "")
	if err != nil {
		return nil, err
	}
	out := map[string]any{"link_verified": v.Verified}
	if v.Refusal != nil {
		out["reason"] = string(v.Refusal.Reason)
	}
	return out, nil
}

// analysisML is the analyzer's ML leg: the fraud model's score of the transaction's features.
func (m *Manager) analysisML(ctx context.Context, data map[string]any) (map[string]any, error) {
	txid, _ := data["txid"].(string)
	feats, err := numbers(data["features"])
	if err != nil {
		return nil, err
	}
	risk, model, _, err := m.fraud.score(ctx, "tx:"+txid, vector(m.fraud, feats))
	if err != nil {
		return nil, err
	}
	return map[string]any{"risk": risk, "model": model, "above_threshold": risk >= m.cfg.riskThreshold}, nil
}
