// Package arena copies short strings into shared chunks of memory, so that
// a string costs no allocation of its own: the decoder's field values and
// the ids of the engine's keys, made once per event or key.
//
// A string stays valid for as long as anything refers to it, and a chunk
// is freed once none of its strings is referred to: one long-lived string
// keeps its whole chunk, which is why chunks are small.
package arena

import "unsafe"

// String returns b as a string of its own, copied into *chunk when it is
// no longer than max; a full chunk is replaced by a new one of size bytes.
func String(chunk *[]byte, b []byte, size, max int) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > max {
		return string(b)
	}
	if cap(*chunk)-len(*chunk) < len(b) {
		*chunk = make([]byte, 0, size)
	}
	n := len(*chunk)
	*chunk = append(*chunk, b...)
	return unsafe.String(&(*chunk)[n], len(b))
}
