package engine

import "strings"

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

// timerQueue is a binary min-heap of the cached entries' timers, live and
// stale, so that a watermark advance touches only the entries whose timers
// are due.
type timerQueue struct {
	h    []timer
	live int // timers that are not stale: entries with en.timer set
}

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
	q.h = append(q.h, timer{at: at, en: en, id: en.id, seq: en.tseq, gidx: int32(en.g.idx)})
	q.up(len(q.h) - 1)
	q.bound()
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
	if len(q.h)-q.live > q.live/2+1024 {
		q.compact()
	}
}

// stale reports whether t no longer is its entry's timer.
func (t *timer) stale() bool { return t.en.tseq != t.seq || t.en.timer != t.at }

// first returns the earliest live timer, dropping stale ones above it; nil
// if there is none.
func (q *timerQueue) first() *timer {
	for len(q.h) > 0 {
		if t := &q.h[0]; !t.stale() {
			return t
		}
		q.pop()
	}
	return nil
}

// pop drops the timer at the top of the heap.
func (q *timerQueue) pop() {
	n := len(q.h) - 1
	q.h[0] = q.h[n]
	q.h[n] = timer{}
	q.h = q.h[:n]
	if n > 0 {
		q.down(0)
	}
}

// compact drops the stale timers and rebuilds the heap.
func (q *timerQueue) compact() {
	h := q.h[:0]
	for _, t := range q.h {
		if !t.stale() {
			h = append(h, t)
		}
	}
	clear(q.h[len(h):])
	q.h = h
	for i := len(h)/2 - 1; i >= 0; i-- {
		q.down(i)
	}
}

func (q *timerQueue) up(i int) {
	h := q.h
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].before(&h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *timerQueue) down(i int) {
	h := q.h
	n := len(h)
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h[l].before(&h[m]) {
			m = l
		}
		if r < n && h[r].before(&h[m]) {
			m = r
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
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
		tm := e.timers.first()
		if p != nil {
			if d := e.nextDue(t); d != nil && (tm == nil || d.before(tm)) {
				p.due.pos++
				e.wakeStored(d)
				continue
			}
		}
		if tm == nil || tm.at > t {
			break
		}
		en := tm.en
		to := t
		if en.urgent <= t {
			to = tm.at
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
		if st == nil || st.Idle() {
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
