package alert

import (
	"crypto/sha256"
	"encoding/binary"
)

// crockford is Crockford's base32 alphabet, as ULIDs use it.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idDomain separates alert ids from any other hash of the same inputs, and
// versions the encoding: changing it changes every id.
const idDomain = "motif.alert.id.v1"

// ComputeID returns the deterministic id: the same pattern, version, key, kind and assignment of event ids
// to stages give the same id; any difference another. Format: 26 chars of Crockford base32 like a ULID —
// 48 bits of start time in Unix ms, then 80 bits of SHA-256 over an unambiguous (length-prefixed) encoding of the inputs.
//
// The time part sorts ids by start; a start before 1970 counts as 0 (every
// int64 of Unix ns after it fits in 48 bits of ms). A nil key and an empty
// key give the same id (both are JSON null); a key of one empty part differs.
func ComputeID(pattern string, version int, key []string, kind string, events []StageEvents, start int64) string {
	// The inputs are laid out in one buffer (on the stack for ordinary
	// alerts) and hashed in one call.
	var stack [256]byte
	b := stack[:0]
	putString := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	putString(idDomain)
	putString(pattern)
	b = binary.AppendVarint(b, int64(version))
	b = binary.AppendUvarint(b, uint64(len(key)))
	for _, k := range key {
		putString(k)
	}
	putString(kind)
	b = binary.AppendUvarint(b, uint64(len(events)))
	for _, se := range events {
		putString(se.Stage)
		b = binary.AppendUvarint(b, uint64(len(se.IDs)))
		for _, id := range se.IDs {
			putString(id)
		}
	}
	sum := sha256.Sum256(b)

	ms := uint64(0)
	if start > 0 {
		ms = uint64(start / 1e6)
	}
	return encodeID(ms, sum[:10])
}

// encodeID writes 48 bits of ms and the 80 bits of hash10 as 26 base32
// characters: 10 for the time (the first holds 3 bits), 16 for the hash.
func encodeID(ms uint64, hash10 []byte) string {
	var id [26]byte
	for i := 9; i >= 0; i-- {
		id[i] = crockford[ms&31]
		ms >>= 5
	}
	hi := binary.BigEndian.Uint64(hash10[0:8])          // bits 0-63
	lo := uint64(binary.BigEndian.Uint16(hash10[8:10])) // bits 64-79
	for i := 25; i >= 10; i-- {
		id[i] = crockford[lo&31]
		lo = lo>>5 | (hi&31)<<11
		hi >>= 5
	}
	return string(id[:])
}
