package event

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// node is one step of the schema's paths: "geo.country" is the child
// "country" of the root's child "geo".
type node struct {
	names []string
	kids  []*node
	table []keyEntry // open-addressing hash of names
	// first holds the children whose keys came first in the object, or
	// after an unknown key, the last two times: guesses that save a lookup.
	first guesses

	pat  keyPat  // how this node's key looks in the line
	next guesses // the siblings whose keys followed this one
	kind keyKind

	slot  int   // the slot of this path, or -1
	fixed uint8 // root children only: which fixed fields this key is
	desc  []int // slots of every strict descendant
}

const (
	fixedType uint8 = 1 << iota
	fixedTime
	fixedID
)

// keyKind says how object reads the value of a known key.
type keyKind uint8

const (
	keySlot  keyKind = iota // a slot with no children and no fixed field: value
	keyFixed                // a fixed field and nothing else: fixedField
	keyTime                 // the time field and nothing else: timeField
	keyField                // anything else: field
)

// guesses are the two keys seen last at some place in an object, the most
// recent first: lines of a few kinds that share keys have more than one key
// after "id", say. noGuess stands for none.
type guesses [2]*node

// noGuess is the guess when there is none: its pattern never matches.
var noGuess = &node{pat: keyPat{w0: 1}, slot: -1}

// second returns the second guess when b[i:] starts with its pattern (the
// caller has tried the first), now the first; else nil.
func (g *guesses) second(b []byte, i int) *node {
	if k := g[1]; k.pat.match(b, i) {
		g[0], g[1] = k, g[0]
		return k
	}
	return nil
}

// note records that k came where g are the guesses, after neither matched.
func (g *guesses) note(k *node) {
	if k != g[0] {
		g[0], g[1] = k, g[0]
	}
}

func (n *node) child(name string) *node {
	for i, s := range n.names {
		if s == name {
			return n.kids[i]
		}
	}
	k := &node{slot: -1}
	n.names = append(n.names, name)
	n.kids = append(n.kids, k)
	return k
}

// keyEntry is one cell of a node's hash table of names: the name's first 8
// bytes as a little-endian word, its length, and its index+1 (0: empty).
type keyEntry struct {
	word uint64
	n    int32
	idx  int32
}

// finish builds the lookup tables and descendant lists; it returns the
// slots of n and its descendants.
func (n *node) finish() []int {
	size := 8
	for size < 2*len(n.names) {
		size *= 2
	}
	n.table = make([]keyEntry, size)
	for i, s := range n.names {
		w := nameWord(s)
		h := keyHash(w, len(s))
		for n.table[h&(size-1)].idx != 0 {
			h++
		}
		n.table[h&(size-1)] = keyEntry{word: w, n: int32(len(s)), idx: int32(i + 1)}
	}
	n.first, n.next = guesses{noGuess, noGuess}, guesses{noGuess, noGuess}
	for i, k := range n.kids {
		k.pat = newKeyPat(n.names[i])
		switch {
		case len(k.kids) == 0 && k.fixed == 0:
			k.kind = keySlot
		case len(k.kids) == 0 && k.slot < 0 && k.fixed == fixedTime:
			k.kind = keyTime
		case len(k.kids) == 0 && k.slot < 0:
			k.kind = keyFixed
		default:
			k.kind = keyField
		}
		n.desc = append(n.desc, k.finish()...)
	}
	if n.slot >= 0 {
		return append([]int{n.slot}, n.desc...)
	}
	return n.desc
}

// keyHash hashes a key's first word and length.
func keyHash(w uint64, n int) int {
	return int((w ^ uint64(n)) * 0x9e3779b97f4a7c15 >> 40)
}

// nameWord returns the first 8 bytes of s as a little-endian word, zero-padded.
func nameWord[S string | []byte](s S) uint64 {
	var w uint64
	for i := range min(len(s), 8) {
		w |= uint64(s[i]) << (8 * i)
	}
	return w
}

// keyWord is nameWord of k, reading 8 bytes at once when k has them. It
// reads nothing past len(k): the caller's buffer may go on beyond the line.
func keyWord(k []byte) uint64 {
	if len(k) < 8 {
		return nameWord(k)
	}
	return binary.LittleEndian.Uint64(k)
}

