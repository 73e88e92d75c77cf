// Package handler runs cross-protocol event handlers that return results — the seed's
// CrossProtocolEventHandler: handlers registered by pattern find things and ask for side
// effects, post-processors work on all their results together, and each side effect runs once
// per event, through a trust boundary when it crosses one.
//
// # Handlers and post-processors
//
// [Dispatcher.Handle] registers a [Func] under a unique name for event kinds matching a
// pattern ('*' one token, a final '>' the rest). [Dispatcher.Dispatch] runs the matching
// handlers several at once ([WithConcurrency]) and keeps their [Result] values in registration
// order; the [PostProcessor] values then see them all (correlate them into one, drop an effect,
// veto the event). A handler or post-processor error is a *[HandlerError] and no side effect
// runs.
//
// # Side effects, once
//
// Each [Effect] runs after the post-processors, keyed by (event ID, handler, effect name) in a
// [Once] store: the first dispatch runs it, later dispatches of the same event get its first
// result back (Repeated). An effect with a [Crossing] runs only if its data crosses the
// [Boundary] ([WithBoundary]; with none it is denied) and receives the data as it crossed; a
// denial is an outcome, not an error.
//
// [Store] is the SQLite-backed Once ([OpenStore], or [NewStore] on a shared database): it
// writes a claim before the effect runs, so a crash can never make an effect run twice; an
// effect whose run was cut short is reported as an *[InterruptedError] until the host
// reconciles it ([Store.Forget]).
//
// # Retracting
//
// An event can be taken back — a block a reorg disconnected. [Dispatcher.Retract] marks the
// side effects that ran for it retracted in the store ([Store.RetractPrefix]; [Store.Retract]
// for one key) and returns them with their results: the rows stay, marked, and dispatching
// the event again runs the effects again. What an effect did outside the process is for the
// host to compensate, from what Retract returns.
package handler
