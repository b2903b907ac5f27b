package engine

import (
	"unsafe"

	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/nfa"
)

// What a cached entry costs in memory beyond its states (nfa.State.MemSize),
// so that the cache's bound (Config.CacheBytes) bounds the heap it takes:
// the entry, its key (the table key; a short one is copied into the entry
// too), its per-pattern slices, its slot in its group's key table (16
// bytes, in a table that doubles at 3/4 full and halves below 1/8: about 40
// bytes a key on average, allowing for a table that shrank behind
// departing keys) and in the timer queue (40 bytes, in an array that grows
// by doubling and holds stale timers too: 56 bytes on average).
//
// TestCacheAccounting checks the estimate against the heap.
const (
	mapSlotBytes   = 40
	heapTimerBytes = 56
)

// memSize estimates the bytes the entry takes with its states and their
// events; seen is scratch space, to count once an event that several
// states hold.
func (en *entry) memSize(seen map[*event.Event]struct{}) int {
	n, states := en.fixedSize(), 0
	for _, st := range en.states {
		if st != nil {
			n += st.MemSize()
			states++
		}
	}
	for _, st := range en.states {
		if st == nil {
			continue
		}
		for ev, size := range st.EventSizes() {
			if states > 1 {
				if _, ok := seen[ev]; ok {
					continue
				}
				seen[ev] = struct{}{}
			}
			n += size
		}
	}
	clear(seen)
	return n
}

// fixedSize is what the entry takes but for its states.
func (en *entry) fixedSize() int {
	n := nfa.AllocSize(int(unsafe.Sizeof(entry{}))) + mapSlotBytes + heapTimerBytes
	n += nfa.StringSize(len(en.id))
	if cap(en.states) > len(en.room) {
		n += nfa.AllocSize(cap(en.states) * int(unsafe.Sizeof((*nfa.State)(nil))))
	}
	n += nfa.AllocSize(cap(en.stored) * int(unsafe.Sizeof(stored{})))
	return n
}
