// Package dwn is a records store in the manner of a Decentralized Web Node: every DID is a
// tenant with its own records; every operation is a message signed by its author's DID and
// verified before anything happens; protocols and permission grants decide who, besides
// the tenant, may write, read, query or delete what.
//
// # Messages
//
// A [Message] has the shape Decentralized Web Nodes use: a descriptor (interface, method,
// timestamp and the properties of the operation), an authorization holding a JWS (general
// JSON serialization, one signature) whose payload names the descriptor's CID, and, for a
// write, the data as encodedData. Build messages with [NewWrite], [NewRead], [NewQuery],
// [NewDelete], [NewProtocolsConfigure], [NewProtocolsQuery], [NewGrant] and
// [NewRevocation]; decode received ones with [ParseMessage], which checks the structure
// strictly (unknown properties, bad timestamps, DIDs or CIDs, data not matching its CID are
// *[MessageError] values) but not the signature.
//
// The signature payload also names the tenant the message is for, so a message cannot be
// replayed into another tenant. This is the one addition to the DWN message format.
//
// # Content identifiers
//
// Identifiers are CIDv1 with sha2-256, computed exactly as DWN implementations do: a
// descriptor's CID is that of its dag-cbor encoding, a record ID is the CID of the initial
// write's descriptor with the author added, a message CID covers the message without its
// data, and a record's dataCid is the CID the UnixFS importer gives the data (a raw block
// up to 256 KiB, a balanced dag-pb tree of 256 KiB raw leaves above). The test data holds
// vectors computed with the JavaScript libraries dwn-sdk-js uses.
//
// # Processing
//
// A [Node] serves any number of tenants from a [Store]. [Node.Process] resolves the
// author's DID and verifies the signature (the key must be listed under assertionMethod),
// checks that the message is signed for the tenant it is sent to, then applies the rules.
// The author it acts for is the controller of the verification method whose key verified
// the signature, as the verifier returns it — never a second reading of the header. A
// message is read once by the SDK's strict JSON reader: a member name repeated anywhere in
// it, exactly or in another letter case ("kid" beside "KID", "Kid" or the Kelvin-sign
// "\u212Aid"), is refused, so every part of the SDK sees the same kid, descriptor and
// tenant. The rules:
//
//   - the tenant may do anything in its tenant, except rewrite another author's record;
//   - a record is readable by the tenant, its author, its recipient, anyone once
//     published, and whoever a protocol rule or grant allows;
//   - other DIDs write only protocol records a rule allows, or under a grant;
//   - an update keeps the record's immutable properties and must come from its author
//     (or a co-update rule), with a newer timestamp;
//   - deletes leave a tombstone, so replays of older writes keep failing.
//
// Every refusal is a typed error (*[AuthError], *[ForbiddenError], *[ConflictError],
// *[MessageError], [ErrNotFound], [ErrStale]) and changes nothing. Replays are refused:
// writes, deletes and protocol installations must be newer than the state they replace
// ([ErrConflict]); reads and queries must be recent ([WithMaxMessageAge], [ErrStale]); no
// message may be dated in the future beyond [WithMaxClockSkew]. A message is recognised by
// its signed descriptor, not by its signature bytes, so a second signature over the same
// message (ECDSA signatures are malleable) is the same message and a replay.
//
// # Batches
//
// [Node.ProcessMany] carries out many Records Write messages at once — a block's records, say —
// all or nothing: each is verified, checked and authorised exactly as Process would (against
// the store as it stands before the batch), and the records are then stored in one atomic step
// of the store ([RecordBatcher]: one transaction of the SQLite store, so one commit for the
// batch). One refused message refuses the batch: the error is a *[BatchError] naming it by its
// index and unwrapping to Process's error for it, and nothing of the batch is stored. A batch
// holds no grants or revocations and writes each record at most once; a record's parent must
// be stored before the batch. Stores that cannot write a batch atomically (package natsstore)
// refuse batches with [ErrBatchUnsupported].
//
// # Protocols
//
// A [Protocol] definition follows the DWN shape: "protocol" (a URI), "published", "types"
// (schema and data formats of each record type) and "structure", the nesting of types with
// "$actions" rules — {"who": "anyone" | "author" | "recipient", "of": "<ancestor path>",
// "can": ["create", "update", "read", "query", "delete", "co-update", "co-delete"]} — and
// "$size" bounds. A protocol record's path, schema, data format, size and parent (the
// record at the parent path; context IDs chain) are checked on every write, and its rules
// on every write, read, query and delete. Roles ("$role"), tags and record limits are not
// supported: definitions using them are refused.
//
// # Permission grants
//
// A grant is a record of the built-in [PermissionsProtocol] at path "grant", written by the
// tenant with the grantee as recipient; its data names the scope (interface, method,
// optionally a protocol) and the expiry. A message invokes it with [WithPermissionGrant].
// A grant counts only for its grantee, within its scope, from its creation until it expires
// (checked against both the message timestamp and the node's clock, so backdating does not
// help) and until a revocation ([NewRevocation], path "grant/revocation") exists. Only the
// tenant writes or deletes grants and revocations.
//
// # Queries
//
// A query filters on protocol, protocol path, schema, recipient, author, parent, context
// (a context ID matches the whole subtree), record ID, data format, publication and date
// ranges, sorts by creation, publication or update date, and pages with an opaque cursor.
// Records the querying DID may not see are left out, and pages stay full across them.
//
// # Events
//
// With [WithBus], a node publishes an [Event] after each stored write, delete and protocol
// installation, on "web5.dwn.<tenant token>.records.written", ".records.deleted" and
// ".protocols.configured" ([Topic]); the token is a hash of the tenant DID ([TenantToken]),
// since DIDs may contain '.'. Events carry the record without its data.
//
// # Observability
//
// With [WithTracerProvider] every message the node processes is a span under the caller's — a
// workflow step's, say — named after its operation ([SpanRecordsWrite] "dwn.records.write",
// [SpanRecordsRead], [SpanRecordsQuery], [SpanRecordsDelete], [SpanProtocolsConfigure],
// [SpanProtocolsQuery]), with anya.dwn.operation ("Records.Write", ...), anya.outcome, whether
// a write created its record (anya.dwn.write.initial) and how many records a query returned
// (anya.dwn.records). Resolving the author's DID, the store's work and the event published on
// the bus happen inside it. A refusal has status Error and error.type, the sentinel it matches
// ("dwn: forbidden", "dwn: permission grant expired", ...); a read of a missing record carries
// anya.found false and is no failure. A batch is one span, [SpanRecordsWriteBatch]
// ("Records.WriteBatch", anya.dwn.records its size). With [WithMeterProvider], anya.dwn.messages counts
// messages by operation and outcome (success, unauthenticated, forbidden, invalid, conflict,
// stale, not_found, failure) and anya.dwn.process.duration records how long each took;
// cancelled calls are not counted.
//
// Tenants, authors, recipients, record and context IDs, schemas, protocols, data and error
// texts are never recorded. The topics of the node's events hold the tenant token, a hash of
// the tenant's DID anyone can compute from it: give [TopicTemplate] to the bus's
// WithTopicTemplate so that its spans and metrics name them "web5.dwn.{tenant}.records.written".
// docs/observability.md lists the spans and instruments of every package.
//
// # Stores
//
// [Store] is the backend contract; [OpenSQLiteStore] is the embedded SQLite implementation
// (the default, on an in-memory database unless given a file) and [NewMemoryStore] an
// in-memory one. Package dwntest holds the conformance suite both run. The SQLite store
// writes puts that arrive while another is being written in one transaction (a group commit;
// each put is compared and written as if alone and returns once its transaction commits), and
// keeps recently used messages decoded.
//
// A node keeps, per tenant, the protocol definitions and permission grants it reads from a
// store that implements [AccessVersioner] (both embedded stores do), and uses them while the
// tenant's access version is the one it read them at. Every protocol definition stored and
// every grant or revocation written, updated or deleted changes the version in the same
// transaction, through whichever node or process shares the store; so a revoked grant or a
// replaced definition is never served from the cache, and a cached grant's expiry is still
// checked against the clock on every use. From other stores (package natsstore) both are read
// for every message.
//
// # Conventions
//
// Options: every constructor takes functional options of one shape, `func(*config)`; options
// never fail on their own — the constructor validates the whole configuration once and returns
// an *OptionError naming the option. Each option's documentation states its default. Time
// comes from WithClock(func() time.Time) and logs go to WithLogger(*slog.Logger), silent by
// default.
//
// Per-call options — MessageOption, for the New… message builders — have the same shape. A
// zero Node or SQLiteStore is not usable: its methods return a *NotConstructedError naming the
// constructor (Close has nothing to close and returns nil). A zero MemoryStore is an empty
// store, ready to use.
package dwn
