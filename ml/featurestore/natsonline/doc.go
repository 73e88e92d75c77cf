// Package natsonline is the feature store's online tier on a NATS JetStream KV bucket: hosts
// attached to one JetStream server or cluster serve the latest feature vector any of them wrote,
// while each keeps its own offline history (featurestore.Store.AsOf).
//
//	online, _ := natsonline.New(ctx, js)
//	features, _ := featurestore.Open(ctx, path, featurestore.WithOnline(online))
//
// # Consistency
//
// The latest record per key (entity, schema, version) is one KV entry, "f.<escaped key>" (bytes
// outside [-/_A-Za-z0-9] escaped as "=XX"). Put reads it and writes by compare-and-set on its
// revision, unless the stored record is newer (featurestore.Record.Newer: later time, then
// greater sequence), trying again when another host wrote in between: concurrent writers never
// move the tier backwards. Records written by different hosts at the same instant are ordered by
// their sequence numbers, which each host's offline tier assigns on its own.
package natsonline
