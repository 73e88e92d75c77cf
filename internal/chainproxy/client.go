package chainproxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
)

// Client is a bitcoin.Chain served by a Server. It is safe for concurrent use; it owns one
// goroutine, following the server's update stream, while it has subscribers. Create it with
// [Dial]: every method of a zero Client that can fail returns a
// [*bitcoin.NotConstructedError] naming Dial (Params returns nil, Subscribe registers
// nothing, Close does nothing).
type Client struct {
	base   string
	http   *http.Client
	params *chaincfg.Params

	mu       sync.Mutex
	closed   bool
	handlers map[uint64]func(bitcoin.ChainUpdate)
	nextID   uint64
	cancel   context.CancelFunc // stops the stream goroutine
	done     chan struct{}      // closed when the stream goroutine exits
	deliver  sync.Mutex         // serializes handler calls
}

var (
	_ bitcoin.Chain         = (*Client)(nil)
	_ bitcoin.ScriptHistory = (*Client)(nil)
)

// Dial returns a client of the server at baseURL ("http://127.0.0.1:port"), configured by
// [WithHTTPClient].
func Dial(ctx context.Context, baseURL string, opts ...Option) (*Client, error) {
	cfg, err := newConfig(forDial, opts)
	if err != nil {
		return nil, err
	}
	c := &Client{base: strings.TrimSuffix(baseURL, "/"), http: cfg.http, handlers: map[uint64]func(bitcoin.ChainUpdate){}}
	var p struct{ Name string }
	if err := c.get(ctx, "/params", &p); err != nil {
		return nil, err
	}
	net, err := bitcoin.ParseNetwork(p.Name)
	if err != nil {
		return nil, err
	}
	c.params = net.Params()
	return c, nil
}

// constructed returns a [*bitcoin.NotConstructedError] for a zero Client.
func (c *Client) constructed() error {
	if c == nil || c.http == nil {
		return &bitcoin.NotConstructedError{Type: "chainproxy.Client", Constructor: "chainproxy.Dial"}
	}
	return nil
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.isClosed() {
		return bitcoin.ErrClosed
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %v", bitcoin.ErrDisconnected, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %v", bitcoin.ErrDisconnected, err)
	}
	if resp.StatusCode != http.StatusOK {
		return decodeErr(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

func decodeErr(status int, data []byte) error {
	var we wireError
	if err := json.Unmarshal(data, &we); err != nil {
		return fmt.Errorf("chainproxy: status %d: %s", status, bytes.TrimSpace(data))
	}
	switch we.Kind {
	case "rejected":
		e := &bitcoin.RejectError{Reason: we.Reason}
		if h, err := chainhash.NewHashFromStr(we.Txid); err == nil {
			e.Txid = *h
		}
		return e
	case "notfound":
		return fmt.Errorf("%w: %s", bitcoin.ErrNotFound, we.Msg)
	case "nofee":
		return fmt.Errorf("%w: %s", bitcoin.ErrNoFeeEstimate, we.Msg)
	case "closed":
		return fmt.Errorf("%w: the served chain: %s", bitcoin.ErrDisconnected, we.Msg)
	case "unsupported":
		return fmt.Errorf("%w: %s", bitcoin.ErrUnsupported, we.Msg)
	case "invalid":
		return fmt.Errorf("%w: %s", bitcoin.ErrInvalidArgument, we.Msg)
	case "unavailable":
		return fmt.Errorf("%w: %s", bitcoin.ErrDisconnected, we.Msg)
	}
	return fmt.Errorf("chainproxy: %s", we.Msg)
}

func (c *Client) get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, out)
}

func serialize(tx *wire.MsgTx) ([]byte, error) {
	if tx == nil {
		return nil, &bitcoin.FieldError{Field: "tx", Reason: "nil transaction"}
	}
	var b bytes.Buffer
	if err := tx.Serialize(&b); err != nil {
		return nil, err
	}
	return []byte(hex.EncodeToString(b.Bytes())), nil
}

func decodeHex[T interface{ Deserialize(io.Reader) error }](s string, v T) error {
	b, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	return v.Deserialize(bytes.NewReader(b))
}

// Params implements bitcoin.Chain.
func (c *Client) Params() *chaincfg.Params {
	if c == nil {
		return nil
	}
	return c.params
}

// BestBlock implements bitcoin.Chain.
func (c *Client) BestBlock(ctx context.Context) (bitcoin.BlockStamp, error) {
	if err := c.constructed(); err != nil {
		return bitcoin.BlockStamp{}, err
	}
	var b bitcoin.BlockStamp
	err := c.get(ctx, "/best", &b)
	return b, err
}

