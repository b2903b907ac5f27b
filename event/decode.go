package event

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unique"
	"unsafe"
)

// DecoderOptions configures a Decoder. The zero value reads the fields
// "type", "time" and "id" and stamps events without a time with time.Now.
// The three names are top-level keys, taken literally (not dotted paths).
type DecoderOptions struct {
	TypeField, TimeField, IDField string // default "type", "time", "id"
	// RequireTime: a missing time is an error (replay); else the event gets Now().
	RequireTime bool
	Now         func() int64 // ingest time in Unix ns when time is absent and not required; nil = time.Now
}

// Decoder turns NDJSON lines into Events. It reads only the fixed fields and
// the paths of its schema; everything else is validated and skipped.
//
// A Decoder is not safe for concurrent use. It allocates nothing per event
// except the values that land in slots: objects, lists, and strings. Strings
// (the id, string slots, keys of objects in slots) are copied into 512-byte
// chunks shared by consecutive events, so a short string costs no allocation
// of its own; a string kept alive keeps its chunk alive. Strings over 128
// bytes get their own allocation. Type names are interned.
type Decoder struct {
	opts   DecoderOptions
	nslots int
	root   node
	fields []Value // the slots of the event being decoded

	// The fixed fields, as spans of the line; the last occurrence wins.
	typeAt, timeAt, idAt span
	// timeNs is the time at timeAt when timeParsed: timeField parses the
	// common shape at once.
	timeNs     int64
	timeParsed bool

	keyBuf  []byte // an unescaped object key
	scratch []byte // an unescaped string value
	arena   strArena
	clock   timeCache
	types   map[string]unique.Handle[string]
	lastTyp string
	recent  [16]typeEntry // a cache of types in front of the map, in pairs
}

// span is where a fixed field's value is in the line; start < 0: absent.
// plain says the value is a string whose content needs no unescaping or UTF-8
// check.
type span struct {
	start, end int
	plain      bool
}

const (
	maxInterned    = 4096 // distinct type names kept
	maxInternedLen = 64   // longer type names are not kept
)

// NewDecoder decodes into the slots of schema. The schema must not grow while the decoder is in use
// (call NewDecoder again after it grows).
func NewDecoder(schema *Schema, opts DecoderOptions) *Decoder {
	if opts.TypeField == "" {
		opts.TypeField = "type"
	}
	if opts.TimeField == "" {
		opts.TimeField = "time"
	}
	if opts.IDField == "" {
		opts.IDField = "id"
	}
	if opts.Now == nil {
		opts.Now = func() int64 { return time.Now().UnixNano() }
	}
	d := &Decoder{opts: opts, root: node{slot: -1}, types: map[string]unique.Handle[string]{}}
	for slot, path := range schema.Paths() {
		n := &d.root
		for part := range strings.SplitSeq(path, ".") {
			n = n.child(part)
		}
		n.slot = slot
	}
	d.root.child(opts.TypeField).fixed |= fixedType
	d.root.child(opts.TimeField).fixed |= fixedTime
	d.root.child(opts.IDField).fixed |= fixedID
	d.root.finish()
	d.nslots = schema.Len()
	return d
}

// Decode parses one JSON object into ev, reusing ev.Fields' capacity. It fills Type, Time, ID
// (ID "" when absent: the caller sets the source position) and every schema slot (null when absent).
// Dotted schema paths ("geo.country") address nested objects; a slot whose path names an object or list
// receives the whole value (Obj / []Value). Fields not in the schema are skipped without allocating.
//
// Nothing in ev refers to line afterwards. On error, ev holds partial results
// and the error is a *DecodeError.
func (d *Decoder) Decode(line []byte, ev *Event) error {
	if cap(ev.Fields) >= d.nslots {
		ev.Fields = ev.Fields[:d.nslots]
		clear(ev.Fields)
	} else {
		ev.Fields = make([]Value, d.nslots)
	}
	d.fields = ev.Fields
	d.typeAt, d.timeAt, d.idAt = span{start: -1}, span{start: -1}, span{start: -1}
	d.timeParsed = false

	i := skipWS(line, 0)
	if i >= len(line) || line[i] != '{' {
		return errAt(line, i, "expected '{': an event is a JSON object")
	}
	i, err := d.object(line, i, &d.root, 1)
	d.fields = nil
	if err != nil {
		return err
	}
	if i = skipWS(line, i); i < len(line) {
		return syntaxError(i, "unexpected data after the event object")
	}
	return d.fixedFields(line, ev)
}

