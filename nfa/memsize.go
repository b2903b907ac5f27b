package nfa

import (
	"iter"
	"math"
	"math/bits"
	"unsafe"

	"github.com/motifcep/motif/event"
)

// MemSize estimates the bytes of Go heap the state holds but for its
// events (see Events and EventMemSize): the state and its arrays. Sizes are
// rounded up as the allocator rounds them (AllocSize).
func (s *State) MemSize() int {
	n := AllocSize(int(unsafe.Sizeof(State{})))
	n += heapSize(s.events, &s.inEv)
	n += AllocSize(cap(s.freeEv) * 4)
	n += heapSize(s.nodes, &s.inNode)
	n += AllocSize(cap(s.freeNodes) * 4)
	n += heapSize(s.runs, &s.inRun)
	n += AllocSize(cap(s.completed) * int(unsafe.Sizeof(run{})))
	return n
}

// heapSize returns what the array of a takes on the heap: nothing while it
// is the state's own room.
func heapSize[T any](a []T, room *[1]T) int {
	if cap(a) == 0 || &a[:1][0] == &room[0] {
		return 0
	}
	var zero T
	return AllocSize(cap(a) * int(unsafe.Sizeof(zero)))
}

// EventSizes yields the events held in the state's shared buffer, each
// once, with their EventMemSize (computed once per event held). The states
// of one key in several patterns may hold the same event.
func (s *State) EventSizes() iter.Seq2[*event.Event, int] {
	return func(yield func(*event.Event, int) bool) {
		for i := range s.events {
			se := &s.events[i]
			if se.e == nil {
				continue
			}
			if se.size == 0 {
				se.size = int32(min(EventMemSize(se.e), math.MaxInt32))
			}
			if !yield(se.e, int(se.size)) {
				return
			}
		}
	}
}

// EventMemSize estimates the bytes of Go heap an event holds: the event,
// its slots and what they reference. The type name is not counted (the
// decoder interns it).
func EventMemSize(e *event.Event) int {
	n := AllocSize(int(unsafe.Sizeof(event.Event{}))) + StringSize(len(e.ID))
	n += AllocSize(cap(e.Fields) * int(unsafe.Sizeof(event.Value{})))
	for _, v := range e.Fields {
		n += valueMemSize(v)
	}
	return n
}

func valueMemSize(v event.Value) int {
	switch v.Kind() {
	case event.String:
		return StringSize(len(v.Str()))
	case event.List:
		l := v.List()
		n := AllocSize(cap(l) * int(unsafe.Sizeof(event.Value{})))
		for _, x := range l {
			n += valueMemSize(x)
		}
		return n
	case event.Object:
		o := v.Obj()
		n := AllocSize(int(unsafe.Sizeof(event.Obj{})))
		n += AllocSize(cap(o.Keys)*int(unsafe.Sizeof(""))) + AllocSize(cap(o.Vals)*int(unsafe.Sizeof(event.Value{})))
		for i, k := range o.Keys {
			n += StringSize(len(k)) + valueMemSize(o.Vals[i])
		}
		return n
	}
	return 0
}

// StringSize returns about what the Go allocator takes for a string of n
// bytes: strings under 16 bytes are packed together into 16-byte blocks.
func StringSize(n int) int {
	if n < 16 {
		return n
	}
	return AllocSize(n)
}

// AllocSize returns about what the Go allocator takes for n bytes: small
// sizes round up to 8 or 16 bytes, larger ones to about an eighth of a
// power of two, as its size classes do.
func AllocSize(n int) int {
	switch {
	case n <= 0:
		return 0
	case n <= 8:
		return 8
	case n <= 128:
		return (n + 15) &^ 15
	}
	step := 1 << (bits.Len(uint(n)) - 4)
	return (n + step - 1) &^ (step - 1)
}
