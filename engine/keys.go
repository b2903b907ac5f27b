package engine

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/internal/arena"
	"github.com/motifcep/motif/nfa"
)

// keyGroup holds the patterns that share a key (the same key paths in the
// same order) and one entry per key value with state in any of them, so
// that an event costs one key lookup per key, not one per pattern, and a key
// has one timer however many of its patterns wait.
type keyGroup struct {
	idx    int
	slots  []int
	pats   []*patternRT // in pattern order
	keys   keyTable
	free   []*entry
	keyBuf []byte // where keyOf builds keys
	// The key of the event being processed (in keyBuf, or in a shard's
	// batch) and its hash: register files an entry under them.
	curKey  []byte
	curHash uint64
	ids     []byte // the chunk register copies ids into (see package arena)
}

// The chunks of key ids: a long-lived key may keep its chunk alive, so
// they are small.
const (
	idChunk = 256
	idMax   = 64 // longer ids get an allocation of their own
)

// entry is one key value of a group: the states of the group's patterns
// for it (nil for a pattern that never kept anything here).
type entry struct {
	g    *keyGroup
	id   string // the map key, while reg
	hash uint64 // the hash of id (see keyTable), while reg
	// short holds a copy of id when it fits, beside the fields a look-up
	// reads with it: comparing a key then takes no cache miss more than
	// the entry's. The id itself stays a string of its own, which the
	// entry's timers keep however the entry is reused.
	short  [24]byte
	states []*nfa.State // in room when the group has few patterns
	// Room for the states of a group of up to four patterns, beside the
	// fields read with them: reading a key's states then takes no cache
	// miss more than the entry's.
	room [4]*nfa.State
	// Bit i (for i < 64) of live is set while states[i] may hold something
	// (settle clears it once the state is idle), of filled while states[i]
	// may need a reset: so that an event or a timer skips idle states
	// without reading them.
	live, filled uint64
	timer        int64  // when its timer fires; noDeadline if none
	urgent       int64  // the earliest urgent deadline of its states, while it has a timer
	tseq         uint32 // bumped when its timer moves or goes (see timer)
	gen          uint32 // bumped when the entry is recycled, to spot stale dirty refs
	reg          bool   // the entry is in its group's map (a key of no fields is "")

	// With a store (see persist.go):
	dirty  bool     // changed since the last Flush
	used   uint64   // the engine's tick when last touched, for eviction
	bytes  int      // what the cache counts for it: memSize at the last Flush or read-back
	stored []stored // per pattern position: what the store holds
}

// keyOf builds the map key of an event in g.keyBuf: each part's kind, the
// length of its text and the text, so that the number 1 and the string "1"
// are different keys (as in FlinkCEP's keyBy) and no two composite keys
// collide.
func (g *keyGroup) keyOf(ev *event.Event) []byte {
	g.keyBuf = appendKey(g.keyBuf[:0], g.slots, ev)
	return g.keyBuf
}

// appendKey appends the key of ev in the given slots to b (see keyOf).
func appendKey(b []byte, slots []int, ev *event.Event) []byte {
	for _, slot := range slots {
		v := ev.Field(slot)
		b = append(b, byte(v.Kind()))
		n := len(b)
		b = append(b, 0, 0, 0, 0)
		b = v.AppendText(b)
		binary.LittleEndian.PutUint32(b[n:], uint32(len(b)-n-4))
	}
	return b
}

// lookup returns the entry of key k, whose hash is h, or a fresh
// unregistered one if the key holds no state.
func (e *Engine) lookup(g *keyGroup, k []byte, h uint64) *entry {
	if en := g.keys.get(h, k); en != nil {
		return en
	}
	if e.persist != nil {
		if en := e.load(g, k); en != nil {
			return en
		}
		en := g.fresh()
		en.initStored()
		return en
	}
	return g.fresh()
}

