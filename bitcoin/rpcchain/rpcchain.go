package rpcchain

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/internal/updates"
	"github.com/anya-org/anya-go/resilience"
)

// Defaults.
const (
	// DefaultReconnectMin and DefaultReconnectMax bound the doubling backoff between
	// reconnection attempts.
	DefaultReconnectMin = 50 * time.Millisecond
	DefaultReconnectMax = 5 * time.Second
	// DefaultSetupTimeout bounds the requests that set up a new connection.
	DefaultSetupTimeout = 30 * time.Second
	// reconnectRound is how long one resilience.Retry round of reconnection attempts lasts
	// before it is logged and started over; the Chain never gives up before Close.
	reconnectRound = time.Hour
	// searchPage is the page size of searchrawtransactions.
	searchPage = 1000
	// fetchQueue bounds the mempool transactions waiting to be fetched for scripts without an
	// address form.
	fetchQueue = 4096
)

// Endpoint says where the node's RPC server is and how to log in.
type Endpoint struct {
	// Host is host:port of the RPC server, e.g. "127.0.0.1:18334".
	Host string
	User string
	Pass string
	// Certificates is the PEM certificate of the server's TLS key. Nil connects without TLS
	// (btcd --notls), which sends the password in the clear: use it on loopback only.
	Certificates []byte
}

// Sentinels of the package: the bitcoin package's, so that errors.Is works with either name.
var (
	// ErrInvalidOption is [bitcoin.ErrInvalidOption], matched by the [*bitcoin.OptionError]
	// New returns for an invalid option.
	ErrInvalidOption = bitcoin.ErrInvalidOption
	// ErrNotConstructed is [bitcoin.ErrNotConstructed], matched by the
	// [*bitcoin.NotConstructedError] every method of a zero [Chain] returns.
	ErrNotConstructed = bitcoin.ErrNotConstructed
)

// Option configures [New].
type Option func(*config)

type config struct {
	log        *slog.Logger
	backoffMin time.Duration
	backoffMax time.Duration
	invalid    *bitcoin.OptionError // the first option with a value out of range
	tracerProv trace.TracerProvider
	meterProv  metric.MeterProvider
}

// WithTracerProvider traces the node's requests with tp: every JSON-RPC request a method of
// the Chain makes is a span of kind client, "rpcchain.<method>" ("rpcchain.getblock",
// "rpcchain.sendrawtransaction"; a pipeline of gettxout requests is one span), a child of the
// caller's — a workflow step's, a bitcoin.Notifier's block, a bitcoin.Sender's send — with
// rpc.system "jsonrpc", rpc.method, server.address and server.port, and on an RPC error its
// rpc.jsonrpc.error_code. A request for a block, transaction or output the node does not have
// has anya.found false and is no failure. Parameters, results and error messages (which name
// txids, addresses and amounts) are never recorded. A nil tp is the no-op provider. Defaults
// to OpenTelemetry's no-op provider: nothing is traced.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProv = tp }
}

// WithMeterProvider reports with instruments of mp: the duration of every request by method
// and outcome (success, not_found, failure), whether the Chain is connected to its node, and
// the connections it made (the first and every reconnection), the last two read when mp
// collects. Close stops reporting. A nil mp is the no-op provider. Defaults to
// OpenTelemetry's no-op provider: nothing is reported.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.meterProv = mp }
}

// WithLogger sets the logger of connections, disconnections and reconnection attempts; nil
// keeps the default. Defaults to a logger that discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}

// WithReconnectBackoff sets the backoff between reconnection attempts (0 < min <= max): a
// resilience.Retry whose exponential backoff (with full jitter) doubles from min to max.
// Defaults to [DefaultReconnectMin] and [DefaultReconnectMax].
func WithReconnectBackoff(min, max time.Duration) Option {
	return func(c *config) {
		if min <= 0 || max < min {
			if c.invalid == nil {
				c.invalid = &bitcoin.OptionError{Option: "rpcchain.WithReconnectBackoff", Value: [2]time.Duration{min, max}, Reason: "need 0 < min <= max"}
			}
			return
		}
		c.backoffMin, c.backoffMax = min, max
	}
}

// Chain is a bitcoin.Chain on a btcd node. Create it with [New]; it owns a supervisor
// goroutine and the connection, so Close it. Every method of a zero Chain that can fail
// returns a [*bitcoin.NotConstructedError] naming New (Params returns nil, Subscribe
// registers nothing, Close does nothing).
type Chain struct {
	ep     Endpoint
	params *chaincfg.Params
	cfg    config
	retry  *resilience.Retry
	cancel context.CancelFunc

	mu         sync.Mutex
	client     *rpcclient.Client
	closed     bool
	watch      [][]byte
	addrs      []string            // watched scripts with an address form
	nonAddr    map[string]struct{} // watched scripts without one
	subs       updates.Handlers
	heightMemo map[chainhash.Hash]int32

	emitMu  sync.Mutex
	fetchCh chan chainhash.Hash
	wg      sync.WaitGroup

	tel      *chainTelemetry // nil unless traced or metered
	connects atomic.Int64    // connections made
}

var _ bitcoin.Chain = (*Chain)(nil)

