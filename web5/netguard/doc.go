// Package netguard fetches URLs that come from outside — from a DID, a DID document or a
// credential — without letting them reach into the host's own network.
//
// A did:web DID, a status list URL or a credentialSchema id is chosen by whoever wrote it.
// Fetched naively, it is a server-side request forgery: "did:web:169.254.169.254" reads
// the cloud metadata service, "did:web:localhost%3A6379" talks to the host's Redis. A
// [Client] refuses such destinations by default.
//
// # What is refused
//
// Connections to addresses that are not globally reachable: unspecified (0.0.0.0, ::),
// loopback (127.0.0.0/8, ::1), private (RFC 1918, RFC 4193 fc00::/7), link-local
// (169.254.0.0/16, fe80::/10), shared address space (CGNAT 100.64.0.0/10), multicast,
// reserved and documentation ranges, and the IPv6 forms that embed such an IPv4 address
// (IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96, 6to4 2002::/16, NAT64 64:ff9b::/96).
// [Check] is the rule.
//
// The check runs at dial time, in the net.Dialer's Control function, on the address the
// connection is actually made to — after DNS resolution, so a name that resolves (or is
// re-bound) to a private address is refused too, and on every connection, so every
// redirect target is checked as well. Redirects are bounded ([DefaultMaxRedirects]) and
// may not go from https to http. Every request has a deadline ([DefaultTimeout]) that
// covers reading the body, and [Client.Fetch] reads at most [DefaultMaxBodySize] bytes.
//
// # Opting in
//
// [WithAllowPrivateNetworks] turns the address check off (tests on loopback, private
// deployments); [WithAllowedNetworks] allows chosen prefixes only. Both are explicit.
//
// # Injected clients
//
// [WithHTTPClient] starts from the host's *http.Client. Its transport must be an
// *http.Transport: it is cloned, its DialContext replaced by the guarded dialer and its
// proxy turned off (through a proxy the dialer would only see the proxy's address). A
// transport with its own DialTLSContext, or a RoundTripper of another kind, cannot be
// guarded, and New refuses it unless [WithAllowPrivateNetworks] says the caller takes the
// responsibility. The client's CheckRedirect and Jar are kept; its redirect policy runs
// after the guard's.
//
// # Conventions
//
// Options: every constructor takes functional options of one shape, `func(*config)`; options
// never fail on their own — the constructor validates the whole configuration once and returns
// an *OptionError naming the option. Each option's documentation states its default. Time
// comes from WithClock(func() time.Time) and logs go to WithLogger(*slog.Logger), silent by
// default.
//
// The package logs nothing and reads no clock: it has neither option. Invalid options are
// *OptionError values. The zero Client is ready to use: it is the client New returns with no
// options.
package netguard