// find returns the entry of key k, whose hash is h, if the key holds
// state, else nil.
func (e *Engine) find(g *keyGroup, k []byte, h uint64) *entry {
	if en := g.keys.get(h, k); en != nil {
		return en
	}
	if e.persist != nil {
		return e.load(g, k)
	}
	return nil
}

// fresh returns an empty entry that is not in the map.
func (g *keyGroup) fresh() *entry {
	if n := len(g.free); n > 0 {
		en := g.free[n-1]
		g.free = g.free[:n-1]
		return en // emptied by recycle
	}
	en := &entry{g: g, timer: noDeadline}
	if n := len(g.pats); n <= len(en.room) {
		en.states = en.room[:n]
	} else {
		en.states = make([]*nfa.State, n)
	}
	return en
}

// state returns the entry's state of the pattern at pos, creating it.
func (en *entry) state(pos int) *nfa.State {
	st := en.states[pos]
	if st == nil {
		st = nfa.NewState()
		en.states[pos] = st
	}
	if pos < 64 {
		en.live |= 1 << pos
		en.filled |= 1 << pos
	}
	return st
}

// isLive reports whether the state at pos may hold something: false means
// it is nil or idle.
func (en *entry) isLive(pos int) bool { return pos >= 64 || en.live>>pos&1 != 0 }

// isFilled reports whether the state at pos may need a reset.
func (en *entry) isFilled(pos int) bool { return pos >= 64 || en.filled>>pos&1 != 0 }

// register puts a fresh entry into the map under the key in g.curKey. In
// memory its id is copied into a chunk shared with other keys' (a replay
// over keys that come and go registers a key for most of its events); the
// id outlives the entry in timers and alerts' key parts. With a store,
// whose cache counts what a key costs, each id is a string of its own.
func (e *Engine) register(en *entry) {
	g := en.g
	if p := e.persist; p != nil {
		en.setKey(string(g.curKey), g.curHash)
		en.bytes = en.fixedSize() // the rest is counted at the next Flush
		p.cached += int64(en.bytes)
	} else {
		en.setKey(arena.String(&g.ids, g.curKey, idChunk, idMax), g.curHash)
	}
	g.keys.put(en)
}

// setKey gives a fresh entry its key, id, whose hash is h, before it goes
// into the map.
func (en *entry) setKey(id string, h uint64) {
	en.id, en.hash, en.reg = id, h, true
	copy(en.short[:], id)
}

// hasKey reports whether the entry's key is k.
func (en *entry) hasKey(k []byte) bool {
	if len(k) <= len(en.short) {
		return len(en.id) == len(k) && string(en.short[:len(k)]) == string(k)
	}
	return en.id == string(k)
}

// keyParts returns the key as alerts show it (few keys ever alert): from
// the entry's id, or for an unregistered entry, the entry of the key being
// processed, from g.curKey.
func (en *entry) keyParts() []string {
	if len(en.g.slots) == 0 {
		return nil
	}
	if en.reg {
		return partsOf(en.id) // parts of the id: no copy
	}
	return partsOf(en.g.curKey)
}

// settle forgets an entry whose states are all idle, or sets its timer to
// its next deadline. now is the event time being processed: no later event
// is older.
//
// Deadlines whose passing has no output (see nfa.State.UrgentDeadline) only
// free memory, so in memory the entry wakes once for all of them, at the
// latest, not once per partial match; a step on the key in between cleans
// up on its own. With a store the same holds in the cache; the store's
// timer index has each stored state's earliest deadline (storedTimer), so
// a key that leaves the cache is woken at the earliest of them, which may
// be earlier than the cache would have, never later than an urgent one.
// A cached key whose stored timer has passed unfired is not evicted (see
// evict): the index is read only ahead of what fired.
func (e *Engine) settle(en *entry, now int64) {
	idle := true
	urgent, silent := noDeadline, int64(math.MinInt64)
	for i, st := range en.states {
		if st == nil || !en.isLive(i) {
			continue
		}
		rt := en.g.pats[i]
		if s := rt.prog.Suppress; s > 0 && st.LastAlert != math.MinInt64 {
			if until := st.LastAlert + s; until <= now {
				st.LastAlert = math.MinInt64
			} else {
				silent = max(silent, until)
			}
		}
		if st.Idle() {
			if i < 64 {
				en.live &^= 1 << i
			}
			continue
		}
		idle = false
		urgent = min(urgent, st.UrgentDeadline())
		// Wake once all its partial matches have expired, or once the
		// earliest has if some never do.
		if d := st.LastDeadline(); d != noDeadline && d != math.MinInt64 {
			silent = max(silent, d)
		} else if d := st.NextDeadline(); d != noDeadline {
			silent = max(silent, d)
		}
	}
	if idle {
		e.release(en)
		return
	}
	wake := urgent
	if silent != math.MinInt64 {
		wake = min(wake, silent)
	}
	e.timers.set(en, wake, urgent)
}