// New connects to the node at ep, checks that it serves params' network, registers for
// notifications and starts the supervisor.
func New(ctx context.Context, ep Endpoint, params *chaincfg.Params, opts ...Option) (*Chain, error) {
	cfg := config{backoffMin: DefaultReconnectMin, backoffMax: DefaultReconnectMax}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	switch {
	case cfg.invalid != nil:
		return nil, cfg.invalid
	case ep.Host == "":
		return nil, &bitcoin.FieldError{Field: "Endpoint.Host", Reason: "empty"}
	case params == nil:
		return nil, &bitcoin.FieldError{Field: "params", Reason: "nil"}
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	retry, err := resilience.NewRetry(
		resilience.MaxAttempts(0), resilience.MaxElapsed(reconnectRound),
		resilience.Backoff(cfg.backoffMin, cfg.backoffMax),
		resilience.WithName("rpcchain.reconnect"), resilience.WithLogger(cfg.log),
	)
	if err != nil {
		return nil, &bitcoin.OptionError{Option: "rpcchain.WithReconnectBackoff", Value: [2]time.Duration{cfg.backoffMin, cfg.backoffMax}, Reason: err.Error()}
	}
	life, cancel := context.WithCancel(context.Background())
	c := &Chain{
		ep:         ep,
		params:     params,
		cfg:        cfg,
		retry:      retry,
		cancel:     cancel,
		nonAddr:    map[string]struct{}{},
		heightMemo: map[chainhash.Hash]int32{},
		fetchCh:    make(chan chainhash.Hash, fetchQueue),
	}
	if c.tel, err = newChainTelemetry(&cfg, c); err != nil {
		cancel()
		return nil, err
	}
	cl, err := c.connect(ctx)
	if err != nil {
		cancel()
		c.wg.Wait()
		c.tel.close()
		return nil, err
	}
	c.wg.Go(func() { c.supervise(life, cl) })
	c.wg.Go(func() { c.fetchLoop(life) })
	return c, nil
}

// constructed returns a [*bitcoin.NotConstructedError] for a zero Chain.
func (c *Chain) constructed() error {
	if c == nil || c.cancel == nil {
		return &bitcoin.NotConstructedError{Type: "rpcchain.Chain", Constructor: "rpcchain.New"}
	}
	return nil
}

// Params returns the chain's network.
func (c *Chain) Params() *chaincfg.Params {
	if c == nil {
		return nil
	}
	return c.params
}

// Close disconnects and stops the supervisor. It is idempotent.
func (c *Chain) Close() error {
	if c.constructed() != nil {
		return nil
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	cl := c.client
	c.client = nil
	c.subs.Close()
	c.mu.Unlock()
	c.cancel()
	if cl != nil {
		cl.Shutdown()
	}
	c.wg.Wait()
	c.tel.close()
	return nil
}

// connect dials, checks the network, registers notifications and the watch set, installs
// the client and pushes a tip update.
func (c *Chain) connect(ctx context.Context) (*rpcclient.Client, error) {
	cl, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*rpcclient.Client, error) {
		cl.Shutdown()
		cl.WaitForShutdown()
		return nil, err
	}
	var genesis string
	if err := call(ctx, cl, btcjson.NewGetBlockHashCmd(0), &genesis); err != nil {
		return fail(fmt.Errorf("rpcchain: %s: %w", c.ep.Host, err))
	}
	if genesis != c.params.GenesisHash.String() {
		return fail(&bitcoin.FieldError{Field: "params", Reason: fmt.Sprintf("node at %s serves another network (genesis %s, %s has %s)", c.ep.Host, genesis, c.params.Name, c.params.GenesisHash)})
	}
	if err := call(ctx, cl, btcjson.NewNotifyBlocksCmd(), nil); err != nil {
		return fail(fmt.Errorf("rpcchain: notifyblocks: %w", err))
	}
	c.mu.Lock()
	addrs, nonAddr := c.addrs, len(c.nonAddr) > 0
	c.mu.Unlock()
	if err := applyWatch(ctx, cl, addrs, nonAddr); err != nil {
		return fail(err)
	}
	var best btcjson.GetBestBlockResult
	if err := call(ctx, cl, btcjson.NewGetBestBlockCmd(), &best); err != nil {
		return fail(fmt.Errorf("rpcchain: getbestblock: %w", err))
	}
	hash, err := chainhash.NewHashFromStr(best.Hash)
	if err != nil {
		return fail(fmt.Errorf("rpcchain: getbestblock: %w", err))
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fail(bitcoin.ErrClosed)
	}
	c.client = cl
	c.mu.Unlock()
	c.connects.Add(1)
	c.cfg.log.Info("rpcchain: connected", "host", c.ep.Host, "tip", best.Height)
	c.emit(bitcoin.ChainUpdate{Kind: bitcoin.UpdateTip, Tip: bitcoin.BlockStamp{Height: best.Height, Hash: *hash}})
	return cl, nil
}

func (c *Chain) dial(ctx context.Context) (*rpcclient.Client, error) {
	cc := &rpcclient.ConnConfig{
		Host:                 c.ep.Host,
		Endpoint:             "ws",
		User:                 c.ep.User,
		Pass:                 c.ep.Pass,
		DisableTLS:           c.ep.Certificates == nil,
		Certificates:         c.ep.Certificates,
		DisableAutoReconnect: true,
	}
	handlers := &rpcclient.NotificationHandlers{
		OnFilteredBlockConnected: func(height int32, header *wire.BlockHeader, _ []*btcutil.Tx) {
			h := *header
			c.emit(bitcoin.ChainUpdate{Kind: bitcoin.UpdateTip, Tip: bitcoin.BlockStamp{Height: height, Hash: h.BlockHash()}, Header: &h})
		},
		OnFilteredBlockDisconnected: func(height int32, header *wire.BlockHeader) {
			c.emit(bitcoin.ChainUpdate{Kind: bitcoin.UpdateTip, Tip: bitcoin.BlockStamp{Height: height - 1, Hash: header.PrevBlock}})
		},
		OnRelevantTxAccepted: func(raw []byte) {
			tx, err := bitcoin.DecodeTx(raw)
			if err != nil {
				c.cfg.log.Warn("rpcchain: undecodable relevanttxaccepted", "err", err)
				return
			}
			c.emit(bitcoin.ChainUpdate{Kind: bitcoin.UpdateMempool, Tx: tx})
		},
		OnTxAccepted: func(hash *chainhash.Hash, _ btcutil.Amount) {
			select {
			case c.fetchCh <- *hash:
			default:
				c.cfg.log.Warn("rpcchain: mempool fetch queue full; dropping", "txid", hash)
			}
		},
	}
	// rpcclient dials without a context; a context-aware TCP probe first keeps an unreachable
	// host from holding the caller (or Close) for the operating system's connect timeout.
	probe, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.ep.Host)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("rpcchain: dial %s: %w: %w", c.ep.Host, bitcoin.ErrDisconnected, err)
	}
	_ = probe.Close()
	type result struct {
		cl  *rpcclient.Client
		err error
	}
	done := make(chan result, 1)
	c.wg.Go(func() {
		cl, err := rpcclient.New(cc, handlers)
		done <- result{cl, err}
	})
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("rpcchain: dial %s: %w: %w", c.ep.Host, bitcoin.ErrDisconnected, r.err)
		}
		return r.cl, nil
	case <-ctx.Done():
		c.wg.Go(func() {
			if r := <-done; r.cl != nil {
				r.cl.Shutdown()
				r.cl.WaitForShutdown()
			}
		})
		return nil, ctx.Err()
	}
}

