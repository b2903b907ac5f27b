package engine

// timer asks for a key of a pattern to be advanced once the watermark
// reaches at. Timers are never removed: a stale one (the key's deadline
// moved, or its state was recycled, which bumps gen) is skipped when popped.
type timer struct {
	at  int64
	ks  *keyState
	gen uint32
}

// timerHeap is a binary min-heap by time, so that a watermark advance touches
// only the keys whose deadlines passed.
type timerHeap []timer

func (h *timerHeap) push(t timer) {
	*h = append(*h, t)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].at <= s[i].at {
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
		if l < n && s[l].at < s[m].at {
			m = l
		}
		if r < n && s[r].at < s[m].at {
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
