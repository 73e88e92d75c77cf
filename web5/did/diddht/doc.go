// Package diddht implements the did:dht method exactly as its specification (did-dht.com,
// v1.0 Implementer's Draft) describes it: DID documents encoded as DNS resource records in
// a compressed DNS packet, signed as a BEP44 mutable item by the DID's Ed25519 identity
// key, and stored in the Mainline DHT through gateways.
//
// # Identifiers
//
// A did:dht is the z-base-32 encoding of its 32-byte Ed25519 identity key. Decoding is
// strict: a suffix that is not the canonical encoding of 32 bytes is an invalidPublicKey.
//
// # DNS representation
//
// [Packet] is the DNS form of a document: the root record _did.<id>. (v=0 and the property
// map), _kN._did. keys (id, type index, compressed public key, alg when not the default,
// controller), _sN._did. services, _cnt (controllers), _aka (also-known-as), _typ (type
// index), _prv (a previous DID with its signature over the new identity key), NS records
// naming authoritative gateways, and the "deactivated" root. TXT strings longer than 255
// bytes are split and joined again. EC keys travel compressed (33 bytes) and are expanded
// to x and y in the document; [ParsePacket] rejects anything else, and a packet whose k0 is
// not the identity key of the DID.
//
// # BEP44
//
// [Message] is the signed mutable item: 64-byte signature, 8-byte big-endian sequence
// number (Unix seconds), and up to 1000 bytes of DNS packet. The signature covers the
// bencoded "3:seqi<seq>e1:v<len>:<v>". Resolution always verifies it against the identity
// key in the DID before looking at the records.
//
// # Gateways
//
// [Client] publishes and resolves through a gateway's DHT API (PUT and GET /<id>, the
// relay format sig||seq||v); it is a did.MethodResolver. [Gateway] is an in-process gateway
// (an http.Handler) implementing the gateway API: the DHT API, DID registration and
// resolution under /did/<id> with historical versions, type indexing under /did/types,
// and /challenge answering 501 (no retention sets). It verifies every signature it stores
// and applies the specification's conflict rules. Opened with [OpenGateway] on a
// [GatewayStore] ([SQLiteGatewayStore]), it saves each record before answering its PUT and
// serves the stored records again after a restart, verifying each once more as it loads it.
//
// # Conventions
//
// Options: every constructor takes functional options of one shape, `func(*config)`; options
// never fail on their own — the constructor validates the whole configuration once and returns
// an *OptionError naming the option. Each option's documentation states its default. Time
// comes from WithClock(func() time.Time) and logs go to WithLogger(*slog.Logger), silent by
// default.
//
// The package has two constructors and one option type: WithClock and WithLogger configure
// both a Client and a Gateway; WithHTTPClient and WithAuthoritativeGateways configure a
// Client, WithMaxRecords and WithHistory a Gateway, and an option given to the other
// constructor is a *did.OptionError (the package reports invalid options with package did's
// OptionError). CreateOption, for Create and NewDocument, has the same shape. A zero Client or
// Gateway is not usable: its methods return a *did.NotConstructedError naming the constructor.
package diddht
