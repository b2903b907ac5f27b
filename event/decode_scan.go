package event

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// The scanner below validates JSON as encoding/json does (RFC 8259; invalid
// UTF-8 inside strings is accepted and read as U+FFFD) without building
// anything. Every function takes the line and an index and returns the index
// just past what it read.

// maxDepth bounds the nesting of objects and lists.
const maxDepth = 1000

// strPlain marks the bytes a string can hold without a closer look: not '"',
// not '\\', not a control character.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// skipWS returns the index of the first byte at or after i that is not JSON
// whitespace. The common case, no whitespace at all, is inlined.
func skipWS(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i
	}
	return skipWSSlow(b, i)
}

func skipWSSlow(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// strFlags says what a scanned string holds besides plain ASCII: when it is
// zero, the content of the string is its own value.
type strFlags uint8

const (
	strEscaped  strFlags = 1 << iota // a backslash escape
	strNonASCII                      // a byte >= 0x80, which may be invalid UTF-8
)

// scanString reads the string starting at the quote b[i]. Its content is
// b[i+1 : end-1]; flags say whether that holds escapes or non-ASCII bytes.
func scanString(b []byte, i int) (end int, flags strFlags, err error) {
	if end := quickString(b, i); end >= 0 {
		return end, 0, nil
	}
	return scanStringSlow(b, i+1)
}

// quickString returns the index past the string starting at the quote b[i]
// (which the caller has checked)
// when its content is plain ASCII (no escape, no control character), reading
// 8 bytes at a time; else, or when the string ends too near the end of b for
// that, -1.
func quickString(b []byte, i int) int {
	if i < 0 {
		return -1
	}
	for j := i + 1; j+8 <= len(b); j += 8 {
		if m := stopOrHigh(load64(b, j)); m != 0 {
			if j += bits.TrailingZeros64(m) >> 3; b[j] == '"' {
				return j + 1
			}
			return -1
		}
	}
	return -1
}

// load64 returns the 8 bytes of b from i as a little-endian word. The caller
// ensures 0 <= i and i+8 <= len(b).
func load64(b []byte, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))[:])
}

// wordAt returns the 8 bytes of b from i as a little-endian word, with zeros
// for those past the end of b: near the end it reads the last 8 bytes of b
// and shifts them. The caller ensures len(b) >= 8 and 0 <= i < len(b).
func wordAt(b []byte, i int) uint64 {
	if i+8 <= len(b) {
		return load64(b, i)
	}
	return load64(b, len(b)-8) >> (8 * (i + 8 - len(b)) & 63)
}

// scanStringSlow goes on reading a string at b[i], the start of its
// content or a byte after plain ASCII in it.
func scanStringSlow(b []byte, i int) (end int, flags strFlags, err error) {
	for {
		var high bool
		if i, high = skipPlain(b, i); high {
			flags |= strNonASCII
		}
		if i >= len(b) {
			return i, flags, errAt(b, i, "unterminated string")
		}
		switch c := b[i]; c {
		case '"':
			return i + 1, flags, nil
		case '\\':
			flags |= strEscaped
			if i+1 >= len(b) {
				return i + 1, flags, errAt(b, i+1, "unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(b, i+2); !ok {
					return i, flags, syntaxError(i, "invalid \\u escape in string: want four hex digits")
				}
				i += 6
			default:
				return i, flags, syntaxError(i, fmt.Sprintf("invalid escape %q in string", string(b[i:i+2])))
			}
		default:
			return i, flags, syntaxError(i, fmt.Sprintf("control character U+%04X in string must be escaped", c))
		}
	}
}

// skipPlain returns the index of the first byte at or after i that is not in
// strPlain, or len(b); high reports a byte >= 0x80 before it. It reads 8 bytes
// at a time while they are in b.
func skipPlain(b []byte, i int) (int, bool) {
	var high uint64
	for ; i >= 0 && i+8 <= len(b); i += 8 {
		w := load64(b, i)
		if m := stopBytes(w) & msbs; m != 0 {
			n := bits.TrailingZeros64(m) &^ 7 // 8 × the index of the byte
			high |= w & msbs & (1<<n - 1)
			return i + n>>3, high != 0
		}
		high |= w & msbs
	}
	for ; i < len(b) && strPlain[b[i]]; i++ {
		high |= uint64(b[i]) & 0x80
	}
	return i, high != 0
}

// Byte-wise constants for reading 8 bytes of a string at a time.
const (
	lsbs = 0x0101010101010101 // the low bit of each byte
	msbs = 0x8080808080808080 // the high bit of each byte
)

// stopBytes returns a word with the high bit set in each byte of the
// little-endian word w that is '"', '\\' or a control character, and other bits
// to be masked off with msbs. Bytes above the lowest such byte may be marked
// spuriously (by a borrow), so only the lowest marked byte is meaningful.
// Bytes >= 0x80 are never marked.
func stopBytes(w uint64) uint64 {
	q := w ^ (lsbs * '"')
	s := w ^ (lsbs * '\\')
	return (q-lsbs)&^q | (s-lsbs)&^s | (w-lsbs*0x20)&^w
}