// lookup returns the index of key in n.names, or -1; w is keyWord(key).
func (n *node) lookup(w uint64, key []byte) int {
	mask := len(n.table) - 1
	for h := keyHash(w, len(key)); ; h++ {
		e := &n.table[h&mask]
		if e.idx == 0 {
			return -1
		}
		if e.word == w && int(e.n) == len(key) && (len(key) <= 8 || n.names[e.idx-1][8:] == string(key[8:])) {
			return int(e.idx - 1)
		}
	}
}

// keyColon reads the object key at b[i] and the ':' after it. It returns
// the key's child of n, or nil, and the index past the ':'.
func (d *Decoder) keyColon(b []byte, i int, n *node) (*node, int, error) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, errAt(b, i, "expected string for object key")
	}
	end, k, err := d.key(b, i, n)
	if err != nil {
		return nil, end, err
	}
	if i = skipWS(b, end); i >= len(b) || b[i] != ':' {
		return nil, i, errAt(b, i, "expected ':' after object key")
	}
	if k < 0 {
		return nil, i + 1, nil
	}
	return n.kids[k], i + 1, nil
}

// key reads the object key at b[i]. It returns the index past it and the
// key's index in n.names, or -1.
func (d *Decoder) key(b []byte, i int, n *node) (end, k int, err error) {
	var key []byte
	var w uint64 // the first 8 bytes of key, zero-padded
	end = i + 1
	if end+8 <= len(b) {
		// A key of up to 7 bytes of plain ASCII ends in the first word.
		w = load64(b, end)
		if m := stopOrHigh(w); m != 0 && b[end+bits.TrailingZeros64(m)>>3] == '"' {
			nb := bits.TrailingZeros64(m) &^ 7 // 8 × the length of the key
			w &= 1<<nb - 1
			key = b[end : end+nb>>3]
			end += nb>>3 + 1
		}
	}
	if key == nil {
		var flags strFlags
		if end, flags, err = scanString(b, i); err != nil {
			return end, -1, err
		}
		key = b[i+1 : end-1]
		if flags&strEscaped != 0 {
			d.keyBuf = appendUnescaped(d.keyBuf[:0], key)
			key = d.keyBuf
		}
		w = keyWord(key)
	}
	if e := &n.table[keyHash(w, len(key))&(len(n.table)-1)]; e.word == w && int(e.n) == len(key) && e.idx != 0 && len(key) <= 8 {
		return end, int(e.idx) - 1, nil
	}
	return end, n.lookup(w, key), nil
}

// keyPat is how a key of up to 12 bytes of plain ASCII looks in the line
// after the value before it: `,"name":`, in one or two little-endian words.
type keyPat struct {
	w0, w1 uint64 // the bytes
	m0, m1 uint64 // which of them to compare
	n      int    // how many bytes the pattern spans
}

// maxPatKey is the longest name that has a pattern.
const maxPatKey = 12

// newKeyPat returns the pattern of name; one for a longer or less plain name
// never matches.
func newKeyPat(name string) keyPat {
	if len(name) > maxPatKey {
		return keyPat{w0: 1}
	}
	for i := range len(name) {
		if !strPlain[name[i]] || name[i] >= utf8.RuneSelf {
			return keyPat{w0: 1}
		}
	}
	s := `,"` + name + `":`
	p := keyPat{n: len(s)}
	for k := range len(s) {
		if k < 8 {
			p.w0 |= uint64(s[k]) << (8 * k)
			p.m0 |= 0xff << (8 * k)
		} else {
			p.w1 |= uint64(s[k]) << (8 * (k - 8))
			p.m1 |= 0xff << (8 * (k - 8))
		}
	}
	return p
}

// match reports whether b[i:] starts with p.
func (p *keyPat) match(b []byte, i int) bool {
	if i+8 > len(b) || load64(b, i)&p.m0 != p.w0 {
		return false
	}
	return p.n <= 8 || i+16 <= len(b) && load64(b, i+8)&p.m1 == p.w1
}

// matchFirst reports whether the first key of an object, at b[i] after the
// '{' (so i >= 1), is p's: it compares all of p but its ','.
func (p *keyPat) matchFirst(b []byte, i int) bool {
	i--
	if i+8 > len(b) || (load64(b, i)|0xff)&p.m0 != p.w0|0xff {
		return false
	}
	return p.n <= 8 || i+16 <= len(b) && load64(b, i+8)&p.m1 == p.w1
}
