package main

// This file and payments.go are the CLI's only users of the root package's Manager: opening
// one on a data directory (here) and the commands that run on it (payments.go).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/nats-io/nats.go"

	sdk "github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/rpcchain"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/did/didweb"
	"github.com/anya-org/anya-go/web5/jose"
)

// HostDIDFile is the file in a data directory that holds the host's portable DID (readable by
// its owner only), created by the first command that runs a Manager there. The host issues
// address-link credentials and writes payment records: every run on a data directory must be
// the same host, or the earlier credentials stop being trusted.
const HostDIDFile = "host-did.json"

// ChainFile is the file in a data directory that says which chain its state follows: the
// embedded chain, or a node (its RPC endpoint and network; never its password). A command that
// names another chain kind than the one recorded is refused, so that a data directory that
// follows a node is not opened, by mistake, on an embedded chain that knows none of its blocks.
const ChainFile = "chain.json"

// chainRecord is what ChainFile holds, with where the Manager's state is.
type chainRecord struct {
	Chain   string `json:"chain"` // "embedded" or "node"
	RPC     string `json:"rpc,omitempty"`
	Network string `json:"network,omitempty"`
	State   string `json:"state,omitempty"` // "jetstream" (--nats), or "" for the SQLite files
}

// stateJetStream is chainRecord.State for a data directory whose state is on NATS JetStream.
const stateJetStream = "jetstream"

// readChain reads the data directory's ChainFile; found is false when it has none.
func readChain(dir string) (have chainRecord, found bool, err error) {
	path := filepath.Join(dir, ChainFile)
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return chainRecord{}, false, nil
	case err != nil:
		return chainRecord{}, false, &cliError{Code: "io", Err: err}
	}
	if err := json.Unmarshal(raw, &have); err != nil {
		return chainRecord{}, false, &cliError{Code: "io", Err: fmt.Errorf("%s: %w", path, err)}
	}
	return have, true, nil
}

// localDataDir is dataDir for the commands that read the data directory's SQLite files
// themselves (audit, dwn, payment list): a directory whose state is on NATS JetStream is refused.
func localDataDir(dir, file string, create bool) (string, error) {
	dir, err := dataDir(dir, file, create)
	if err != nil {
		return "", err
	}
	have, _, err := readChain(dir)
	if err != nil {
		return "", err
	}
	if have.State == stateJetStream {
		return "", usageError("data directory %s keeps its state on NATS JetStream (--nats), not in its files: use a command that takes --nats (payment show, link verify)", dir)
	}
	return dir, nil
}

// checkChain compares the chain a command names with the one the data directory follows.
func checkChain(dir string, want chainRecord) error {
	have, found, err := readChain(dir)
	if err != nil {
		return err
	}
	if found {
		switch {
		case have.Chain != want.Chain && have.Chain == "node":
			return usageError("data directory %s follows the %s node at %s: give --rpc %s --rpc-user USER and its password", dir, have.Network, have.RPC, have.RPC)
		case have.Chain != want.Chain:
			return usageError("data directory %s follows the embedded chain: its payments are unknown to a node; use another data directory for the node", dir)
		case have.Network != want.Network:
			return usageError("data directory %s follows a %s node, not a %s one", dir, have.Network, want.Network)
		case have.State == stateJetStream && want.State != stateJetStream:
			return usageError("data directory %s keeps its state on NATS JetStream: give --nats URL", dir)
		case have.State != want.State:
			return usageError("data directory %s keeps its state in its SQLite files: use another data directory with --nats", dir)
		}
	}
	return nil
}

// recordChain records the chain the data directory follows, once a Manager opened on it.
func recordChain(dir string, want chainRecord) error {
	path := filepath.Join(dir, ChainFile)
	b, err := json.Marshal(want)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return &cliError{Code: "io", Err: err}
	}
	return nil
}

// DefaultFund is what the embedded chain pays the sender before a payment (pay --fund).
const DefaultFund = 100_000_000

// managerFlags are the flags of the commands that run a Manager on a data directory.
type managerFlags struct {
	dir, rpc, rpcUser, rpcCert, network, gateway *string
	rpcPass, host                                *secret
	trust                                        *stringList
	riskThreshold                                *float64
	nats                                         natsFlags
}

func addManagerFlags(fs *flag.FlagSet) managerFlags {
	return managerFlags{
		dir:     dataDirFlag(fs),
		rpc:     fs.String("rpc", "", "a btcd node's RPC endpoint `HOST:PORT` (default: the embedded chain, which lives as long as the command)"),
		rpcUser: fs.String("rpc-user", "", "the node's RPC `USER`"),
		rpcPass: addSecret(fs, "rpc-pass", inPassword, false, "the node's RPC password"),
		rpcCert: fs.String("rpc-cert", "", "the node's TLS certificate (PEM `FILE`); without one the RPC connection is plain (loopback only)"),
		network: fs.String("network", "", "the node's network (`N`: regtest, testnet, signet or mainnet; default regtest)"),
		gateway: gatewayFlag(fs),
		host:    addSecret(fs, "host-did", inPortableDID, true, "the host's portable DID (default: DIR/"+HostDIDFile+", created on first use)"),
		trust:   listFlag(fs, "trust", "also trust address-link credentials issued by `DID`; repeat for each"),
		riskThreshold: fs.Float64("risk-threshold", sdk.DefaultRiskThreshold,
			"the fraud `RISK` in (0, 1] at or above which a payment is blocked"),
		nats: addNATSFlags(fs),
	}
}

