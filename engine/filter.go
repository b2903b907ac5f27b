package engine

import "hash/maphash"

// storedFilter remembers which keys may have a state in the store, so that
// a key seen for the first time costs no store read: a Bloom filter over
// (key group, key), 16 MiB, answering "maybe" for every key it was told of
// and, with about 1% false positives at ten million keys, "no" for most
// others. Keys are never removed: a key whose state was deleted costs one
// read that finds nothing, as without the filter.
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
	filterHashes = 7
)

func newStoredFilter(complete bool) *storedFilter {
	f := &storedFilter{seed: maphash.MakeSeed(), complete: complete}
	if complete {
		f.bits = make([]uint64, filterWords)
	}
	return f
}

func (f *storedFilter) hashes(g *keyGroup, id string) (uint64, uint64) {
	var h maphash.Hash
	h.SetSeed(f.seed)
	h.WriteByte(byte(g.idx))
	h.WriteString(id)
	a := h.Sum64()
	return a, a>>33 | a<<31 | 1
}

func (f *storedFilter) add(g *keyGroup, id string) {
	if !f.complete {
		return
	}
	a, b := f.hashes(g, id)
	n := uint64(len(f.bits) * 64)
	for i := range uint64(filterHashes) {
		bit := (a + i*b) % n
		f.bits[bit/64] |= 1 << (bit % 64)
	}
}

func (f *storedFilter) mayContain(g *keyGroup, id string) bool {
	if !f.complete {
		return true
	}
	a, b := f.hashes(g, id)
	n := uint64(len(f.bits) * 64)
	for i := range uint64(filterHashes) {
		bit := (a + i*b) % n
		if f.bits[bit/64]&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}
