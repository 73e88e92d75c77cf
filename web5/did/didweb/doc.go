// Package didweb implements resolution of the did:web method: the document lives at a
// well-known HTTPS URL derived from the DID.
//
//	did:web:example.com                  → https://example.com/.well-known/did.json
//	did:web:example.com%3A3000:user:alice → https://example.com:3000/user/alice/did.json
//
// # Transport
//
// Requests go through the *http.Client given with [WithHTTPClient], always over HTTPS.
// [WithLoopbackHTTP] allows plain HTTP to loopback hosts only, for tests and local setups.
// Path segments that would escape the path ("..", encoded slashes) are rejected. The
// response must be a JSON DID document whose id is the DID; its Cache-Control max-age
// becomes the cache TTL.
package didweb
