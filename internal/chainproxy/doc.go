// Package chainproxy serves a bitcoin.Chain over HTTP (Server) and implements bitcoin.Chain as
// a client of it (Client), so that a chain can outlive the processes that use it: the anya
// package's crash test hosts a simchain in the test process and gives each worker process,
// which it kills with SIGKILL, this narrow channel to it.
//
// # Protocol
//
// Every Chain method is one request (JSON; transactions, blocks and headers as hex) except
// Subscribe, which follows a stream of updates (one JSON object per line) that the client
// reopens when it breaks, delivering an UpdateTip with the best block after every connection as
// the bitcoin.Chain contract asks. Errors keep their kind across the wire: not found, rejected
// (with the txid and reason), no fee estimate, unsupported, invalid argument; a server that
// cannot be reached is bitcoin.ErrDisconnected.
//
// # Hooks
//
// WithBeforeBroadcast and WithAfterBroadcast hooks see every broadcast before the chain does
// (and may refuse it) and before the client hears back: the crash test kills its worker there, between recording a
// payment and broadcasting it, and between broadcasting it and learning that it was. A
// broadcast the chain received is applied even when its client is gone.
//
// The client passes bitcointest.RunChainSuite.
//
// # Options and zero values
//
// [Dial] and [NewServer] take [Option] values: [WithHTTPClient] configures Dial, the hooks
// NewServer. An invalid option, or one given to the other constructor, is a
// [*bitcoin.OptionError] (the package's [ErrInvalidOption] is bitcoin's). A zero [Client]
// returns a [*bitcoin.NotConstructedError] ([ErrNotConstructed]) naming Dial; a zero
// [Server] answers every request with that error naming NewServer.
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
package chainproxy
