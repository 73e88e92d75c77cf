// Package trigger runs configurable cross-protocol triggers: conditions in CEL over events,
// and side effects that cross a trust boundary before they run.
//
// # Definitions
//
// A [Definition] names the events it listens to (On, a pattern over event kinds such as
// "bitcoin.tx" or "web5.*"), a CEL condition (When, over event and data), the side effect
// (Action, registered by the host with [WithAction]), the boundary crossing it makes (Cross:
// from, to, and the boundary action) and Params (CEL expressions over the event). Definitions
// are written in Go or read from JSON or YAML ([ParseDefinitions], unknown fields refused).
// [New] compiles every expression once, with a cost limit ([WithCostLimit]), and refuses
// invalid definitions with a *[DefinitionError] that lists every problem of every definition.
//
// # Firing
//
// [Engine.Fire] evaluates the triggers whose pattern matches the event's kind, in definition
// order. For each whose condition holds: the params are evaluated; the [Action]'s Prepare half
// (optional) turns them into the data to send on the sending side; the data crosses the
// [Boundary] (a *security.Boundaries: checked, redacted, audited); the action's Run half
// performs the side effect on the receiving side and sees only what crossed. Each trigger's
// [Outcome] says what happened: a result, a denial (Denied, with the *security.DeniedError —
// the side effect did not run), or an error (an *[EvalError] when an expression failed on the
// event). With [WithOnce], side effects run once per (event ID, trigger): firing an event again
// returns the first result (Repeated).
//
// # Retracting
//
// An event can be taken back — a block a reorg disconnected. [Engine.Retract] marks the side
// effects that ran for it retracted in the Once store (a [Retracter], as *handler.Store is),
// so that the event firing again runs them again, and gives each result to its action's Undo
// half when it has one; an action without one is only marked retracted, and the
// [Retraction] it returns tells the host what to compensate.
//
// # Events and defaults
//
// [TxEvent], [DIDEvent] and [RecordEvent] describe a transaction (with the DIDs its outputs'
// addresses are linked to), a DID document change and a records-store change.
// [DefaultDefinitions] are the seed's triggers — a transaction touching a linked address is
// recorded in the DID's store after its link is re-verified, a transaction above an amount is
// analysed for fraud, a DID document change re-scores the identity's reputation — and
// [Boundaries] extends a boundary set with the crossings they make.
package trigger
