// Package natsaudit is a security.AuditStore in a NATS JetStream stream: hosts attached to one
// JetStream server or cluster append to one audit log, one hash chain, which never forks.
//
//	store, _ := natsaudit.New(ctx, js) // js: the host's jetstream.JetStream
//	audit, _ := security.NewAuditLogOn(store, security.WithCheckpointSigner(signer))
//
// # Positions
//
// The entry at position n is the stream's message n, on one subject (WithSubject) that the
// stream (WithStream) captures alone. Its body is the entry without its position, JSON: time,
// kind, protocols, action, principal, decision, rule, reason, data digest, and the predecessor's
// hash and its own, hex.
//
// # Appends
//
// Append publishes with JetStream's expected last sequence set to the position before the
// entry's: the server stores it only if no other entry got there first, and otherwise refuses it
// (security.ErrAuditConflict) — the log then reads the new head and chains the entry after it.
// So the chain stays one however many hosts append, and the stream's sequence is the chain's
// position.
//
// # Verification
//
// Scan reads the stream in order with an ordered consumer, up to the last sequence the stream
// reported when the scan began, and gives that last sequence as the store's record of its
// newest entry: JetStream keeps a stream's last sequence when its newest messages are deleted,
// so the verifier reports them as truncated; a deleted message in the middle is a gap (deleted),
// a modified or reordered one breaks its hash or its link. The stream is created with deletes
// and purges denied through the API. An attacker with administrator rights can still delete the
// stream and publish a rewritten one: only a signed checkpoint kept elsewhere (an anchored head,
// security.SignedHead) shows that — Verify given it reports the rewrite or the truncation.
package natsaudit
