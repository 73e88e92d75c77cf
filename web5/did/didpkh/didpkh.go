package didpkh

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/anya-org/anya-go/web5/did"
)

// Method is the method name.
const Method = "pkh"

// Namespace is the CAIP-2 namespace of Bitcoin chains.
const Namespace = "bip122"

// TTL is how long resolvers may cache a did:pkh document: it never changes.
const TTL = 24 * time.Hour

// Chain is a CAIP-2 bip122 chain reference: the first 32 hex characters of the genesis hash.
type Chain string

// Known chains.
var (
	Mainnet  = chainOf(&chaincfg.MainNetParams)
	Testnet3 = chainOf(&chaincfg.TestNet3Params)
	Testnet4 = chainOf(&chaincfg.TestNet4Params)
	Signet   = chainOf(&chaincfg.SigNetParams)
	Regtest  = chainOf(&chaincfg.RegressionNetParams)
	Simnet   = chainOf(&chaincfg.SimNetParams)
)

func chainOf(p *chaincfg.Params) Chain { return Chain(p.GenesisHash.String()[:32]) }

// Params returns the network parameters of a known chain.
func (c Chain) Params() (*chaincfg.Params, bool) {
	switch c {
	case Mainnet:
		return &chaincfg.MainNetParams, true
	case Testnet3:
		return &chaincfg.TestNet3Params, true
	case Testnet4:
		return &chaincfg.TestNet4Params, true
	case Signet:
		return &chaincfg.SigNetParams, true
	case Regtest:
		return &chaincfg.RegressionNetParams, true
	case Simnet:
		return &chaincfg.SimNetParams, true
	}
	return nil, false
}

// ChainOf returns the chain reference of network parameters.
func ChainOf(p *chaincfg.Params) Chain { return chainOf(p) }

// FromAddress returns the did:pkh of a Bitcoin address on chain c. The address is checked
// to be valid for that network.
func FromAddress(c Chain, address string) (did.DID, error) {
	if err := checkAccount(c, address); err != nil {
		return did.DID{}, err
	}
	return did.DID{Method: Method, ID: Namespace + ":" + string(c) + ":" + address}, nil
}

// Account returns the chain and address a did:pkh names.
func Account(d did.DID) (Chain, string, error) {
	if d.Method != Method {
		return "", "", did.NewError(did.CodeMethodNotSupported, d.String(), errors.New("not a did:pkh"))
	}
	parts := strings.Split(d.ID, ":")
	if len(parts) != 3 {
		return "", "", did.NewError(did.CodeInvalidDID, d.String(), errors.New("want did:pkh:<namespace>:<chain>:<address>"))
	}
	if parts[0] != Namespace {
		return "", "", did.NewError(did.CodeMethodNotSupported, d.String(), fmt.Errorf("CAIP-2 namespace %q is not supported (only %s)", parts[0], Namespace))
	}
	c := Chain(parts[1])
	if err := checkAccount(c, parts[2]); err != nil {
		return "", "", did.NewError(did.CodeInvalidDID, d.String(), err)
	}
	return c, parts[2], nil
}

func checkAccount(c Chain, address string) error {
	params, ok := c.Params()
	if !ok {
		return fmt.Errorf("didpkh: unknown bip122 chain %q", c)
	}
	addr, err := btcutil.DecodeAddress(address, params)
	if err != nil {
		return fmt.Errorf("didpkh: address %q: %w", address, err)
	}
	if !addr.IsForNet(params) || addr.EncodeAddress() != address {
		return fmt.Errorf("didpkh: address %q is not a %s address", address, params.Name)
	}
	return nil
}

// Resolver resolves did:pkh DIDs of Bitcoin chains. The zero value is ready to use.
type Resolver struct{}

var _ did.MethodResolver = Resolver{}

// New returns a did:pkh resolver.
func New() Resolver { return Resolver{} }

// Method returns "pkh".
func (Resolver) Method() string { return Method }

// Resolve expands a did:pkh into its document.
func (Resolver) Resolve(ctx context.Context, d did.DID) (*did.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, _, err := Account(d); err != nil {
		return nil, err
	}
	id := d.String()
	doc := &did.Document{
		Context: []any{did.ContextV1, map[string]any{
			"blockchainAccountId":              "https://w3id.org/security#blockchainAccountId",
			"EcdsaSecp256k1RecoveryMethod2020": "https://identity.foundation/EcdsaSecp256k1RecoverySignature2020#EcdsaSecp256k1RecoveryMethod2020",
		}},
		ID: id,
	}
	doc.AddVerificationMethod(did.VerificationMethod{
		ID:                  id + "#blockchainAccountId",
		Type:                did.TypeEcdsaSecp256k1RecoveryMethod2020,
		Controller:          id,
		BlockchainAccountID: d.ID,
	}, did.Authentication, did.AssertionMethod)
	return &did.Result{Document: doc, TTL: TTL}, nil
}
