package event

import (
	"fmt"
	"math/bits"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// value reads the value at or after whitespace at b[i] into *dst, building
// it: the whole value of a slot.
func (d *Decoder) value(b []byte, i, depth int, dst *Value) (int, error) {
	if i >= len(b) {
		return i, errAt(b, i, "expected a value")
	}
	switch c := b[i]; c {
	case ' ', '\t', '\n', '\r':
		return d.value(b, skipWSSlow(b, i), depth, dst)
	case '"':
		if s, end := d.arena.quickCopy(b, i); end >= 0 {
			*dst = StringValue(s)
			return end, nil
		}
		end, flags, err := scanString(b, i)
		if err != nil {
			return end, err
		}
		*dst = StringValue(d.str(b[i+1:end-1], flags))
		return end, nil
	case '{':
		return d.objectValue(b, i, depth+1, dst)
	case '[':
		return d.listValue(b, i, depth+1, dst)
	case 't':
		*dst = BoolValue(true)
		return scanLiteral(b, i, "true")
	case 'f':
		*dst = BoolValue(false)
		return scanLiteral(b, i, "false")
	case 'n':
		*dst = Value{}
		return scanLiteral(b, i, "null")
	default:
		if c != '-' && (c < '0' || c > '9') {
			return i, badValueStart(b, i)
		}
		end, f, ok := fastNumber(b, i)
		if !ok {
			var err error
			if end, f, err = number(b, i); err != nil {
				return end, err
			}
		}
		*dst = NumberValue(f)
		return end, nil
	}
}

// number reads the JSON number at b[i] and its value, with strconv.
func number(b []byte, i int) (end int, f float64, err error) {
	if end, _, err = scanNumber(b, i); err != nil {
		return end, 0, err
	}
	if f, err := strconv.ParseFloat(unsafe.String(&b[i], end-i), 64); err == nil {
		return end, f, nil
	}
	return i, 0, syntaxError(i, fmt.Sprintf("number %s is out of the range of float64", b[i:end]))
}

// maxExact is the largest integer up to which every integer is a float64.
const maxExact = 1 << 53

// fastNumber reads the number at b[i] when it has no exponent and at most 19
// digits, which form an integer m <= 2^53 with frac of them after the '.':
// then m and 10^frac are exact float64s and their quotient is correctly
// rounded, like strconv's (Clinger's fast path). ok is false for any other
// number, valid or not.
func fastNumber(b []byte, i int) (end int, f float64, ok bool) {
	start := i
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	if i >= len(b) || len(b) < 8 {
		return fastNumberLong(b, start)
	}
	// Most numbers have at most 7 digits and fit in the next 8 bytes with
	// their '.' and the byte that ends them. The XOR turns digits into
	// their values and every other byte into one above 9; stop marks those
	// with their high bit, each byte to itself (no borrow or carry).
	x := wordAt(b, i) ^ lsbs*'0'
	stop := ((x&(lsbs*0x7f) + lsbs*0x76) | x) & msbs
	first := stop & -stop                             // the mark of the byte that ends the digits
	n := bits.TrailingZeros64(stop) >> 3              // how many digits come before it
	if n == 0 || first == 0 || n > 1 && x&0xff == 0 { // no digit, 8 of them, or a leading 0
		return fastNumberLong(b, start)
	}
	frac := 0
	if byte(x>>(8*n)) == '.'^'0' {
		rest := stop ^ first
		n2 := bits.TrailingZeros64(rest) >> 3 // the end of the fraction; 8: not in x
		if n2 == n+1 || n2 == 8 && i+8 < len(b) && b[i+8]-'0' <= 9 {
			return fastNumberLong(b, start) // an empty fraction, or a longer one
		}
		// Move the digits before the '.' up a byte, over it: the n2 lowest
		// bytes are then a leading zero and the digits.
		below, next := first>>7-1, (rest&-rest)>>7-1 // the bytes before the '.', before the end
		x = (x&below)<<8 | x&next&^(below<<8|0xff)
		frac, n = n2-n-1, n2
	} else {
		x &= first>>7 - 1
	}
	i += n
	if i < len(b) && b[i]|0x20 == 'e' {
		return i, 0, false
	}
	f = float64(digitsValue(x, n))
	if frac > 0 {
		f /= pow10[frac&7] // frac < 7
	}
	if neg {
		f = -f
	}
	return i, f, true
}

// digitsValue returns the value of the n (1 to 8) lowest bytes of v, the
// values of decimal digits, the most significant the lowest byte.
func digitsValue(v uint64, n int) uint64 {
	// Shifting the digits to the top of the word puts zeros, leading zeros
	// of the number, below them; then pairs, quads and the octet of digits
	// are combined by multiplying.
	v <<= (64 - 8*n) & 63
	v = v * (1 + 10<<8) >> 8 & 0x00ff00ff00ff00ff
	v = v * (1 + 100<<16) >> 16 & 0x0000ffff0000ffff
	return v * (1 + 10000<<32) >> 32
}

// fastNumberLong is fastNumber for the numbers that do not fit a word.
func fastNumberLong(b []byte, i int) (end int, f float64, ok bool) {
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	if i >= len(b) {
		return i, 0, false
	}
	var m uint64
	nd := 0 // digits read into m
	switch c := b[i]; {
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		m, nd, i = digitsAt(b, i)
	default:
		return i, 0, false
	}
	frac := 0
	if i < len(b) && b[i] == '.' {
		var fm uint64
		start := i + 1
		fm, frac, i = digitsAt(b, start)
		if frac == 0 || nd+frac > 19 {
			return i, 0, false
		}
		m = m*uint64(pow10i[frac]) + fm
	}
	if nd > 19 || m > maxExact || i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		return i, 0, false
	}
	f = float64(int64(m))
	if frac > 0 {
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return i, f, true
}

// digitsAt reads the decimal digits at b[i]. When there are more than 19, v
// is meaningless.
func digitsAt(b []byte, i int) (v uint64, n, end int) {
	start := i
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			break
		}
		v = v*10 + uint64(c)
	}
	return v, i - start, i
}

