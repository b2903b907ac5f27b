package event

import (
	"math"
	"testing"
	"unsafe"
)

// TestValueIsTwoWords: an event's fields are an array of Values that the
// matching goroutines read on another core than the one that decoded them,
// so their size is what an event costs in cache lines.
func TestValueIsTwoWords(t *testing.T) {
	if n := unsafe.Sizeof(Value{}); n != 16 {
		t.Fatalf("Value takes %d bytes, want 16", n)
	}
}

// TestValueAccessors: each accessor reads only its own kind, and the
// values that share the pointer word (strings, lists, objects) keep what
// they were made of.
func TestValueAccessors(t *testing.T) {
	s := StringValue("card-1")
	l := ListValue([]Value{NumberValue(1), StringValue("x")})
	empty := ListValue([]Value{})
	o := ObjectValue(&Obj{Keys: []string{"a"}, Vals: []Value{BoolValue(true)}})
	for _, c := range []struct {
		v              Value
		str            string
		list, obj, nul bool
	}{
		{v: s, str: "card-1"},
		{v: StringValue("")},
		{v: l, list: true},
		{v: empty, list: true},
		{v: o, obj: true},
		{v: NullValue(), nul: true},
		{v: NumberValue(6)},
	} {
		if got := c.v.Str(); got != c.str {
			t.Errorf("%s: Str() = %q, want %q", c.v.Kind(), got, c.str)
		}
		if got := c.v.List() != nil; got != c.list {
			t.Errorf("%s: List() != nil is %v", c.v.Kind(), got)
		}
		if got := c.v.Obj() != nil; got != c.obj {
			t.Errorf("%s: Obj() != nil is %v", c.v.Kind(), got)
		}
		if c.v.IsNull() != c.nul {
			t.Errorf("%s: IsNull() is %v", c.v.Kind(), c.v.IsNull())
		}
	}
	if got := l.List(); len(got) != 2 || got[1].Str() != "x" {
		t.Errorf("list: %v", got)
	}
	if len(empty.List()) != 0 || !Equal(empty, ListValue(nil)) {
		t.Error("an empty list is not an empty list")
	}
	if !o.Obj().Get("a").Bool() {
		t.Error("object lost its field")
	}
	if !Equal(StringValue("card-1"), StringValue(string([]byte("card-1")))) {
		t.Error("equal strings in different memory are not Equal")
	}
}

// TestValueKindsStayApart: scalars keep their kind beside the payload and
// strings, lists and objects in the length word, so no payload may pass
// for another kind: not a number whose top byte reads as a kind, not a
// negative time, not an empty string or list (which are not null).
func TestValueKindsStayApart(t *testing.T) {
	for _, c := range []struct {
		v    Value
		kind Kind
	}{
		{NullValue(), Null},
		{Value{}, Null},
		{BoolValue(false), Bool},
		{BoolValue(true), Bool},
		{NumberValue(0), Number},
		{NumberValue(math.Float64frombits(uint64(String)<<56 | 5)), Number},
		{NumberValue(math.Float64frombits(uint64(Object) << 56)), Number},
		{NumberValue(math.NaN()), Number},
		{NumberValue(-1), Number},
		{TimeValue(-1), Time},
		{TimeValue(0), Time},
		{DurationValue(math.MinInt64), Duration},
		{StringValue(""), String},
		{StringValue("x"), String},
		{ListValue(nil), List},
		{ListValue([]Value{NullValue()}), List},
		{ObjectValue(&Obj{}), Object},
	} {
		if got := c.v.Kind(); got != c.kind {
			t.Errorf("%#v: Kind() = %s, want %s", c.v, got, c.kind)
		}
		if got := c.v.IsNull(); got != (c.kind == Null) {
			t.Errorf("%s: IsNull() = %v", c.kind, got)
		}
		if c.kind != String && c.v.Str() != "" {
			t.Errorf("%s: Str() = %q", c.kind, c.v.Str())
		}
		if c.kind != Number && c.v.Num() != 0 {
			t.Errorf("%s: Num() = %v", c.kind, c.v.Num())
		}
		if c.kind != Time && c.v.TimeNs() != 0 || c.kind != Duration && c.v.DurNs() != 0 {
			t.Errorf("%s: TimeNs() = %d, DurNs() = %d", c.kind, c.v.TimeNs(), c.v.DurNs())
		}
		if c.kind != Bool && (c.v.Bool() || c.v.Truthy()) {
			t.Errorf("%s: reads as true", c.kind)
		}
	}
	if TimeValue(-1).TimeNs() != -1 || DurationValue(math.MinInt64).DurNs() != math.MinInt64 {
		t.Error("a negative time or duration lost its value")
	}
	if Equal(TimeValue(5), DurationValue(5)) || Equal(StringValue(""), NullValue()) || Equal(ListValue(nil), NullValue()) {
		t.Error("values of different kinds are Equal")
	}
}

// TestPrefetchChangesNothing calls the prefetches on events in every
// shape: they are hints, so the event must read the same after them, and
// nil must do.
func TestPrefetchChangesNothing(t *testing.T) {
	var nilEv *Event
	nilEv.PrefetchInline(3)
	nilEv.PrefetchHeader()
	nilEv.PrefetchStrings()
	(&Event{}).PrefetchInline(0)
	ev := &Event{Type: "auth", Time: 7, ID: "e1", Fields: []Value{StringValue("c1"), NumberValue(2)}}
	ev.PrefetchHeader()
	ev.PrefetchInline(40) // more slots than it has: past its end
	ev.PrefetchStrings()
	if ev.Type != "auth" || ev.Time != 7 || len(ev.Fields) != 2 || ev.Fields[0].Str() != "c1" || ev.Fields[1].Num() != 2 {
		t.Fatalf("event changed: %+v", ev)
	}
}
