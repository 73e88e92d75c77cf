package bus

import (
	"sync"
	"sync/atomic"
)

// queue is one lane of a subscription: a bounded FIFO of messages, plus control items (stop,
// drain markers) that are never refused, with exactly one worker. The worker takes everything
// waiting in one step and hands back the slice it has finished with, so a message costs the
// publisher one short critical section and the worker nothing but its share of a batch, and the
// two slices are reused without allocating.
type queue[T any] struct {
	mu       sync.Mutex
	in       []item[T]     // waiting items are in[start:], oldest first
	start    int           // items before start were dropped (PolicyDropOldest)
	msgs     int           // messages (not control items) waiting
	limit    int           // most messages that may wait
	idle     bool          // the worker is parked in take
	wake     chan struct{} // capacity 1: unparks the worker
	notFull  chan struct{} // closed when room appears; nil while no publisher waits
	held     int           // messages in the batch the worker is handling
	closed   bool          // the subscription ended: push and replaceOldest refuse
	accepted uint64        // messages ever appended (by push or replaceOldest)

	track bool         // keep depth for lane choice (Concurrency > 1)
	depth atomic.Int32 // msgs + held, approximately, when track is set
}

func newQueue[T any](limit int, track bool) *queue[T] {
	return &queue[T]{limit: limit, wake: make(chan struct{}, 1), track: track}
}

// pushResult is what became of a message offered to a queue.
type pushResult uint8

const (
	pushed    pushResult = iota // appended
	queueFull                   // not appended: no room
	queueGone                   // not appended: the subscription ended
)

// push appends a message. When the queue is full it appends nothing and returns a channel that
// is closed once there is room (or the queue closes). Once the queue is closed it refuses every
// message, so a message is either appended before the queue closes — and then handled or
// counted by the worker — or refused, and then counted by the publisher.
func (q *queue[T]) push(it *item[T]) (res pushResult, room <-chan struct{}) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return queueGone, nil
	}
	if q.msgs >= q.limit {
		if q.notFull == nil {
			q.notFull = make(chan struct{})
		}
		room = q.notFull
		q.mu.Unlock()
		return queueFull, room
	}
	q.in = append(q.in, *it)
	q.msgs++
	q.accepted++
	wake := q.idle
	q.idle = false
	q.mu.Unlock()
	if q.track {
		q.depth.Add(1)
	}
	if wake {
		q.poke()
	}
	return pushed, nil
}

// replaceOldest drops the oldest waiting message, appends it in its place at the end and
// returns the dropped message with pushed; it returns queueFull when no message is waiting to
// drop (the queue holds only control items, or has room again) and queueGone when the queue is
// closed.
func (q *queue[T]) replaceOldest(it *item[T]) (dropped item[T], res pushResult) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return item[T]{}, queueGone
	}
	if q.msgs < q.limit {
		return item[T]{}, queueFull
	}
	for i := q.start; i < len(q.in); i++ {
		if q.in[i].ctl != nil {
			continue
		}
		dropped = q.in[i]
		if i == q.start {
			q.in[i] = item[T]{}
			q.start++
		} else {
			copy(q.in[i:], q.in[i+1:])
			q.in[len(q.in)-1] = item[T]{}
			q.in = q.in[:len(q.in)-1]
		}
		if q.start > 0 && len(q.in) == cap(q.in) { // compact before append would grow
			n := copy(q.in, q.in[q.start:])
			clear(q.in[n:])
			q.in, q.start = q.in[:n], 0
		}
		q.in = append(q.in, *it)
		q.accepted++
		return dropped, pushed
	}
	return item[T]{}, queueFull
}

// control appends an instruction, regardless of the limit, and wakes the worker. A closed
// queue's worker is gone or going: a drain marker is acknowledged at once and a stop is moot.
func (q *queue[T]) control(c *control) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		if c.ack != nil {
			close(c.ack)
		}
		return
	}
	q.in = append(q.in, item[T]{ctl: c})
	wake := q.idle
	q.idle = false
	q.mu.Unlock()
	if wake {
		q.poke()
	}
}

// poke wakes the worker if it is parked or about to park. It never blocks: a token already
// waiting in wake is as good as a new one, since the worker checks the queue after every wake.
func (q *queue[T]) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take waits for items and returns all of them, taking done (the previous batch, already
// handled) back as storage. stop is checked whenever take would park.
func (q *queue[T]) take(done []item[T], stop *atomic.Bool) []item[T] {
	clear(done)
	q.mu.Lock()
	for len(q.in) == q.start {
		if stop.Load() {
			q.mu.Unlock()
			return nil
		}
		if q.track {
			q.depth.Add(int32(-q.held))
		}
		q.idle, q.held = true, 0
		q.mu.Unlock()
		<-q.wake
		q.mu.Lock()
	}
	batch := q.in[q.start:]
	q.in, q.start = done[:0], 0
	if q.track {
		q.depth.Add(int32(-q.held))
	}
	q.held, q.msgs = q.msgs, 0
	if q.notFull != nil {
		close(q.notFull)
		q.notFull = nil
	}
	q.mu.Unlock()
	return batch
}

// acceptedCount returns how many messages were ever appended.
func (q *queue[T]) acceptedCount() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.accepted
}

// len returns the number of messages waiting or being handled.
func (q *queue[T]) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.msgs + q.held
}

// close makes the queue refuse messages from now on and wakes publishers waiting for room. What
// is already waiting stays for the worker to take (and discard).
func (q *queue[T]) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	if q.notFull != nil {
		close(q.notFull)
		q.notFull = nil
	}
}

// drain closes the queue, removes everything waiting and returns it.
func (q *queue[T]) drain() []item[T] {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	out := append([]item[T](nil), q.in[q.start:]...)
	clear(q.in)
	q.in, q.start, q.msgs, q.held = q.in[:0], 0, 0, 0
	if q.notFull != nil {
		close(q.notFull)
		q.notFull = nil
	}
	return out
}
