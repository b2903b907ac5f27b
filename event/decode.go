package event

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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

	keyBuf  []byte // an unescaped object key
	scratch []byte // an unescaped string value
	arena   strArena
	days    dayCache
	types   map[string]string
	lastTyp string
}

// span is where a fixed field's value is in the line; start < 0: absent.
// plain says the value is a string whose content needs no unescaping or UTF-8
// check.
type span struct {
	start, end int
	plain      bool
}

// node is one step of the schema's paths: "geo.country" is the child
// "country" of the root's child "geo".
type node struct {
	names []string
	kids  []*node
	table []keyEntry // open-addressing hash of names
	pats  []keyPat   // by name
	// next[k+1] is the index of the name that followed name k (-1: the
	// start of the object) last time, or -1: a guess that saves a lookup.
	next []int32

	slot  int   // the slot of this path, or -1
	fixed uint8 // root children only: which fixed fields this key is
	desc  []int // slots of every strict descendant
}

const (
	fixedType uint8 = 1 << iota
	fixedTime
	fixedID
)

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
	d := &Decoder{opts: opts, root: node{slot: -1}, types: map[string]string{}}
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

func (n *node) child(name string) *node {
	for i, s := range n.names {
		if s == name {
			return n.kids[i]
		}
	}
	k := &node{slot: -1}
	n.names = append(n.names, name)
	n.kids = append(n.kids, k)
	return k
}

// keyEntry is one cell of a node's hash table of names: the name's first 8
// bytes as a little-endian word, its length, and its index+1 (0: empty).
type keyEntry struct {
	word uint64
	n    int32
	idx  int32
}

// finish builds the lookup tables and descendant lists; it returns the
// slots of n and its descendants.
func (n *node) finish() []int {
	size := 8
	for size < 2*len(n.names) {
		size *= 2
	}
	n.table = make([]keyEntry, size)
	for i, s := range n.names {
		w := nameWord(s)
		h := keyHash(w, len(s))
		for n.table[h&(size-1)].idx != 0 {
			h++
		}
		n.table[h&(size-1)] = keyEntry{word: w, n: int32(len(s)), idx: int32(i + 1)}
	}
	n.next = make([]int32, len(n.names)+1)
	for i := range n.next {
		n.next[i] = -1
	}
	for _, name := range n.names {
		n.pats = append(n.pats, newKeyPat(name))
	}
	for _, k := range n.kids {
		n.desc = append(n.desc, k.finish()...)
	}
	if n.slot >= 0 {
		return append([]int{n.slot}, n.desc...)
	}
	return n.desc
}

// keyHash hashes a key's first word and length.
func keyHash(w uint64, n int) int {
	return int((w ^ uint64(n)) * 0x9e3779b97f4a7c15 >> 40)
}

// nameWord returns the first 8 bytes of s as a little-endian word, zero-padded.
func nameWord[S string | []byte](s S) uint64 {
	var w uint64
	for i := range min(len(s), 8) {
		w |= uint64(s[i]) << (8 * i)
	}
	return w
}

// keyWord is nameWord of k, reading 8 bytes at once when k has them. It
// reads nothing past len(k): the caller's buffer may go on beyond the line.
func keyWord(k []byte) uint64 {
	if len(k) < 8 {
		return nameWord(k)
	}
	return binary.LittleEndian.Uint64(k)
}

