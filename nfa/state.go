package nfa

import (
	"math"
	"unsafe"

	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/internal/prefetch"
)

// State is the mutable matching state of one key of one pattern: its partial
// matches (runs) and the shared buffer of the events they reference. Each
// event is stored once however many runs took it; runs share the prefix of
// their paths (SASE+'s shared versioned buffer, with each branch holding its
// own chain of nodes instead of Dewey-numbered edges).
//
// A State is a plain value with no pointers into the Program, so it can be
// encoded (MarshalBinary) and restored against the same Program.
type State struct {
	events    []storedEvent
	freeEv    []int32
	nodes     []node
	freeNodes []int32
	runs      []run // partial matches, not counting the implicit start run
	completed []run // matches held back by the skip strategy until no earlier partial match remains

	// LastAlert is the end time of the last alert of this key (for suppress);
	// math.MinInt64 when there was none.
	LastAlert int64

	next   int64 // the earliest deadline of runs, kept so that a step need not look at them
	urgent int64 // the earliest deadline whose passing has output (see UrgentDeadline)
	last   int64 // the latest deadline of runs

	// Room for the first event, node and run, where a new state's arrays
	// start: most keys hold one partial match of one event at a time, and
	// then the state is one allocation, read in a few adjacent cache lines
	// rather than four scattered ones. An array that outgrows its room
	// moves to the heap for good. The state must not be copied.
	inEv   [1]storedEvent
	inNode [1]node
	inRun  [1]run
}

type storedEvent struct {
	e    *event.Event
	refs int32
	size int32 // EventMemSize(e), once asked for (EventSizes); 0 before
}

// node is one taken event in the shared buffer: which event, into which
// stage, and the node taken before it.
type node struct {
	ev    int32
	stage int32
	prev  int32
	refs  int32
}

// run is one partial match (FlinkCEP's ComputationState).
type run struct {
	state    int32
	node     int32  // the last taken node
	start    int64  // event time of the first event
	startSeq uint64 // arrival sequence of the first event
	prev     int64  // event time of the last taken event
	deadline int64  // the run times out when event time reaches it
}

// NewState returns the state of a key that has seen nothing yet.
func NewState() *State {
	s := &State{LastAlert: math.MinInt64, next: math.MaxInt64, urgent: math.MaxInt64, last: math.MinInt64}
	s.events, s.nodes, s.runs = s.inEv[:0], s.inNode[:0], s.inRun[:0]
	return s
}

// roomFor returns an array of n elements: the state's own room if they fit.
func roomFor[T any](r *[1]T, n int) []T {
	if n <= len(r) {
		return r[:n]
	}
	return make([]T, n)
}

// Idle reports whether the state holds nothing worth keeping: no partial
// match, no held-back match, no suppression in force. An idle state can be
// dropped and recreated with NewState without changing any result.
func (s *State) Idle() bool {
	return len(s.runs) == 0 && len(s.completed) == 0 && s.LastAlert == math.MinInt64
}

// Prefetch starts bringing the state into the cache (its arrays too, while
// they are in its room), without waiting: see engine's timer queue, which
// knows a second ahead which keys its timers will wake.
func (s *State) Prefetch() {
	prefetch.Lines(unsafe.Pointer(s), int(unsafe.Sizeof(*s)))
}

// PrefetchEvents starts bringing in the first events the state holds, which
// an advance reads or lets go of. It reads the state itself: call it once
// Prefetch has had time to bring that in.
func (s *State) PrefetchEvents() {
	for _, se := range s.events[:min(len(s.events), 2)] {
		se.e.PrefetchHeader() // nil for a freed slot: nothing
	}
}

// PartialMatches returns the number of open partial matches.
func (s *State) PartialMatches() int { return len(s.runs) + len(s.completed) }

// BufferedEvents returns the number of events held in the shared buffer.
func (s *State) BufferedEvents() int { return len(s.events) - len(s.freeEv) }

// NextDeadline returns the earliest time at which a partial match of this
// key times out or a pending absence completes; math.MaxInt64 if none.
func (s *State) NextDeadline() int64 { return s.next }

// LastDeadline returns the latest time at which a partial match of this
// key times out, math.MaxInt64 if one never does, math.MinInt64 if there
// is none: once it has passed, every partial match has.
func (s *State) LastDeadline() int64 { return s.last }