// supervise waits for the connection to end and reconnects, through a resilience.Retry,
// until Close.
func (c *Chain) supervise(life context.Context, cl *rpcclient.Client) {
	for {
		cl.WaitForShutdown()
		c.mu.Lock()
		if c.client == cl {
			c.client = nil
		}
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return
		}
		c.cfg.log.Warn("rpcchain: disconnected; reconnecting", "host", c.ep.Host)
		for {
			next, err := resilience.Get(life, func(ctx context.Context) (*rpcclient.Client, error) {
				ctx, cancel := context.WithTimeout(ctx, DefaultSetupTimeout)
				defer cancel()
				return c.connect(ctx)
			}, c.retry)
			if life.Err() != nil {
				return
			}
			if err == nil {
				cl = next
				break
			}
			c.cfg.log.Error("rpcchain: still disconnected; retrying", "host", c.ep.Host, "err", err)
		}
	}
}

// emit calls the handlers serially, in the order updates arrive.
func (c *Chain) emit(u bitcoin.ChainUpdate) {
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	for _, h := range c.subs.Snapshot() {
		h(u)
	}
}

// Subscribe registers h for tip and mempool updates.
func (c *Chain) Subscribe(h func(bitcoin.ChainUpdate)) func() {
	if c.constructed() != nil || h == nil {
		return func() {}
	}
	return c.subs.Add(h)
}

// conn returns the live client.
func (c *Chain) conn() (*rpcclient.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, bitcoin.ErrClosed
	}
	if c.client == nil {
		return nil, fmt.Errorf("rpcchain: %s: %w", c.ep.Host, bitcoin.ErrDisconnected)
	}
	return c.client, nil
}

// do sends cmd on the live client and decodes the result into out (if not nil). An RPC error
// with a code in absent means that what was asked for is not there (the caller turns it into
// bitcoin.ErrNotFound); tracing records it as an answer, not a failure.
func (c *Chain) do(ctx context.Context, cmd any, out any, absent ...btcjson.RPCErrorCode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.tel != nil {
		return c.tel.observe(ctx, methodOf(cmd), 1, absent, func(ctx context.Context) error { return c.send(ctx, cmd, out) })
	}
	return c.send(ctx, cmd, out)
}

// send is do without instrumentation.
func (c *Chain) send(ctx context.Context, cmd any, out any) error {
	cl, err := c.conn()
	if err != nil {
		return err
	}
	err = call(ctx, cl, cmd, out)
	if err != nil {
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if closed && errors.Is(err, bitcoin.ErrDisconnected) {
			return bitcoin.ErrClosed
		}
	}
	return err
}

