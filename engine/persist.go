package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/nfa"
)

// StateStore is where key states live beyond the engine's memory. With a
// store (Config.Store) the engine's key entries are a cache: a key that is
// not cached is read from the store when an event or a timer needs it, and
// clean entries are evicted when the cache exceeds Config.CacheBytes.
//
// States are keyed by (pattern, version, key), the key in the engine's
// binary form (each part's kind, length and text). Timers, the index of
// stored timers (StateWriter.PutTimer), wakes the keys that are not cached:
// it calls fn for every timer due at or before upTo, in (time, pattern,
// version, key) order, until fn returns false; key is valid only during
// the call. Both read what the last committed Flush left.
type StateStore interface {
	GetState(pattern string, version uint32, key []byte) ([]byte, bool, error)
	Timers(upTo int64, fn func(at int64, pattern string, version uint32, key []byte) bool) error
}

// StateWriter receives the changes of a Flush; a checkpoint.Batch is one.
// The changes of one Flush are meant to be committed atomically, together
// with the alerts and input offsets they correspond to.
type StateWriter interface {
	PutState(pattern string, version uint32, key, state []byte)
	DeleteState(pattern string, version uint32, key []byte)
	PutTimer(at int64, pattern string, version uint32, key []byte)
	DeleteTimer(at int64, pattern string, version uint32, key []byte)
}

// DefaultCacheBytes bounds the key states kept in memory when a store is set.
const DefaultCacheBytes = 256 << 20

// persistence is the engine's bookkeeping for a store.
type persistence struct {
	store  StateStore
	limit  int64
	cached int64 // approximate bytes of the cached entries
	tick   uint64
	dirty  []dirtyRef
	tombs  []tomb
	filter *storedFilter
	due    dueTimers
	seen   map[*event.Event]struct{} // scratch for memSize
	buf    []byte
	key    []byte
	err    error // sticky: a store failure stops the engine

	counts storeCounts

	Loads, Evictions uint64
}

type dirtyRef struct {
	en  *entry
	gen uint32
}

// tomb is what a released entry had stored: its states and timers are
// deleted at the next Flush. The entry stays cached until then (release),
// so the store's out-of-date states are never read back.
type tomb struct {
	g      *keyGroup
	id     string
	stored []stored // per pattern position
}

// stored is what the store holds of one pattern's state of a key: the
// state's timer (noStored if the store holds no state), and its partial
// matches and encoded size, which the store's totals count.
type stored struct {
	at       int64
	partials int32
	bytes    int32
}

// noStored marks a pattern position without a stored state.
const noStored = int64(math.MinInt64)

// ErrStore wraps failures of the state store: the engine stops, and its
// owner restarts from the last commit.
var ErrStore = errors.New("engine: state store")

// persistent entries remember what of them is in the store.
func (en *entry) initStored() {
	if en.stored == nil {
		en.stored = make([]stored, len(en.states))
	}
	for i := range en.stored {
		en.stored[i] = stored{at: noStored}
	}
}

// markDirty schedules a changed entry for the next Flush.
func (e *Engine) markDirty(en *entry) {
	p := e.persist
	if p == nil || en.dirty {
		return
	}
	en.dirty = true
	p.dirty = append(p.dirty, dirtyRef{en, en.gen})
}

// load reads the states of key id of group g from the store; it returns
// nil if the store holds none (or failed: see persistence.err).
func (e *Engine) load(g *keyGroup, id []byte) *entry {
	p := e.persist
	if !e.uncachedIn(g) || !p.filter.mayContain(g, string(id)) {
		return nil
	}
	var en *entry
	for i, rt := range g.pats {
		b, ok, err := p.store.GetState(rt.prog.Name, uint32(rt.prog.Version), id)
		if err != nil {
			p.err = fmt.Errorf("%w: reading %s: %v", ErrStore, rt.prog.Name, err)
			return nil
		}
		if !ok {
			continue
		}
		if en == nil {
			en = g.fresh()
			en.initStored()
		}
		st := en.state(i)
		if err := st.UnmarshalBinary(b); err != nil {
			p.err = fmt.Errorf("%w: state of %s key %q: %v", ErrStore, rt.prog.Name, partsOf(id), err)
			return nil
		}
		en.stored[i] = stored{storedTimer(rt, st), int32(st.PartialMatches()), int32(len(b))}
	}
	if en == nil {
		return nil
	}
	p.counts.cacheIn(en)
	p.Loads++
	en.setKey(string(id), e.hashKey(id))
	g.keys.put(en)
	en.bytes = en.memSize(p.seen)
	p.cached += int64(en.bytes)
	wake, urgent := noDeadline, noDeadline
	for i, s := range en.stored {
		if s.at != noStored {
			wake = min(wake, s.at)
			urgent = min(urgent, en.states[i].UrgentDeadline())
		}
	}
	e.timers.set(en, wake, urgent)
	return en
}

