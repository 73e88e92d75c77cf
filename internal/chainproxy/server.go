package chainproxy

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
)

// maxBody bounds a request body: a transaction (hex) or a script list.
const maxBody = 8 << 20

// Server serves a bitcoin.Chain over HTTP. It is an http.Handler, safe for concurrent use.
// Create it with [NewServer]: a zero Server answers every request with an error naming
// NewServer, and its Close does nothing.
type Server struct {
	chain  bitcoin.Chain
	before func(tx *wire.MsgTx) error
	after  func(tx *wire.MsgTx, err error)

	mux  *http.ServeMux
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// NewServer returns a server for c, configured by [WithBeforeBroadcast] and
// [WithAfterBroadcast].
func NewServer(c bitcoin.Chain, opts ...Option) (*Server, error) {
	cfg, err := newConfig(forServer, opts)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, &bitcoin.FieldError{Field: "chain", Reason: "nil Chain"}
	}
	s := &Server{chain: c, before: cfg.before, after: cfg.after, mux: http.NewServeMux(), stop: make(chan struct{})}
	s.mux.HandleFunc("GET /params", s.params)
	s.mux.HandleFunc("GET /best", s.best)
	s.mux.HandleFunc("GET /blockhash/{height}", s.blockHash)
	s.mux.HandleFunc("GET /header/{hash}", s.header)
	s.mux.HandleFunc("GET /block/{hash}", s.block)
	s.mux.HandleFunc("GET /tx/{txid}", s.tx)
	s.mux.HandleFunc("GET /txout/{txid}/{index}", s.txOut)
	s.mux.HandleFunc("POST /utxos", s.utxos)
	s.mux.HandleFunc("POST /scriptuses", s.scriptUses)
	s.mux.HandleFunc("GET /mempool", s.mempool)
	s.mux.HandleFunc("GET /fee/{target}", s.fee)
	s.mux.HandleFunc("POST /testaccept", s.testAccept)
	s.mux.HandleFunc("POST /broadcast", s.broadcast)
	s.mux.HandleFunc("POST /watch", s.watch)
	s.mux.HandleFunc("GET /updates", s.updates)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s == nil || s.mux == nil {
		writeErr(w, r, &bitcoin.NotConstructedError{Type: "chainproxy.Server", Constructor: "chainproxy.NewServer"})
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Close ends the update streams being served and waits for their handlers. It does not close
// the chain. It is idempotent.
func (s *Server) Close() error {
	if s == nil || s.stop == nil {
		return nil
	}
	s.once.Do(func() { close(s.stop) })
	s.wg.Wait()
	return nil
}

// wireError is an error as it travels.
type wireError struct {
	Kind   string `json:"kind"` // notfound, rejected, nofee, closed, unsupported, other
	Msg    string `json:"msg"`
	Txid   string `json:"txid,omitempty"`
	Reason string `json:"reason,omitempty"`
}

func writeErr(w http.ResponseWriter, r *http.Request, err error) {
	we := wireError{Kind: "other", Msg: err.Error()}
	status := http.StatusInternalServerError
	var rej *bitcoin.RejectError
	switch {
	case errors.As(err, &rej):
		we.Kind, we.Txid, we.Reason, status = "rejected", rej.Txid.String(), rej.Reason, http.StatusUnprocessableEntity
	case errors.Is(err, bitcoin.ErrNotFound):
		we.Kind, status = "notfound", http.StatusNotFound
	case errors.Is(err, bitcoin.ErrNoFeeEstimate):
		we.Kind, status = "nofee", http.StatusNotFound
	case errors.Is(err, bitcoin.ErrClosed):
		we.Kind, status = "closed", http.StatusServiceUnavailable
	case errors.Is(err, bitcoin.ErrUnsupported):
		we.Kind, status = "unsupported", http.StatusNotImplemented
	case errors.Is(err, bitcoin.ErrInvalidArgument):
		we.Kind, status = "invalid", http.StatusBadRequest
	case r.Context().Err() != nil:
		return
	}
	writeJSON(w, status, we)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func badRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, wireError{Kind: "invalid", Msg: msg})
}

func pathHash(w http.ResponseWriter, r *http.Request, name string) (chainhash.Hash, bool) {
	h, err := chainhash.NewHashFromStr(r.PathValue(name))
	if err != nil {
		badRequest(w, name+": "+err.Error())
		return chainhash.Hash{}, false
	}
	return *h, true
}

func readTx(w http.ResponseWriter, r *http.Request) (*wire.MsgTx, bool) {
	raw, err := readHex(r)
	if err != nil {
		badRequest(w, "transaction: "+err.Error())
		return nil, false
	}
	tx, err := bitcoin.DecodeTx(raw)
	if err != nil {
		badRequest(w, "transaction: "+err.Error())
		return nil, false
	}
	return tx, true
}

func readHex(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(string(bytes.TrimSpace(b)))
}

func (s *Server) params(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"name": s.chain.Params().Name})
}

