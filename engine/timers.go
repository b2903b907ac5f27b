package engine

import "strings"

// timer asks for an entry to be advanced once the watermark reaches at. An
// entry has at most one timer, at en.timer, and knows where it is in the
// heap (en.hpos), so that moving or removing it costs O(log n) and the heap
// holds nothing for entries that left the cache.
type timer struct {
	at     int64
	urgent int64 // the entry's earliest urgent deadline (nfa.State.UrgentDeadline)
	en     *entry
}

// before orders timers by time, then key group, then key, so that entries
// due at the same time fire in an order independent of the heap's history.
func (a *timer) before(b *timer) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return keyBefore(a.en.g, a.en.id, b.en.g, b.en.id)
}

// keyBefore orders keys of the same time: by key group, then key.
func keyBefore(ga *keyGroup, ida string, gb *keyGroup, idb string) bool {
	if ga.idx != gb.idx {
		return ga.idx < gb.idx
	}
	return strings.Compare(ida, idb) < 0
}

// timerHeap is a binary min-heap of the cached entries' timers, so that a
// watermark advance touches only the entries whose timers are due.
type timerHeap []timer

// set moves en's timer to at (noDeadline removes it); urgent is the
// earliest urgent deadline of its states.
func (h *timerHeap) set(en *entry, at, urgent int64) {
	switch {
	case at == noDeadline:
		h.remove(en)
	case en.hpos < 0:
		en.timer = at
		en.hpos = int32(len(*h))
		*h = append(*h, timer{at, urgent, en})
		h.up(int(en.hpos))
	case at == en.timer:
		(*h)[en.hpos].urgent = urgent
	default:
		en.timer = at
		i := int(en.hpos)
		(*h)[i].at, (*h)[i].urgent = at, urgent
		if !h.up(i) {
			h.down(i)
		}
	}
}

// remove takes en's timer, if any, out of the heap.
func (h *timerHeap) remove(en *entry) {
	en.timer = noDeadline
	i := int(en.hpos)
	if i < 0 {
		return
	}
	en.hpos = -1
	s := *h
	n := len(s) - 1
	if i != n {
		s[i] = s[n]
		s[i].en.hpos = int32(i)
	}
	s[n] = timer{}
	*h = s[:n]
	if i != n && !h.up(i) {
		h.down(i)
	}
}

// up moves the timer at i towards the root; it reports whether it moved.
func (h timerHeap) up(i int) bool {
	moved := false
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].before(&h[p]) {
			break
		}
		h.swap(i, p)
		i, moved = p, true
	}
	return moved
}

func (h timerHeap) down(i int) {
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
		h.swap(i, m)
		i = m
	}
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].en.hpos = int32(i)
	h[j].en.hpos = int32(j)
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
		if p != nil {
			if d := e.nextDue(t); d != nil && (len(e.timers) == 0 || d.before(&e.timers[0])) {
				p.due.pos++
				e.wakeStored(d)
				continue
			}
		}
		if len(e.timers) == 0 || e.timers[0].at > t {
			break
		}
		tm := e.timers[0]
		en := tm.en
		e.timers.remove(en)
		e.touch(en)
		to := t
		if tm.urgent <= t {
			to = tm.at
		}
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
