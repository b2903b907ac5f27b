package event

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
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

func skipWS(b []byte, i int) int {
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

// scanString reads the string starting at the quote b[i]. esc reports whether
// it holds an escape; its content is b[i+1 : end-1].
func scanString(b []byte, i int) (end int, esc bool, err error) {
	i++
	for {
		for i < len(b) && strPlain[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, esc, errAt(b, i, "unterminated string")
		}
		switch c := b[i]; c {
		case '"':
			return i + 1, esc, nil
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return i + 1, esc, errAt(b, i+1, "unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(b, i+2); !ok {
					return i, esc, syntaxError(i, "invalid \\u escape in string: want four hex digits")
				}
				i += 6
			default:
				return i, esc, syntaxError(i, fmt.Sprintf("invalid escape %q in string", string(b[i:i+2])))
			}
		default:
			return i, esc, syntaxError(i, fmt.Sprintf("control character U+%04X in string must be escaped", c))
		}
	}
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