// lookup returns the index of key in n.names, or -1; w is keyWord(key).
func (n *node) lookup(w uint64, key []byte) int {
	mask := len(n.table) - 1
	for h := keyHash(w, len(key)); ; h++ {
		e := &n.table[h&mask]
		if e.idx == 0 {
			return -1
		}
		if e.word == w && int(e.n) == len(key) && (len(key) <= 8 || n.names[e.idx-1][8:] == string(key[8:])) {
			return int(e.idx - 1)
		}
	}
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
func (d *Decoder) object(b []byte, i int, n *node, depth int) (int, error) {
	if depth > maxDepth {
		return i, tooDeep(i)
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	k := -1 // the index in n.names of the last key; -1 at the start or after an unknown key
	for {
		if i >= len(b) || b[i] != '"' {
			return i, errAt(b, i, "expected string for object key")
		}
		var end int // past the key
		var err error
		if p := n.next[k+1]; p >= 0 && n.pats[p].match(b, i) {
			k, end = int(p), i+int(n.pats[p].n)
		} else {
			prev := k
			if end, k, err = d.key(b, i, n); err != nil {
				return end, err
			}
			if k >= 0 {
				n.next[prev+1] = int32(k)
			}
		}
		if i = skipWS(b, end); i >= len(b) || b[i] != ':' {
			return i, errAt(b, i, "expected ':' after object key")
		}
		i = skipWS(b, i+1)
		if k < 0 {
			i, err = skipValue(b, i, depth)
		} else if kid := n.kids[k]; len(kid.kids) > 0 {
			i, err = d.field(b, i, kid, depth)
		} else if kid.fixed == 0 {
			i, err = d.value(b, i, depth, &d.fields[kid.slot])
		} else if kid.slot < 0 {
			i, err = d.fixedField(b, i, kid.fixed, depth)
		} else {
			i, err = d.field(b, i, kid, depth)
		}
		if err != nil {
			return i, err
		}
		if i+1 < len(b) && b[i] == ',' && b[i+1] == '"' {
			i++
			continue
		}
		var done bool
		if i, done, err = objectNext(b, i); err != nil || done {
			return i, err
		}
	}
}

// key reads the object key at b[i]. It returns the index past it and the
// key's index in n.names, or -1.
func (d *Decoder) key(b []byte, i int, n *node) (end, k int, err error) {
	var key []byte
	var w uint64 // the first 8 bytes of key, zero-padded
	end = i + 1
	if end+8 <= len(b) {
		// A key of up to 7 bytes of plain ASCII ends in the first word.
		w = load64(b, end)
		if m := stopOrHigh(w); m != 0 && b[end+bits.TrailingZeros64(m)>>3] == '"' {
			nb := bits.TrailingZeros64(m) &^ 7 // 8 × the length of the key
			w &= 1<<nb - 1
			key = b[end : end+nb>>3]
			end += nb>>3 + 1
		}
	}
	if key == nil {
		var flags strFlags
		if end, flags, err = scanString(b, i); err != nil {
			return end, -1, err
		}
		key = b[i+1 : end-1]
		if flags&strEscaped != 0 {
			d.keyBuf = appendUnescaped(d.keyBuf[:0], key)
			key = d.keyBuf
		}
		w = keyWord(key)
	}
	if e := &n.table[keyHash(w, len(key))&(len(n.table)-1)]; e.word == w && int(e.n) == len(key) && e.idx != 0 && len(key) <= 8 {
		return end, int(e.idx) - 1, nil
	}
	return end, n.lookup(w, key), nil
}

// keyPat is how a name of up to 7 bytes of plain ASCII looks in the line: the
// name and its closing quote, after the opening one.
type keyPat struct {
	word, mask uint64 // the bytes and which of the 8 after the opening quote to compare
	n          int32  // the length of the key with both its quotes
}

// newKeyPat returns the pattern of name; one for a longer or less plain name
// never matches.
func newKeyPat(name string) keyPat {
	if len(name) > 7 {
		return keyPat{word: 1}
	}
	for i := range len(name) {
		if !strPlain[name[i]] || name[i] >= utf8.RuneSelf {
			return keyPat{word: 1}
		}
	}
	nb := 8 * (len(name) + 1)
	return keyPat{word: nameWord(name) | '"'<<(nb-8), mask: ^uint64(0) >> (64 - nb), n: int32(len(name) + 2)}
}

// match reports whether the key at the quote b[i] is p's name.
func (p *keyPat) match(b []byte, i int) bool {
	return i+9 <= len(b) && load64(b, i+1)&p.mask == p.word
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

// setFixed records sp as the value of the fixed fields the key is.
func (d *Decoder) setFixed(fixed uint8, sp span) {
	if fixed&fixedType != 0 {
		d.typeAt = sp
	}
	if fixed&fixedTime != 0 {
		d.timeAt = sp
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
	ev.Type = d.intern(d.content(b, d.typeAt))

	if err := d.eventTime(b, ev); err != nil {
		return err
	}

	ev.ID = ""
	if d.idAt.start >= 0 {
		raw := b[d.idAt.start:d.idAt.end]
		switch c := raw[0]; {
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
		ns, ok := d.days.parseMillisZ(s)
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

func (d *Decoder) intern(b []byte) string {
	if d.lastTyp == string(b) {
		return d.lastTyp
	}
	s, ok := d.types[string(b)]
	if !ok {
		s = string(b)
		if len(d.types) < maxInterned && len(s) <= maxInternedLen {
			d.types[s] = s
		}
	}
	d.lastTyp = s
	return s
}

// strArena hands out strings copied into shared chunks.
type strArena struct{ buf []byte }

const (
	arenaChunk = 512
	arenaMax   = 128
)

func (a *strArena) copy(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > arenaMax {
		return string(b)
	}
	if cap(a.buf)-len(a.buf) < len(b) {
		a.buf = make([]byte, 0, arenaChunk)
	}
	n := len(a.buf)
	a.buf = append(a.buf, b...)
	return unsafe.String(&a.buf[n], len(b))
}