// storedTimer is the time a stored state asks to be woken at: its earliest
// deadline, or the end of its suppression. It depends on the state alone,
// so a state read back computes the same timer and can delete it.
func storedTimer(rt *patternRT, st *nfa.State) int64 {
	at := st.NextDeadline()
	if s := rt.prog.Suppress; s > 0 && st.LastAlert != math.MinInt64 {
		at = min(at, st.LastAlert+s)
	}
	return at
}

// partsOf splits a key in binary form into the texts of its parts.
func partsOf[K string | []byte](id K) []string {
	var parts []string
	for len(id) >= 5 {
		n := int(uint32(id[1]) | uint32(id[2])<<8 | uint32(id[3])<<16 | uint32(id[4])<<24)
		if n > len(id)-5 {
			break
		}
		parts = append(parts, string(id[5:5+n]))
		id = id[5+n:]
	}
	return parts
}

// Flush writes every key state changed since the last Flush to w: changed
// states and their timers, deletions of states that became idle and of
// stored timers that wake nothing. Then, if the cached states exceed the
// cache bound, it evicts the least recently used entries (they are clean
// now). It returns the number of states written. The owner must commit w
// before it uses the engine again: evicted keys are read back, and their
// timers read, from the store.
func (e *Engine) Flush(w StateWriter) (int, error) {
	p := e.persist
	if p == nil {
		return 0, nil
	}
	if p.err != nil {
		return 0, p.err
	}
	e.initCounts()
	n := 0
	for _, t := range p.due.stale {
		// First: a state written below may put the same timer back.
		w.DeleteTimer(t.at, t.pattern, t.version, []byte(t.key))
	}
	clear(p.due.stale)
	p.due.stale = p.due.stale[:0]
	for _, t := range p.tombs {
		for i, old := range t.stored {
			at := old.at
			if at == noStored {
				continue
			}
			rt := t.g.pats[i]
			p.removeStored(rt, old)
			rt.partialsDelta += int64(old.partials)
			p.key = append(p.key[:0], t.id...)
			w.DeleteState(rt.prog.Name, uint32(rt.prog.Version), p.key)
			if at != noDeadline {
				w.DeleteTimer(at, rt.prog.Name, uint32(rt.prog.Version), p.key)
			}
			n++
		}
	}
	clear(p.tombs)
	p.tombs = p.tombs[:0]
	for _, d := range p.dirty {
		en := d.en
		if en.gen != d.gen || !en.reg {
			continue // released since: its tomb did the work
		}
		en.dirty = false
		p.key = append(p.key[:0], en.id...)
		key := p.key
		for i, st := range en.states {
			rt := en.g.pats[i]
			name, version := rt.prog.Name, uint32(rt.prog.Version)
			was := en.stored[i]
			old := was.at
			if st == nil || st.Idle() {
				if old != noStored {
					w.DeleteState(name, version, key)
					if old != noDeadline {
						w.DeleteTimer(old, name, version, key)
					}
					p.removeStored(rt, was)
					rt.partialsDelta += int64(was.partials)
					en.stored[i] = stored{at: noStored}
					n++
				}
				continue
			}
			p.buf = st.AppendBinary(p.buf[:0])
			w.PutState(name, version, key, p.buf)
			if old == noStored {
				p.filter.add(en.g, en.id)
			} else {
				p.removeStored(rt, was)
			}
			at := storedTimer(rt, st)
			if at != old {
				if old != noStored && old != noDeadline {
					w.DeleteTimer(old, name, version, key)
				}
				if at != noDeadline {
					w.PutTimer(at, name, version, key)
				}
			}
			en.stored[i] = stored{at, int32(st.PartialMatches()), int32(len(p.buf))}
			p.addStored(rt, en.stored[i])
			rt.partialsDelta -= int64(en.stored[i].partials - was.partials)
			n++
		}
		size := en.memSize(p.seen)
		p.cached += int64(size - en.bytes)
		en.bytes = size
	}
	clear(p.dirty)
	p.dirty = p.dirty[:0]
	e.evict()
	p.due.reset()
	return n, nil
}

// evict drops least recently used clean entries until the cache holds at
// most three quarters of its bound: the last quarter is room for the keys
// that change until the next Flush, whose batch is memory beside the cache
// (the pipeline flushes before the cache and that batch pass the bound
// together). Candidates are sampled, eight a group, each sample going on
// round the key table from where the last stopped, so the cost does not
// grow with the number of keys.
func (e *Engine) evict() {
	p := e.persist
	for p.cached > p.limit-p.limit/4 {
		var victim *entry
		for _, g := range e.groups {
			for en := range g.keys.sample(8) {
				if !en.dirty && (victim == nil || en.used < victim.used) && !p.overdue(en) {
					victim = en
				}
			}
		}
		if victim == nil {
			return // everything cached is dirty: wait for the next Flush
		}
		p.cached -= int64(victim.bytes)
		p.Evictions++
		p.counts.cacheOut(victim)
		e.recycle(victim)
	}
}

