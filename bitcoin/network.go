package bitcoin

import (
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"
)

// Network is one of the Bitcoin networks. The zero value is not a network: every
// function taking a Network rejects it with ErrInvalidNetwork, so a forgotten field can
// never silently mean mainnet.
type Network uint8

// The networks. Testnet means testnet3's parameters; testnet4 shares every address and key
// encoding with it, so addresses and keys are interchangeable between the two.
const (
	Mainnet Network = iota + 1
	Testnet
	Signet
	Regtest
	// Simnet is btcd's private simulation network: like regtest, blocks are mined on demand,
	// but its chain survives a restart of the node (btcd deletes a regtest chain when it
	// starts) and its addresses have their own encodings ("sb1…").
	Simnet
)

// Networks lists the networks in a fixed order.
func Networks() []Network { return []Network{Mainnet, Testnet, Signet, Regtest, Simnet} }

// ParseNetwork returns the network called name: "mainnet", "testnet", "signet", "regtest" or
// "simnet".
func ParseNetwork(name string) (Network, error) {
	for _, n := range Networks() {
		if n.String() == name {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%w: %q (want mainnet, testnet, signet, regtest or simnet)", ErrInvalidNetwork, name)
}

// String returns the network's name as ParseNetwork accepts it.
func (n Network) String() string {
	switch n {
	case Mainnet:
		return "mainnet"
	case Testnet:
		return "testnet"
	case Signet:
		return "signet"
	case Regtest:
		return "regtest"
	case Simnet:
		return "simnet"
	}
	return fmt.Sprintf("Network(%d)", uint8(n))
}

// Valid reports whether n is one of the networks.
func (n Network) Valid() bool { return n >= Mainnet && n <= Simnet }

// Params returns btcd's chain parameters for the network, or nil for an invalid Network.
func (n Network) Params() *chaincfg.Params {
	switch n {
	case Mainnet:
		return &chaincfg.MainNetParams
	case Testnet:
		return &chaincfg.TestNet3Params
	case Signet:
		return &chaincfg.SigNetParams
	case Regtest:
		return &chaincfg.RegressionNetParams
	case Simnet:
		return &chaincfg.SimNetParams
	}
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (n Network) MarshalText() ([]byte, error) {
	if !n.Valid() {
		return nil, fmt.Errorf("%w: %d", ErrInvalidNetwork, uint8(n))
	}
	return []byte(n.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (n *Network) UnmarshalText(b []byte) error {
	v, err := ParseNetwork(string(b))
	if err != nil {
		return err
	}
	*n = v
	return nil
}

func (n Network) check() error {
	if !n.Valid() {
		return fmt.Errorf("%w: %d", ErrInvalidNetwork, uint8(n))
	}
	return nil
}

// encoding parameters of a network.
func (n Network) hrp() string {
	switch n {
	case Mainnet:
		return "bc"
	case Testnet, Signet:
		return "tb"
	case Regtest:
		return "bcrt"
	case Simnet:
		return "sb"
	}
	return ""
}

func (n Network) pkhVersion() byte {
	switch n {
	case Mainnet:
		return 0x00
	case Simnet:
		return 0x3f
	}
	return 0x6f
}

func (n Network) shVersion() byte {
	switch n {
	case Mainnet:
		return 0x05
	case Simnet:
		return 0x7b
	}
	return 0xc4
}

func (n Network) coinType() uint32 {
	switch n {
	case Mainnet:
		return 0
	case Simnet:
		return 115 // btcd's simnet HD coin type
	}
	return 1
}