// session is a Manager on a data directory and the chain it runs on.
type session struct {
	m   *sdk.Manager
	sim *simchain.Chain // the embedded chain, nil on a node
	rpc *rpcchain.Chain
	nc  *nats.Conn // --nats, or nil
}

// Close closes the Manager, then the chain and the NATS connection the CLI gave it.
func (s *session) Close() error {
	err := s.m.Close()
	if s.nc != nil {
		s.nc.Close()
	}
	if s.sim != nil {
		err = errors.Join(err, s.sim.Close())
	}
	if s.rpc != nil {
		err = errors.Join(err, s.rpc.Close())
	}
	return err
}

// open opens a Manager on the data directory and chain the flags name.
func (f managerFlags) open(ctx context.Context, e *env) (*session, error) {
	dir, err := dataDir(*f.dir, "", true)
	if err != nil {
		return nil, err
	}
	for _, d := range *f.trust {
		if _, err := did.Parse(d); err != nil {
			return nil, usageError("--trust %q: %v", clip(d), err)
		}
	}
	var hostRaw []byte
	if f.host.given() {
		if hostRaw, err = readPortable(e, f.host); err != nil {
			return nil, err
		}
	}
	want := chainRecord{Chain: "embedded", Network: bitcoin.Regtest.String()}
	if *f.rpc != "" {
		net, err := network(*f.network, bitcoin.Regtest)
		if err != nil {
			return nil, err
		}
		want = chainRecord{Chain: "node", RPC: *f.rpc, Network: net.String()}
	}
	if err := f.nats.check(*f.rpc); err != nil {
		return nil, err
	}
	if *f.nats.url != "" {
		want.State = stateJetStream
	}
	if err := checkChain(dir, want); err != nil {
		return nil, err
	}
	s := &session{}
	var chain bitcoin.Chain
	if *f.rpc == "" {
		if *f.rpcUser != "" || f.rpcPass.given() || *f.rpcCert != "" {
			return nil, usageError("--rpc-user, --rpc-pass and --rpc-cert go with --rpc")
		}
		if *f.network != "" && *f.network != bitcoin.Regtest.String() {
			return nil, usageError("--network: the embedded chain is regtest; %s needs a node (--rpc)", *f.network)
		}
		if s.sim, err = simchain.New(); err != nil {
			return nil, err
		}
		chain = s.sim
	} else {
		if s.rpc, err = f.dial(ctx, e); err != nil {
			return nil, err
		}
		chain = s.rpc
	}
	closeChain := func() {
		if s.nc != nil {
			s.nc.Close()
		}
		if s.sim != nil {
			_ = s.sim.Close()
		}
		if s.rpc != nil {
			_ = s.rpc.Close()
		}
	}
	host, err := hostDID(ctx, dir, hostRaw)
	if err != nil {
		closeChain()
		return nil, err
	}
	web, err := didweb.New()
	if err != nil {
		closeChain()
		return nil, err
	}
	if !(*f.riskThreshold > 0 && *f.riskThreshold <= 1) {
		closeChain()
		return nil, usageError("--risk-threshold: %v is not in (0, 1]", *f.riskThreshold)
	}
	opts := []sdk.Option{sdk.WithDataDir(dir), sdk.WithChain(chain), sdk.WithHostDID(host), sdk.WithDIDMethods(web),
		sdk.WithRiskThreshold(*f.riskThreshold)}
	if len(*f.trust) > 0 {
		opts = append(opts, sdk.WithTrustedIssuers(*f.trust...))
	}
	if *f.nats.url != "" {
		nc, js, err := f.nats.connect(ctx)
		if err != nil {
			closeChain()
			return nil, err
		}
		s.nc = nc
		opts = append(opts, sdk.WithJetStream(js), sdk.WithHostName(f.nats.name(dir)))
	}
	if *f.gateway != "" {
		client, err := diddht.NewClient(*f.gateway)
		if err != nil {
			closeChain()
			return nil, usageError("--gateway: %v", err)
		}
		opts = append(opts, sdk.WithDHTClient(client))
	}
	if s.m, err = sdk.New(opts...); err != nil {
		closeChain()
		return nil, managerError(err)
	}
	if err := recordChain(dir, want); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// dial connects to the node of --rpc.
func (f managerFlags) dial(ctx context.Context, e *env) (*rpcchain.Chain, error) {
	if *f.rpcUser == "" {
		return nil, usageError("--rpc-user is required with --rpc")
	}
	pass, err := f.rpcPass.read(e)
	if err != nil {
		return nil, err
	}
	net, err := network(*f.network, bitcoin.Regtest)
	if err != nil {
		return nil, err
	}
	ep := rpcchain.Endpoint{Host: *f.rpc, User: *f.rpcUser, Pass: string(trimLine(pass))}
	if *f.rpcCert != "" {
		if ep.Certificates, err = os.ReadFile(*f.rpcCert); err != nil {
			return nil, &cliError{Code: "io", Err: fmt.Errorf("--rpc-cert: %w", err)}
		}
	}
	c, err := rpcchain.New(ctx, ep, net.Params())
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &cliError{Code: "unreachable", Err: fmt.Errorf("node %s: %w", *f.rpc, err)}
	}
	return c, nil
}

