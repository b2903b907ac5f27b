package nfa

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/motifcep/motif/event"
)

// The binary form of a State, version 1. All integers are varints (zigzag
// for signed), strings are length-prefixed:
//
//	version(=1) lastAlert
//	nEvents  { present(0|1) [event] }          slots of the shared buffer; absent slots are free
//	nNodes   { ev stage prev refs }             refs<=0 marks a free node
//	nRuns    { state node start startSeq prev deadline }
//	nDone    { state node start startSeq prev deadline }
//	event:   type time id seq nFields { value }
//	value:   kind payload (number: 8 bytes IEEE; bool: 1 byte; string: string;
//	         time, duration: zigzag varint; list: n {value}; object: n {key value})
//
// Event references are by slot, so a node chain restores exactly; events are
// written once however many nodes share them.
const encodingVersion = 1

// ErrCorruptState is returned by UnmarshalBinary for input it cannot decode.
var ErrCorruptState = errors.New("nfa: corrupt state encoding")

// MarshalBinary encodes the state.
func (s *State) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil), nil }

// AppendBinary appends the encoding of the state to b.
func (s *State) AppendBinary(b []byte) []byte {
	b = binary.AppendUvarint(b, encodingVersion)
	b = binary.AppendVarint(b, s.LastAlert)
	b = binary.AppendUvarint(b, uint64(len(s.events)))
	for _, e := range s.events {
		if e.e == nil || e.refs <= 0 {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		b = appendEvent(b, e.e)
	}
	b = binary.AppendUvarint(b, uint64(len(s.nodes)))
	for _, n := range s.nodes {
		b = binary.AppendVarint(b, int64(n.ev))
		b = binary.AppendVarint(b, int64(n.stage))
		b = binary.AppendVarint(b, int64(n.prev))
		b = binary.AppendVarint(b, int64(n.refs))
	}
	b = appendRuns(b, s.runs)
	return appendRuns(b, s.completed)
}

func appendRuns(b []byte, rs []run) []byte {
	b = binary.AppendUvarint(b, uint64(len(rs)))
	for _, r := range rs {
		b = binary.AppendVarint(b, int64(r.state))
		b = binary.AppendVarint(b, int64(r.node))
		b = binary.AppendVarint(b, r.start)
		b = binary.AppendUvarint(b, r.startSeq)
		b = binary.AppendVarint(b, r.prev)
		b = binary.AppendVarint(b, r.deadline)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendEvent(b []byte, e *event.Event) []byte {
	b = appendString(b, e.Type)
	b = binary.AppendVarint(b, e.Time)
	b = appendString(b, e.ID)
	b = binary.AppendUvarint(b, e.Seq)
	b = binary.AppendUvarint(b, uint64(len(e.Fields)))
	for _, v := range e.Fields {
		b = appendValue(b, v)
	}
	return b
}

func appendValue(b []byte, v event.Value) []byte {
	b = append(b, byte(v.Kind()))
	switch v.Kind() {
	case event.Bool:
		if v.Bool() {
			return append(b, 1)
		}
		return append(b, 0)
	case event.Number:
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Num()))
	case event.String:
		return appendString(b, v.Str())
	case event.Time:
		return binary.AppendVarint(b, v.TimeNs())
	case event.Duration:
		return binary.AppendVarint(b, v.DurNs())
	case event.List:
		l := v.List()
		b = binary.AppendUvarint(b, uint64(len(l)))
		for _, x := range l {
			b = appendValue(b, x)
		}
	case event.Object:
		o := v.Obj()
		b = binary.AppendUvarint(b, uint64(len(o.Keys)))
		for i, k := range o.Keys {
			b = appendString(b, k)
			b = appendValue(b, o.Vals[i])
		}
	}
	return b
}

// UnmarshalBinary restores a state encoded by MarshalBinary. The state must
// be used with the Program that produced it.
func (s *State) UnmarshalBinary(data []byte) error {
	d := decoder{b: data}
	if v := d.uvarint(); v != encodingVersion && d.err == nil {
		return fmt.Errorf("%w: unknown version %d", ErrCorruptState, v)
	}
	*s = State{LastAlert: d.varint()}
	nev := d.count()
	s.events = roomFor(&s.inEv, nev)
	for i := range s.events {
		if d.byte() == 1 {
			s.events[i].e = d.event()
		}
	}
	nn := d.count()
	s.nodes = roomFor(&s.inNode, nn)
	for i := range s.nodes {
		n := node{ev: int32(d.varint()), stage: int32(d.varint()), prev: int32(d.varint()), refs: int32(d.varint())}
		if n.refs > 0 {
			if n.ev < 0 || int(n.ev) >= nev || n.prev >= int32(nn) || s.events[n.ev].e == nil {
				return fmt.Errorf("%w: node %d references a missing event", ErrCorruptState, i)
			}
			s.events[n.ev].refs++
		} else {
			s.freeNodes = append(s.freeNodes, int32(i))
		}
		s.nodes[i] = n
	}
	for i := range s.events {
		if s.events[i].refs == 0 {
			s.events[i].e = nil
			s.freeEv = append(s.freeEv, int32(i))
		} else {
			s.events[i].e.Hold()
		}
	}
	s.runs = d.runs(nn, &s.inRun)
	s.completed = d.runs(nn, nil)
	s.updateNext()
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrCorruptState, len(d.b))
	}
	return nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated %s", ErrCorruptState, what)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("integer")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("integer")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length that must fit in what is left of the input.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length")
		return 0
	}
	return int(n)
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("byte")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) string() string {
	n := d.count()
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) event() *event.Event {
	typ, t, id, seq := d.string(), d.varint(), d.string(), d.uvarint()
	e := event.NewEvent(d.count())
	e.Type, e.Time, e.ID, e.Seq = typ, t, id, seq
	for i := range e.Fields {
		e.Fields[i] = d.value(0)
	}
	return e
}

