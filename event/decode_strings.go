package event

import (
	"encoding/binary"
	"math/bits"
	"unique"
	"unsafe"

	"github.com/motifcep/motif/internal/arena"
)

// intern returns the type name b as a string. A name kept in d.types is
// the process's canonical copy (unique.Make), which the matchers' programs
// share: comparing an event's type with theirs then finds the same bytes
// at once.
func (d *Decoder) intern(b []byte) string {
	if d.lastTyp == string(b) {
		return d.lastTyp
	}
	var s string
	if h, ok := d.types[string(b)]; ok {
		s = h.Value()
	} else if len(d.types) < maxInterned && len(b) <= maxInternedLen {
		h := unique.Make(string(b))
		s = h.Value()
		d.types[s] = h
	} else {
		s = string(b)
	}
	d.lastTyp = s
	return s
}

// typeEntry is a type name of up to 16 bytes as two little-endian words,
// zero-padded.
type typeEntry struct {
	w0, w1 uint64
	s      string
}

// internAt is intern(b[i:i+n]) for plain content. A name of up to 16 bytes
// is found by its words in d.recent, without hashing or comparing strings:
// in one of the two entries of a pair, the one used last first.
func (d *Decoder) internAt(b []byte, i, n int) string {
	if uint(n) > 16 || i < 0 || i+16 > len(b) {
		return d.intern(b[i : i+n])
	}
	m := &lowBytes[n]
	w0, w1 := load64(b, i)&m[0], load64(b, i+8)&m[1]
	h := (w0 + w1) * 0x9e3779b97f4a7c15 >> 60 &^ 1
	r := &d.recent
	if e := &r[h]; e.w0 == w0 && e.w1 == w1 && len(e.s) == n {
		return e.s
	}
	if e := &r[h+1]; e.w0 == w0 && e.w1 == w1 && len(e.s) == n {
		r[h], r[h+1] = *e, r[h]
		return r[h].s
	}
	s := d.intern(b[i : i+n])
	r[h], r[h+1] = typeEntry{w0: w0, w1: w1, s: s}, r[h]
	return s
}

// lowBytes[n] masks the n lowest bytes of two little-endian words.
var lowBytes = func() (t [17][2]uint64) {
	for n := range t {
		for k := range n {
			t[n][k/8] |= 0xff << (8 * (k % 8))
		}
	}
	return t
}()

// strArena hands out strings copied into shared chunks (see package
// arena), a word at a time where it can.
type strArena struct{ buf []byte }

const (
	arenaChunk = 512
	arenaMax   = 128
)

// quickCopy is quickString for a string value, which copies its content
// into a as well, a word at a time as it reads it, past the end of a.buf
// until it knows the length. It returns the content and the index past the
// string, or -1 when quickString would or when the chunk has no room for
// whole words: then a is as it was, and copy does the rest as ever.
func (a *strArena) quickCopy(b []byte, i int) (string, int) {
	spare := a.buf[len(a.buf):cap(a.buf)]
	for j, o := i+1, 0; o+8 <= len(spare); j, o = j+8, o+8 {
		var w uint64
		switch {
		case j+8 <= len(b):
			w = load64(b, j)
		case j < len(b) && len(b) >= 8:
			// The last bytes of the line, then zeros, which stop the
			// string: they are control characters.
			w = wordAt(b, j)
		default:
			return "", -1
		}
		binary.LittleEndian.PutUint64(spare[o:], w)
		if m := stopOrHigh(w); m != 0 {
			k := bits.TrailingZeros64(m) >> 3
			if j+k >= len(b) || b[j+k] != '"' {
				return "", -1
			}
			switch n := o + k; {
			case n == 0:
				return "", j + k + 1
			case n > arenaMax:
				return string(b[i+1 : j+k]), j + k + 1
			default:
				a.buf = a.buf[:len(a.buf)+n]
				return unsafe.String(&spare[0], n), j + k + 1
			}
		}
	}
	return "", -1
}

// copyAt is copy(b[i:i+n]). A string of up to 16 bytes is moved as two
// words when b and the chunk have them.
func (a *strArena) copyAt(b []byte, i, n int) string {
	spare := a.buf[len(a.buf):cap(a.buf)]
	if n == 0 || n > 16 || i < 0 || i+16 > len(b) || len(spare) < 16 {
		return a.copy(b[i : i+n])
	}
	binary.LittleEndian.PutUint64(spare, load64(b, i))
	binary.LittleEndian.PutUint64(spare[8:], load64(b, i+8))
	a.buf = a.buf[:len(a.buf)+n]
	return unsafe.String(&spare[0], n)
}

func (a *strArena) copy(b []byte) string { return arena.String(&a.buf, b, arenaChunk, arenaMax) }