// pow10 and pow10i hold the powers of ten up to 10^19 as float64s (all
// exact) and as integers.
var (
	pow10  = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}
	pow10i = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}
)

// str returns the content of a scanned string as a string of its own.
func (d *Decoder) str(raw []byte, flags strFlags) string {
	if flags == 0 || flags == strNonASCII && utf8.Valid(raw) {
		return d.arena.copy(raw)
	}
	d.scratch = appendUnescaped(d.scratch[:0], raw)
	return d.arena.copy(d.scratch)
}

// linearKeysMax is the size up to which objectValue finds repeated keys by
// scanning rather than with a map.
const linearKeysMax = 16

func (d *Decoder) objectValue(b []byte, i, depth int, dst *Value) (int, error) {
	if depth > maxDepth {
		return i, tooDeep(i)
	}
	o := &Obj{}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		*dst = ObjectValue(o)
		return i + 1, nil
	}
	var seen map[string]int
	for {
		if i >= len(b) || b[i] != '"' {
			return i, errAt(b, i, "expected string for object key")
		}
		end, flags, err := scanString(b, i)
		if err != nil {
			return end, err
		}
		key := d.str(b[i+1:end-1], flags)
		if i = skipWS(b, end); i >= len(b) || b[i] != ':' {
			return i, errAt(b, i, "expected ':' after object key")
		}
		var v Value
		if i, err = d.value(b, skipWS(b, i+1), depth, &v); err != nil {
			return i, err
		}
		// A repeated key keeps its first position and its last value.
		at := -1
		if seen == nil && len(o.Keys) > linearKeysMax {
			seen = make(map[string]int, 2*len(o.Keys))
			for j, k := range o.Keys {
				seen[k] = j
			}
		}
		if seen != nil {
			if j, ok := seen[key]; ok {
				at = j
			} else {
				seen[key] = len(o.Keys)
			}
		} else {
			for j, k := range o.Keys {
				if k == key {
					at = j
					break
				}
			}
		}
		if at >= 0 {
			o.Vals[at] = v
		} else {
			o.Keys = append(o.Keys, key)
			o.Vals = append(o.Vals, v)
		}
		var done bool
		if i, done, err = objectNext(b, i); err != nil || done {
			*dst = ObjectValue(o)
			return i, err
		}
	}
}

func (d *Decoder) listValue(b []byte, i, depth int, dst *Value) (int, error) {
	if depth > maxDepth {
		return i, tooDeep(i)
	}
	l := []Value{}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		*dst = ListValue(l)
		return i + 1, nil
	}
	for {
		l = append(l, Value{})
		next, err := d.value(b, i, depth, &l[len(l)-1])
		if err != nil {
			return next, err
		}
		var done bool
		if i, done, err = listNext(b, next); err != nil || done {
			*dst = ListValue(l)
			return i, err
		}
	}
}
