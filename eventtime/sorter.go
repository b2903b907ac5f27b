package eventtime

import (
	"math"
	"slices"
	"time"

	"github.com/motifcep/motif/event"
)

// Sorter releases events in event-time order per stream. Watermark = max event time seen - outOfOrderness.
//
// Events arriving in order go to a FIFO run and never touch the heap, so
// ordered input costs O(1) per event; only events older than the newest
// buffered one go to a binary heap. Buffers grow to the largest backlog seen
// and are then reused: in steady state nothing is allocated.
type Sorter struct {
	ooo     int64 // out-of-orderness, ns
	maxSeen int64 // math.MinInt64 before any event
	floor   int64 // the watermark set by AdvanceTo
	closed  bool
	arrival uint64 // breaks ties of equal (Time, Seq)

	run  ring   // in (Time, Seq, arrival) order
	heap []item // a min-heap of the rest
}

type item struct {
	t       int64
	seq     uint64
	arrival uint64
	e       *event.Event
}

func (a *item) less(b *item) bool {
	if a.t != b.t {
		return a.t < b.t
	}
	if a.seq != b.seq {
		return a.seq < b.seq
	}
	return a.arrival < b.arrival
}

// NewSorter returns a sorter whose watermark trails the newest event time by
// outOfOrderness (negative counts as 0).
func NewSorter(outOfOrderness time.Duration) *Sorter {
	return &Sorter{ooo: max(int64(outOfOrderness), 0), maxSeen: math.MinInt64, floor: math.MinInt64}
}

// Watermark returns the current watermark: math.MinInt64 before any event,
// math.MaxInt64 after Close.
func (s *Sorter) Watermark() int64 {
	if s.closed {
		return math.MaxInt64
	}
	return max(lag(s.maxSeen, s.ooo), s.floor)
}

// Push adds e. It returns false and keeps nothing when e is late: e.Time < Watermark(). Equal times keep arrival order (e.Seq).
// Events of equal Time and Seq keep the order of their Push calls.
func (s *Sorter) Push(e *event.Event) bool {
	if e.Time < s.Watermark() {
		return false
	}
	s.maxSeen = max(s.maxSeen, e.Time)
	it := item{t: e.Time, seq: e.Seq, arrival: s.arrival, e: e}
	s.arrival++
	if s.run.n == 0 || !it.less(s.run.last()) {
		s.run.push(it)
		return true
	}
	s.heapPush(it)
	return true
}

// Pop returns the next buffered event with Time <= Watermark(), in (Time, Seq) order, or nil.
func (s *Sorter) Pop() *event.Event {
	var next *item
	fromRun := false
	if s.run.n > 0 {
		next, fromRun = s.run.first(), true
	}
	if len(s.heap) > 0 && (next == nil || s.heap[0].less(next)) {
		next, fromRun = &s.heap[0], false
	}
	if next == nil || next.t > s.Watermark() {
		return nil
	}
	e := next.e
	if fromRun {
		s.run.pop()
	} else {
		s.heapPop()
	}
	return e
}

// Close moves the watermark to +infinity (math.MaxInt64): every buffered event becomes poppable.
func (s *Sorter) Close() { s.closed = true }

// Len returns the number of buffered events.
func (s *Sorter) Len() int { return s.run.n + len(s.heap) }

// Buffered returns the buffered events in the order Pop would return them
// (a copy of the references; the sorter keeps the events).
func (s *Sorter) Buffered() []*event.Event {
	items := make([]item, 0, s.Len())
	for i := range s.run.n {
		items = append(items, s.run.buf[(s.run.head+i)&(len(s.run.buf)-1)])
	}
	items = append(items, s.heap...)
	slices.SortFunc(items, func(a, b item) int {
		if a.less(&b) {
			return -1
		}
		if b.less(&a) {
			return 1
		}
		return 0
	})
	evs := make([]*event.Event, len(items))
	for i := range items {
		evs[i] = items[i].e
	}
	return evs
}

// MaxSeen returns the largest event time pushed (math.MinInt64 before any).
func (s *Sorter) MaxSeen() int64 { return s.maxSeen }

// Restore sets the largest event time seen, for a sorter resuming a stream
// (before its buffered events are pushed back).
func (s *Sorter) Restore(maxSeen int64) { s.maxSeen = max(s.maxSeen, maxSeen) }

// AdvanceTo raises the watermark to wm from outside (e.g. a partition-wide
// watermark); it never lowers it.
func (s *Sorter) AdvanceTo(wm int64) { s.floor = max(s.floor, wm) }

// lag returns t - d (d >= 0), saturating at math.MinInt64.
func lag(t, d int64) int64 {
	if t < math.MinInt64+d {
		return math.MinInt64
	}
	return t - d
}

func (s *Sorter) heapPush(it item) {
	h := append(s.heap, it)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].less(&h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	s.heap = h
}

func (s *Sorter) heapPop() {
	h := s.heap
	n := len(h) - 1
	h[0] = h[n]
	h[n] = item{} // drop the reference
	h = h[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h[r].less(&h[l]) {
			c = r
		}
		if !h[c].less(&h[i]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	s.heap = h
}

// ring is a FIFO queue of items in a circular buffer whose length, a power of
// two, doubles when full.
type ring struct {
	buf  []item
	head int
	n    int
}

func (r *ring) push(it item) {
	if r.n == len(r.buf) {
		nb := make([]item, max(16, 2*len(r.buf)))
		k := copy(nb, r.buf[r.head:])
		copy(nb[k:], r.buf[:r.head])
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = it
	r.n++
}

func (r *ring) first() *item { return &r.buf[r.head] }
func (r *ring) last() *item  { return &r.buf[(r.head+r.n-1)&(len(r.buf)-1)] }

func (r *ring) pop() {
	r.buf[r.head] = item{}
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
}
