package engine

import (
	"slices"
	"strings"
	"unsafe"

	"github.com/motifcep/motif/internal/prefetch"
)

// timer asks for an entry to be advanced once the watermark reaches at. An
// entry has at most one live timer, at en.timer; moving or removing it
// leaves the old one in the queue, stale (its seq is no longer the
// entry's), to be dropped when it comes to the top or at a compaction. So
// a key whose deadline moves with every event costs one push, and the
// queue never writes to the entries it holds.
type timer struct {
	at   int64
	en   *entry
	id   string // the entry's key when set: a stale timer keeps its place however the entry is reused
	seq  uint32 // en.tseq when set
	gidx int32  // the entry's key group
}

// before orders timers by time, then key group, then key, so that entries
// due at the same time fire in an order independent of the queue's history.
func (a *timer) before(b *timer) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.gidx != b.gidx {
		return a.gidx < b.gidx
	}
	return a.id < b.id
}

// keyBefore orders keys of the same time: by key group, then key.
func keyBefore(ga *keyGroup, ida string, gb *keyGroup, idb string) bool {
	if ga.idx != gb.idx {
		return ga.idx < gb.idx
	}
	return strings.Compare(ida, idb) < 0
}

// timerQueue holds the cached entries' timers, live and stale, so that a
// watermark advance touches only the entries whose timers are due. Timers
// due before nearEnd are in a binary min-heap; later ones wait unsorted in
// buckets of bucketShift-wide time ranges, which enter the heap one at a
// time once the heap is empty and the watermark reaches them. The heap thus
// stays small (the timers of about a second), and a timer set minutes or
// hours ahead costs an append.
//
// A bucket is found by its number in a wheel of wheelBuckets slots (bucket
// number modulo their count), which covers a little over two hours: the
// windows of most patterns. A bucket whose slot another bucket holds (one a
// multiple of the wheel's span away) goes to a map.
type timerQueue struct {
	near    []timer // heap of the timers due before nearEnd
	nearEnd int64
	wheel   []wheelSlot        // by bucket number (at >> bucketShift) modulo wheelBuckets; nil until needed
	far     map[int64]*[]timer // the buckets whose wheel slot another one holds
	buckets bucketQueue        // the numbers of the buckets
	spare   []*[]timer         // emptied buckets, for reuse
	stored  int                // timers in near and far, live and stale
	live    int                // timers that are not stale: entries with en.timer set
	// The room to give a new bucket: as many timers as the last bucket
	// that entered the heap had.
	hint int
}

// wheelSlot holds the bucket numbered b, if ts is not nil.
type wheelSlot struct {
	b  int64
	ts *[]timer
}

// wheelBuckets is the number of slots of timerQueue.wheel, a power of two:
// 2^13 buckets of 2^30 ns, 2.4 hours.
const wheelBuckets = 1 << 13

const (
	// bucketShift sets the width of a bucket: 2^30 ns, about a second.
	bucketShift = 30
	// maxSpareBuckets bounds the emptied buckets kept for reuse, and
	// maxSpareCap the timers a kept one has room for.
	maxSpareBuckets = 256
	maxSpareCap     = 4096
	// minTimerCap is the room a compaction leaves a bucket or the heap
	// however few timers it keeps.
	minTimerCap = 64
)

// len returns the number of live timers.
func (q *timerQueue) len() int { return q.live }

// set moves en's timer to at (noDeadline removes it); urgent is the
// earliest urgent deadline of its states.
func (q *timerQueue) set(en *entry, at, urgent int64) {
	switch {
	case at == noDeadline:
		q.remove(en)
		return
	case at == en.timer:
		en.urgent = urgent
		return
	case en.timer == noDeadline:
		q.live++
	}
	en.timer, en.urgent = at, urgent
	en.tseq++
	q.push(timer{at: at, en: en, id: en.id, seq: en.tseq, gidx: int32(en.g.idx)})
	q.bound()
}

func (q *timerQueue) push(t timer) {
	q.stored++
	if t.at < q.nearEnd {
		q.near = append(q.near, t)
		up(q.near, len(q.near)-1)
		return
	}
	if q.wheel == nil {
		q.wheel = make([]wheelSlot, wheelBuckets)
	}
	b := t.at >> bucketShift
	ts := q.bucket(b)
	if ts == nil {
		if n := len(q.spare); n > 0 {
			ts, q.spare = q.spare[n-1], q.spare[:n-1]
		} else {
			s := make([]timer, 0, q.hint)
			ts = &s
		}
		if w := &q.wheel[b&(wheelBuckets-1)]; w.ts == nil {
			w.b, w.ts = b, ts
		} else {
			if q.far == nil {
				q.far = map[int64]*[]timer{}
			}
			q.far[b] = ts
		}
		q.buckets.push(b)
	}
	*ts = append(*ts, t)
}

