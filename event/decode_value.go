package event

import (
	"fmt"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// value reads the value at b[i] into *dst, building it: the whole value of
// a slot.
func (d *Decoder) value(b []byte, i, depth int, dst *Value) (int, error) {
	if i >= len(b) {
		return i, errAt(b, i, "expected a value")
	}
	switch c := b[i]; c {
	case '"':
		end, esc, err := scanString(b, i)
		if err != nil {
			return end, err
		}
		*dst = StringValue(d.str(b[i+1:end-1], esc))
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
		end, isInt, err := scanNumber(b, i)
		if err != nil {
			return end, err
		}
		f, ok := parseNumber(b[i:end], isInt)
		if !ok {
			return i, syntaxError(i, fmt.Sprintf("number %s is out of the range of float64", b[i:end]))
		}
		*dst = NumberValue(f)
		return end, nil
	}
}

// parseNumber converts a number that scanNumber accepted. Up to 15 digits
// without an exponent it divides two exactly represented floats, which is
// correctly rounded (Clinger's fast path); otherwise strconv does the work.
func parseNumber(raw []byte, isInt bool) (float64, bool) {
	s := raw
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	if maxDigits := 15; len(s) <= maxDigits || !isInt && len(s) <= maxDigits+1 {
		var m int64
		frac := -1 // digits after the '.', -1 before it
		for _, c := range s {
			switch {
			case c == '.':
				frac = 0
				continue
			case c < '0' || c > '9': // an exponent
				return parseFloat(raw)
			}
			m = m*10 + int64(c-'0')
			if frac >= 0 {
				frac++
			}
		}
		f := float64(m)
		if frac > 0 {
			f /= pow10[frac]
		}
		if neg {
			f = -f
		}
		return f, true
	}
	return parseFloat(raw)
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16}

func parseFloat(raw []byte) (float64, bool) {
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(raw), len(raw)), 64)
	return f, err == nil
}

// str returns the content of a scanned string as a string of its own.
func (d *Decoder) str(raw []byte, esc bool) string {
	if !esc && utf8.Valid(raw) {
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
		end, esc, err := scanString(b, i)
		if err != nil {
			return end, err
		}
		key := d.str(b[i+1:end-1], esc)
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