// overdue says whether a stored timer of the entry is at or before the
// time fireTimers ran up to. The cached entry wakes later (at its latest
// silent deadline, see settle), but the store's index is read only after
// that time: evicted now, the entry would never be woken by it.
func (p *persistence) overdue(en *entry) bool {
	for _, s := range en.stored {
		if s.at != noStored && s.at != noDeadline && s.at <= p.due.fired {
			return true
		}
	}
	return false
}

// CacheStats reports the cached entries' approximate bytes, loads from the
// store and evictions.
func (e *Engine) CacheStats() (bytes int64, loads, evictions uint64) {
	if e.persist == nil {
		return 0, 0, 0
	}
	return e.persist.cached, e.persist.Loads, e.persist.Evictions
}

// DirtyBytes estimates what the keys changed since the last Flush take in
// the cache: the cache's bytes in the share of its entries that changed
// (over, when a changed key has left since). A Flush encodes them into one
// batch, which is memory beside the cache until it is committed.
func (e *Engine) DirtyBytes() int64 {
	p := e.persist
	if p == nil {
		return 0
	}
	n := 0
	for _, g := range e.groups {
		n += g.keys.len()
	}
	if n == 0 {
		return 0
	}
	return p.cached * int64(min(len(p.dirty), n)) / int64(n)
}

// AppendPending appends the events waiting in the sorter for the watermark,
// in binary form, so that a commit can carry them (they are past the
// committed input offsets). RestorePending puts them back.
func (e *Engine) AppendPending(b []byte) []byte {
	evs := e.sorter.Buffered()
	b = binary.AppendUvarint(b, uint64(len(evs)))
	for _, ev := range evs {
		b = nfa.AppendEvent(b, ev)
	}
	return b
}

// RestorePending pushes back events saved by AppendPending, and the largest
// event time seen before the commit, so the watermark resumes where it was.
func (e *Engine) RestorePending(b []byte, maxSeen int64) error {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return fmt.Errorf("%w: pending events: bad count", ErrStore)
	}
	b = b[k:]
	e.sorter.Restore(maxSeen)
	for range n {
		ev, rest, err := nfa.ReadEvent(b)
		if err != nil {
			return fmt.Errorf("%w: pending events: %v", ErrStore, err)
		}
		b = rest
		e.sorter.Push(ev)
	}
	return nil
}

// MaxEventTime returns the largest event time pushed so far.
func (e *Engine) MaxEventTime() int64 { return e.sorter.MaxSeen() }

// addStored and removeStored keep the pattern's totals of what the store holds.
func (p *persistence) addStored(rt *patternRT, s stored) {
	rt.storedPartials += int64(s.partials)
	rt.storedBytes += int64(s.bytes)
	p.counts.states[rt.idx]++
}

func (p *persistence) removeStored(rt *patternRT, s stored) {
	rt.storedPartials -= int64(s.partials)
	rt.storedBytes -= int64(s.bytes)
	p.counts.states[rt.idx]--
}

// StateTotals is what the store holds of one pattern version's states: its
// open partial matches over all keys, and their encoded bytes. A Flush
// keeps the totals, so they describe the store as the commit of that Flush
// leaves it; an owner saves them with that commit and gives them back to a
// new engine in Config.Totals.
type StateTotals struct {
	Name           string
	Version        int
	PartialMatches int64
	StateBytes     int64
	// States is the number of keys with a stored state, if StatesCounted:
	// with it, the engine knows when every stored state is cached, and
	// then reads neither states nor timers from the store. Totals without
	// it (saved before it was counted) make the engine read as if any key
	// could be stored.
	States        int64 `json:",omitempty"`
	StatesCounted bool  `json:",omitempty"`
}

// StateTotals returns the totals of every pattern version the engine runs.
func (e *Engine) StateTotals() []StateTotals {
	out := make([]StateTotals, len(e.patterns))
	if e.persist != nil {
		e.initCounts()
	}
	for i, rt := range e.patterns {
		out[i] = StateTotals{Name: rt.prog.Name, Version: rt.prog.Version, PartialMatches: rt.storedPartials, StateBytes: rt.storedBytes}
		if p := e.persist; p != nil && p.counts.known[i] {
			out[i].States, out[i].StatesCounted = p.counts.states[i], true
		}
	}
	return out
}

// CountState returns the partial matches of a stored state and its size, for
// an owner that must rebuild the totals from the store.
func CountState(b []byte) (StateTotals, error) {
	var st nfa.State
	if err := st.UnmarshalBinary(b); err != nil {
		return StateTotals{}, err
	}
	return StateTotals{PartialMatches: int64(st.PartialMatches()), StateBytes: int64(len(b)), States: 1, StatesCounted: true}, nil
}