// inWheel returns the wheel slot that holds bucket b, or nil if b is in
// the map or does not exist.
func (q *timerQueue) inWheel(b int64) *wheelSlot {
	if q.wheel == nil {
		return nil // no timer was ever far
	}
	if w := &q.wheel[b&(wheelBuckets-1)]; w.ts != nil && w.b == b {
		return w
	}
	return nil
}

// bucket returns the timers of bucket b, or nil if it has none.
func (q *timerQueue) bucket(b int64) *[]timer {
	if w := q.inWheel(b); w != nil {
		return w.ts
	}
	if len(q.far) > 0 {
		return q.far[b]
	}
	return nil
}

// take removes bucket b, which exists, and returns its timers.
func (q *timerQueue) take(b int64) *[]timer {
	if w := q.inWheel(b); w != nil {
		ts := w.ts
		w.ts = nil
		return ts
	}
	ts := q.far[b]
	delete(q.far, b)
	return ts
}

// eachBucket calls f with the timers of every bucket.
func (q *timerQueue) eachBucket(f func(ts *[]timer)) {
	q.buckets.each(func(b int64) { f(q.bucket(b)) })
}

// remove takes en's timer, if any, out of the queue (it goes stale).
func (q *timerQueue) remove(en *entry) {
	if en.timer == noDeadline {
		return
	}
	en.timer = noDeadline
	en.tseq++
	q.live--
	q.bound()
}

// bound compacts the queue when stale timers outnumber half the live ones
// (and a constant): a stale timer keeps its entry from being collected, so
// this bounds what dropped entries cost, and a compaction, linear in the
// queue, comes only after as many stale timers as it removes, over two.
func (q *timerQueue) bound() {
	if q.stored-q.live > q.live/2+1024 {
		q.compact()
	}
}

// stale reports whether t no longer is its entry's timer.
func (t *timer) stale() bool { return t.en.tseq != t.seq || t.en.timer != t.at }

// first returns the earliest live timer if it is due at or before t, else
// nil, dropping stale timers on the way.
func (q *timerQueue) first(t int64) *timer {
	for {
		if len(q.near) > 0 {
			tm := &q.near[0]
			if !tm.stale() {
				if tm.at > t {
					return nil
				}
				return tm
			}
			q.pop()
			continue
		}
		if q.buckets.len() == 0 || q.buckets.min()<<bucketShift > t {
			return nil
		}
		b := q.buckets.pop()
		ts := q.take(b)
		q.near = append(q.near[:0], *ts...)
		q.hint = min(len(*ts), maxSpareCap)
		if len(q.spare) < maxSpareBuckets && cap(*ts) <= maxSpareCap {
			clear(*ts)
			*ts = (*ts)[:0]
			q.spare = append(q.spare, ts)
		}
		q.nearEnd = (b + 1) << bucketShift
		heapify(q.near)
		q.warm(b)
	}
}

// warm starts bringing in what firing timers will read, without waiting
// for it, just after bucket b entered the heap. The keys of a bucket were
// last touched up to a window ago, so each read would miss the caches, one
// after another as the timers fire. Instead the reads go ahead in stages, a
// bucket (about a second of event time) apart, each reading only what the
// stage before brought in: the entries of the timers two buckets on, the
// states of those one bucket on, and the events held by the states of b.
// A key may change before its timer fires; a prefetch of what it no
// longer holds costs only the prefetch.
func (q *timerQueue) warm(b int64) {
	if ts := q.bucket(b + 2); ts != nil {
		for i := range *ts {
			prefetch.Lines(unsafe.Pointer((*ts)[i].en), int(unsafe.Sizeof(entry{})))
		}
	}
	if ts := q.bucket(b + 1); ts != nil {
		for i := range *ts {
			en := (*ts)[i].en
			if en.reg {
				en.g.keys.prefetch(en.hash) // a release deletes the key
			}
			for j, st := range en.states {
				if st != nil && en.isLive(j) {
					st.Prefetch()
				}
			}
		}
	}
	for i := range q.near {
		en := q.near[i].en
		for j, st := range en.states {
			if st != nil && en.isLive(j) {
				st.PrefetchEvents()
			}
		}
	}
}

// pop drops the timer at the top of the heap.
func (q *timerQueue) pop() {
	n := len(q.near) - 1
	q.near[0] = q.near[n]
	q.near[n] = timer{}
	q.near = q.near[:n]
	q.stored--
	if n > 0 {
		down(q.near, 0)
	}
}

// compact drops the stale timers.
func (q *timerQueue) compact() {
	keep := func(ts []timer) []timer {
		out := ts[:0]
		for _, t := range ts {
			if !t.stale() {
				out = append(out, t)
			}
		}
		clear(ts[len(out):])
		if cap(out) > 2*len(out)+minTimerCap {
			// A bucket once filled by many keys that have left since
			// (evicted, released) gives the memory back.
			out = slices.Clip(append([]timer(nil), out...))
		}
		return out
	}
	q.near = keep(q.near)
	heapify(q.near)
	q.stored = len(q.near)
	q.eachBucket(func(ts *[]timer) {
		*ts = keep(*ts) // an empty bucket stays until its turn
		q.stored += len(*ts)
	})
}