// stopOrHigh is like stopBytes but also marks the bytes >= 0x80, and has
// only the high bits set. It is (stopBytes(w) | w) & msbs, simplified: '"',
// '\\' and 0x20 have no high bit, so each &^ in stopBytes clears only the
// high bits of bytes >= 0x80, which |w sets again.
func stopOrHigh(w uint64) uint64 {
	q := w ^ (lsbs * '"')
	s := w ^ (lsbs * '\\')
	return ((q - lsbs) | (s - lsbs) | (w - lsbs*0x20) | w) & msbs
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendUnescaped appends the content of a string that scanString accepted,
// unescaped, turning invalid UTF-8 and unpaired surrogates into U+FFFD
// exactly as encoding/json does.
func appendUnescaped(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c == '\\' {
			switch s[i+1] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r, _ := hex4(s, i+2)
				i += 6
				if utf16.IsSurrogate(r) {
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						r2, _ := hex4(s, i+2)
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							dst = utf8.AppendRune(dst, dec)
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, s[i+1])
			}
			i += 2
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// scanNumber reads a JSON number starting at b[i]. isInt reports that it has
// neither a fraction nor an exponent.
func scanNumber(b []byte, i int) (end int, isInt bool, err error) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i++
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return i, false, errAt(b, i, fmt.Sprintf("invalid number %q: want a digit", string(b[start:min(i+1, len(b))])))
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		isInt = false
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false, errAt(b, i, "invalid number: want a digit after '.'")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false, errAt(b, i, "invalid number: want a digit in the exponent")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	return i, isInt, nil
}

// scanLiteral reads true, false or null at b[i].
func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit), nil
	}
	for j := 0; j < len(lit); j++ {
		if i+j >= len(b) || b[i+j] != lit[j] {
			return i + j, errAt(b, i+j, fmt.Sprintf("invalid literal: want %q", lit))
		}
	}
	panic("unreachable")
}

// skipValue validates the value at b[i] and returns the index past it.
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, errAt(b, i, "expected a value")
	}
	switch c := b[i]; c {
	case '"':
		end, _, err := scanString(b, i)
		return end, err
	case '{':
		return skipObject(b, i, depth+1)
	case '[':
		return skipList(b, i, depth+1)
	case 't':
		return scanLiteral(b, i, "true")
	case 'f':
		return scanLiteral(b, i, "false")
	case 'n':
		return scanLiteral(b, i, "null")
	default:
		if c == '-' || '0' <= c && c <= '9' {
			end, _, err := scanNumber(b, i)
			return end, err
		}
		return i, badValueStart(b, i)
	}
}

func badValueStart(b []byte, i int) error {
	if b[i] < 0x20 || b[i] >= utf8.RuneSelf {
		return syntaxError(i, fmt.Sprintf("invalid byte 0x%02x looking for the start of a value", b[i]))
	}
	return syntaxError(i, fmt.Sprintf("invalid character %q looking for the start of a value", b[i]))
}

func tooDeep(i int) error {
	return syntaxError(i, fmt.Sprintf("nested deeper than %d levels", maxDepth))
}

func skipObject(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return i, tooDeep(i)
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, errAt(b, i, "expected string for object key")
		}
		end, _, err := scanString(b, i)
		if err != nil {
			return end, err
		}
		if i = skipWS(b, end); i >= len(b) || b[i] != ':' {
			return i, errAt(b, i, "expected ':' after object key")
		}
		if i, err = skipValue(b, skipWS(b, i+1), depth); err != nil {
			return i, err
		}
		var done bool
		if i, done, err = objectNext(b, i); err != nil || done {
			return i, err
		}
	}
}

// objectNext reads the ',' or '}' after an object field. It returns the index
// past the '}' with done, or of the next key after a ','.
func objectNext(b []byte, i int) (next int, done bool, err error) {
	i = skipWS(b, i)
	if i < len(b) {
		switch b[i] {
		case ',':
			return skipWS(b, i+1), false, nil
		case '}':
			return i + 1, true, nil
		}
	}
	return i, false, errAt(b, i, "expected ',' or '}' after object field")
}

func skipList(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return i, tooDeep(i)
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = skipValue(b, i, depth); err != nil {
			return i, err
		}
		var done bool
		if i, done, err = listNext(b, i); err != nil || done {
			return i, err
		}
	}
}

// listNext reads the ',' or ']' after a list element, like objectNext.
func listNext(b []byte, i int) (next int, done bool, err error) {
	i = skipWS(b, i)
	if i < len(b) {
		switch b[i] {
		case ',':
			return skipWS(b, i+1), false, nil
		case ']':
			return i + 1, true, nil
		}
	}
	return i, false, errAt(b, i, "expected ',' or ']' after list element")
}
