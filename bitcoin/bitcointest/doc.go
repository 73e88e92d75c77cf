// Package bitcointest is the test kit of package bitcoin, for this module and for downstream
// projects (like net/http/httptest).
//
// # Conformance suites
//
// [RunChainSuite] checks a bitcoin.Chain backend against the contract documented on the
// interface (blocks and headers, idempotent broadcast, rejections, UTXOs, watch updates,
// reorgs, mempool, concurrency, contexts, Close) and runs a bitcoin.Notifier on it through a
// reorg. Every backend passes it with a one-line test: simchain with [NewSimBackend], rpcchain
// against a live btcd with [Btcd.Backend]. [RunSendStoreSuite] does the same for
// bitcoin.SendStore implementations.
//
// # A real node
//
// [StartBtcd] runs btcd in regtest (or simnet, [WithNetwork]) on loopback, in a temporary data
// directory, with --txindex --addrindex --notls, mining to a key of the test. The binary comes
// from $ANYA_BTCD ([BtcdEnv]), else `go build github.com/btcsuite/btcd` at the version the
// test depends on, cached in the user cache directory. [Btcd.MineTo] ([SegwitHeight] for
// witness tests), [Btcd.Generate], [Btcd.Reorg] (invalidateblock), [Btcd.Kill],
// [Btcd.Stop] and [Btcd.Start] drive it. Note that btcd deletes a regtest chain when it
// starts; restart tests that need the chain back use simnet.
//
// # Funded wallets
//
// [Wallet] is a one-key P2WPKH wallet on any bitcoin.Chain: coin selection, change and
// txscript signing, enough to fund scripts ([Wallet.Fund]) and spend outputs in tests.
// [NewSim] returns a simchain with a funded wallet, and [Sim.NewFundedWallet] more wallets,
// for downstream unit tests that need a chain without a node.
//
// # Waiting
//
// [Next], [WaitFor] and [WaitTip] wait for an event or a height, failing the test after
// [DefaultWait] instead of hanging.
package bitcointest