func heapify(h []timer) {
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(h, i)
	}
}

func up(h []timer, i int)   { siftUp(h, i, (*timer).before) }
func down(h []timer, i int) { siftDown(h, i, (*timer).before) }

// siftUp and siftDown restore a binary min-heap ordered by less after h[i]
// changed: the timer heap's and the bucket heap's.
func siftUp[E any](h []E, i int, less func(a, b *E) bool) {
	for i > 0 {
		p := (i - 1) / 2
		if !less(&h[i], &h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func siftDown[E any](h []E, i int, less func(a, b *E) bool) {
	n := len(h)
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && less(&h[l], &h[m]) {
			m = l
		}
		if r < n && less(&h[r], &h[m]) {
			m = r
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// bucketQueue holds the numbers of the buckets, the smallest out first. A
// bucket is made when the first timer due in its second is set, and that
// is nearly always later than every bucket there is (a window after the
// event being matched): such a bucket joins a sorted run at its end and
// leaves from its front, in constant time. Any other goes to a min-heap.
// Typed, so that a push or a pop allocates nothing.
type bucketQueue struct {
	run  []int64 // ascending; run[head:] are queued
	head int
	heap []int64 // the buckets made out of order
}

func bucketLess(a, b *int64) bool { return *a < *b }

// len returns the number of buckets queued.
func (q *bucketQueue) len() int { return len(q.run) - q.head + len(q.heap) }

// each calls f with every bucket queued, in no order.
func (q *bucketQueue) each(f func(b int64)) {
	for _, b := range q.run[q.head:] {
		f(b)
	}
	for _, b := range q.heap {
		f(b)
	}
}

// fromRun reports whether the smallest bucket is the run's first; the
// queue must not be empty.
func (q *bucketQueue) fromRun() bool {
	return q.head < len(q.run) && (len(q.heap) == 0 || q.run[q.head] < q.heap[0])
}

// min returns the smallest bucket; the queue must not be empty.
func (q *bucketQueue) min() int64 {
	if q.fromRun() {
		return q.run[q.head]
	}
	return q.heap[0]
}

// push queues bucket b, which is not queued.
func (q *bucketQueue) push(b int64) {
	if n := len(q.run); n == q.head || q.run[n-1] < b {
		q.run = append(q.run, b)
		return
	}
	q.heap = append(q.heap, b)
	siftUp(q.heap, len(q.heap)-1, bucketLess)
}

// pop takes the smallest bucket out; the queue must not be empty.
func (q *bucketQueue) pop() int64 {
	if q.fromRun() {
		b := q.run[q.head]
		q.head++
		switch {
		case q.head == len(q.run):
			q.run, q.head = q.run[:0], 0
		case q.head >= 1024 && 2*q.head >= len(q.run):
			// Move the queued half down, so that the run stays within twice
			// what it holds.
			q.run, q.head = q.run[:copy(q.run, q.run[q.head:])], 0
		}
		return b
	}
	h := q.heap
	top, n := h[0], len(h)-1
	h[0] = h[n]
	q.heap = h[:n]
	siftDown(q.heap, 0, bucketLess)
	return top
}

// fireTimers advances every entry whose timer is at or before the
// watermark t, in order of time (then key group and key, so that the
// output does not depend on the heap's layout). With a store, the timers
// of keys that are not cached are read from the store's timer index in the
// same order and merged in (see dueTimers): such a key is read back into
// the cache, with its timer, when its turn comes.
//
// An entry with an urgent deadline at or before t advances only to its
// timer's time, so that outputs of different keys come in deadline order;
// it is woken again for the rest. Otherwise nothing it holds has output
// before t, and it advances to t at once.
func (e *Engine) fireTimers(t int64) {
	p := e.persist
	for p == nil || p.err == nil {
		tm := e.timers.first(t)
		if p != nil {
			if d := e.nextDue(t); d != nil && (tm == nil || d.before(tm)) {
				p.due.pos++
				e.wakeStored(d)
				continue
			}
		}
		if tm == nil {
			break
		}
		en := tm.en
		to := t
		if en.urgent <= t {
			to = tm.at
		}
		if e.shard != nil {
			e.shard.tag.set(phaseTimer, tm.at, en)
		}
		e.timers.remove(en)
		e.touch(en)
		e.advance(en, to)
	}
	if p != nil {
		p.due.fired = max(p.due.fired, t)
	}
}

// advance moves every state of an entry to event time t, delivers what
// that produces, and settles the entry.
func (e *Engine) advance(en *entry, t int64) {
	for i, st := range en.states {
		if st == nil || !en.isLive(i) || st.Idle() {
			continue
		}
		rt := en.g.pats[i]
		rt.out.Reset()
		before := st.PartialMatches()
		rt.m.AdvanceTime(st, t, &rt.out)
		rt.partialsDelta += int64(st.PartialMatches() - before)
		rt.deliver(e, en, st)
	}
	e.markDirty(en)
	e.settle(en, t)
}
