package engine

import "hash/maphash"

// storedFilter remembers which keys may have a state in the store, so that
// a key seen for the first time costs no store read: a Bloom filter over
// (key group, key), 16 MiB, answering "maybe" for every key it was told of
// and, with about 0.2% false positives at ten million keys, "no" for
// almost every other. It is blocked: the bits of a key are all in one 64-byte
// block, one cache line, so that adding or looking up a key costs one
// cache miss rather than one per bit (a Flush adds every key it stores
// for the first time). Keys are never removed: a key whose state was
// deleted costs one read that finds nothing, as without the filter.
//
// It is exact only if it saw every stored key: with a store that held
// states before the engine started, every lookup reads the store.
type storedFilter struct {
	seed     maphash.Seed
	bits     []uint64
	complete bool
}

const (
	filterWords  = 2 << 20 // 16 MiB of bits
	blockWords   = 8       // 512 bits, a cache line
	filterHashes = 7       // bits per key, 9 bits of hash each
)

func newStoredFilter(complete bool) *storedFilter {
	f := &storedFilter{seed: maphash.MakeSeed(), complete: complete}
	if complete {
		f.bits = make([]uint64, filterWords)
	}
	return f
}

// block returns the block of a key and the hash that places its bits in it.
func (f *storedFilter) block(g *keyGroup, id string) ([]uint64, uint64) {
	var h maphash.Hash
	h.SetSeed(f.seed)
	h.WriteByte(byte(g.idx))
	h.WriteString(id)
	a := h.Sum64()
	i := (a % uint64(len(f.bits)/blockWords)) * blockWords
	return f.bits[i : i+blockWords : i+blockWords], mix64(a)
}

// mix64 is SplitMix64's finalizer: bits for the positions in the block
// that the block's number does not predict.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (f *storedFilter) add(g *keyGroup, id string) {
	if !f.complete {
		return
	}
	blk, b := f.block(g, id)
	for range filterHashes {
		bit := b & 511
		blk[bit/64] |= 1 << (bit % 64)
		b >>= 9
	}
}

func (f *storedFilter) mayContain(g *keyGroup, id string) bool {
	if !f.complete {
		return true
	}
	blk, b := f.block(g, id)
	for range filterHashes {
		bit := b & 511
		if blk[bit/64]&(1<<(bit%64)) == 0 {
			return false
		}
		b >>= 9
	}
	return true
}

// storeCounts counts the stored states per pattern, and per key group those
// of keys that are not cached, so that the engine knows when the cache
// holds every stored state: then a key that is not cached has none (no
// filter lookup, no store read) and no stored timer can wake a key that is
// not cached (the timer index is not read). The cache starts empty, so at
// first every stored state, as the store's totals count them
// (StateTotals.States), is one of a key not cached; loads take them off,
// evictions put them back. A pattern whose count the totals lack makes its
// group, and the timer index, read as before.
type storeCounts struct {
	ready      bool
	states     []int64 // per pattern (patternRT.idx): stored states
	known      []bool  // per pattern: states is exact
	uncached   []int64 // per key group: stored states of keys not cached
	unknown    []bool  // per key group: a pattern's count is not known
	total      int64   // the sum of uncached
	anyUnknown bool
}

// initCounts sets the counts from the store's totals (Config.Totals), the
// first time they are needed.
func (e *Engine) initCounts() {
	c := &e.persist.counts
	if c.ready {
		return
	}
	c.ready = true
	c.states, c.known = make([]int64, len(e.patterns)), make([]bool, len(e.patterns))
	c.uncached, c.unknown = make([]int64, len(e.groups)), make([]bool, len(e.groups))
	for i, rt := range e.patterns {
		c.known[i] = e.cfg.StoreEmpty
		for _, t := range e.cfg.Totals {
			if !e.cfg.StoreEmpty && t.StatesCounted && t.Name == rt.prog.Name && t.Version == rt.prog.Version {
				c.states[i], c.known[i] = t.States, true
			}
		}
		if !c.known[i] {
			c.unknown[rt.g.idx], c.anyUnknown = true, true
			continue
		}
		c.uncached[rt.g.idx] += c.states[i]
		c.total += c.states[i]
	}
}

// uncachedIn says whether a key of g that is not cached may have a stored
// state.
func (e *Engine) uncachedIn(g *keyGroup) bool {
	e.initCounts()
	c := &e.persist.counts
	return c.unknown[g.idx] || c.uncached[g.idx] != 0
}

// anyUncached says whether any key that is not cached may have a stored
// state, and so a stored timer to wake it.
func (e *Engine) anyUncached() bool {
	e.initCounts()
	c := &e.persist.counts
	return c.anyUnknown || c.total != 0
}

// cacheIn counts the stored states of an entry read back into the cache.
func (c *storeCounts) cacheIn(en *entry) { c.move(en, -1) }

// cacheOut counts the stored states of an entry evicted from the cache.
func (c *storeCounts) cacheOut(en *entry) { c.move(en, 1) }

func (c *storeCounts) move(en *entry, d int64) {
	for _, s := range en.stored {
		if s.at != noStored {
			c.uncached[en.g.idx] += d
			c.total += d
		}
	}
}
