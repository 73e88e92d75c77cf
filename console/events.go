package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/anya-org/anya-go/bus"
)

// Bounds of a live event.
const (
	// MaxEventSummary bounds the payload summary of a live event, in bytes.
	MaxEventSummary = 400
	// eventWriteTimeout bounds one write to an event stream: a client that does not read is
	// let go.
	eventWriteTimeout = 10 * time.Second
)

// Event is one bus message as a live event stream sends it (the data of an SSE event named
// "bus"): its topic, time, source and key, and a summary of its payload — compact JSON,
// redacted, at most MaxEventSummary bytes.
type Event struct {
	Seq     uint64 `json:"seq"` // the stream's own count
	Time    string `json:"time"`
	Topic   string `json:"topic"`
	Source  string `json:"source,omitempty"`
	Key     string `json:"key,omitempty"`
	Summary string `json:"summary"`
	Dropped uint64 `json:"dropped,omitempty"` // events this stream dropped so far, its reader being slow
}

// summarize renders a payload for a live event.
func (h *Handler) summarize(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("(%T)", v)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return fmt.Sprintf("(%T)", v)
	}
	out, err := json.Marshal(h.red.value(generic, 0))
	if err != nil {
		return fmt.Sprintf("(%T)", v)
	}
	return clip(string(out), MaxEventSummary)
}

// events streams the bus's messages as server-sent events until the client goes away or the
// console closes. Each stream has its own subscription with a bounded queue that drops its
// oldest messages when full, so a slow browser never slows the bus.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	if _, err := readQuery(r, nil); err != nil {
		h.failErr(w, r, err)
		return
	}
	if r.Method == http.MethodHead { // the headers of a stream, which has no end to wait for
		w.Header().Set("Content-Type", "text/event-stream")
		return
	}
	h.mu.Lock()
	if h.closed || h.open >= h.cfg.maxStreams {
		h.mu.Unlock()
		h.fail(w, r, http.StatusServiceUnavailable, fmt.Errorf("too many live event streams (at most %d)", h.cfg.maxStreams))
		return
	}
	h.open++
	h.nstream++
	n := h.nstream
	h.streams.Add(1)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.open--
		h.mu.Unlock()
		h.streams.Done()
	}()

	ch, stop := make(chan Event), make(chan struct{})
	var seq atomic.Uint64
	sub, err := bus.Subscribe(h.m.Bus(), ">", func(_ context.Context, e bus.Envelope[any]) error {
		ev := Event{Seq: seq.Add(1), Time: e.Time.UTC().Format(time.RFC3339Nano), Topic: h.red.topic(e.Topic), Source: e.Source,
			Key: clip(h.red.text(e.Key), 200), Summary: h.summarize(e.Payload)}
		select {
		case ch <- ev:
		case <-stop:
		}
		return nil
	}, bus.Named("console.events."+strconv.FormatUint(n, 10)), bus.QueueSize(h.cfg.buffer), bus.OnFull(bus.PolicyDropOldest))
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	defer func() {
		close(stop)
		_ = sub.Unsubscribe()
		<-sub.Done()
	}()

	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send([]byte(": anya console events\nretry: 3000\n\n")) {
		return
	}
	beat := time.NewTicker(h.cfg.heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.done:
			return
		case <-beat.C:
			if !send([]byte(": ping\n\n")) {
				return
			}
		case ev := <-ch:
			ev.Dropped = sub.Stats().Dropped
			data, err := json.Marshal(ev) // no newline: one data line; <, > and & escaped
			if err != nil {
				return
			}
			if !send(fmt.Appendf(nil, "event: bus\nid: %d\ndata: %s\n\n", ev.Seq, data)) {
				return
			}
		}
	}
}