// UrgentDeadline returns the earliest time at which advancing the state can
// produce output: a timed-out partial match of a pattern with on_timeout, a
// pending absence that completes, or a held-back match that an expiring
// partial match releases. Deadlines between NextDeadline and UrgentDeadline
// expire silently: advancing the state late, or only when its key's next
// event arrives (Step advances first), gives the same results, so a caller
// may clean such states lazily.
func (s *State) UrgentDeadline() int64 { return s.urgent }

// updateNext recomputes the cached earliest deadline; without the program
// every deadline counts as urgent (Matcher.updateNext refines it).
func (s *State) updateNext() {
	d, last := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range s.runs {
		d, last = min(d, s.runs[i].deadline), max(last, s.runs[i].deadline)
	}
	s.next, s.urgent, s.last = d, d, last
}

// HeldSince returns the start time of the earliest match held back by the
// skip strategy, and whether there is one.
func (s *State) HeldSince() (int64, bool) {
	if len(s.completed) == 0 {
		return 0, false
	}
	t := s.completed[0].start
	for _, r := range s.completed[1:] {
		t = min(t, r.start)
	}
	return t, true
}

// Reset empties the state for reuse, keeping its allocations. The events
// it held are appended to dropped: the caller lets go of them (see
// Matcher.Dropped).
func (s *State) Reset(dropped *[]*event.Event) {
	s.dropRuns(dropped)
	s.completed = s.completed[:0]
	s.LastAlert = math.MinInt64
}

// dropRuns forgets every partial match and the events they hold (appended
// to dropped); held matches must be gone already.
func (s *State) dropRuns(dropped *[]*event.Event) {
	for i := range s.events {
		if e := s.events[i].e; e != nil {
			*dropped = append(*dropped, e)
		}
	}
	clear(s.events)
	s.events = s.events[:0]
	s.freeEv = s.freeEv[:0]
	s.nodes = s.nodes[:0]
	s.freeNodes = s.freeNodes[:0]
	s.runs = s.runs[:0]
	s.next, s.urgent, s.last = math.MaxInt64, math.MaxInt64, math.MinInt64
}

func (s *State) addEvent(e *event.Event) int32 {
	e.Hold()
	if n := len(s.freeEv); n > 0 {
		i := s.freeEv[n-1]
		s.freeEv = s.freeEv[:n-1]
		s.events[i] = storedEvent{e: e}
		return i
	}
	s.events = append(s.events, storedEvent{e: e})
	return int32(len(s.events) - 1)
}

func (s *State) addNode(ev, stage, prev int32) int32 {
	s.events[ev].refs++
	if prev >= 0 {
		s.nodes[prev].refs++
	}
	n := node{ev: ev, stage: stage, prev: prev}
	if k := len(s.freeNodes); k > 0 {
		i := s.freeNodes[k-1]
		s.freeNodes = s.freeNodes[:k-1]
		s.nodes[i] = n
		return i
	}
	s.nodes = append(s.nodes, n)
	return int32(len(s.nodes) - 1)
}

func (s *State) lockNode(i int32) {
	if i >= 0 {
		s.nodes[i].refs++
	}
}

// releaseNode drops one reference to node i, freeing it and what only it
// referenced when it was the last; the events it frees are appended to
// dropped.
func (s *State) releaseNode(i int32, dropped *[]*event.Event) {
	for i >= 0 {
		n := &s.nodes[i]
		n.refs--
		if n.refs > 0 {
			return
		}
		ev := n.ev
		prev := n.prev
		s.freeNodes = append(s.freeNodes, i)
		e := &s.events[ev]
		e.refs--
		if e.refs == 0 {
			*dropped = append(*dropped, e.e)
			e.e = nil
			s.freeEv = append(s.freeEv, ev)
		}
		i = prev
	}
	if len(s.freeNodes) == len(s.nodes) {
		// Everything is free: shrink so that an idle key holds nothing.
		s.nodes = s.nodes[:0]
		s.freeNodes = s.freeNodes[:0]
		clear(s.events)
		s.events = s.events[:0]
		s.freeEv = s.freeEv[:0]
	}
}

// walk calls fn for each node of the chain ending at i, newest first,
// until fn returns false.
func (s *State) walk(i int32, fn func(n *node, e *event.Event) bool) {
	for i >= 0 {
		n := &s.nodes[i]
		if !fn(n, s.events[n.ev].e) {
			return
		}
		i = n.prev
	}
}
