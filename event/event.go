package event

import (
	"sync/atomic"
	"unsafe"

	"github.com/motifcep/motif/internal/prefetch"
)

// Event is one decoded input event. Fields holds the values of the attribute
// paths the loaded patterns read, indexed by the slots of a Schema; the JSON
// itself is not kept.
type Event struct {
	Type   string
	Time   int64  // event time, Unix nanoseconds
	ID     string // as echoed in alerts: the input's id, or the source position
	Seq    uint64 // arrival order within its stream; breaks ties of equal Time
	Fields []Value

	refs int32 // holders (see Hold)
}

// NewEvent returns an empty event with room for the fields of n slots in
// the same allocation, right after it: reading a field of an event then
// takes no cache miss of its own, and PrefetchInline brings in the event
// and its fields without reading it first.
func NewEvent(n int) *Event {
	switch {
	case n <= 0:
		return &Event{}
	case n <= 4:
		return withFields(n, func(a *[4]Value) []Value { return a[:] })
	case n <= 8:
		return withFields(n, func(a *[8]Value) []Value { return a[:] })
	case n <= 12:
		return withFields(n, func(a *[12]Value) []Value { return a[:] })
	case n <= 16:
		return withFields(n, func(a *[16]Value) []Value { return a[:] })
	case n <= 24:
		return withFields(n, func(a *[24]Value) []Value { return a[:] })
	}
	return &Event{Fields: make([]Value, n)}
}

// withFields allocates an event followed by the array A, the first n
// values of which are its fields.
func withFields[A any](n int, all func(*A) []Value) *Event {
	b := new(struct {
		ev Event
		f  A
	})
	b.ev.Fields = all(&b.f)[:n]
	return &b.ev
}

// NewEvent returns an empty event with room for the schema's slots as it
// is now (see event.NewEvent).
func (s *Schema) NewEvent() *Event { return NewEvent(s.Len()) }

// Hold records one more holder of the event: a partial match that keeps
// it, or a stage that has yet to finish with it. Drop lets go of one and
// reports whether it was the last, after which whoever owns the event's
// memory may decode another event into it. Both are safe for concurrent
// use, so that the shards of one stream can share an event.
func (e *Event) Hold() { atomic.AddInt32(&e.refs, 1) }

// Drop lets go of one hold (see Hold) and reports whether none is left.
func (e *Event) Drop() bool {
	n := atomic.AddInt32(&e.refs, -1)
	if n < 0 {
		panic("event: Drop without Hold")
	}
	return n == 0
}

// Held reports whether anyone holds the event.
func (e *Event) Held() bool { return atomic.LoadInt32(&e.refs) > 0 }

// Field returns the value in slot i, or null when the event has no such slot.
func (e *Event) Field(i int) Value {
	if i < 0 || i >= len(e.Fields) {
		return Value{}
	}
	return e.Fields[i]
}

// Schema assigns a slot to every attribute path that some pattern reads, so
// that matching reads fields by index rather than by name. Paths are dotted
// ("geo.country"). A Schema only grows; slots never move.
type Schema struct {
	paths []string
	index map[string]int
}

// NewSchema returns an empty schema.
func NewSchema() *Schema { return &Schema{index: map[string]int{}} }

// Slot returns the slot of path, adding it if it is new.
func (s *Schema) Slot(path string) int {
	if i, ok := s.index[path]; ok {
		return i
	}
	i := len(s.paths)
	s.paths = append(s.paths, path)
	s.index[path] = i
	return i
}

// Lookup returns the slot of path, if it has one.
func (s *Schema) Lookup(path string) (int, bool) {
	i, ok := s.index[path]
	return i, ok
}

// Paths returns the paths by slot. The caller must not modify it.
func (s *Schema) Paths() []string { return s.paths }

// Len returns the number of slots.
func (s *Schema) Len() int { return len(s.paths) }

// PrefetchStrings starts bringing in the bytes of the event's strings,
// which the decoder copies next to each other, its id last. It reads the
// event: call it once PrefetchInline has had time to bring that in.
func (e *Event) PrefetchStrings() {
	if e == nil || len(e.ID) == 0 {
		return
	}
	prefetch.Span(unsafe.Pointer(unsafe.StringData(e.ID)), 64, len(e.ID))
}

// PrefetchInline starts bringing in the event and the n slots after it,
// where NewEvent(n) puts its fields, without reading it: safe on any
// event, and nil (a prefetch never faults).
func (e *Event) PrefetchInline(n int) {
	if e != nil {
		prefetch.Lines(unsafe.Pointer(e), int(unsafe.Sizeof(*e))+n*int(unsafe.Sizeof(Value{})))
	}
}

// PrefetchHeader starts bringing in the event without its fields, and
// without reading it: what letting go of it (Drop) reads.
func (e *Event) PrefetchHeader() { e.PrefetchInline(0) }
