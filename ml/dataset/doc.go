// Package dataset generates the labelled data the SDK's models learn from: realistic
// transaction and identity features with known fraud patterns, seeded and reproducible.
//
// # Schemas
//
// [FraudSchema] ("fraud" v1) is 16 transaction features — input/output counts, total output,
// fee rate, vsize, smallest-output ratio, output-value spread, dust and round-amount outputs,
// change, RBF, locktime, input ages, address reuse, segwit share — followed by 6 identity
// features: DID age, credentials, KYC, a BIP-322 proof linking the DID to the paying address,
// earlier payments and fraud reports. [ReputationSchema] ("reputation" v1) is the 6 identity
// features plus linked addresses, payment volume, disputes, data-store records, DID method and
// service endpoints. The bitcoin and web5 packages compute these by name; ml never imports them.
//
// # Transactions
//
// [Transactions] draws each row from a pattern of [Mix] and builds a transaction from its
// parts (input values and ages, output values, fee rate, flags), then computes the features from
// that transaction, so features are consistent with each other:
//
//   - legitimate (90%): ordinary payments with change (some paying round amounts, some from
//     fresh outputs or with tiny payment fractions), exchange payout batches (fan-outs from
//     verified, long-lived merchants) and consolidations of many old outputs;
//   - peel chains: one fresh large input, a 0.5–5% peel and the rest forwarded;
//   - rapid fan-out: fresh funds split into 20–250 near-equal outputs;
//   - dust: hundreds of outputs below 546 sat;
//   - round cash-outs: fresh funds swept into one or two round amounts, no change;
//   - fresh unverified identities: ordinary-looking large payments from days-old DIDs;
//   - address reuse: funds cycled through previously used addresses.
//
// Senders come from identity kinds: established users, merchants, legitimate newcomers (whose
// identity features look like a fraudster's), fraudsters (fresh, unverified) and stolen
// accounts (aged identities with reports). [LabelNoise] of the labels are flipped, as real
// reports are sometimes wrong; this caps the achievable AUC near 0.95.
//
// # Identities
//
// [Identities] draws identity kinds from [IdentityMix]; label 1 means reputable (established,
// merchant, newcomer).
//
// The same seed always yields the same rows (math/rand/v2 PCG, no map iteration, no clocks).
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
//
// Here a zero [Dataset] is the empty one.
package dataset
