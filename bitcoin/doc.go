// Package bitcoin is the SDK's hand on Bitcoin: keys and addresses, multisig policies,
// partially signed transactions, message signatures that prove control of an address,
// feature vectors for machine learning, and access to the chain.
//
// Everything is built on btcd v0.25.0 (wire, txscript, btcec/v2, btcutil, psbt) and is
// checked against the published conformance vectors of the BIPs it implements (see
// testdata/PROVENANCE).
//
// # Networks and addresses
//
// A Network is Mainnet, Testnet, Signet, Regtest or Simnet (btcd's); its zero value is
// invalid, so nothing silently defaults to mainnet. An Address is a decoded address bound to a network:
// P2PKH, P2SH (including P2SH-wrapped P2WPKH), P2WPKH, P2WSH, P2TR and future segwit
// versions, built by NewP2PKH, NewP2SHP2WPKH, NewP2WPKH, NewP2WSH, NewP2TR and
// AddressFromScript. ParseAddress rejects an address encoded for another network with an
// *AddressError wrapping ErrWrongNetwork; testnet and signet share every encoding, and
// regtest shares the base58 ones, so those parse for each other.
//
// # Keys
//
// HDKey is a BIP-32 extended key. Purpose.Path and HDKey.DeriveAddress follow BIP-44,
// BIP-49, BIP-84 (P2WPKH) and BIP-86 (single-key P2TR). ParseHDKey also reads the
// SLIP-132 forms (zprv, vpub, …) that BIP-49/84 wallets print. An HDKey prints its public
// form; the private form is only produced by ExtendedPrivateKey.
//
// # Multisig
//
// Multisig policies take plain public keys (*btcec.PublicKey), so keys from DID documents
// can be used directly. NewSortedMultisig is k-of-n OP_CHECKMULTISIG in P2WSH with BIP-67
// key order. NewMuSig2Multisig is n-of-n as one BIP-327 aggregate key spent through the
// taproot key path: signers each run a MuSig2Session (two rounds: public nonces, then
// partial signatures) and CombineMuSig2 assembles the signature. NewTaprootMultisig is
// k-of-n in a tapscript leaf with OP_CHECKSIGADD, behind an unspendable internal key or,
// with WithMuSig2KeyPath, behind the MuSig2 aggregate of all keys.
//
// # Transactions and PSBTs
//
// CreatePSBT selects coins (branch and bound for a changeless solution, then largest
// first) for outputs at a FeeRate, adds change above the dust threshold, signals
// replaceability (BIP-125) by default and refuses fees above DefaultMaxFee. A PSBT
// (BIP-174) is then signed (Sign, which first applies BIP-174's signer checks),
// combined (Combine), finalized (Finalize) and extracted (Extract, which runs every input
// through the script interpreter before returning the transaction). ParsePSBT is strict:
// it also rejects encodings btcd's parser lets through, and encodings other readers would
// read differently (key types wider than a byte, witness UTXO scripts with a multi-byte
// length). It reads the bytes once and builds the PSBT from that reading, so what Sign signs
// is what was parsed; a fuzz target holds that reading to btcd's. A witness UTXO that
// contradicts the non-witness UTXO, and two inputs spending one output, are refused too.
// BIP-370 (PSBT version 2) is not supported.
//
// # Amounts
//
// Consensus allows every output, and the sum of a transaction's outputs, 0 to 21,000,000 BTC
// (btcutil.MaxSatoshi satoshis); the wire format allows any int64. Every place a transaction,
// a PSBT, a coin or a spent output enters the package — DecodeTx, ParsePSBT, NewPSBT,
// AddCoin, Combine, Fee, CreatePSBT, the feature extractor (outputs, the lookup's spent
// outputs, the fee, a block's total), Broadcast and Sender, the chain backends and the
// events decoded from a bus — refuses amounts outside that range, and sums above it, with an
// *AmountError (ErrAmountOutOfRange), so no sum of amounts in the package can overflow.
//
// # Message signing
//
// SignMessage and VerifyMessage implement BIP-322 (generic signed messages): the simple
// ("smp"), full ("ful") and proof-of-funds ("pof") formats, the older unprefixed encodings
// on verification, and the legacy format for P2PKH. Verification returns one of BIP-322's
// three outcomes — Valid (at time T and age S), Inconclusive or Invalid — as a
// Verification; errors are reserved for signatures that cannot be decoded. With
// WithUTXOLookup, a proof of funds is checked against the UTXO set. Multisig addresses are
// signed with SignMessageMultisig or, across parties, with NewMessagePSBT.
// SignMessageLegacy and VerifyMessageLegacy implement Bitcoin Core's signmessage and the
// BIP-137 segwit headers (refusing, unlike Core, the high-S twin of a signature).
//
// The identity a signature proves is the address it is verified against: to_sign's first
// input must spend that address's to_spend output, whose script — never a script the
// signature itself claims — decides whether the signature is valid; for legacy signatures,
// the key recovered from the signature must have that address. A fuzz target recomputes
// this independently of VerifyMessage.
//
// # Schnorr signatures
//
// SignSchnorr and VerifySchnorr implement BIP-340 for messages of any length; btcec's
// schnorr package only takes 32-byte messages. MuSig2 key aggregation and nonce
// generation come from btcec's musig2 package; partial signing, partial verification and
// aggregation follow BIP-327 over messages of any length.
//
// # Features for machine learning
//
// A FeatureExtractor turns a transaction or a block into a named, versioned []float32
// (TxFeatureSchema, BlockFeatureSchema): counts, values and their statistics, fee and fee
// rate, sizes, script-type mix, round amounts, change heuristics, RBF, lock time, and — when
// a FeatureLookup (for example a chain index) supplies spent outputs — input values, ages
// and address reuse. Extraction without a lookup does not allocate.
//
// # Chain access and notifications
//
// A [Chain] is the SDK's hand on a Bitcoin chain: best block, blocks and headers by hash,
// transactions, the UTXO set, the mempool, fee estimates, a testmempoolaccept-style check and
// broadcast, and a push feed of tip changes and watched mempool transactions. Two backends
// implement it: package rpcchain talks to a btcd node over JSON-RPC and websocket
// notifications and reconnects on its own; package simchain is an embedded, deterministic
// chain with a real UTXO set and script validation, for demos and downstream unit tests.
// Package bitcointest holds the conformance suite every backend passes (RunChainSuite), a
// regtest btcd launcher and funded wallets.
//
// A [Notifier] turns a Chain into the guarantees of lnd's chainntnfs:
//
//   - Block epochs ([BlockConnected], [BlockDisconnected]) in chain order, replayed from a
//     caller's checkpoint (height and hash) so a restarted host misses nothing; a reorg
//     produces a disconnect for every orphaned block, tip first, before the new connects;
//     a reorg deeper than the safety limit ([DefaultSafetyLimit] = 144) is reported first as
//     a [DeepReorg].
//   - Confirmation registrations ([Notifier.RegisterConf]) by txid and/or output script, for
//     N confirmations, with a height hint for the historical rescan: [TxConfUpdate] as
//     confirmations accrue, [TxConfirmed] at N, [TxReorged] (the negative confirmation) when
//     the confirming block is disconnected, and [TxFinal] once the transaction is buried
//     deeper than the safety limit.
//   - Spend registrations ([Notifier.RegisterSpend]) for outpoints, with [OutpointSpent],
//     [SpendReorged] and [SpendFinal].
//   - Mempool-seen events ([MempoolTx]) for watched output scripts ([Notifier.WatchMempool]).
//
// Every stream is available as a Go channel ([Registration]) and, for blocks, as an
// iterator ([Notifier.Blocks]); with [WithBus] the Notifier also publishes its own stream, in
// order, on these topics (typed payloads, key = block hash, txid or outpoint, source
// [BusSource]):
//
//	bitcoin.block.connected     BlockConnected
//	bitcoin.block.disconnected  BlockDisconnected
//	bitcoin.chain.deepreorg     DeepReorg
//	bitcoin.tx.confupdate       TxConfUpdate
//	bitcoin.tx.confirmed        TxConfirmed
//	bitcoin.tx.reorged          TxReorged
//	bitcoin.tx.final            TxFinal
//	bitcoin.spend.detected      OutpointSpent
//	bitcoin.spend.reorged       SpendReorged
//	bitcoin.spend.final         SpendFinal
//	bitcoin.mempool.tx          MempoolTx
//	bitcoin.tx.broadcast        TxBroadcast (published by a Sender with WithBus)
//
// # Block subscribers and checkpoints
//
// The Notifier keeps the last SafetyLimit+1 blocks it processed. Each block subscriber keeps
// its own cursor and walks from it to the Notifier's tip, reading older blocks from the Chain
// when it is behind that window, so a subscriber can start from any checkpoint and a slow one
// costs no memory and never holds up the others: it simply sees the chain as it is when it
// catches up (blocks that came and went while it was not reading are not replayed). A
// DeepReorg is reported once the blocks disconnected since the last connect exceed the
// safety limit: before all the disconnects when the whole reorg is seen at once, before the
// batch that crosses the limit when a backend is caught in the middle of a reorg.
//
// # Faults
//
// A Chain that fails (a node that went away) makes the Notifier retry with a doubling
// backoff ([WithRetryBackoff]); every tip update, such as the one rpcchain sends after it
// reconnects, retries at once. The Notifier always resumes from the last block it
// processed, so the stream has no gap and no duplicate.
//
// Sending goes through [Broadcast] (idempotent: the same signed transaction twice is a no-op
// returning the same txid) and [Sender], which takes an idempotency key and refuses to build
// or broadcast a second, different transaction for the same key; the key→txid records live in
// a [SendStore] ([NewMemSendStore] in memory).
//
// # Observability
//
// With [WithTracerProvider] a Notifier makes a span of every block it connects or disconnects,
// [SpanBlock] ("bitcoin.notifier.block", with anya.bitcoin.block.change and
// anya.bitcoin.block.height), in which the block is fetched and its events are published: with
// a traced bus, a handler of a block event runs in a child of the block's span. When the
// Notifier has to ask the chain where it stands (a reorg, a restart, a missed update) the
// blocks of that catch-up sit under a [SpanCatchUp] span ("bitcoin.notifier.catch_up", from
// the processed height to the chain's), which also carries an [EventDeepReorg] event for a reorg
// deeper than the safety limit. A Sender makes a span of every Send and SendFunc, [SpanSend]
// ("bitcoin.send"), under the caller's, with anya.bitcoin.send.resend and anya.outcome; the
// chain's requests (rpcchain's, when traced) are its children. Spans carry no address, amount,
// txid or idempotency key.
//
// With [WithMeterProvider] a Notifier counts blocks by change (anya.bitcoin.notifier.blocks),
// deep reorgs and failed catch-ups (by error.type), and reports its processed height and its
// lag behind the chain's tip (anya.bitcoin.notifier.lag, the value of [Notifier.Lag]) when the
// meter collects; a Sender counts sends by outcome (anya.bitcoin.sends: sent, resent, refused,
// failed; cancelled ones are not counted). Nil providers are the no-op ones.
// docs/observability.md lists the spans and instruments of every package.
//
// # Errors
//
// Every error wraps one of the package's sentinels (ErrInvalidAddress, ErrInvalidPSBT,
// ErrMalformedSignature, ErrAmountOutOfRange, …); typed errors (*AddressError, *PSBTError,
// *SignatureError, *AmountError, *MuSig2Error, *InsufficientFundsError) say which input,
// output or signer is at fault.
// Bad input never panics and never changes the value it was applied to.
//
// # Options
//
// The package has one [Option] type for all its constructors and operations; each option
// says which it configures ([NewNotifier], [NewSender], [NewFeatureExtractor],
// [NewTaprootMultisig], [CreatePSBT], [EstimateFee], the message signers, [VerifyMessage]):
// [WithLogger], [WithBus], [WithTracerProvider] and [WithMeterProvider] configure both a
// Notifier and a Sender, [WithClock] a Sender.
// An option given to a function it does not configure is an [*OptionError] like a value out
// of range.
//
// # Zero values
//
// A zero [FeatureExtractor] and a zero [MemSendStore] work. The other types with methods need
// their constructor: a zero [Notifier], [Sender], [HDKey], [Multisig], [MuSig2Session],
// [PSBT] or [Registration] answers its accessors with zero values and returns a
// [*NotConstructedError] naming the constructor from every method that can fail; Close of a
// zero Notifier does nothing.
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
package bitcoin