func (s *Server) best(w http.ResponseWriter, r *http.Request) {
	b, err := s.chain.BestBlock(r.Context())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) blockHash(w http.ResponseWriter, r *http.Request) {
	h, err := strconv.ParseInt(r.PathValue("height"), 10, 32)
	if err != nil {
		badRequest(w, "height: "+err.Error())
		return
	}
	hash, err := s.chain.BlockHash(r.Context(), int32(h))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, hash.String())
}

func (s *Server) header(w http.ResponseWriter, r *http.Request) {
	h, ok := pathHash(w, r, "hash")
	if !ok {
		return
	}
	hdr, err := s.chain.BlockHeader(r.Context(), h)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var b bytes.Buffer
	_ = hdr.Serialize(&b)
	writeJSON(w, http.StatusOK, hex.EncodeToString(b.Bytes()))
}

func (s *Server) block(w http.ResponseWriter, r *http.Request) {
	h, ok := pathHash(w, r, "hash")
	if !ok {
		return
	}
	blk, err := s.chain.Block(r.Context(), h)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var b bytes.Buffer
	if err := blk.Serialize(&b); err != nil {
		writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, hex.EncodeToString(b.Bytes()))
}

// txInfo is a bitcoin.TxInfo as it travels.
type txInfo struct {
	Tx    string              `json:"tx"`
	Block *bitcoin.BlockStamp `json:"block,omitempty"`
}

func (s *Server) tx(w http.ResponseWriter, r *http.Request) {
	h, ok := pathHash(w, r, "txid")
	if !ok {
		return
	}
	info, err := s.chain.Tx(r.Context(), h)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var b bytes.Buffer
	if err := info.Tx.Serialize(&b); err != nil {
		writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, txInfo{Tx: hex.EncodeToString(b.Bytes()), Block: info.Block})
}

func (s *Server) txOut(w http.ResponseWriter, r *http.Request) {
	h, ok := pathHash(w, r, "txid")
	if !ok {
		return
	}
	idx, err := strconv.ParseUint(r.PathValue("index"), 10, 32)
	if err != nil {
		badRequest(w, "index: "+err.Error())
		return
	}
	u, err := s.chain.TxOut(r.Context(), wire.OutPoint{Hash: h, Index: uint32(idx)}, r.URL.Query().Get("mempool") == "1")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) utxos(w http.ResponseWriter, r *http.Request) {
	script, err := readHex(r)
	if err != nil {
		badRequest(w, "script: "+err.Error())
		return
	}
	us, err := s.chain.UTXOs(r.Context(), script)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if us == nil {
		us = []bitcoin.UTXO{}
	}
	writeJSON(w, http.StatusOK, us)
}