func (d *decoder) value(depth int) event.Value {
	if depth > 64 {
		d.fail("value nesting")
		return event.NullValue()
	}
	switch event.Kind(d.byte()) {
	case event.Null:
		return event.NullValue()
	case event.Bool:
		return event.BoolValue(d.byte() == 1)
	case event.Number:
		if len(d.b) < 8 {
			d.fail("number")
			return event.NullValue()
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
		return event.NumberValue(f)
	case event.String:
		return event.StringValue(d.string())
	case event.Time:
		return event.TimeValue(d.varint())
	case event.Duration:
		return event.DurationValue(d.varint())
	case event.List:
		l := make([]event.Value, d.count())
		for i := range l {
			l[i] = d.value(depth + 1)
		}
		return event.ListValue(l)
	case event.Object:
		n := d.count()
		o := &event.Obj{Keys: make([]string, n), Vals: make([]event.Value, n)}
		for i := 0; i < n; i++ {
			o.Keys[i] = d.string()
			o.Vals[i] = d.value(depth + 1)
		}
		return event.ObjectValue(o)
	}
	d.fail("value kind")
	return event.NullValue()
}

// runs reads a list of runs into room (see State.inRun), or a new array
// if room is nil or too small.
func (d *decoder) runs(nodes int, room *[1]run) []run {
	n := d.count()
	var rs []run
	switch {
	case room != nil:
		rs = roomFor(room, n)
	case n == 0:
		return nil
	default:
		rs = make([]run, n)
	}
	for i := range rs {
		rs[i] = run{state: int32(d.varint()), node: int32(d.varint()), start: d.varint(), startSeq: d.uvarint(), prev: d.varint(), deadline: d.varint()}
		if rs[i].node >= int32(nodes) {
			d.fail("run")
		}
	}
	return rs
}

// AppendEvent appends the binary form of an event (as states store it) to b.
func AppendEvent(b []byte, e *event.Event) []byte { return appendEvent(b, e) }

// ReadEvent decodes one event written by AppendEvent from the front of b and
// returns it with the rest of b.
func ReadEvent(b []byte) (*event.Event, []byte, error) {
	d := decoder{b: b}
	e := d.event()
	if d.err != nil {
		return nil, nil, d.err
	}
	return e, d.b, nil
}
