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
// Server.BeforeBroadcast and Server.AfterBroadcast see every broadcast before the chain does
// (and may refuse it) and before the client hears back: the crash test kills its worker there, between recording a
// payment and broadcasting it, and between broadcasting it and learning that it was. A
// broadcast the chain received is applied even when its client is gone.
//
// The client passes bitcointest.RunChainSuite.
package chainproxy