// object reads the object at b[i], filling the slots below n.
//
// Each key is first compared with two guesses, the keys that followed the
// previous one the last times: lines of one source list their keys in the
// same few orders, and a match reads the ',', the key and the ':' with a
// word or two.
func (d *Decoder) object(b []byte, i int, n *node, depth int) (int, error) {
	if depth > maxDepth {
		return i, tooDeep(i)
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	var kid *node // the key's child of n, or nil: an unknown key
	var err error
	// The byte before the first key is '{' or whitespace, not the ',' of
	// the guess's pattern: matchFirst does not compare it.
	if g := n.first[0]; g.pat.matchFirst(b, i) {
		kid, i = g, i-1+g.pat.n
	} else {
		if kid, i, err = d.keyColon(b, i, n); err != nil {
			return i, err
		}
		if kid != nil {
			n.first.note(kid)
		}
	}
	for {
		// i is past the ':'. value skips the whitespace before the value
		// itself; the others are given the value.
		var guess *guesses // of the next key
		if kid == nil {
			i, err = skipValue(b, skipWS(b, i), depth)
			guess = &n.first
		} else {
			switch kid.kind {
			case keySlot:
				i, err = d.value(b, i, depth, &d.fields[kid.slot])
			case keyFixed:
				i, err = d.fixedField(b, skipWS(b, i), kid.fixed, depth)
			case keyTime:
				i, err = d.timeField(b, skipWS(b, i), depth)
			default:
				i, err = d.field(b, skipWS(b, i), kid, depth)
			}
			guess = &kid.next
		}
		if err != nil {
			return i, err
		}
		if g := guess[0]; g.pat.match(b, i) {
			kid, i = g, i+g.pat.n
			continue
		}
		if i < len(b) && b[i] == '}' { // the end, more often than the second guess
			return i + 1, nil
		}
		if g := guess.second(b, i); g != nil {
			kid, i = g, i+g.pat.n
			continue
		}
		var done bool
		if i, done, err = objectNext(b, i); err != nil || done {
			return i, err
		}
		if kid, i, err = d.keyColon(b, i, n); err != nil {
			return i, err
		}
		if kid != nil {
			guess.note(kid)
		}
	}
}

// field reads the value at b[i] of a key the schema knows as k.
func (d *Decoder) field(b []byte, i int, k *node, depth int) (int, error) {
	start := i
	var err error
	switch {
	case k.slot >= 0:
		dst := &d.fields[k.slot]
		if i, err = d.value(b, i, depth, dst); err != nil {
			return i, err
		}
		if len(k.kids) > 0 {
			d.fill(k, *dst)
		}
	case len(k.kids) > 0:
		// A repeated key replaces the whole earlier value.
		for _, s := range k.desc {
			d.fields[s] = Value{}
		}
		if i < len(b) && b[i] == '{' {
			i, err = d.object(b, i, k, depth+1)
		} else {
			i, err = skipValue(b, i, depth)
		}
	default:
		i, err = skipValue(b, i, depth)
	}
	if err != nil {
		return i, err
	}
	if k.fixed != 0 {
		d.setFixed(k.fixed, span{start: start, end: i})
	}
	return i, nil
}

// fixedField reads the value at b[i] of a fixed field that is nothing else,
// noting whether a string needs no unescaping.
func (d *Decoder) fixedField(b []byte, i int, fixed uint8, depth int) (int, error) {
	start := i
	plain := false
	var err error
	if i < len(b) && b[i] == '"' {
		if end := quickString(b, i); end >= 0 {
			i, plain = end, true
		} else {
			var flags strFlags
			i, flags, err = scanString(b, i)
			plain = flags == 0
		}
	} else {
		i, err = skipValue(b, i, depth)
	}
	if err != nil {
		return i, err
	}
	d.setFixed(fixed, span{start: start, end: i, plain: plain})
	return i, nil
}

// timeField is fixedField for the time field. A time of the common shape is
// a plain string of 24 bytes: parsing it here spares scanning it and reading
// it again in eventTime.
func (d *Decoder) timeField(b []byte, i, depth int) (int, error) {
	if i+26 <= len(b) && b[i] == '"' && b[i+25] == '"' {
		if ns, ok := d.clock.parseMillisZ(b[i+1 : i+25]); ok {
			d.timeAt, d.timeNs, d.timeParsed = span{start: i, end: i + 26, plain: true}, ns, true
			return i + 26, nil
		}
	}
	return d.fixedField(b, i, fixedTime, depth)
}

// setFixed records sp as the value of the fixed fields the key is.
func (d *Decoder) setFixed(fixed uint8, sp span) {
	if fixed&fixedType != 0 {
		d.typeAt = sp
	}
	if fixed&fixedTime != 0 {
		d.timeAt, d.timeParsed = sp, false
	}
	if fixed&fixedID != 0 {
		d.idAt = sp
	}
}

// fill sets the slots below n from v, the value of n's path.
func (d *Decoder) fill(n *node, v Value) {
	o := v.Obj()
	for i, name := range n.names {
		var cv Value
		if o != nil {
			cv = o.Get(name)
		}
		k := n.kids[i]
		if k.slot >= 0 {
			d.fields[k.slot] = cv
		}
		if len(k.kids) > 0 {
			d.fill(k, cv)
		}
	}
}

// content returns the content of the string value at sp, unescaped and valid
// UTF-8. The result may alias b or d.scratch.
func (d *Decoder) content(b []byte, sp span) []byte {
	if sp.plain {
		return b[sp.start+1 : sp.end-1]
	}
	return d.unquote(b[sp.start:sp.end])
}

// fixedFields checks and stores the type, time and id that object found.
func (d *Decoder) fixedFields(b []byte, ev *Event) error {
	o := &d.opts
	if d.typeAt.start < 0 {
		return &DecodeError{Kind: ErrNoType, Msg: fmt.Sprintf("missing %q field", o.TypeField)}
	}
	raw := b[d.typeAt.start:d.typeAt.end]
	if raw[0] != '"' {
		return &DecodeError{Kind: ErrNoType, Offset: d.typeAt.start, Msg: fmt.Sprintf("%q must be a string", o.TypeField)}
	}
	if len(raw) == 2 {
		return &DecodeError{Kind: ErrNoType, Offset: d.typeAt.start, Msg: fmt.Sprintf("%q must not be empty", o.TypeField)}
	}
	if d.typeAt.plain {
		ev.Type = d.internAt(b, d.typeAt.start+1, len(raw)-2)
	} else {
		ev.Type = d.intern(d.content(b, d.typeAt))
	}

	if err := d.eventTime(b, ev); err != nil {
		return err
	}

	ev.ID = ""
	if d.idAt.start >= 0 {
		raw := b[d.idAt.start:d.idAt.end]
		switch c := raw[0]; {
		case c == '"' && d.idAt.plain:
			ev.ID = d.arena.copyAt(b, d.idAt.start+1, len(raw)-2)
		case c == '"':
			ev.ID = d.arena.copy(d.content(b, d.idAt))
		case c == '-' || '0' <= c && c <= '9':
			if _, isInt, _ := scanNumber(raw, 0); !isInt {
				return &DecodeError{Kind: ErrBadID, Offset: d.idAt.start, Msg: fmt.Sprintf("%q must be a string or an integer, not %s", o.IDField, raw)}
			}
			ev.ID = d.arena.copy(raw)
		case c == 'n': // null: absent
		default:
			return &DecodeError{Kind: ErrBadID, Offset: d.idAt.start, Msg: fmt.Sprintf("%q must be a string or an integer", o.IDField)}
		}
	}
	return nil
}

func (d *Decoder) eventTime(b []byte, ev *Event) error {
	if d.timeParsed {
		ev.Time = d.timeNs
		return nil
	}
	o := &d.opts
	if d.timeAt.start < 0 || b[d.timeAt.start] == 'n' { // absent or null
		if o.RequireTime {
			return &DecodeError{Kind: ErrBadTime, Msg: fmt.Sprintf("missing %q field", o.TimeField)}
		}
		ev.Time = o.Now()
		return nil
	}
	at := d.timeAt.start
	raw := b[at:d.timeAt.end]
	switch c := raw[0]; {
	case c == '"':
		s := d.content(b, d.timeAt)
		ns, ok := d.clock.parseMillisZ(s)
		if !ok {
			ns, ok = parseRFC3339(unsafe.String(unsafe.SliceData(s), len(s)))
		}
		if !ok {
			return &DecodeError{Kind: ErrBadTime, Offset: at, Msg: fmt.Sprintf("%q: cannot parse %q as RFC 3339 or epoch milliseconds", o.TimeField, s)}
		}
		ev.Time = ns
	case c == '-' || '0' <= c && c <= '9':
		ms, ok := parseMillis(raw)
		if !ok {
			return &DecodeError{Kind: ErrBadTime, Offset: at, Msg: fmt.Sprintf("%q: %s is not a whole number of epoch milliseconds in range", o.TimeField, raw)}
		}
		ns, ok := epochMillisToNanos(ms)
		if !ok {
			return &DecodeError{Kind: ErrBadTime, Offset: at, Msg: fmt.Sprintf("%q: %s epoch milliseconds is out of range", o.TimeField, raw)}
		}
		ev.Time = ns
	default:
		return &DecodeError{Kind: ErrBadTime, Offset: at, Msg: fmt.Sprintf("%q must be an RFC 3339 string or an integer of epoch milliseconds", o.TimeField)}
	}
	return nil
}

// parseMillis reads a JSON number that must be a whole number.
func parseMillis(raw []byte) (int64, bool) {
	s := unsafe.String(unsafe.SliceData(raw), len(raw))
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return ms, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) || f >= 1<<63 || f < -(1<<63) {
		return 0, false
	}
	return int64(f), true
}

// unquote returns the content of the JSON string raw (with its quotes),
// unescaped and valid UTF-8. The result may alias raw or d.scratch.
func (d *Decoder) unquote(raw []byte) []byte {
	s := raw[1 : len(raw)-1]
	ascii := true
	for _, c := range s {
		if c == '\\' {
			d.scratch = appendUnescaped(d.scratch[:0], s)
			return d.scratch
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	if !ascii && !utf8.Valid(s) {
		d.scratch = appendUnescaped(d.scratch[:0], s)
		return d.scratch
	}
	return s
}
