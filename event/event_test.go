package event

import (
	"testing"
	"unsafe"
)

// NewEvent keeps the fields of up to 24 slots right after the event, in
// one allocation, and gives larger schemas an array of their own; a
// decoder fills either without moving the fields.
func TestNewEventKeepsFieldsInline(t *testing.T) {
	s := NewSchema()
	for n := 0; n <= 30; n++ {
		ev := NewEvent(n)
		if len(ev.Fields) != n {
			t.Fatalf("NewEvent(%d): %d fields", n, len(ev.Fields))
		}
		for i, v := range ev.Fields {
			if !v.IsNull() {
				t.Fatalf("NewEvent(%d): field %d is %v, want null", n, i, v)
			}
		}
		inline := n > 0 && uintptr(unsafe.Pointer(unsafe.SliceData(ev.Fields))) == uintptr(unsafe.Pointer(ev))+unsafe.Sizeof(*ev)
		if want := n > 0 && n <= 24; inline != want {
			t.Fatalf("NewEvent(%d): fields inline %v, want %v", n, inline, want)
		}
		ev.PrefetchInline(n)

		if n > 0 {
			s.Slot("f" + string(rune('a'+n-1)))
		}
		ev = s.NewEvent()
		before := unsafe.SliceData(ev.Fields)
		line := `{"type":"t","time":"2026-01-01T00:00:00Z","fa":1,"fb":"x"}`
		if err := NewDecoder(s, DecoderOptions{}).Decode([]byte(line), ev); err != nil {
			t.Fatal(err)
		}
		if len(ev.Fields) != n || n > 0 && unsafe.SliceData(ev.Fields) != before {
			t.Fatalf("%d slots: decoding moved or resized the fields (%d)", n, len(ev.Fields))
		}
		if n >= 2 && (ev.Fields[0].Num() != 1 || ev.Fields[1].Str() != "x") {
			t.Fatalf("%d slots: decoded %v %v", n, ev.Fields[0], ev.Fields[1])
		}
	}
	(*Event)(nil).PrefetchInline(4) // a hint: nothing on nil
}
