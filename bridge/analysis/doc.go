// Package analysis forks chain data to Web5 and ML in parallel and correlates what comes back
// into one result per transaction and per block.
//
// # Legs
//
// For each transaction of a block ([Analyzer.AnalyzeBlock]) or on its own
// ([Analyzer.AnalyzeTx]):
//
//   - the Web5 leg ([WithWeb5]) runs once per DID its outputs' addresses are linked to
//     ([WithOwners], a *link.Index's Owners), with {txid, did, address, amount_sat} crossing
//     bitcoin→web5 for [Web5Action];
//   - the ML leg ([WithML]) runs once per transaction, with {txid, amount_sat, features} (the
//     transaction's feature vector by name, [WithFeatures]) crossing bitcoin→ml for [MLAction].
//
// Every leg of every transaction of a block runs at once, bounded by [WithConcurrency]
// (errgroup). Each leg's data passes its own trust boundary first; a leg sees only what
// crossed, and a denied leg does not run — its [LegResult] says so (Denied, with the
// *security.DeniedError) while the other legs go on. The [TxResult] correlates both legs of a
// transaction; the [BlockResult] keeps them in block order.
package analysis
