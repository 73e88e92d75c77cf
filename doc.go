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
//	alice, err := m.NewIdentity(ctx)          // a did:dht and a Bitcoin key
//	res, err := m.Execute(ctx, anya.TriProtocol{PaymentID: "order-42", SenderDID: alice.String(),
//		SenderAddress: alice.Address.String(), RecipientAddress: shop, AmountSat: 25_000})
//	pay := res.(*anya.Payment)                // pay.Outcome: sent, blocked, unverified, failed
//
// # Operations
//
// [Manager.Execute] carries out one operation in one of four directions; each operation's
// documentation names its result type.
//
//   - Bitcoin→Web5 ([BitcoinToWeb5], [VerifyLink]): a BIP-322 signature over a challenge naming
//     the DID ([Manager.Challenge]) proves control of an address; the host issues an
//     address-link credential (issuer: the host's DID; subject: the DID; claim: the address as
//     did:pkh and CAIP-10 account, with the proof) and stores it in the DID's records store.
//   - Web5→ML ([Web5ToML]): identity features of a DID — its resolution, credentials, links
//     and records-store history — scored by the reputation model.
//   - ML→Bitcoin ([MLToBitcoin]): the fraud model's risk gates a payment. ML can block a
//     payment but never authorise one: the ML→Bitcoin boundary also requires a verified identity
//     in the security context ([Manager.SecurityContext]).
//   - Tri-protocol ([TriProtocol]): the verified payment, the built-in
//     workflow.VerifiedPayment with the Manager's four operations — verify the sender's identity
//     (Web5), assess the fraud risk (ML), send the payment (Bitcoin), record it in the sender's
//     records store (Web5) — durable, exactly once, observable on the bus.
//
// # Identities
//
// An [Identity] is a DID the host can sign as and, optionally, a Bitcoin key in the Manager's
// wallet. [Manager.AddIdentity] registers one: its records store gets [ProtocolURI] installed
// and permission grants that let the host write and query its records, so the host never signs
// as the identity to record what it did for it. [Manager.NewIdentity] creates and registers a
// did:dht with a new key. Private keys stay in memory and are never serialized.
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
// directory; the SQLite databases survive a crash of the process (kill -9), and with
// [WithFullSync] a power loss.
//
// # Data
//
// The Manager keeps its state in four SQLite files in its data directory ([WithDataDir]), one per
// component so that their writes proceed in parallel: [WorkflowFile] (the workflow runs),
// [StateFile] (send records with the coins they reserve, payments, interaction features, the
// block checkpoint), [AuditFile] (the audit log) and [DWNFile] (the identities' records). One
// Manager at a time may use a data directory; it relies on that to keep some of what it has read
// in memory (send records, reserved coins, the wallet's coins, permission grants).
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
// record's status in the sender's store and publishing [TopicPaymentConfirmed] — or back after a
// reorg ([TopicPaymentReorged]), and invalidate the cached UTXOs of the addresses they touch and
// the wallet's view of its coins; a record written to or deleted from an identity's store (other
// than the Manager's own payment records) invalidates its cached links and identity. The
// components publish their own events on the same bus: workflow.>, security.crossing.>,
// bitcoin.>, web5.dwn.>, resilience.> (the per-protocol circuit breakers).
//
// # Lifecycle
//
// [Manager.Close] waits for the calls in progress and closes what the Manager created; it owns
// every goroutine it started (the notifier, the ML engines' workers, the bus subscriptions).
package anya
