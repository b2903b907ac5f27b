package engine

import (
	"encoding/binary"
	"iter"
	"math/bits"
	"unsafe"

	"github.com/motifcep/motif/internal/prefetch"
)

// keyTable maps the keys of a group to their entries: open addressing with
// linear probing over slots that keep each key's hash beside its entry, so
// that a key is compared only on a full hash match, and neither a deletion
// nor a resize hashes anything. A deletion shifts the probe run back
// instead of leaving a tombstone, so a table whose keys come and go never
// fills with dead slots. The table shrinks when most of its keys have left.
type keyTable struct {
	slots []keySlot // a power of two long, or nil
	n     int
	sweep int // where evict's sampling goes on (see sample)
}

type keySlot struct {
	hash uint64
	en   *entry // nil: empty
}

const (
	minKeySlots = 16
	// A table grows when it would be more than 3/4 full, and shrinks to
	// half when less than 1/8 full: each resize moves as many keys as came
	// or left since the last one, at least.
	keyGrowNum, keyGrowDen = 3, 4
	keyShrinkDen           = 8
)

// len returns the number of keys.
func (t *keyTable) len() int { return t.n }

// get returns the entry of key k, whose hash is h, or nil.
func (t *keyTable) get(h uint64, k []byte) *entry {
	if t.n == 0 {
		return nil
	}
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.en == nil {
			return nil
		}
		if s.hash == h && s.en.hasKey(k) {
			return s.en
		}
	}
}

// homeSlot returns the slot where the probe for a key of hash h starts;
// nil for an empty table.
func (t *keyTable) homeSlot(h uint64) *keySlot {
	if len(t.slots) == 0 {
		return nil
	}
	return &t.slots[h&uint64(len(t.slots)-1)]
}

// prefetch starts bringing in the home slot of a key of hash h.
func (t *keyTable) prefetch(h uint64) {
	if s := t.homeSlot(h); s != nil {
		prefetch.Lines(unsafe.Pointer(s), 1)
	}
}

// home returns the entry in the home slot of a key of hash h if it has
// that hash, else nil: most often the key's entry.
func (t *keyTable) home(h uint64) *entry {
	if s := t.homeSlot(h); s != nil && s.hash == h {
		return s.en
	}
	return nil
}

// put adds en, whose key (en.id, hash en.hash) is not in the table.
func (t *keyTable) put(en *entry) {
	if (t.n+1)*keyGrowDen > len(t.slots)*keyGrowNum {
		t.resize(max(minKeySlots, 2*len(t.slots)))
	}
	t.insert(en.hash, en)
	t.n++
}

func (t *keyTable) insert(h uint64, en *entry) {
	mask := uint64(len(t.slots) - 1)
	i := h & mask
	for t.slots[i].en != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = keySlot{h, en}
}

// del removes en, which is in the table.
func (t *keyTable) del(en *entry) {
	mask := uint64(len(t.slots) - 1)
	i := en.hash & mask
	for t.slots[i].en != en {
		i = (i + 1) & mask
	}
	// Shift back the slots after i whose home is not between i and them,
	// so that every key stays reachable from its home without a gap.
	for j := (i + 1) & mask; t.slots[j].en != nil; j = (j + 1) & mask {
		home := t.slots[j].hash & mask
		if (j-home)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = keySlot{}
	t.n--
	if len(t.slots) > minKeySlots && t.n*keyShrinkDen < len(t.slots) {
		t.resize(len(t.slots) / 2)
	}
}

func (t *keyTable) resize(n int) {
	old := t.slots
	t.slots = make([]keySlot, n)
	for _, s := range old {
		if s.en != nil {
			t.insert(s.hash, s.en)
		}
	}
}

// all yields every key and its entry. The table must not change meanwhile.
func (t *keyTable) all() iter.Seq2[string, *entry] {
	return func(yield func(string, *entry) bool) {
		for _, s := range t.slots {
			if s.en != nil && !yield(s.en.id, s.en) {
				return
			}
		}
	}
}

// sample yields up to n entries, going on from where the last call
// stopped, so that successive calls visit every key in turn.
func (t *keyTable) sample(n int) iter.Seq[*entry] {
	return func(yield func(*entry) bool) {
		if t.n == 0 {
			return
		}
		for k := 0; n > 0 && k < len(t.slots); k++ {
			t.sweep = (t.sweep + 1) & (len(t.slots) - 1)
			if en := t.slots[t.sweep].en; en != nil {
				n--
				if !yield(en) {
					return
				}
			}
		}
	}
}

// hashKey returns the hash of a key of the engine's groups.
func (e *Engine) hashKey(k []byte) uint64 { return hashKey(e.seed, k) }

// hashKey hashes a key with a seed: eight bytes at a time, each word mixed
// in by a full 64x64-bit multiplication (folding the high half into the
// low, as wyhash does), and the length last. Keys are short (a card
// number, a user id), so this costs a few multiplications where a general
// hash pays its set-up; the seed, random per engine, keeps which keys
// collide unpredictable.
func hashKey(seed uint64, k []byte) uint64 {
	const m1, m2 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db
	h, n := seed, len(k)
	for len(k) >= 8 {
		h = mix(h^binary.LittleEndian.Uint64(k), m1)
		k = k[8:]
	}
	var w uint64
	for i, c := range k {
		w |= uint64(c) << (8 * i)
	}
	h = mix(h^w, m1)
	return mix(h^uint64(n), m2)
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