// BlockHash implements bitcoin.Chain.
func (c *Client) BlockHash(ctx context.Context, height int32) (chainhash.Hash, error) {
	if err := c.constructed(); err != nil {
		return chainhash.Hash{}, err
	}
	var s string
	if err := c.get(ctx, "/blockhash/"+strconv.Itoa(int(height)), &s); err != nil {
		return chainhash.Hash{}, err
	}
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		return chainhash.Hash{}, err
	}
	return *h, nil
}

// BlockHeader implements bitcoin.Chain.
func (c *Client) BlockHeader(ctx context.Context, hash chainhash.Hash) (wire.BlockHeader, error) {
	if err := c.constructed(); err != nil {
		return wire.BlockHeader{}, err
	}
	var s string
	if err := c.get(ctx, "/header/"+hash.String(), &s); err != nil {
		return wire.BlockHeader{}, err
	}
	var h wire.BlockHeader
	err := decodeHex(s, &h)
	return h, err
}

// Block implements bitcoin.Chain.
func (c *Client) Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error) {
	if err := c.constructed(); err != nil {
		return nil, err
	}
	var s string
	if err := c.get(ctx, "/block/"+hash.String(), &s); err != nil {
		return nil, err
	}
	var b wire.MsgBlock
	if err := decodeHex(s, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// Tx implements bitcoin.Chain.
func (c *Client) Tx(ctx context.Context, txid chainhash.Hash) (bitcoin.TxInfo, error) {
	if err := c.constructed(); err != nil {
		return bitcoin.TxInfo{}, err
	}
	var ti txInfo
	if err := c.get(ctx, "/tx/"+txid.String(), &ti); err != nil {
		return bitcoin.TxInfo{}, err
	}
	var tx wire.MsgTx
	if err := decodeHex(ti.Tx, &tx); err != nil {
		return bitcoin.TxInfo{}, err
	}
	return bitcoin.TxInfo{Tx: &tx, Block: ti.Block}, nil
}

// TxOut implements bitcoin.Chain.
func (c *Client) TxOut(ctx context.Context, op wire.OutPoint, includeMempool bool) (bitcoin.UTXO, error) {
	if err := c.constructed(); err != nil {
		return bitcoin.UTXO{}, err
	}
	path := fmt.Sprintf("/txout/%s/%d", op.Hash, op.Index)
	if includeMempool {
		path += "?mempool=1"
	}
	var u bitcoin.UTXO
	err := c.get(ctx, path, &u)
	return u, err
}

// UTXOs implements bitcoin.Chain.
func (c *Client) UTXOs(ctx context.Context, pkScript []byte) ([]bitcoin.UTXO, error) {
	if err := c.constructed(); err != nil {
		return nil, err
	}
	var us []bitcoin.UTXO
	err := c.do(ctx, http.MethodPost, "/utxos", []byte(hex.EncodeToString(pkScript)), &us)
	return us, err
}

// scriptUses is the server's answer to a ScriptUses call.
type scriptUses struct {
	N     int  `json:"n"`
	Known bool `json:"known"`
}

// ScriptUses implements bitcoin.ScriptHistory: the served chain's answer, or unknown when it
// has no script index.
func (c *Client) ScriptUses(ctx context.Context, pkScript []byte) (int, bool, error) {
	if err := c.constructed(); err != nil {
		return 0, false, err
	}
	var u scriptUses
	err := c.do(ctx, http.MethodPost, "/scriptuses", []byte(hex.EncodeToString(pkScript)), &u)
	return u.N, u.Known, err
}

// Mempool implements bitcoin.Chain.
func (c *Client) Mempool(ctx context.Context) ([]bitcoin.MempoolEntry, error) {
	if err := c.constructed(); err != nil {
		return nil, err
	}
	var es []bitcoin.MempoolEntry
	err := c.get(ctx, "/mempool", &es)
	return es, err
}

// EstimateFee implements bitcoin.Chain.
func (c *Client) EstimateFee(ctx context.Context, target int) (bitcoin.FeeRate, error) {
	if err := c.constructed(); err != nil {
		return 0, err
	}
	var f bitcoin.FeeRate
	err := c.get(ctx, "/fee/"+strconv.Itoa(target), &f)
	return f, err
}

// TestAccept implements bitcoin.Chain.
func (c *Client) TestAccept(ctx context.Context, tx *wire.MsgTx) error {
	if err := c.constructed(); err != nil {
		return err
	}
	if err := checkAmounts(tx); err != nil {
		return err
	}
	raw, err := serialize(tx)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, "/testaccept", raw, nil)
}

// Broadcast implements bitcoin.Chain.
func (c *Client) Broadcast(ctx context.Context, tx *wire.MsgTx) (chainhash.Hash, error) {
	if err := c.constructed(); err != nil {
		return chainhash.Hash{}, err
	}
	if err := checkAmounts(tx); err != nil {
		return chainhash.Hash{}, err
	}
	raw, err := serialize(tx)
	if err != nil {
		return chainhash.Hash{}, err
	}
	var s string
	if err := c.do(ctx, http.MethodPost, "/broadcast", raw, &s); err != nil {
		return chainhash.Hash{}, err
	}
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		return chainhash.Hash{}, err
	}
	return *h, nil
}

