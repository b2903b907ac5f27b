package engine

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// dueTimers is the engine's window on the store's timer index. With a
// store, the heap holds the timers of cached entries only; the timer of a
// key that is not cached is a stored timer (one per stored state, at
// storedTimer), committed by a Flush. fireTimers merges the two: it reads
// stored timers ahead of the watermark, in batches, into due, and wakes
// each key whose stored timer comes due and that is not cached (one that is
// cached has its own timer in the heap, computed from the same states).
//
// Nothing needs reading back at a start: the timers are read as the
// watermark reaches them.
//
// Every Flush changes the index, so it empties due and the next read starts
// after fired. A stored timer at or before fired is that of a key that was
// woken (and is flushed with its next timers, which are later) or of a key
// that is cached and wakes later (settle): such a key is not evicted until
// its stored timer is after fired again (persistence.overdue).
type dueTimers struct {
	due     []dueTimer // sorted by time, key group and key
	pos     int        // due[:pos] are done
	scanned int64      // every stored timer at or before it is in due
	fired   int64      // fireTimers ran up to it
	batch   int        // stored timers to read at the next read
	stale   []staleTimer
}

// dueTimer is a stored timer: key id of the pattern at position pos of
// group g, due at at.
type dueTimer struct {
	at  int64
	g   *keyGroup
	pos int
	id  string
}

// staleTimer is a stored timer that wakes nothing: of a pattern version the
// engine does not run, or of a key whose stored state has no timer then. The
// next Flush deletes it.
type staleTimer struct {
	at      int64
	pattern string
	version uint32
	key     string
}

// Batches of stored timers read at once: the first after a Flush, doubled
// at each further read before the next Flush (every read starts at the
// front of the index, where the timers fired since the Flush still are),
// up to the largest.
const (
	dueFirstBatch = 256
	dueMaxBatch   = 64 << 10
)

func (d *dueTimers) init() {
	d.scanned, d.fired, d.batch = math.MinInt64, math.MinInt64, dueFirstBatch
}

// reset forgets what was read, after a Flush changed the index.
func (d *dueTimers) reset() {
	clear(d.due)
	d.due, d.pos = d.due[:0], 0
	d.scanned, d.batch = d.fired, dueFirstBatch
}

func (a *dueTimer) before(b *timer) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return keyBefore(a.g, a.id, b.en.g, b.en.id)
}

// nextDue returns the first stored timer not yet handled if it is due at
// or before t, reading the index if need be; nil if none is. While every
// stored state is cached (storeCounts), stored timers wake nothing that the
// cache's own timers do not, and the index is not read.
func (e *Engine) nextDue(t int64) *dueTimer {
	if !e.anyUncached() {
		return nil
	}
	d := &e.persist.due
	if d.pos == len(d.due) {
		if d.scanned >= t {
			return nil
		}
		e.readTimers()
		if d.pos == len(d.due) {
			return nil
		}
	}
	if dt := &d.due[d.pos]; dt.at <= t {
		return dt
	}
	return nil
}

// readTimers reads the next batch of stored timers after d.scanned: at
// least d.batch of them, and all of those due at the last time it reads.
func (e *Engine) readTimers() {
	p := e.persist
	d := &p.due
	clear(d.due)
	d.due, d.pos = d.due[:0], 0
	from, n, last, more := d.scanned, 0, int64(math.MinInt64), false
	err := p.store.Timers(math.MaxInt64, func(at int64, pattern string, version uint32, key []byte) bool {
		if at <= from {
			return true
		}
		if n >= d.batch && at > last {
			more = true
			return false
		}
		n, last = n+1, at
		if rt := e.patternOf(pattern, version); rt != nil {
			d.due = append(d.due, dueTimer{at: at, g: rt.g, pos: rt.pos, id: string(key)})
		} else {
			d.stale = append(d.stale, staleTimer{at, pattern, version, string(key)})
		}
		return true
	})
	if err != nil {
		p.err = fmt.Errorf("%w: reading timers: %v", ErrStore, err)
		return
	}
	d.scanned = math.MaxInt64
	if more {
		d.scanned = last
	}
	d.batch = min(2*d.batch, dueMaxBatch)
	slices.SortFunc(d.due, func(a, b dueTimer) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.g.idx, b.g.idx), strings.Compare(a.id, b.id), cmp.Compare(a.pos, b.pos))
	})
}

// wakeStored handles a stored timer that came due: the key is read back
// into the cache with its timer (at the earliest of its stored timers, so
// at this one), for fireTimers to fire in turn. A key that is cached has
// its timer already (a key released since the last Flush is still cached:
// the Flush deletes its stored states).
// A stored timer that the key's stored state does not account for is
// deleted.
func (e *Engine) wakeStored(dt *dueTimer) {
	p := e.persist
	id := []byte(dt.id)
	en := dt.g.keys.get(e.hashKey(id), id)
	if en == nil {
		en = e.load(dt.g, id)
		if p.err != nil {
			return
		}
	}
	if en == nil || en.stored[dt.pos].at != dt.at {
		rt := dt.g.pats[dt.pos]
		p.due.stale = append(p.due.stale, staleTimer{dt.at, rt.prog.Name, uint32(rt.prog.Version), dt.id})
	}
}

// patternOf returns the pattern version the engine runs by that name and
// version, or nil.
func (e *Engine) patternOf(name string, version uint32) *patternRT {
	for _, rt := range e.patterns {
		if rt.prog.Name == name && uint32(rt.prog.Version) == version {
			return rt
		}
	}
	return nil
}
