package statebench

import (
	"math/bits"
	"strconv"
)

// Pattern is the benchmarks' pattern: a user's `a` opens a partial match
// that a `b` of the same user completes within the hour. The alert carries
// the `a`'s note, so the note is kept in the state: its length sets the
// size of a key's state.
const Pattern = `pattern open_match {
    key    user
    within 1h
    begin       a: a
    followed_by b: b
    emit low { note: a.note }
}`

// EventsPerMs is how many events share one millisecond of event time: ten
// million events span 8m20s, well within Pattern's hour, so no partial
// match times out while a benchmark runs.
const EventsPerMs = 20

// Start is the event time of event 0, in epoch milliseconds
// (2026-01-01T00:00:00Z).
const Start = 1767225600000

// Events makes the events of the benchmarks as JSON lines: event number n
// (its place in the stream, which sets its time and id) of type a or b for
// user u<key>, the a's with a note of NoteBytes characters.
type Events struct {
	NoteBytes int
	Seed      uint64
}

// A appends event n: an `a` of user key, which opens a partial match.
func (e Events) A(b []byte, n uint64, key uint64) []byte {
	b = e.begin(b, "a", n, key)
	if e.NoteBytes > 0 {
		b = append(b, `,"note":"`...)
		b = appendNote(b, e.NoteBytes, e.Seed^n)
		b = append(b, '"')
	}
	return append(b, '}')
}

// B appends event n: a `b` of user key, which completes its partial match
// if it has one.
func (e Events) B(b []byte, n uint64, key uint64) []byte {
	return append(e.begin(b, "b", n, key), '}')
}

func (e Events) begin(b []byte, typ string, n, key uint64) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","time":`...)
	b = strconv.AppendUint(b, Start+n/EventsPerMs, 10)
	b = append(b, `,"id":"e`...)
	b = strconv.AppendUint(b, n, 10)
	b = append(b, `","user":"u`...)
	b = strconv.AppendUint(b, key, 10)
	return append(b, '"')
}

// noteChars are the characters of notes: 64 of them, so that a note holds
// six random bits a byte and compresses little.
const noteChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func appendNote(b []byte, n int, seed uint64) []byte {
	seed = splitmix(seed) // notes of consecutive events share no run of draws
	for n > 0 {
		seed++
		r := splitmix(seed)
		for i := 0; i < 10 && n > 0; i++ {
			b = append(b, noteChars[r&63])
			r >>= 6
			n--
		}
	}
	return b
}

// Mix returns the user of event n of a stream over keys users in random
// order: a permutation of the users drawn afresh for each pass over them,
// so that a pass hits every key once, with no locality for the cache (nor
// for Pebble's blocks: users are spread over the key space).
func Mix(seed, n, keys uint64) uint64 {
	pass, i := n/keys, n%keys
	// i*step+off mod keys is a permutation when step is prime to keys.
	h := splitmix(seed ^ splitmix(pass))
	step := h%keys | 1
	for gcd(step, keys) != 1 {
		step += 2
	}
	off := splitmix(h) % keys
	return (mulmod(i, step, keys) + off) % keys
}

// splitmix is SplitMix64's finaliser: a good 64-bit mix.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// mulmod is a*b mod m without overflow.
func mulmod(a, b, m uint64) uint64 {
	hi, lo := bits.Mul64(a%m, b%m)
	_, r := bits.Div64(hi, lo, m)
	return r
}