func (s *Server) scriptUses(w http.ResponseWriter, r *http.Request) {
	script, err := readHex(r)
	if err != nil {
		badRequest(w, "script: "+err.Error())
		return
	}
	var u scriptUses
	if h, ok := s.chain.(bitcoin.ScriptHistory); ok {
		if u.N, u.Known, err = h.ScriptUses(r.Context(), script); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) mempool(w http.ResponseWriter, r *http.Request) {
	es, err := s.chain.Mempool(r.Context())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if es == nil {
		es = []bitcoin.MempoolEntry{}
	}
	writeJSON(w, http.StatusOK, es)
}

func (s *Server) fee(w http.ResponseWriter, r *http.Request) {
	t, err := strconv.Atoi(r.PathValue("target"))
	if err != nil {
		badRequest(w, "target: "+err.Error())
		return
	}
	f, err := s.chain.EstimateFee(r.Context(), t)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) testAccept(w http.ResponseWriter, r *http.Request) {
	tx, ok := readTx(w, r)
	if !ok {
		return
	}
	if err := s.chain.TestAccept(r.Context(), tx); err != nil {
		writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, "ok")
}

func (s *Server) broadcast(w http.ResponseWriter, r *http.Request) {
	tx, ok := readTx(w, r)
	if !ok {
		return
	}
	if s.before != nil {
		if err := s.before(tx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, wireError{Kind: "unavailable", Msg: err.Error()})
			return
		}
	}
	// The broadcast is applied even if the client goes away meanwhile: a node that received a
	// transaction does not forget it because the sender hung up.
	txid, err := s.chain.Broadcast(context.WithoutCancel(r.Context()), tx)
	if s.after != nil {
		s.after(tx, err)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, txid.String())
}

func (s *Server) watch(w http.ResponseWriter, r *http.Request) {
	var scripts []string
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&scripts); err != nil {
		badRequest(w, "scripts: "+err.Error())
		return
	}
	list := make([][]byte, len(scripts))
	for i, h := range scripts {
		b, err := hex.DecodeString(h)
		if err != nil {
			badRequest(w, "script: "+err.Error())
			return
		}
		list[i] = b
	}
	if err := s.chain.Watch(r.Context(), list); err != nil {
		writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, "ok")
}

// update is a bitcoin.ChainUpdate as it travels, one JSON object per line.
type update struct {
	Kind   bitcoin.UpdateKind `json:"kind"`
	Tip    bitcoin.BlockStamp `json:"tip"`
	Header string             `json:"header,omitempty"`
	Tx     string             `json:"tx,omitempty"`
}

func encodeUpdate(u bitcoin.ChainUpdate) update {
	out := update{Kind: u.Kind, Tip: u.Tip}
	var b bytes.Buffer
	if u.Header != nil {
		_ = u.Header.Serialize(&b)
		out.Header = hex.EncodeToString(b.Bytes())
		b.Reset()
	}
	if u.Tx != nil {
		_ = u.Tx.Serialize(&b)
		out.Tx = hex.EncodeToString(b.Bytes())
	}
	return out
}

// updates streams the chain's updates to the client as they happen, one JSON object per line,
// until the client leaves or the server closes. The chain's handler never blocks: updates wait
// in a queue of the stream.
func (s *Server) updates(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeErr(w, r, errors.New("chainproxy: streaming unsupported"))
		return
	}
	var (
		mu     sync.Mutex
		queue  []bitcoin.ChainUpdate
		signal = make(chan struct{}, 1)
	)
	unsub := s.chain.Subscribe(func(u bitcoin.ChainUpdate) {
		mu.Lock()
		queue = append(queue, u)
		mu.Unlock()
		select {
		case signal <- struct{}{}:
		default:
		}
	})
	defer unsub()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.stop:
			return
		case <-signal:
		}
		mu.Lock()
		batch := queue
		queue = nil
		mu.Unlock()
		for _, u := range batch {
			if err := enc.Encode(encodeUpdate(u)); err != nil {
				return
			}
		}
		flusher.Flush()
	}
}