// trimLine drops the line ending a secret read from a file or standard input ends with.
func trimLine(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// hostDID returns the host's DID: the one given, else the one in the data directory, else a new
// did:key written there (readable by its owner only).
func hostDID(ctx context.Context, dir string, given []byte) (*did.BearerDID, error) {
	if given != nil {
		return importBearer(ctx, given)
	}
	path := filepath.Join(dir, HostDIDFile)
	raw, err := os.ReadFile(path)
	if err == nil {
		b, err := importBearer(ctx, raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, &cliError{Code: "io", Err: err}
	}
	b, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		return nil, err
	}
	p, err := b.Export(ctx)
	if err != nil {
		return nil, err
	}
	if err := writeSecretFile(path, p); err != nil {
		return nil, err
	}
	return b, nil
}

// managerError gives a root package error its CLI code.
func managerError(err error) error {
	var ce *cliError
	switch {
	case err == nil, errors.As(err, &ce):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, sdk.ErrInvalidOp):
		return &cliError{Code: "invalid_argument", Err: err}
	case errors.Is(err, sdk.ErrChallenge):
		return &cliError{Code: "invalid_challenge", Err: err}
	case errors.Is(err, sdk.ErrProof):
		return &cliError{Code: "invalid_proof", Err: err}
	case errors.Is(err, sdk.ErrNoKey):
		return &cliError{Code: "no_key", Err: err}
	case errors.Is(err, sdk.ErrUnknownIdentity):
		return &cliError{Code: "unknown_identity", Err: err}
	case errors.Is(err, sdk.ErrInvalidOption):
		return usageError("%v", err)
	}
	var re *did.ResolutionError
	if errors.As(err, &re) {
		return resolutionError(err)
	}
	return bitcoinError(err)
}

// identityFlags name an identity the Manager acts for: its portable DID and, for one that
// pays, its Bitcoin key.
type identityFlags struct {
	portable, wif *secret
}

func addIdentityFlags(fs *flag.FlagSet, what string) identityFlags {
	return identityFlags{
		portable: addSecret(fs, "portable-did", inPortableDID, true, what+"'s portable DID"),
		wif:      addSecret(fs, "wif", inWIF, false, what+"'s Bitcoin key in WIF (its P2WPKH address pays)"),
	}
}

// identity is an identity read from its flags, not yet registered.
type identity struct {
	raw []byte       // the portable DID
	key *btcutil.WIF // nil without --wif
}

// read reads the identity's secrets; the key only when needKey or given.
func (f identityFlags) read(e *env, needKey bool) (identity, error) {
	raw, err := readPortable(e, f.portable)
	if err != nil {
		return identity{}, err
	}
	id := identity{raw: raw}
	if needKey || f.wif.given() {
		if id.key, err = readWIF(e, f.wif, 0); err != nil {
			return identity{}, err
		}
	}
	return id, nil
}

// p2wpkh is the identity's key's P2WPKH address on net (as the Manager's wallet pays from).
func (id identity) p2wpkh(net bitcoin.Network) (bitcoin.Address, error) {
	if !id.key.IsForNet(net.Params()) {
		return bitcoin.Address{}, &cliError{Code: "wrong_network", Err: fmt.Errorf("bitcoin: the WIF key is not a %s key", net)}
	}
	return bitcoin.NewP2WPKH(id.key.PrivKey.PubKey(), net)
}

// register adds the identity to the Manager (AddIdentity).
func (id identity) register(ctx context.Context, m *sdk.Manager) (*sdk.Identity, error) {
	b, err := importBearer(ctx, id.raw)
	if err != nil {
		return nil, err
	}
	var key *btcec.PrivateKey
	if id.key != nil {
		key = id.key.PrivKey
	}
	out, err := m.AddIdentity(ctx, b, key)
	if err != nil {
		return nil, managerError(err)
	}
	return out, nil
}

// fundSender pays sat to address on the embedded chain (pay --fund, workflow run --fund), confirmed,
// with the Manager's Fund: every run funds a new coin, never one that an earlier run's payment on
// the same data directory reserved.
func fundSender(ctx context.Context, m *sdk.Manager, address string, sat int64) error {
	if _, err := m.Fund(ctx, address, sat); err != nil {
		if errors.Is(err, sdk.ErrInvalidOp) {
			return usageError("--fund: %v", err)
		}
		return managerError(err)
	}
	return nil
}
