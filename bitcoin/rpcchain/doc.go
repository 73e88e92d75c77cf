// Package rpcchain implements bitcoin.Chain on a btcd node, over JSON-RPC and websocket
// notifications (btcd's rpcclient).
//
// # Notifications
//
// One websocket connection carries both the requests and the notifications: notifyblocks
// feeds the tip updates (filteredblockconnected with the block header, so a
// bitcoin.Notifier connects the block without another request), loadtxfilter feeds the
// mempool transactions paying watched scripts that have an address form
// (relevanttxaccepted), and notifynewtransactions is turned on only when a watched script
// has no address form, in which case each new mempool transaction is fetched and filtered
// locally.
//
// # Reconnects
//
// The Chain owns its connection. When the node goes away, pending and new calls fail with an
// error matching bitcoin.ErrDisconnected while a supervisor goroutine redials through a
// resilience.Retry (exponential backoff with full jitter, [DefaultReconnectMin] to
// [DefaultReconnectMax], never giving up before Close); once connected it re-registers the
// notifications and the watch set and pushes a tip update, from which a bitcoin.Notifier
// catches up from the last block it processed: no gap, no duplicate.
//
// # Node requirements
//
// Run btcd with --txindex (Tx lookups of confirmed transactions) and --addrindex (UTXOs:
// btcd has no scantxoutset, so UTXOs come from searchrawtransactions plus gettxout and
// gettxspendingprevout). btcd has no getmempoolentry; Mempool uses getrawmempool with verbose
// output. Reorgs can be produced with invalidateblock.
//
// # Observability
//
// With [WithTracerProvider] every JSON-RPC request a method of the Chain makes is a span of kind
// client named [SpanPrefix] plus the method ("rpcchain.getblock", "rpcchain.sendrawtransaction";
// a pipeline of gettxout requests is one span with anya.rpcchain.requests), a child of the
// caller's span — a workflow step's, a bitcoin.Notifier's block, a bitcoin.Sender's send — with
// OpenTelemetry's rpc.system ("jsonrpc"), rpc.method, rpc.jsonrpc.version, server.address,
// server.port and, for an RPC error, rpc.jsonrpc.error_code. A request for a block,
// transaction or output the node does not have carries anya.found false and is no failure;
// other failures have status Error and error.type (bitcoin's sentinel, such as "bitcoin:
// backend disconnected", or the error's Go type). Parameters, results and error messages name
// txids, addresses and amounts: they are never recorded, nor are the credentials.
//
// With [WithMeterProvider], anya.rpcchain.call.duration (s) records every request by
// rpc.method and anya.outcome (success, not_found, failure; cancelled requests are left out),
// anya.rpcchain.connected is 1 while the Chain has a connection, and anya.rpcchain.connects
// counts the connections made, the first and each reconnection. docs/observability.md lists
// the spans and instruments of every package.
//
// # Options and zero values
//
// [New] takes [Option] values ([WithLogger], [WithReconnectBackoff], [WithTracerProvider],
// [WithMeterProvider]); an invalid one is
// reported as a [*bitcoin.OptionError] (the package's [ErrInvalidOption] is bitcoin's)
// before anything is dialled. A zero [Chain] returns a [*bitcoin.NotConstructedError]
// ([ErrNotConstructed]) naming New.
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
package rpcchain
