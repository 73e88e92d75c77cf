package bitcoin

import (
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"
)

// Network is one of the four Bitcoin networks. The zero value is not a network: every
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
)

// Networks lists the four networks in a fixed order.
func Networks() []Network { return []Network{Mainnet, Testnet, Signet, Regtest} }

// ParseNetwork returns the network called name: "mainnet", "testnet", "signet" or "regtest".
func ParseNetwork(name string) (Network, error) {
	for _, n := range Networks() {
		if n.String() == name {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%w: %q (want mainnet, testnet, signet or regtest)", ErrInvalidNetwork, name)
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
	}
	return fmt.Sprintf("Network(%d)", uint8(n))
}

// Valid reports whether n is one of the four networks.
func (n Network) Valid() bool { return n >= Mainnet && n <= Regtest }

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
	}
	return ""
}

func (n Network) pkhVersion() byte {
	if n == Mainnet {
		return 0x00
	}
	return 0x6f
}

func (n Network) shVersion() byte {
	if n == Mainnet {
		return 0x05
	}
	return 0xc4
}

func (n Network) coinType() uint32 {
	if n == Mainnet {
		return 0
	}
	return 1
}