// call sends cmd on cl, waits for the reply or ctx, and decodes it into out.
func call(ctx context.Context, cl *rpcclient.Client, cmd any, out any) error {
	select {
	case r := <-cl.SendCmd(cmd):
		fut := make(chan *rpcclient.Response, 1)
		fut <- r
		raw, err := rpcclient.ReceiveFuture(fut)
		if err != nil {
			return clientErr(err)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("rpcchain: decode %T reply: %w", cmd, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// clientErr marks the rpcclient errors of a lost connection with bitcoin.ErrDisconnected.
func clientErr(err error) error {
	switch {
	case errors.Is(err, rpcclient.ErrClientDisconnect), errors.Is(err, rpcclient.ErrClientShutdown), errors.Is(err, rpcclient.ErrClientNotConnected):
		return fmt.Errorf("rpcchain: %w: %w", bitcoin.ErrDisconnected, err)
	}
	return err
}

func rpcCode(err error) btcjson.RPCErrorCode {
	var re *btcjson.RPCError
	if errors.As(err, &re) {
		return re.Code
	}
	return 0
}

// notFound wraps err with bitcoin.ErrNotFound when it carries one of codes.
func notFound(err error, what string, codes ...btcjson.RPCErrorCode) error {
	if slices.Contains(codes, rpcCode(err)) {
		return fmt.Errorf("rpcchain: %s: %w (%w)", what, bitcoin.ErrNotFound, err)
	}
	return fmt.Errorf("rpcchain: %s: %w", what, err)
}

// BestBlock returns the node's tip.
func (c *Chain) BestBlock(ctx context.Context) (bitcoin.BlockStamp, error) {
	if err := c.constructed(); err != nil {
		return bitcoin.BlockStamp{}, err
	}
	var best btcjson.GetBestBlockResult
	if err := c.do(ctx, btcjson.NewGetBestBlockCmd(), &best); err != nil {
		return bitcoin.BlockStamp{}, err
	}
	hash, err := chainhash.NewHashFromStr(best.Hash)
	if err != nil {
		return bitcoin.BlockStamp{}, fmt.Errorf("rpcchain: getbestblock: %w", err)
	}
	return bitcoin.BlockStamp{Height: best.Height, Hash: *hash}, nil
}

// BlockHash returns the hash of the main-chain block at height.
func (c *Chain) BlockHash(ctx context.Context, height int32) (chainhash.Hash, error) {
	if err := c.constructed(); err != nil {
		return chainhash.Hash{}, err
	}
	if height < 0 {
		return chainhash.Hash{}, fmt.Errorf("rpcchain: height %d: %w", height, bitcoin.ErrNotFound)
	}
	var s string
	if err := c.do(ctx, btcjson.NewGetBlockHashCmd(int64(height)), &s, btcjson.ErrRPCOutOfRange, btcjson.ErrRPCInvalidParameter); err != nil {
		return chainhash.Hash{}, notFound(err, fmt.Sprintf("getblockhash %d", height), btcjson.ErrRPCOutOfRange, btcjson.ErrRPCInvalidParameter)
	}
	hash, err := chainhash.NewHashFromStr(s)
	if err != nil {
		return chainhash.Hash{}, fmt.Errorf("rpcchain: getblockhash: %w", err)
	}
	return *hash, nil
}

// BlockHeader returns the header of any block the node knows.
func (c *Chain) BlockHeader(ctx context.Context, hash chainhash.Hash) (wire.BlockHeader, error) {
	if err := c.constructed(); err != nil {
		return wire.BlockHeader{}, err
	}
	var s string
	verbose := false
	if err := c.do(ctx, btcjson.NewGetBlockHeaderCmd(hash.String(), &verbose), &s, btcjson.ErrRPCBlockNotFound); err != nil {
		return wire.BlockHeader{}, notFound(err, "getblockheader "+hash.String(), btcjson.ErrRPCBlockNotFound)
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		return wire.BlockHeader{}, fmt.Errorf("rpcchain: getblockheader: %w", err)
	}
	var h wire.BlockHeader
	if err := h.Deserialize(bytes.NewReader(raw)); err != nil {
		return wire.BlockHeader{}, fmt.Errorf("rpcchain: getblockheader: %w", err)
	}
	return h, nil
}

// Block returns any block the node has.
func (c *Chain) Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error) {
	if err := c.constructed(); err != nil {
		return nil, err
	}
	var s string
	verbosity := 0
	if err := c.do(ctx, btcjson.NewGetBlockCmd(hash.String(), &verbosity), &s, btcjson.ErrRPCBlockNotFound); err != nil {
		return nil, notFound(err, "getblock "+hash.String(), btcjson.ErrRPCBlockNotFound)
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("rpcchain: getblock: %w", err)
	}
	var b wire.MsgBlock
	r := bytes.NewReader(raw)
	if err := b.Deserialize(r); err != nil || r.Len() != 0 {
		if err == nil {
			err = fmt.Errorf("%d trailing bytes", r.Len())
		}
		return nil, fmt.Errorf("rpcchain: getblock: %w: %v", bitcoin.ErrInvalidTransaction, err)
	}
	if got := b.BlockHash(); got != hash {
		return nil, fmt.Errorf("rpcchain: getblock %s: the node returned block %s: %w", hash, got, bitcoin.ErrInvalidTransaction)
	}
	if err := bitcoin.CheckBlockAmounts(&b); err != nil {
		return nil, fmt.Errorf("rpcchain: getblock %s: %w", hash, err)
	}
	return &b, nil
}

// height returns the main-chain height of a block hash, memoized.
func (c *Chain) height(ctx context.Context, hash chainhash.Hash) (int32, error) {
	c.mu.Lock()
	h, ok := c.heightMemo[hash]
	c.mu.Unlock()
	if ok {
		return h, nil
	}
	var res btcjson.GetBlockHeaderVerboseResult
	verbose := true
	if err := c.do(ctx, btcjson.NewGetBlockHeaderCmd(hash.String(), &verbose), &res, btcjson.ErrRPCBlockNotFound); err != nil {
		return 0, notFound(err, "getblockheader "+hash.String(), btcjson.ErrRPCBlockNotFound)
	}
	c.mu.Lock()
	if len(c.heightMemo) > 1024 {
		clear(c.heightMemo)
	}
	c.heightMemo[hash] = res.Height
	c.mu.Unlock()
	return res.Height, nil
}

// Tx returns a mempool or main-chain transaction (needs --txindex for confirmed ones).
func (c *Chain) Tx(ctx context.Context, txid chainhash.Hash) (bitcoin.TxInfo, error) {
	if err := c.constructed(); err != nil {
		return bitcoin.TxInfo{}, err
	}
	var res btcjson.TxRawResult
	verbose := 1
	if err := c.do(ctx, btcjson.NewGetRawTransactionCmd(txid.String(), &verbose), &res, btcjson.ErrRPCNoTxInfo); err != nil {
		return bitcoin.TxInfo{}, notFound(err, "getrawtransaction "+txid.String(), btcjson.ErrRPCNoTxInfo)
	}
	tx, err := decodeTx(res.Hex)
	if err != nil {
		return bitcoin.TxInfo{}, fmt.Errorf("rpcchain: getrawtransaction: %w", err)
	}
	if tx.TxHash() != txid {
		return bitcoin.TxInfo{}, fmt.Errorf("rpcchain: getrawtransaction %s: the node returned %s: %w", txid, tx.TxHash(), bitcoin.ErrInvalidTransaction)
	}
	info := bitcoin.TxInfo{Tx: tx}
	if res.BlockHash == "" {
		return info, nil
	}
	bh, err := chainhash.NewHashFromStr(res.BlockHash)
	if err != nil {
		return bitcoin.TxInfo{}, fmt.Errorf("rpcchain: getrawtransaction: %w", err)
	}
	h, err := c.height(ctx, *bh)
	if err != nil {
		return bitcoin.TxInfo{}, err
	}
	info.Block = &bitcoin.BlockStamp{Height: h, Hash: *bh}
	return info, nil
}

// decodeTx decodes a node's hex transaction with the SDK's one decoder, so what the node says
// is held to the same rules as any other outside input (exact bytes, amounts in range).
func decodeTx(s string) (*wire.MsgTx, error) {
	raw, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", bitcoin.ErrInvalidTransaction, err)
	}
	return bitcoin.DecodeTx(raw)
}

// amount converts a node's BTC value to satoshis and checks it is within
// 0..btcutil.MaxSatoshi.
func amount(btc float64) (btcutil.Amount, error) {
	a, err := btcutil.NewAmount(btc)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", bitcoin.ErrAmountOutOfRange, err)
	}
	if err := bitcoin.CheckAmount(a); err != nil {
		return 0, err
	}
	return a, nil
}

func encodeTx(tx *wire.MsgTx) (string, error) {
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(buf.Bytes()), nil
}

// txOutResult converts a gettxout reply.
func (c *Chain) txOutResult(ctx context.Context, op wire.OutPoint, res *btcjson.GetTxOutResult) (bitcoin.UTXO, error) {
	script, err := hex.DecodeString(res.ScriptPubKey.Hex)
	if err != nil {
		return bitcoin.UTXO{}, fmt.Errorf("rpcchain: gettxout: %w", err)
	}
	value, err := amount(res.Value)
	if err != nil {
		return bitcoin.UTXO{}, fmt.Errorf("rpcchain: gettxout: %w", err)
	}
	u := bitcoin.UTXO{OutPoint: op, Value: value, PkScript: script, Coinbase: res.Coinbase}
	if res.Confirmations > 0 {
		best, err := chainhash.NewHashFromStr(res.BestBlock)
		if err != nil {
			return bitcoin.UTXO{}, fmt.Errorf("rpcchain: gettxout: %w", err)
		}
		bh, err := c.height(ctx, *best)
		if err != nil {
			return bitcoin.UTXO{}, err
		}
		u.Height = bh - int32(res.Confirmations) + 1
	}
	return u, nil
}

// TxOut returns an unspent output; see bitcoin.Chain.
func (c *Chain) TxOut(ctx context.Context, op wire.OutPoint, includeMempool bool) (bitcoin.UTXO, error) {
	if err := c.constructed(); err != nil {
		return bitcoin.UTXO{}, err
	}
	var res *btcjson.GetTxOutResult
	if err := c.do(ctx, btcjson.NewGetTxOutCmd(op.Hash.String(), op.Index, &includeMempool), &res, btcjson.ErrRPCNoTxInfo, btcjson.ErrRPCInvalidTxVout); err != nil {
		return bitcoin.UTXO{}, notFound(err, "gettxout "+op.String(), btcjson.ErrRPCNoTxInfo, btcjson.ErrRPCInvalidTxVout)
	}
	if res == nil {
		return bitcoin.UTXO{}, fmt.Errorf("rpcchain: output %s: %w", op, bitcoin.ErrNotFound)
	}
	if includeMempool {
		spent, err := c.mempoolSpent(ctx, []wire.OutPoint{op})
		if err != nil {
			return bitcoin.UTXO{}, err
		}
		if spent[op] {
			return bitcoin.UTXO{}, fmt.Errorf("rpcchain: output %s spent in mempool: %w", op, bitcoin.ErrNotFound)
		}
	}
	return c.txOutResult(ctx, op, res)
}

// mempoolSpent reports which of ops mempool transactions spend.
func (c *Chain) mempoolSpent(ctx context.Context, ops []wire.OutPoint) (map[wire.OutPoint]bool, error) {
	var res []btcjson.GetTxSpendingPrevOutResult
	if err := c.do(ctx, btcjson.NewGetTxSpendingPrevOutCmd(ops), &res); err != nil {
		return nil, fmt.Errorf("rpcchain: gettxspendingprevout: %w", err)
	}
	out := make(map[wire.OutPoint]bool, len(res))
	for _, r := range res {
		h, err := chainhash.NewHashFromStr(r.Txid)
		if err != nil {
			return nil, fmt.Errorf("rpcchain: gettxspendingprevout: %w", err)
		}
		out[wire.OutPoint{Hash: *h, Index: r.Vout}] = r.SpendingTxid != ""
	}
	return out, nil
}

// scriptAddress returns the address form of a script the address index covers.
func (c *Chain) scriptAddress(script []byte) (btcutil.Address, bool) {
	class, addrs, _, err := txscript.ExtractPkScriptAddrs(script, c.params)
	if err != nil || len(addrs) != 1 {
		return nil, false
	}
	switch class {
	case txscript.PubKeyHashTy, txscript.ScriptHashTy, txscript.WitnessV0PubKeyHashTy, txscript.WitnessV0ScriptHashTy, txscript.WitnessV1TaprootTy:
	default:
		return nil, false
	}
	if again, err := txscript.PayToAddrScript(addrs[0]); err != nil || !bytes.Equal(again, script) {
		return nil, false
	}
	return addrs[0], true
}

// UTXOs returns the unspent outputs paying pkScript, from the node's address index
// (searchrawtransactions) checked with gettxout and gettxspendingprevout. Scripts without an
// address form (P2PK, bare multisig, non-standard) fail with bitcoin.ErrUnsupported.
func (c *Chain) UTXOs(ctx context.Context, pkScript []byte) ([]bitcoin.UTXO, error) {
	if err := c.constructed(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	addr, ok := c.scriptAddress(pkScript)
	if !ok {
		return nil, fmt.Errorf("rpcchain: UTXOs of a script without an address form: %w", bitcoin.ErrUnsupported)
	}
	var ops []wire.OutPoint
	seen := map[wire.OutPoint]struct{}{}
	for skip := 0; ; skip += searchPage {
		verbose, count, skipN, vinExtra, reverse := 0, searchPage, skip, 0, false
		var page []string
		err := c.do(ctx, btcjson.NewSearchRawTransactionsCmd(addr.EncodeAddress(), &verbose, &skipN, &count, &vinExtra, &reverse, nil), &page, btcjson.ErrRPCNoTxInfo)
		if rpcCode(err) == btcjson.ErrRPCNoTxInfo {
			break
		}
		if err != nil {
			if rpcCode(err) == btcjson.ErrRPCMisc || rpcCode(err) == btcjson.ErrRPCMethodNotFound.Code {
				return nil, fmt.Errorf("rpcchain: searchrawtransactions (is btcd running with --addrindex?): %w: %w", bitcoin.ErrUnsupported, err)
			}
			return nil, fmt.Errorf("rpcchain: searchrawtransactions: %w", err)
		}
		for _, s := range page {
			tx, err := decodeTx(s)
			if err != nil {
				return nil, fmt.Errorf("rpcchain: searchrawtransactions: %w", err)
			}
			txid := tx.TxHash()
			for i, o := range tx.TxOut {
				op := wire.OutPoint{Hash: txid, Index: uint32(i)}
				if _, dup := seen[op]; !dup && bytes.Equal(o.PkScript, pkScript) {
					seen[op] = struct{}{}
					ops = append(ops, op)
				}
			}
		}
		if len(page) < searchPage {
			break
		}
	}
	if len(ops) == 0 {
		return nil, nil
	}
	if c.tel != nil {
		var out []bitcoin.UTXO
		err := c.tel.observe(ctx, "gettxout", len(ops), nil, func(ctx context.Context) (err error) {
			out, err = c.txOuts(ctx, ops)
			return err
		})
		return out, err
	}
	return c.txOuts(ctx, ops)
}

// txOuts returns the outputs of ops that are unspent, in the chain and the mempool, with
// pipelined gettxout requests over the one connection.
func (c *Chain) txOuts(ctx context.Context, ops []wire.OutPoint) ([]bitcoin.UTXO, error) {
	cl, err := c.conn()
	if err != nil {
		return nil, err
	}
	includeMempool := true
	futures := make([]chan *rpcclient.Response, len(ops))
	for i, op := range ops {
		futures[i] = cl.SendCmd(btcjson.NewGetTxOutCmd(op.Hash.String(), op.Index, &includeMempool))
	}
	spent, err := c.mempoolSpent(ctx, ops)
	if err != nil {
		return nil, err
	}
	var out []bitcoin.UTXO
	for i, op := range ops {
		var r *rpcclient.Response
		select {
		case r = <-futures[i]:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		fut := make(chan *rpcclient.Response, 1)
		fut <- r
		raw, err := rpcclient.ReceiveFuture(fut)
		if err != nil {
			return nil, fmt.Errorf("rpcchain: gettxout %s: %w", op, clientErr(err))
		}
		var res *btcjson.GetTxOutResult
		if err := json.Unmarshal(raw, &res); err != nil {
			return nil, fmt.Errorf("rpcchain: gettxout %s: %w", op, err)
		}
		if res == nil || spent[op] {
			continue
		}
		u, err := c.txOutResult(ctx, op, res)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	slices.SortFunc(out, compareUTXO)
	return out, nil
}

func compareUTXO(a, b bitcoin.UTXO) int {
	ha, hb := a.Height, b.Height
	if ha == 0 {
		ha = 1<<31 - 1
	}
	if hb == 0 {
		hb = 1<<31 - 1
	}
	if ha != hb {
		if ha < hb {
			return -1
		}
		return 1
	}
	if r := bytes.Compare(a.OutPoint.Hash[:], b.OutPoint.Hash[:]); r != 0 {
		return r
	}
	switch {
	case a.OutPoint.Index < b.OutPoint.Index:
		return -1
	case a.OutPoint.Index > b.OutPoint.Index:
		return 1
	}
	return 0
}

// Mempool returns the node's mempool (getrawmempool, verbose).
func (c *Chain) Mempool(ctx context.Context) ([]bitcoin.MempoolEntry, error) {
	if err := c.constructed(); err != nil {
		return nil, err
	}
	var res map[string]btcjson.GetRawMempoolVerboseResult
	verbose := true
	if err := c.do(ctx, btcjson.NewGetRawMempoolCmd(&verbose), &res); err != nil {
		return nil, fmt.Errorf("rpcchain: getrawmempool: %w", err)
	}
	out := make([]bitcoin.MempoolEntry, 0, len(res))
	for id, e := range res {
		h, err := chainhash.NewHashFromStr(id)
		if err != nil {
			return nil, fmt.Errorf("rpcchain: getrawmempool: %w", err)
		}
		fee, err := amount(e.Fee)
		if err != nil {
			return nil, fmt.Errorf("rpcchain: getrawmempool %s: %w", id, err)
		}
		out = append(out, bitcoin.MempoolEntry{Txid: *h, VSize: int64(e.Vsize), Fee: fee})
	}
	slices.SortFunc(out, func(a, b bitcoin.MempoolEntry) int { return bytes.Compare(a.Txid[:], b.Txid[:]) })
	return out, nil
}

// EstimateFee returns btcd's estimatefee answer, or bitcoin.ErrNoFeeEstimate when it has none
// (btcd answers 0 until its estimator has seen enough blocks).
func (c *Chain) EstimateFee(ctx context.Context, target int) (bitcoin.FeeRate, error) {
	if err := c.constructed(); err != nil {
		return 0, err
	}
	var btcPerKB float64
	err := c.do(ctx, btcjson.NewEstimateFeeCmd(int64(target)), &btcPerKB)
	if err != nil {
		var re *btcjson.RPCError
		if errors.As(err, &re) {
			return 0, fmt.Errorf("rpcchain: estimatefee: %w: %w", bitcoin.ErrNoFeeEstimate, err)
		}
		return 0, err
	}
	if btcPerKB <= 0 {
		return 0, fmt.Errorf("rpcchain: estimatefee: %w", bitcoin.ErrNoFeeEstimate)
	}
	rate, err := amount(btcPerKB)
	if err != nil {
		return 0, fmt.Errorf("rpcchain: estimatefee: %w", err)
	}
	return bitcoin.FeeRate(rate), nil
}

// TestAccept runs testmempoolaccept.
func (c *Chain) TestAccept(ctx context.Context, tx *wire.MsgTx) error {
	if err := c.constructed(); err != nil {
		return err
	}
	if tx == nil {
		return &bitcoin.FieldError{Field: "tx", Reason: "nil transaction"}
	}
	if err := bitcoin.CheckTxAmounts(tx); err != nil {
		return &bitcoin.RejectError{Txid: tx.TxHash(), Reason: "bad-txns-vout-outofrange", Err: err}
	}
	s, err := encodeTx(tx)
	if err != nil {
		return &bitcoin.FieldError{Field: "tx", Reason: err.Error()}
	}
	var res []btcjson.TestMempoolAcceptResult
	if err := c.do(ctx, btcjson.NewTestMempoolAcceptCmd([]string{s}, 0), &res); err != nil {
		if code := rpcCode(err); code == btcjson.ErrRPCDeserialization || code == btcjson.ErrRPCDecodeHexString {
			return &bitcoin.RejectError{Txid: tx.TxHash(), Reason: "decode: " + err.Error(), Err: err}
		}
		return fmt.Errorf("rpcchain: testmempoolaccept: %w", err)
	}
	if len(res) != 1 {
		return fmt.Errorf("rpcchain: testmempoolaccept returned %d results for 1 transaction", len(res))
	}
	if !res[0].Allowed {
		return &bitcoin.RejectError{Txid: tx.TxHash(), Reason: res[0].RejectReason}
	}
	return nil
}

// Broadcast submits tx with sendrawtransaction: one call when the node takes it. A transaction
// the node already has is a no-op that returns its txid: sendrawtransaction says so for one in
// its mempool or with unspent outputs, and a refused transaction is looked up by txid before
// the refusal is reported, so that one already in the main chain with every output spent (which
// the node sees as spending missing inputs) is found there.
func (c *Chain) Broadcast(ctx context.Context, tx *wire.MsgTx) (chainhash.Hash, error) {
	if err := c.constructed(); err != nil {
		return chainhash.Hash{}, err
	}
	if tx == nil {
		return chainhash.Hash{}, &bitcoin.FieldError{Field: "tx", Reason: "nil transaction"}
	}
	txid := tx.TxHash()
	if err := bitcoin.CheckTxAmounts(tx); err != nil {
		return chainhash.Hash{}, &bitcoin.RejectError{Txid: txid, Reason: "bad-txns-vout-outofrange", Err: err}
	}
	s, err := encodeTx(tx)
	if err != nil {
		return chainhash.Hash{}, &bitcoin.FieldError{Field: "tx", Reason: err.Error()}
	}
	allowHighFees := false
	var got string
	err = c.do(ctx, btcjson.NewSendRawTransactionCmd(s, &allowHighFees), &got)
	if err == nil {
		return txid, nil
	}
	var re *btcjson.RPCError
	switch {
	case !errors.As(err, &re):
		return chainhash.Hash{}, fmt.Errorf("rpcchain: sendrawtransaction: %w", err)
	case re.Code == btcjson.ErrRPCTxAlreadyInChain || bytes.Contains([]byte(re.Message), []byte("already have transaction")):
		return txid, nil
	}
	if _, lerr := c.Tx(ctx, txid); lerr == nil {
		return txid, nil
	}
	return chainhash.Hash{}, &bitcoin.RejectError{Txid: txid, Reason: re.Message, Err: err}
}

// Watch replaces the watched scripts: loadtxfilter for those with an address form,
// notifynewtransactions plus local filtering for the others.
func (c *Chain) Watch(ctx context.Context, pkScripts [][]byte) error {
	if err := c.constructed(); err != nil {
		return err
	}
	var addrs []string
	nonAddr := map[string]struct{}{}
	for _, s := range pkScripts {
		if a, ok := c.scriptAddress(s); ok {
			addrs = append(addrs, a.EncodeAddress())
		} else if len(s) > 0 {
			nonAddr[string(s)] = struct{}{}
		}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return bitcoin.ErrClosed
	}
	c.watch = slices.Clone(pkScripts)
	c.addrs, c.nonAddr = addrs, nonAddr
	cl := c.client
	c.mu.Unlock()
	if cl == nil {
		return nil // applied when the connection comes back
	}
	return applyWatch(ctx, cl, addrs, len(nonAddr) > 0)
}

func applyWatch(ctx context.Context, cl *rpcclient.Client, addrs []string, newTxs bool) error {
	if err := call(ctx, cl, btcjson.NewLoadTxFilterCmd(true, addrs, nil), nil); err != nil {
		return fmt.Errorf("rpcchain: loadtxfilter: %w", err)
	}
	if newTxs {
		verbose := false
		if err := call(ctx, cl, btcjson.NewNotifyNewTransactionsCmd(&verbose), nil); err != nil {
			return fmt.Errorf("rpcchain: notifynewtransactions: %w", err)
		}
	}
	return nil
}

// fetchLoop fetches the mempool transactions announced by txaccepted and pushes those that
// pay a watched script without an address form.
func (c *Chain) fetchLoop(life context.Context) {
	for {
		var txid chainhash.Hash
		select {
		case <-life.Done():
			return
		case txid = <-c.fetchCh:
		}
		c.mu.Lock()
		want := len(c.nonAddr) > 0
		c.mu.Unlock()
		if !want {
			continue
		}
		info, err := c.Tx(life, txid)
		if err != nil {
			continue // gone already, or the connection dropped
		}
		c.mu.Lock()
		match := false
		for _, o := range info.Tx.TxOut {
			if _, ok := c.nonAddr[string(o.PkScript)]; ok {
				match = true
				break
			}
		}
		c.mu.Unlock()
		if match {
			c.emit(bitcoin.ChainUpdate{Kind: bitcoin.UpdateMempool, Tx: info.Tx})
		}
	}
}
