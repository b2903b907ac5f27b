package checkpoint

import (
	"math"
	"sync"
)

// timerHint remembers how far the front of the timer index is known to be
// empty. Fired timers are deleted, and in an LSM their tombstones stay until
// compaction meets them; a scan from the start of the index would step over
// every one of them each time the watermark moves. Instead Timers starts at
// low: no live timer is due before it.
//
// Committing a timer lowers low (and bumps gen); a scan that found its
// first live timer at T, or none up to its bound, raises low to there, but
// only if no timer was committed since the scan began (gen unchanged): the
// scan's snapshot may have missed it.
type timerHint struct {
	mu  sync.Mutex
	low int64
	gen uint64
}

func (h *timerHint) init() { h.low = math.MinInt64 }

func (h *timerHint) snapshot() (low int64, gen uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.low, h.gen
}

// lower records a committed timer at time at.
func (h *timerHint) lower(at int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.low = min(h.low, at)
	h.gen++
}

// raise records that a scan begun at gen found no live timer before to.
func (h *timerHint) raise(gen uint64, to int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gen == gen {
		h.low = max(h.low, to)
	}
}

// Timers calls fn for every timer due at or before upTo, in (time, pattern,
// version, key) order, until fn returns false. It reads only the due range,
// from the earliest live timer on. key is valid only during the call.
func (s *Store) Timers(upTo int64, fn func(at int64, pattern string, version uint32, key []byte) bool) error {
	low, gen := s.timers.snapshot()
	if low > upTo {
		return nil
	}
	lower := timerKey(nil, low, "", 0, nil)[:9]
	upper := []byte{prefixTimer + 1}
	if upTo < math.MaxInt64 {
		upper = timerKey(nil, upTo+1, "", 0, nil)[:9]
	}
	var name names
	first, found := int64(0), false
	err := s.scan(lower, upper, "read timers", func(k, _ []byte) (bool, error) {
		at, p, version, key, err := decodeTimerKey(k)
		if err != nil {
			return false, err
		}
		if !found {
			first, found = at, true
		}
		return fn(at, name.of(p), version, key), nil
	})
	switch {
	case err != nil:
	case found:
		s.timers.raise(gen, first)
	case upTo < math.MaxInt64:
		s.timers.raise(gen, upTo+1)
	}
	return err
}
