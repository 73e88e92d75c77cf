// Package monitor scores the Bitcoin transaction stream for fraud as it arrives: mempool
// transactions and the transactions of connected blocks go through the fraud model in
// micro-batches, every score is published on the bus, and transactions at or above a
// threshold raise alerts, which a reorg that takes their transaction away retracts.
//
// # Pipeline
//
// [Monitor.Run] takes transactions from two streams:
//
//   - the mempool: bitcoin.MempoolTx events on the bus ([WithMempoolTopic], default
//     bitcoin.TopicMempoolTx, which a bitcoin.Notifier built with bitcoin.WithBus publishes for
//     every watched script) and the Notifier's own watch of the scripts given to [WithWatch];
//   - blocks: the Notifier's block events from the checkpoint ([WithCheckpoints]), each
//     connected block read from the chain.
//
// A transaction is scored once, where it is seen first: one scored in the mempool is not
// scored again when its block connects (de-duplication by txid; [Stats].Duplicates). Its
// features are package bitcoin's (bitcoin.FeatureExtractor), with the outputs it spends looked
// up in its block, then through [WithLookup] (the chain by default). When the address of an
// output it spends is linked to a DID ([WithIdentities]: address → DID → identity features),
// the first such sender's identity features join them and identity_known is 1.
//
// Transactions are scored in micro-batches of up to [WithMaxBatch]: a mempool batch is what is
// queued, after waiting up to [WithMaxWait] for more; a block is cut into batches. Batches are
// scored on [WithWorkers] goroutines at once. Each batch crosses three trust boundaries
// ([Boundary], a *security.Boundaries — audited when built with security.WithAudit), once each:
//
//	bitcoin→ml  ActionScore   the transactions' feature rows (only the features the model takes)
//	web5→ml     ActionScore   the linked senders' identity rows
//	ml→host     ActionReport  the scores, and the risk factors of those at or above the threshold
//
// Only numbers and feature names cross into ML; txids, addresses and DIDs stay with the monitor,
// which pairs the scores up with them after the ml→host crossing. The model scores what crossed.
// A refused crossing leaves its batch unscored ([Stats].Denied): no score of it reaches the
// host. The boundaries must allow the monitor's crossings: [ExtendBoundaries] adds them to a
// host's boundaries (the Manager's), [Boundaries] gives them alone. A feature outside the
// model's range is clamped to it and named in [Scored].Clamped, so that a transaction cannot
// escape scoring with an extreme value.
//
// # Events
//
//	anya.fraud.scored     Scored      every transaction scored
//	anya.fraud.alert      Alert       risk ≥ the threshold (WithThreshold, default DefaultThreshold = 0.7)
//	anya.fraud.retracted  Retraction  an alert withdrawn by a reorg
//
// Events are keyed by txid, with source [BusSource]. An alert's ID is derived from the txid, the
// model version and the number of earlier retractions of the transaction's alerts ([AlertID]),
// so the same alert raised twice — after a restart from an older checkpoint, or by a second
// monitor — has the same ID, and consumers de-duplicate by it.
//
// # Reorgs
//
// When a block is disconnected, the alerts of its transactions are in doubt. A transaction that
// is in neither the mempool nor the chain (Chain.Tx does not find it) — typically because a
// conflicting transaction won — has its alert retracted with a [Retraction] on
// anya.fraud.retracted: checked at the disconnect and at every block connected after it. A
// transaction that comes back (to the mempool, or mined again) keeps its alert; after
// [WithSafetyLimit] blocks in the mempool it stops being checked. A transaction whose alert was
// retracted is scored again when it is seen again, and a new alert has a new ID. Alerts in
// blocks buried deeper than the safety limit are final. Alerts raised in the mempool whose
// transaction never confirms (evicted, replaced) are not retracted: no block took them back.
//
// # Restart
//
// The checkpoint moves after every block whose events are published. A restarted monitor
// resumes after it; blocks processed after the last saved checkpoint are processed again and
// their alerts published again, with the same IDs. A disconnect of a block processed before
// the restart is handled by scoring that block again, without publishing, to find its alerts.
// What the monitor remembers between blocks — transactions scored in the mempool, alerts in
// doubt — is not persisted.
//
// # Wiring
//
// The Manager composes it from what it already has — its chain, notifier, bus, fraud engine
// and boundaries (extended with ExtendBoundaries before security.New) — with an [Identities]
// over its address links and identity features and a bridge.Checkpoint in its own store, and
// runs it on a goroutine it stops at Close:
//
//	mon, err := monitor.New(m.chain, m.notifier, m.bus, fraudEngine, m.bounds,
//		monitor.WithIdentities(identities{m}), monitor.WithCheckpoints(checkpoint),
//		monitor.WithThreshold(anya.DefaultRiskThreshold), monitor.WithLogger(m.log))
//	go func() { done <- mon.Run(ctx) }()
//
// [Monitor.ScoreBlock] scores a whole block through the same path without publishing.
package monitor
