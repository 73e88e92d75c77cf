package stream

import (
	"encoding/hex"
	"errors"
	"math"
	"strconv"
	"time"
)

// Record is one event of a stream: a value with its event time and its place in its source.
type Record[T any] struct {
	// Offset is the record's position in its source, set by the source: strictly increasing
	// within a source that can resume (see Source), so that a restarted pipeline can ask for
	// what follows its checkpoint.
	Offset uint64 `json:"offset"`
	// ID is the event's stable identity, if it has one (a transaction ID, a record CID). When
	// it is empty, the source name and Offset identify the event.
	ID string `json:"id,omitempty"`
	// Time is the event time. Windows, joins and patterns go by it, never by arrival.
	Time  time.Time `json:"time"`
	Value T         `json:"value"`
}

// ID identifies an emitted result. It is derived deterministically from the operator's name,
// the result's key and window (or step names) and the identities of its contributing events,
// so a result computed again after a restart carries the same ID and downstream consumers can
// de-duplicate by it. It is a 128-bit hash, not a cryptographic one (see the package
// documentation's section on restarts). The zero ID means "none".
type ID [16]byte

// IsZero reports whether id is the zero ID.
func (id ID) IsZero() bool { return id == ID{} }

// String formats id as 32 lowercase hex digits ("" for the zero ID).
func (id ID) String() string {
	if id.IsZero() {
		return ""
	}
	return hex.EncodeToString(id[:])
}

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

var errBadID = errors.New("stream: malformed result id")

// ParseID parses the form String produces; "" parses to the zero ID.
func ParseID(s string) (ID, error) {
	var id ID
	if s == "" {
		return id, nil
	}
	if len(s) != 2*len(id) {
		return ID{}, errBadID
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return ID{}, errBadID
		}
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return ID{}, errBadID
	}
	return id, nil
}

// Kind says how a result relates to the results emitted before it.
type Kind uint8

const (
	// Insert is a new result.
	Insert Kind = iota
	// Update replaces the result whose ID is in Replaces: a late event (LateUpdate) changed it.
	// Downstream keeps the newest result per key and window.
	Update
	// Retract withdraws the result whose ID is in Replaces: it no longer holds (a late event
	// completed a negation, or merged its session into another). A retraction carries the
	// key and window of what it withdraws; its other fields are empty.
	Retract
)

func (k Kind) String() string {
	switch k {
	case Insert:
		return "insert"
	case Update:
		return "update"
	case Retract:
		return "retract"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Window is the event-time interval [Start, End) a result covers.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

func (w Window) String() string {
	return "[" + w.Start.UTC().Format(time.RFC3339Nano) + ", " + w.End.UTC().Format(time.RFC3339Nano) + ")"
}

func window(start, end int64) Window { return Window{Start: fromNanos(start), End: fromNanos(end)} }

// windowCache remembers the last Window built: the results of one timer mostly share theirs.
type windowCache struct {
	start, end int64
	w          Window
}

func (c *windowCache) get(start, end int64) Window {
	if c.start != start || c.end != end || c.w.End.IsZero() {
		c.start, c.end, c.w = start, end, window(start, end)
	}
	return c.w
}

// Windows says how events are grouped in time: Tumbling, Sliding or Session. Windows are
// aligned to the Unix epoch.
type Windows struct {
	kind        winKind
	size, slide int64
}

type winKind uint8

const (
	winNone winKind = iota
	winTumbling
	winSliding
	winSession
)

// Tumbling groups events into consecutive windows of the given size that do not overlap.
func Tumbling(size time.Duration) Windows {
	return Windows{kind: winTumbling, size: int64(size), slide: int64(size)}
}

// Sliding groups events into windows of the given size starting every slide, so each event is
// in size/slide windows. slide must divide size.
func Sliding(size, slide time.Duration) Windows {
	return Windows{kind: winSliding, size: int64(size), slide: int64(slide)}
}

// Session groups each key's events into sessions: a session ends when the key has had no
// event for gap. Sessions that a new event bridges merge into one.
func Session(gap time.Duration) Windows {
	return Windows{kind: winSession, size: int64(gap)}
}

func (w Windows) String() string {
	switch w.kind {
	case winTumbling:
		return "tumbling(" + time.Duration(w.size).String() + ")"
	case winSliding:
		return "sliding(" + time.Duration(w.size).String() + "," + time.Duration(w.slide).String() + ")"
	case winSession:
		return "session(" + time.Duration(w.size).String() + ")"
	}
	return "windows(none)"
}

func (w Windows) validate() error {
	switch w.kind {
	case winTumbling:
		if w.size <= 0 {
			return &OptionError{Option: "Tumbling", Value: time.Duration(w.size), Reason: "size must be positive"}
		}
	case winSliding:
		switch {
		case w.size <= 0 || w.slide <= 0:
			return &OptionError{Option: "Sliding", Value: time.Duration(w.size), Reason: "size and slide must be positive"}
		case w.slide > w.size || w.size%w.slide != 0:
			return &OptionError{Option: "Sliding", Value: time.Duration(w.slide), Reason: "slide must divide size"}
		}
	case winSession:
		if w.size <= 0 {
			return &OptionError{Option: "Session", Value: time.Duration(w.size), Reason: "gap must be positive"}
		}
	default:
		return &OptionError{Option: "Windows", Value: w, Reason: "use Tumbling, Sliding or Session"}
	}
	return nil
}

// floorDiv rounds a/b toward negative infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// Late is an event that arrived behind the watermark, as handed to WithLateOutput.
type Late struct {
	Source    string    // the source's name
	Offset    uint64    // the record's offset in its source
	ID        string    // the record's ID
	Time      time.Time // its event time
	Value     any       // its value
	Watermark time.Time // the watermark it was behind
}

const (
	minTime = math.MinInt64
	maxTime = math.MaxInt64
)

// nanos is t as Unix nanoseconds, saturated at the ends of int64.
func nanos(t time.Time) int64 {
	s := t.Unix()
	switch {
	case s >= math.MaxInt64/1_000_000_000-1:
		return maxTime - 1
	case s <= math.MinInt64/1_000_000_000+1:
		return minTime + 1
	}
	return s*1e9 + int64(t.Nanosecond())
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
