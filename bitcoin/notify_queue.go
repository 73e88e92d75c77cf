package bitcoin

import (
	"sync"
	"sync/atomic"
)

// mailbox is an unbounded FIFO drained into a channel by one pump goroutine, so that the
// notifier's loop never blocks on a slow consumer. Per registration the queue stays small:
// a handful of events per block at most.
type mailbox[T any] struct {
	mu     sync.Mutex
	items  []T
	ending bool // no more pushes; close out after the queue drains
	signal chan struct{}
	stop   chan struct{} // closed by abort: drop the queue, close out now
	once   sync.Once
	out    chan T
	onExit func()
}

// newMailbox starts a mailbox whose pump runs in wg and calls onExit when it ends.
func newMailbox[T any](wg *sync.WaitGroup, onExit func()) *mailbox[T] {
	m := &mailbox[T]{signal: make(chan struct{}, 1), stop: make(chan struct{}), out: make(chan T), onExit: onExit}
	wg.Go(m.pump)
	return m
}

func (m *mailbox[T]) push(v T) {
	m.mu.Lock()
	if !m.ending {
		m.items = append(m.items, v)
	}
	m.mu.Unlock()
	m.poke()
}

// end closes the channel once the queued items are delivered.
func (m *mailbox[T]) end() {
	m.mu.Lock()
	m.ending = true
	m.mu.Unlock()
	m.poke()
}

// abort drops the queue and closes the channel now.
func (m *mailbox[T]) abort() { m.once.Do(func() { close(m.stop) }) }

func (m *mailbox[T]) poke() {
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

func (m *mailbox[T]) pump() {
	defer m.onExit()
	defer close(m.out)
	for {
		m.mu.Lock()
		items, ending := m.items, m.ending
		m.items = nil
		m.mu.Unlock()
		for _, v := range items {
			select {
			case m.out <- v:
			case <-m.stop:
				return
			}
		}
		if ending && len(items) == 0 {
			return
		}
		if len(items) > 0 {
			continue
		}
		select {
		case <-m.signal:
		case <-m.stop:
			return
		}
	}
}

// Registration is a stream of events of one registration or subscription of a [Notifier].
// Events is closed after the last event (a TxFinal or SpendFinal), after Cancel, and when the
// Notifier closes; Err then says why. Registrations come from the Notifier's Register…,
// WatchMempool and SubscribeBlocks methods; a zero Registration is one that has ended:
// Events is closed, Cancel does nothing and Err returns a [*NotConstructedError].
type Registration[E any] struct {
	// ID identifies the registration in the events it produces (RegistrationID fields).
	ID     uint64
	events <-chan E
	cancel func()
	err    atomic.Pointer[error]

	zeroOnce sync.Once
	zero     chan E // the closed channel of a zero Registration
}

// Events returns the registration's channel. It is the same channel on every call.
func (r *Registration[E]) Events() <-chan E {
	if r.events == nil {
		r.zeroOnce.Do(func() {
			r.zero = make(chan E)
			close(r.zero)
		})
		return r.zero
	}
	return r.events
}

// Cancel ends the registration and closes Events; queued events are dropped. It is
// idempotent.
func (r *Registration[E]) Cancel() {
	if r.cancel != nil {
		r.cancel()
	}
}

// Err returns nil while the registration runs and after it completed or was cancelled, and
// the reason it stopped otherwise ([ErrClosed] when the Notifier closed).
func (r *Registration[E]) Err() error {
	if p := r.err.Load(); p != nil {
		return *p
	}
	if r.events == nil {
		return notConstructed("Registration", "Notifier.RegisterConf, RegisterSpend, WatchMempool or SubscribeBlocks")
	}
	return nil
}

func (r *Registration[E]) setErr(err error) {
	r.err.CompareAndSwap(nil, &err)
}
