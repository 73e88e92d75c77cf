// Package anya joins Bitcoin, Web5 identity and ML in one host process: a [Manager] composes
// the SDK's packages — the event bus, a Bitcoin chain with its notifier, sender and wallet, DID
// resolution and a records store, the fraud and reputation models, the trust boundaries with
// their audit log, and the durable workflow engine — and carries out the operations that cross
// between protocols.
//
// # Getting started
//
// New with no options runs entirely in-process: an embedded regtest simchain, DID resolution for
// did:key, did:jwk, did:pkh and did:dht (through an in-process gateway), SQLite databases in a
// temporary directory, and the SDK's shipped models on ONNX Runtime when its library is found,
// the pure-Go evaluator otherwise. Options replace any part ([WithChain], [WithBus],
// [WithDataDir], [WithHostDID], ...).
//
//	m, err := anya.New()
//	defer m.Close()
//	alice, err := m.NewIdentity(ctx)                             // a did:dht and a Bitcoin key
//	_, err = m.Fund(ctx, alice.Address.String(), 100_000_000)    // coins on the embedded chain
//	_, err = m.LinkIdentity(ctx, alice)                          // her address, linked to her DID
//	pay, err := m.Pay(ctx, anya.TriProtocol{PaymentID: "order-42", SenderDID: alice.String(),
//		SenderAddress: alice.Address.String(), RecipientAddress: shop, AmountSat: 25_000})
//	// pay.Outcome: sent, blocked, unverified, failed or pending; pay.Refusal.Reason says why not sent
//
// [Manager.Fund] and [Manager.EmbeddedChain] (to mine) work on the embedded chain only; on a
// node (WithChain) coins come from the network. The anyatest package gives a test a Manager
// with funded, linked identities in one call.
//
// # Operations
//
// Each operation crosses between protocols in one of four directions. Each has a typed entry
// point — [Manager.Pay], [Manager.Link] (and [Manager.LinkIdentity]), [Manager.VerifyLink],
// [Manager.Reputation], [Manager.RiskGate] — and [Manager.Execute] carries out any of them as a
// value (an [Op]) for hosts that dispatch generically; each operation's documentation names its
// result type.
//
//   - Bitcoin→Web5 ([BitcoinToWeb5], [VerifyLink]): a BIP-322 signature and a JWS by the DID
//     over the same challenge ([Manager.Challenge]) prove control of an address and of the
//     DID; the host issues an address-link credential (issuer: the host's DID; subject: the
//     DID; claims: the address as did:pkh and CAIP-10 account, both proofs; an entry in its
//     revocation list) and stores it in the DID's records store (see "Bridges").
//   - Web5→ML ([Web5ToML]): identity features of a DID — its resolution, credentials, links
//     and records-store history — scored by the reputation model.
//   - ML→Bitcoin ([MLToBitcoin]): the fraud model's risk gates a payment: at or above the risk
//     threshold ([WithRiskThreshold], [DefaultRiskThreshold]) it is blocked. ML can block a
//     payment but never authorise one: the ML→Bitcoin boundary also requires a verified identity
//     in the security context ([Manager.SecurityContext]).
//   - Tri-protocol ([TriProtocol]): the verified payment, the built-in
//     workflow.VerifiedPayment with the Manager's four operations — verify the sender's identity
//     (Web5), assess the fraud risk (ML), send the payment (Bitcoin), record it in the sender's
//     records store (Web5) — durable, exactly once, observable on the bus.
//
// # Bridges
//
// The Manager wires the bridge packages (package bridge and its sub-packages, on the
// integration floor: they import the protocol packages, never this one) and exposes them:
//
//   - Identity keys on chain (bridge/didbtc): [Manager.NewIdentity] publishes the identity's
//     Bitcoin key in its DID document — a secp256k1 verification method and the did:pkh of its
//     address in alsoKnownAs for a did:dht, the DID's own key for a did:jwk or did:key
//     ([WithIdentityMethod]) — so anyone resolving the DID can derive its addresses.
//     [Manager.Multisig] builds k-of-n wallets from DIDs (bridge/multisig) and keeps each in
//     its participants' stores; a DID without a Bitcoin key is refused, named. A signing
//     round runs across hosts, script path (sorted P2WSH, tapscript): the coordinator builds
//     the PSBT ([Manager.MultisigPSBT]), each participant's Manager signs it as its identity
//     for a wallet its store keeps ([Manager.SignMultisig]), and the coordinator combines
//     and broadcasts ([Manager.FinishMultisig]). A MuSig2 key-path round (BIP-327) runs the
//     same way in two exchanges — nonces ([Manager.MultisigNonces]), then partial signatures
//     ([Manager.MultisigPartialSigs]), aggregated by the coordinator
//     ([Manager.FinishMultisigKeyPath]) — with secret nonces kept only in memory and used
//     once. A round's spend is recorded in the send store before its broadcast
//     ([MultisigKey]), so finishing it again never sends another transaction.
//   - Two-way links (bridge/link): a link proves control of the address (BIP-322) and of the
//     DID (a JWS over the same challenge, which the Manager signs for the identities it holds
//     keys for). [Manager.Links] returns the linker: its reverse index (address → DIDs, DID →
//     addresses, link metadata) and its revocation list, read at every verification;
//     [Manager.RevokeLink] revokes a link, and a revoked link is [ReasonLinkRevoked] at once.
//   - UTXOs → Web5 (bridge/utxo): the confirmed UTXOs of every linked address are a record in
//     its DID's store ([Manager.UTXOs]), updated on every block and undone on a disconnect.
//   - Triggers (bridge/trigger, bridge/handler): every transaction of every block (but the
//     coinbase), a registered identity's DID document change and every records-store event
//     fire the triggers — trigger.DefaultDefinitions (a transaction paying a linked address is
//     recorded in its DID's store, [TxRecord], once the link verified again; one above
//     [WithLargeTx] is scored by the fraud model; a DID document change re-scores the
//     identity) and the host's ([WithTriggers], [WithTriggerAction]) — each side effect once
//     per event (the handler store in [StateFile]), its data through its trust boundary.
//     The same events reach the host's event handlers ([WithEventHandler],
//     [WithPostProcessor]; bridge/handler): handlers matched by pattern return findings and
//     side effects, post-processors see them all, and each effect runs once per event through
//     its boundary ([BridgeBlock].Handled).
//     A reorg takes back what they did for a disconnected block: the transaction records are
//     deleted from every store they were written to (a DID whose link was revoked since
//     included: the Manager notes each store before writing to it), and every side effect
//     that ran for the block's transactions is retracted — marked so in the handler store
//     (the block returning runs it again), given to its action's Undo half when it has one
//     (trigger.Action.Undo), and listed in [BridgeBlock].Retracted on [TopicBridgeBlock] for
//     the host to compensate the others.
//   - Chain analysis (bridge/analysis): [Manager.Analyzer] forks a block's transactions to Web5
//     (the link checked again) and ML (the fraud model) in parallel, correlated per
//     transaction; [WithBlockAnalysis] runs it on every block ([TopicBlockAnalysed]).
//   - Features served = features trained (bridge/learn): every vector the models score is
//     written to the feature store ([Manager.FeatureStore], [FeaturesFile]) — a payment's
//     under "payment:<ID>", an identity's under a keyed pseudonym of its DID, never the DID —
//     and every payment scored is a labelled decision, labelled fraudulent by a [Report] that
//     names it. [WithTrainIfMissing] (and [Manager.TrainFraudModel]) trains the fraud model
//     from the offline tier when the Manager's model registry ([ModelsDir]) has none, writes
//     it with its card and activates it. The reputation of the registered identities is
//     re-scored every [WithRescoreInterval] ([Manager.Rescore]) and written back to their
//     stores as a [ScoreRecord] through the ML→Web5 boundary.
//   - Anchoring (bridge/anchor): [Manager.Anchor] commits to records in a transaction of the
//     Manager's wallet, recorded in the send store before its broadcast as a payment's, so
//     an anchor ID is one transaction across retries and crashes; [Manager.VerifyAnchor] proves from the chain which were committed (and
//     which changed since), and refuses a tampered receipt.
//
// The bridges keep their records under bridge.ProtocolURI in each identity's store, under
// grants every registered identity gives the host ([Manager.BridgeRecords]). A block pipeline
// follows the notifier from its own checkpoint (in the host's store), so a restarted host
// replays every block its bridges missed; after each block it publishes [TopicBridgeBlock],
// and [Manager.WaitBridges] waits for a block.
//
// # Resilience and caches
//
// Every call to a dependency goes through its circuit breaker ([BreakerChain],
// [BreakerDID], [BreakerRecords], [BreakerModel]; [WithBreakers] gives the registry): an
// answer of the dependency (not found, rejected) counts as a success, a failure comes back as
// an [*UnavailableError] ([ErrUnavailable]), and so does a call an open breaker refuses. A
// payment needs the chain and the fraud model: while either breaker is open it fails at once,
// touching nothing and storing nothing, and it goes through again once the breaker's wait is
// over and the dependency answers. The fallbacks: DID resolution serves the last document
// resolved for the DID within [DefaultStaleDIDTTL] while its gateway fails (an unreachable
// gateway is never a verdict on the DID: [ReasonDIDUnresolvable] is for a DID that does not
// resolve); [Manager.Reputation] serves the identity's last re-scored reputation, marked
// Stale, while the model's breaker is open; the bridges' block pipeline, whose records-store
// writes fail while the store does, starts again from its checkpoint, so nothing is lost.
//
// The Manager's caches are tiers (cache.Tiered): a lookup tries the protocol's own cache
// ([CacheBitcoin]: UTXOs of addresses; [CacheWeb5]: what the Manager knows of a DID;
// [CacheLinks]: link verdicts), then the cross-protocol cache shared by all of them, then
// the shared store of [WithCacheStore] (for UTXOs), then the source; what it finds lower down
// is copied up. Link verdicts, which join Bitcoin and Web5, are written to both their own tier
// and the cross-protocol one. Blocks and records-store events invalidate them.
//
// # Identities
//
// An [Identity] is a DID the host can sign as and, optionally, a Bitcoin key in the Manager's
// wallet. [Manager.AddIdentity] registers one: its records store gets [ProtocolURI] installed
// and permission grants that let the host write and query its records, so the host never signs
// as the identity to record what it did for it; the bridges' protocol is installed there too,
// with grants of its own. [Manager.NewIdentity] creates and registers a did:dht (or, with
// [WithIdentityMethod], a did:jwk or did:key) with a new Bitcoin key in its document.
//
// The keys NewIdentity creates go to the Manager's key store (package keystore) before the
// identity is used: [WithPassphrase] or [WithKEK] keep them in [KeysFile] in the data directory,
// encrypted at rest (AES-256-GCM under a key derived from the passphrase with Argon2id, or under
// the host's key-encryption key), [WithKeyStore] in a store the host provides (a key
// management service behind keystore.Wrapper, for instance). A Manager started again on the
// data directory with the same passphrase loads them: [Manager.Identity] returns each identity
// ready to sign, and the host's own DID — kept in the key store too unless [WithHostDID] gives
// it — is the same, so the links it issued stay trusted. The in-process did:dht gateway keeps the
// records it serves in [DHTFile], and the Manager republishes its identities' documents at start
// and every [DefaultRepublishInterval]. A wrong passphrase fails New with an error matching
// keystore.ErrWrongKey. Without a key store a Manager on a temporary directory keeps keys in
// memory, and one on a host's data directory refuses NewIdentity ([ErrNoKeyStore]) unless
// [WithEphemeralKeys] says to lose them at Close. Keys are never logged, and serialized only
// encrypted, into the key store.
//
// # Interaction features
//
// The fraud model sees a payment's interaction features: the transaction features (package
// bitcoin's) of the transaction the wallet would build — its coins, change and fee, with spent
// outputs and address reuse looked up on the chain — joined with the sender's identity features.
// Each part crosses its boundary into ML (Bitcoin→ML, Web5→ML) and is audited; only the numbers
// cross — neither the DID nor the addresses reach ML. For a verified payment the Manager computes them before the run
// starts and stores them with it, so the ML step scores the same vector after a restart.
//
// # Exactly once
//
// A verified payment's run ID is its PaymentID, the caller's idempotency key: executing it
// again returns the stored outcome or continues the run. Its transaction is recorded under
// [SendKey](PaymentID) in the send store — the signed bytes and txid, with the coins it spends
// reserved — before it is broadcast. Every later attempt, before or after a crash, looks the
// recorded txid up on the chain and, only if the chain does not know it, broadcasts the same
// bytes again; it never builds a second transaction. The payment record is a deterministic write
// (the same data, dated when the transaction was recorded), so a retry re-sends the same write,
// which the records store recognises, instead of a second record. After a crash, [Manager.Resume]
// continues every unfinished payment. The guarantee holds when one Manager at a time uses a data
// directory, or when several share their state on NATS JetStream (Scaling out, below); the
// SQLite databases survive a crash of the process (kill -9), and with [WithFullSync] a power
// loss.
//
// # Why a payment was not sent
//
// Every payment that was not sent says why: its [Payment].Refusal holds a stable [Reason] —
// [ReasonNoLink], [ReasonAddressMismatch], [ReasonLinkExpired], [ReasonLinkRevoked],
// [ReasonUntrustedIssuer], [ReasonLinkInvalid], [ReasonDIDUnresolvable] for an unverified
// sender; [ReasonRiskAboveThreshold] with the risk and the threshold for a blocked payment;
// [ReasonInsufficientFunds], [ReasonNoKey], [ReasonTxRejected], [ReasonStepFailed] for a failed
// one; [ReasonAwaitingKeys] or [ReasonInProgress] for an unfinished one — and its details. The
// reason is stored with the payment ([Manager.Payment] returns it), carried by the payment's
// event on the bus ([TopicPaymentUnverified], [TopicPaymentBlocked], [TopicPaymentFailed]) and
// printed by the command line.
//
// # Retrying a payment
//
// A payment ID names one attempt, and its outcome once its run ends is final: paying the same ID
// again returns the stored Payment, field for field, whatever changed since — that is what makes
// a retry after a crash or a timeout safe. So, after fixing the cause a Refusal names (linking
// the address, funding it, registering the key), pay again under a NEW payment ID (for
// instance the order's ID with an attempt number: "order-42.2"). There is deliberately no Retry
// of an ended payment: an ID that could be re-run could be paid twice.
//
// Three cases keep their ID: a payment that is unfinished (OutcomePending: [ReasonInProgress]
// or [ReasonAwaitingKeys]) continues under its ID, with Resume or by paying it again; an error
// returned with a nil Payment (a malformed payment, an [*InsufficientFundsError] found before the
// run started, a cancelled context) stored nothing, so the same ID may be paid again; and a
// failed payment whose Txid is set was sent — only its record is missing — and must not be paid
// again under any ID.
//
// # Stored payments
//
// [Manager.Pay], Execute again with the same payment, and [Manager.Payment] return the same
// Payment, field for field, until the chain moves on: then Manager.Payment shows where the
// transaction is ([Payment].Confirmation: its status, block height and hash) and every event
// since, confirmations and reorgs in order ([Payment].Events).
//
// # Payments from one sender
//
// Payments from one address queue on its lock from building their transaction to its broadcast,
// each built on the previous one's change: the wallet counts a transaction's change as spendable
// the moment it is recorded, and its fraud features (computed before the payment starts, outside
// the lock) see the same. A payment spending the change of a transaction the chain does not hold
// yet broadcasts that one first, as recorded; one the chain refuses is not built on again. A
// payment its sender's coins cannot pay fails with an [*InsufficientFundsError] naming the
// payments that hold the address's coins. The Manager keeps its unconfirmed transactions in the
// chain's mempool: after a reconnection (btcd forgets its mempool when it restarts), a reorg, at
// start and every [DefaultRebroadcastInterval], it sends again, parents first, the recorded bytes
// of those the chain lost. A new payment costs three chain calls: the tip (for its features),
// test-accept and broadcast.
//
// # Data
//
// The Manager keeps its state in SQLite files in its data directory ([WithDataDir]), one per
// component so that their writes proceed in parallel: [WorkflowFile] (the workflow runs),
// [StateFile] (send records with the coins they reserve, payments and their events, interaction
// features, the block checkpoint, the bridges' grants, labels and once-per-event side
// effects), [AuditFile] (the audit log), [DWNFile] (the identities' records), [DHTFile] (the
// in-process did:dht gateway's records), [FeaturesFile] (the feature store), [ModelsDir] (the
// models it trained) and, with [WithPassphrase] or [WithKEK], [KeysFile] (the key store). One Manager at a time may use a data directory; it
// relies on that to keep some of what it has read in memory (send records, reserved coins, the
// wallet's coins, permission grants).
//
// # Scaling out
//
// [WithJetStream] makes the Manager one of several hosts — processes, machines — sharing their
// state on NATS JetStream instead of the data directory's SQLite files: the bus (a stream,
// delivered at least once, de-duplicated by message ID), the workflow runs with their leases,
// the send records with their coin reservations, the payments with the outbox of their events,
// the identities met and the block checkpoint, the identities' records and one audit chain
// (each behind its package's interface and conformance suite). Each host is named
// ([WithHostName]); [JetStreamReplicas] replicates every stream and bucket over a NATS cluster.
// The keys a host holds (its key store, the did:dht gateway's records) stay in its data
// directory.
//
// The grants an identity gives the hosts for the bridges are taken once, by whichever host
// registers it first, and kept in the shared state for all. A link made through one host counts
// on every other: the revocation list (in the host DID's records store) is read again at every
// verification and before every change, so a revocation made through one host is refused by all
// at once, and the hosts take the entries of new links from one counter in the shared state
// (each write of the list is a compare-and-set on the version read, merged and made again when
// another host wrote first); a verification that finds no link reads the DID's store again; and
// each host's reverse index (address → DIDs, for the triggers and the analysis) follows the
// others' links on [TopicLinkChanged]. The bridges' block pipeline (UTXO records, the triggers
// on linked addresses, block analysis) runs on one host at a time, the holder of its lease: it
// keeps the UTXO records of addresses linked through any host, another host takes over from
// the shared checkpoint when it stops, and every host's [Manager.WaitBridges] follows it
// ([Health].Bridges says which host applies the blocks).
//
// What holds when a host dies (TestDistributedKill9 kills one with SIGKILL at random moments and
// at both sides of a broadcast): a payment's run executes on one host at a time, the holder of
// its lease; its commits carry the lease's fencing token, so a host whose lease lapsed commits
// nothing more. Another host takes the run over once the lease lapses ([WithLeaseTTL]; each host
// looks every TTL), and a host started again under its name takes its runs back at once. The
// transaction is recorded, with its coins reserved (two hosts never reserve one coin), before
// it is broadcast, and whichever host continues sends those same bytes: no payment is sent
// twice, none is lost. Payment events are published under IDs derived from the payment and
// their sequence number, so copies published by two hosts, or again after a crash, are one
// message; block triggers run once across the hosts (a shared durable consumer), each moving
// the shared checkpoint; the audit chain is appended at the stream's expected last sequence and
// never forks. A host cut off from NATS stops its runs when it cannot renew their leases and
// takes no new work; a broadcast it had in flight can only be the recorded transaction.
//
// What does not hold: a payment whose transaction is not yet built needs its sender's key, so a
// host that lacks it leaves the payment waiting ([*AwaitingKeysError]) — register the keys on
// every host that may take over. A NATS node lost from a cluster of three with three replicas
// loses nothing, but calls fail while the cluster elects new leaders (seconds): execute them
// again under the same PaymentID. One server, or a cluster that lost its majority, stops the
// hosts until it is back. A copy of an event published after the stream's duplicate window
// (natsbus.DefaultDuplicateWindow) is delivered again, and a subscriber that dies before
// acknowledging gets its event again: subscribers that must act once de-duplicate on the
// envelope ID. Each host's caches are its own, dropped when the shared bus brings another
// host's change: until it arrives a host may read the older value (its reverse index of links
// included).
//
// # Starting a host
//
// A long-running host starts in the order [Manager.Resume] documents: New with its data
// directory and key store (identities and their keys come back, payments are brought up to date
// with the chain), AddIdentity for the identities whose keys it keeps itself, Resume, then new
// work. A payment whose sender's key is not registered when Resume runs waits, reported by an
// [*AwaitingKeysError], instead of failing.
//
// # Trust boundaries and audit
//
// Every crossing between protocols — each workflow step's input that comes from another
// protocol, the interaction features, identity features, link proofs, the risk gate — passes
// [DefaultBoundaries] (or [WithBoundaries]) under the security context in ctx, and is appended
// to the tamper-evident audit log ([Manager.Audit]), allowed or denied.
//
// # Triggers and events
//
// The Manager subscribes to the bus: blocks connected or disconnected (from a checkpoint it
// keeps, so a restarted host misses none) move payments to confirmed — rewriting the payment
// record's status in the sender's store — or back after a reorg, and invalidate the cached UTXOs
// of the addresses they touch and the wallet's view of its coins; a record written to or deleted
// from an identity's store (other than the Manager's own payment records) invalidates its cached
// links and identity. A block's payments move as one batch: their records are rewritten
// concurrently, then their states and events are written in one transaction of the state store
// (a crash in between is made good by the reconciliation at the next start). Each state change
// of a sent payment is published once, in order, whichever
// path made it: [TopicPaymentSent], then [TopicPaymentConfirmed] and [TopicPaymentReorged] in
// turn, numbered by [PaymentEvent].Seq; the events are written with the change and published from
// the state database, so a crash loses none. The components publish their own events on the same
// bus: workflow.>, security.crossing.>, bitcoin.>, web5.dwn.>, resilience.> (the per-protocol
// circuit breakers).
//
// # Fraud monitor
//
// [WithFraudMonitor] makes the Manager run the fraud monitor of package bridge/monitor on the
// transaction stream, off by default (it scores every transaction of every block: a host that
// only makes payments does not need it). The Manager composes it from its own chain, notifier,
// bus, fraud engine and trust boundaries (the monitor's crossings added to them, audited), with
// its address links as the monitor's identities (the first linked sender's identity features
// join a transaction's), its risk threshold ([WithRiskThreshold]) as the alert threshold, and a
// checkpoint in the host's store; it runs on a goroutine the Manager stops at Shutdown and
// resumes after its checkpoint when the host starts again. The mempool transactions it scores
// as they arrive are those paying a linked address (its senders' change, or receipts); the
// others are scored when mined. Scores go to anya.fraud.scored, alerts to anya.fraud.alert,
// and alerts a reorg takes back to anya.fraud.retracted. [Manager.Monitor] gives the monitor
// (Stats, ScoreBlock), [Manager.FraudAlerts] the newest alerts the bus brought (for the
// console), and [Manager.Health] its checkpoint, lag and queue. With [WithJetStream] the hosts
// that enable it share it: one at a time holds its lease (a key of a JetStream bucket that
// lapses after the lease TTL, [WithLeaseTTL]) and does the block work, resuming from the shared
// checkpoint; mempool transactions are forwarded to the shared bus under IDs derived from their
// txids, and every host's FraudAlerts shows the alerts. A host whose lease lapsed while it was
// cut off may publish the alerts of a block again; they carry the same IDs.
//
// # Observability
//
// [WithTracerProvider] and [WithMeterProvider] give OpenTelemetry providers to every component
// the Manager creates. A verified payment is one trace rooted at its [SpanPay] span ("anya.pay");
// the components report their metrics (bus messages per topic, breaker calls, cache lookups,
// model batches, workflow runs by outcome, crossings and audit appends), and with
// WithFraudMonitor the monitor's (anya.fraud.monitor.scored, .alerts, .retracted, .unscored,
// .batches, .queue.depth, .lag). docs/observability.md lists every span and instrument.
//
// # Cancellation
//
// A context that ends is returned as such — context.Canceled or context.DeadlineExceeded — from
// every call: never a verdict (a link check cut short is not "unverified"), a denial (a crossing
// cut short is not refused) or a failure (a payment cut short stays unfinished, for Resume; the
// circuit breakers do not count it).
//
// # Lifecycle
//
// [Manager.Shutdown] refuses new calls, stops the triggers and background goroutines, waits for
// the calls in progress no longer than its context allows, and closes what the Manager created;
// [Manager.Close] is Shutdown without a deadline. The Manager owns every goroutine it started
// (the notifier, the ML engines' workers, the bus subscriptions, the rebroadcaster, the
// republisher, with WithFraudMonitor the fraud monitor and, with WithJetStream, the takeover of
// lapsed runs); it does not close the NATS
// connection given to WithJetStream, which the host closes after it. A Manager New did not create — the zero Manager, a nil *Manager — refuses every
// call with a [*NotConstructedError] naming New (ErrNotConstructed), and never panics.
//
// # Conventions
//
// The SDK has one option style. A constructor takes options of one type, Option, a
// func(*config) over an unexported configuration: it applies the defaults, then the options in
// order, then validates the whole configuration once and returns a typed *OptionError naming
// the offending option, its value and the reason (it matches the package's ErrInvalidOption
// with errors.Is). Option constructors never fail and never panic, and each option's
// documentation ends with its default. Time comes from WithClock(now func() time.Time),
// time.Now by default; timers and sleeps use package time, so tests fake time with
// testing/synctest. Logs go to WithLogger(*slog.Logger), silent by default. The zero value of an
// exported type either works as documented or returns an error naming its constructor (it
// matches the package's ErrNotConstructed with errors.Is); it never panics.
package anya
