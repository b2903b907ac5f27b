package sink

import (
	"encoding/json"
	"errors"
	"fmt"
)

// alertFields is what a record takes from an alert's JSON besides the JSON
// itself. The slices point into the scanned payload or into the buffer
// scanAlert appends to.
type alertFields struct {
	id, pattern []byte // unescaped
	version     []byte // the number as written
	key         []byte // nil for a null key; see recordKey
}

// scanAlert reads the top-level members id, pattern, version and key of an
// alert object (alert.Alert.AppendJSON's form), skipping any others, and
// stops as soon as it has all four. AppendJSON writes them first, so a
// stored alert is read only up to the end of its key: a few dozen bytes,
// with no allocation unless a string holds an escape, in which case its
// unescaped form is appended to buf (returned). The rest of the object is
// not validated. alert.Alert.UnmarshalJSON would give the same fields at
// the cost of a full decode (a json.Decoder, every field and event id
// allocated): an order of magnitude more than relaying the record.
func scanAlert(payload, buf []byte) (alertFields, []byte, error) {
	s := scanner{b: payload}
	var f alertFields
	const (
		haveID = 1 << iota
		havePattern
		haveVersion
		haveKey
		haveAll = haveID | havePattern | haveVersion | haveKey
	)
	have := 0
	if err := s.open('{'); err != nil {
		return f, buf, err
	}
	for first := true; have != haveAll; first = false {
		name, err := s.member(first)
		if err != nil {
			return f, buf, err
		}
		switch string(name) { // no allocation: the compiler compares in place
		case "id":
			f.id, buf, err = s.stringValue(buf)
			have |= haveID
		case "pattern":
			f.pattern, buf, err = s.stringValue(buf)
			have |= havePattern
		case "version":
			f.version, err = s.number()
			have |= haveVersion
		case "key":
			f.key, buf, err = s.keyValue(buf)
			have |= haveKey
		default:
			err = s.skipValue()
		}
		if err != nil {
			return f, buf, fmt.Errorf("member %q: %w", name, err)
		}
	}
	if len(f.id) == 0 {
		return f, buf, errors.New(`member "id" is empty`)
	}
	return f, buf, nil
}

var errEnd = errors.New("unexpected end of the object")

// scanner walks JSON text; i is the next byte to read.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i == len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) open(c byte) error {
	switch got := s.peek(); got {
	case c:
		s.i++
		return nil
	case 0:
		return errEnd
	default:
		return fmt.Errorf("expected %q at byte %d, found %q", c, s.i, got)
	}
}

// member reads the name of the next member of an object and its colon;
// first tells whether it is the first (not preceded by a comma).
func (s *scanner) member(first bool) ([]byte, error) {
	if !first {
		switch c := s.peek(); c {
		case ',':
			s.i++
		case '}':
			return nil, errors.New("the object lacks id, pattern, version or key")
		case 0:
			return nil, errEnd
		default:
			return nil, fmt.Errorf("expected ',' at byte %d, found %q", s.i, c)
		}
	}
	if s.peek() != '"' {
		return nil, fmt.Errorf("expected a member name at byte %d", s.i)
	}
	name, _, err := s.str()
	if err != nil {
		return nil, err
	}
	return name, s.open(':')
}

// str reads a string at s.i (which holds '"') and returns its raw content
// and whether it holds an escape.
func (s *scanner) str() (raw []byte, escaped bool, err error) {
	start := s.i + 1
	for i := start; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c == '"':
			s.i = i + 1
			return s.b[start:i], escaped, nil
		case c == '\\':
			escaped = true
			i++
		case c < 0x20:
			return nil, false, fmt.Errorf("control character in a string at byte %d", i)
		}
	}
	return nil, false, errEnd
}

// stringValue reads a string value, unescaped (into buf if it must be).
func (s *scanner) stringValue(buf []byte) ([]byte, []byte, error) {
	if c := s.peek(); c != '"' {
		return nil, buf, fmt.Errorf("expected a string at byte %d, found %q", s.i, c)
	}
	open := s.i
	raw, escaped, err := s.str()
	if err != nil || !escaped {
		return raw, buf, err
	}
	// Escapes are rare in ids, names and keys: encoding/json, the
	// reference for what they mean, decodes them.
	var u string
	if err := json.Unmarshal(s.b[open:s.i], &u); err != nil {
		return nil, buf, fmt.Errorf("string at byte %d: %v", open, err)
	}
	start := len(buf)
	buf = append(buf, u...)
	return buf[start:len(buf):len(buf)], buf, nil
}

// number reads a JSON integer (an alert's version).
func (s *scanner) number() ([]byte, error) {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	if s.i == digits {
		return nil, fmt.Errorf("expected an integer at byte %d", start)
	}
	return s.b[start:s.i], nil
}

// keyValue reads the key: null gives nil; a string, or a list of one
// string, gives the string unescaped; a longer list gives the list's JSON
// text as stored. An empty list is null, as AppendJSON writes it.
func (s *scanner) keyValue(buf []byte) ([]byte, []byte, error) {
	switch c := s.peek(); c {
	case 'n':
		if len(s.b)-s.i < 4 || string(s.b[s.i:s.i+4]) != "null" {
			return nil, buf, fmt.Errorf("expected null at byte %d", s.i)
		}
		s.i += 4
		return nil, buf, nil
	case '"':
		return s.stringValue(buf)
	case '[':
	default:
		return nil, buf, fmt.Errorf("expected null, a string or a list at byte %d, found %q", s.i, c)
	}
	start := s.i
	s.i++
	var first []byte
	n := 0
	for ; ; n++ {
		if n == 0 && s.peek() == ']' {
			s.i++
			return nil, buf, nil
		}
		if c := s.peek(); c != '"' {
			return nil, buf, fmt.Errorf("expected a string in the key list at byte %d, found %q", s.i, c)
		}
		if n == 0 {
			first = s.b[s.i:]
		}
		if _, _, err := s.str(); err != nil {
			return nil, buf, err
		}
		c := s.peek()
		if c == ']' {
			s.i++
			break
		}
		if c != ',' {
			return nil, buf, fmt.Errorf("expected ',' or ']' in the key list at byte %d", s.i)
		}
		s.i++
	}
	if n == 0 { // one part: the string itself
		return (&scanner{b: first}).stringValue(buf)
	}
	return s.b[start:s.i:s.i], buf, nil
}

// skipValue steps over one value without decoding it. Nested objects and
// lists are matched by depth only.
func (s *scanner) skipValue() error {
	switch s.peek() {
	case 0:
		return errEnd
	case '"':
		_, _, err := s.str()
		return err
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, _, err := s.str(); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return nil
				}
			}
			s.i++
		}
		return errEnd
	}
	start := s.i // a number, true, false or null
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return nil
		}
		s.i++
	}
	if s.i == start {
		return errEnd
	}
	return nil
}
