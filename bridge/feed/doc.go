// Package feed connects the records store and ML both ways: pipelines fed by records that
// write scores and explanations back as records, and a two-way sync of records and a model's
// outputs with a declared conflict strategy.
//
// # Pipelines
//
// A [Spec] — in Go, JSON or YAML ([ParseSpec], unknown fields refused) — names the records a
// pipeline takes (a protocol, a path, and a CEL filter over record and data), the CEL
// validation rules they must pass, and the CEL expressions that compute each feature of the
// model's schema from them. [New] compiles it against the scorer's model and lists every
// problem in a *[SpecError]. [Pipeline.Process] takes one record: filter (a record filtered out
// is skipped), rules (a failure is a *[RejectError] naming the rule), features, the model (an
// *ml.Engine; built with ml.WithFactors, its explanation comes along), then the score record
// {pipeline, record_id, model, score, factors} crosses ml→web5 ([CrossScore]; [Boundaries] lets
// it through) and is written in the record's tenant at bridge.PathScore. [Pipeline.Subscribe]
// feeds it from the store's events on a bus; it never feeds on its own score records.
//
// # Two-way sync
//
// A [Syncer] keeps a tenant's bridge.PathSync records — one per key, written by the host with
// the tenant as recipient, which the bridges' protocol lets the tenant co-update — and a
// model's outputs ([MLSide]) in sync. It remembers the value both sides agreed on at the last
// sync: a side whose value moved from it changed, and its value goes to the other side; when
// both changed, the [Strategy] decides — [LastWriter] (by time; the records side's time is the
// record's last message timestamp), [PreferWeb5], [PreferML], or any function — and both sides
// get the kept value. A write that loses a race with a concurrent edit of the tenant is left
// for the next sync (Report.Lost), so syncing again after the edits stop makes both sides
// equal.
package feed