// release forgets an entry whose states are all idle. In memory the entry
// leaves the map. With a store its stored states are deleted at the next
// Flush, and the empty entry stays cached like any other: the key's next
// event finds it there instead of asking the store for a state it no
// longer has (the stored-key filter cannot forget a key), and eviction
// drops it once it is the least recently used. An entry with nothing
// stored leaves the map as in memory while every stored state of its group
// is cached: its key's next event reads nothing from the store then.
// Idle states hold no partial match: the open count does not change.
func (e *Engine) release(en *entry) {
	p := e.persist
	hasStored := p != nil && slices.ContainsFunc(en.stored, func(s stored) bool { return s.at != noStored })
	if p == nil || !en.reg || !hasStored && !e.uncachedIn(en.g) {
		if p != nil {
			p.cached -= int64(en.bytes)
		}
		e.recycle(en)
		return
	}
	if hasStored {
		p.tombs = append(p.tombs, tomb{g: en.g, id: en.id, stored: slices.Clone(en.stored)})
		for i := range en.stored {
			en.stored[i] = stored{at: noStored}
		}
	}
	e.timers.remove(en)
	e.reset(en)
}

// reset empties every state of the entry.
func (e *Engine) reset(en *entry) {
	for i, st := range en.states {
		if st != nil && en.isFilled(i) {
			st.Reset(&e.dropped)
		}
	}
	en.live, en.filled = 0, 0
	e.drop(&e.dropped)
}

// recycle empties an entry, takes its timer out of the heap and returns it
// to its group's free list; what it knew of the store is reset when it is
// reused (initStored).
func (e *Engine) recycle(en *entry) {
	e.timers.remove(en)
	g := en.g
	if en.reg {
		g.keys.del(en)
	}
	e.reset(en)
	en.id, en.reg = "", false
	en.gen++
	en.dirty, en.bytes = false, 0
	if e.persist == nil || len(g.free) < maxFree {
		g.free = append(g.free, en)
		return
	}
	// Dropped: a stale timer may still point here for a while (see
	// timerQueue.bound); let the states go now.
	clear(en.states)
	en.stored = nil
}

// maxFree bounds the entries a group keeps for reuse with a store: their
// states keep their allocations, which the cache does not count.
const maxFree = 1024

// touch records a use of the entry for eviction.
func (e *Engine) touch(en *entry) {
	if p := e.persist; p != nil {
		p.tick++
		en.used = p.tick
	}
}

// groupPatterns builds the key groups of the engine's patterns.
func groupPatterns(pats []*patternRT) []*keyGroup {
	var groups []*keyGroup
	for _, rt := range pats {
		i := slices.IndexFunc(groups, func(g *keyGroup) bool { return slices.Equal(g.slots, rt.prog.KeySlots) })
		if i < 0 {
			i = len(groups)
			groups = append(groups, &keyGroup{idx: i, slots: rt.prog.KeySlots})
		}
		g := groups[i]
		rt.g, rt.pos = g, len(g.pats)
		g.pats = append(g.pats, rt)
	}
	return groups
}