// Watch implements bitcoin.Chain.
func (c *Client) Watch(ctx context.Context, pkScripts [][]byte) error {
	if err := c.constructed(); err != nil {
		return err
	}
	list := make([]string, len(pkScripts))
	for i, s := range pkScripts {
		list[i] = hex.EncodeToString(s)
	}
	body, _ := json.Marshal(list)
	return c.do(ctx, http.MethodPost, "/watch", body, nil)
}

// Subscribe implements bitcoin.Chain. The first subscriber starts the goroutine that follows
// the server's update stream, reconnecting when it breaks; after every (re)connection handlers
// get an UpdateTip with the best block.
func (c *Client) Subscribe(h func(bitcoin.ChainUpdate)) (unsubscribe func()) {
	if c.constructed() != nil || h == nil {
		return func() {}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return func() {}
	}
	c.nextID++
	id := c.nextID
	c.handlers[id] = h
	if c.cancel == nil {
		ctx, cancel := context.WithCancel(context.Background())
		c.cancel, c.done = cancel, make(chan struct{})
		go c.follow(ctx, c.done)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			delete(c.handlers, id)
			c.mu.Unlock()
		})
	}
}

func (c *Client) dispatch(u bitcoin.ChainUpdate) {
	c.deliver.Lock()
	defer c.deliver.Unlock()
	c.mu.Lock()
	hs := make([]func(bitcoin.ChainUpdate), 0, len(c.handlers))
	for _, h := range c.handlers {
		hs = append(hs, h)
	}
	c.mu.Unlock()
	for _, h := range hs {
		h(u)
	}
}

// follow reads the update stream until ctx ends, reconnecting with a backoff.
func (c *Client) follow(ctx context.Context, done chan struct{}) {
	defer close(done)
	backoff := 10 * time.Millisecond
	for ctx.Err() == nil {
		if err := c.stream(ctx); err == nil {
			backoff = 10 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Second)
	}
}

func (c *Client) stream(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/updates", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("chainproxy: updates: status %d", resp.StatusCode)
	}
	// Connected: the tip now, then every change.
	if best, err := c.BestBlock(ctx); err == nil {
		c.dispatch(bitcoin.ChainUpdate{Kind: bitcoin.UpdateTip, Tip: best})
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var u update
		if err := json.Unmarshal(sc.Bytes(), &u); err != nil {
			return err
		}
		cu := bitcoin.ChainUpdate{Kind: u.Kind, Tip: u.Tip}
		if u.Header != "" {
			var h wire.BlockHeader
			if decodeHex(u.Header, &h) == nil {
				cu.Header = &h
			}
		}
		if u.Tx != "" {
			var tx wire.MsgTx
			if decodeHex(u.Tx, &tx) == nil {
				cu.Tx = &tx
			}
		}
		c.dispatch(cu)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return errors.New("chainproxy: update stream ended")
}

// Close implements bitcoin.Chain: it stops following updates and makes every later call fail
// with bitcoin.ErrClosed. It is idempotent.
func (c *Client) Close() error {
	if c.constructed() != nil {
		return nil
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	cancel, done := c.cancel, c.done
	c.handlers = map[uint64]func(bitcoin.ChainUpdate){}
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}

// checkAmounts refuses, as every bitcoin.Chain does, a transaction whose outputs are out of
// range, with the SDK's typed error (it would not survive the HTTP round trip).
func checkAmounts(tx *wire.MsgTx) error {
	if tx == nil {
		return nil // serialize reports it
	}
	if err := bitcoin.CheckTxAmounts(tx); err != nil {
		return &bitcoin.RejectError{Txid: tx.TxHash(), Reason: "bad-txns-vout-outofrange", Err: err}
	}
	return nil
}
