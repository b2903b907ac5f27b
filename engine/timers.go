package engine

import "strings"

// timer asks for an entry to be advanced once the watermark reaches at.
// Timers are never removed: a stale one (the entry's timer moved, or the
// entry was recycled, which bumps gen) is skipped when popped.
type timer struct {
	at  int64
	g   *keyGroup
	en  *entry // nil for a timer read back from the store
	id  string // en.id when pushed: en may be recycled while the timer waits
	gen uint32
}

// before orders timers by time, then key group, then key, so that entries
// due at the same time fire in an order independent of the heap's history.
func (a *timer) before(b *timer) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.g.idx != b.g.idx {
		return a.g.idx < b.g.idx
	}
	return strings.Compare(a.id, b.id) < 0
}

// timerHeap is a binary min-heap, so that a watermark advance touches only
// the entries whose timers are due.
type timerHeap []timer

func (h *timerHeap) push(t timer) {
	*h = append(*h, t)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s[i].before(&s[p]) {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *timerHeap) pop() timer {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = timer{}
	s = s[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && s[l].before(&s[m]) {
			m = l
		}
		if r < n && s[r].before(&s[m]) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
