package event

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
	"unique"
	"unsafe"
)

// decodeWith decodes line with a schema of paths.
func decodeWith(t *testing.T, opts DecoderOptions, line string, paths ...string) (*Event, error) {
	t.Helper()
	s := NewSchema()
	for _, p := range paths {
		s.Slot(p)
	}
	var ev Event
	err := NewDecoder(s, opts).Decode([]byte(line), &ev)
	return &ev, err
}

func obj(kv ...any) Value {
	o := &Obj{}
	for i := 0; i < len(kv); i += 2 {
		o.Keys = append(o.Keys, kv[i].(string))
		o.Vals = append(o.Vals, kv[i+1].(Value))
	}
	return ObjectValue(o)
}

func list(vs ...Value) Value { return ListValue(vs) }

var (
	num = NumberValue
	str = StringValue
)

func TestDecodeFields(t *testing.T) {
	const t0 = `"time":"2026-01-01T00:00:00Z"`
	tests := []struct {
		name  string
		line  string
		paths []string
		want  []Value
	}{
		{"every type",
			`{"type":"a",` + t0 + `,"s":"x","n":-1.5e2,"i":42,"t":true,"f":false,"z":null,"l":[1,"a",[]],"o":{"k":{}}}`,
			[]string{"s", "n", "i", "t", "f", "z", "l", "o", "missing"},
			[]Value{str("x"), num(-150), num(42), BoolValue(true), BoolValue(false), {}, list(num(1), str("a"), list()), obj("k", obj()), {}}},
		{"nested paths",
			`{"type":"a",` + t0 + `,"geo":{"country":"US","pos":{"lat":1,"lon":2}},"x":1}`,
			[]string{"geo.country", "geo.pos.lat", "geo.pos.alt", "geo.city"},
			[]Value{str("US"), num(1), {}, {}}},
		{"object slot and a slot inside it",
			`{"type":"a",` + t0 + `,"geo":{"country":"US","n":[1]}}`,
			[]string{"geo", "geo.country", "geo.n"},
			[]Value{obj("country", str("US"), "n", list(num(1))), str("US"), list(num(1))}},
		{"path through a non-object",
			`{"type":"a",` + t0 + `,"geo":"US","l":[{"a":1}]}`,
			[]string{"geo.country", "l.a"},
			[]Value{{}, {}}},
		{"escapes",
			`{"type":"a",` + t0 + `,"s":"q\"b\\s\/n\nt\tr\rb\bf\f\u00e9\u20AC\ud83d\ude00"}`,
			[]string{"s"},
			[]Value{str("q\"b\\s/n\nt\tr\rb\bf\fé€😀")}},
		{"bad surrogates and UTF-8 become U+FFFD",
			"{\"type\":\"a\"," + t0 + ",\"s\":\"\\ud800x\\udc00\\ud800\\u0041\xff\",\"o\":{\"k\xfe\":1}}",
			[]string{"s", "o"},
			[]Value{str("\uFFFDx\uFFFD\uFFFDA\uFFFD"), obj("k\uFFFD", num(1))}},
		{"escaped keys match",
			`{"type":"a",` + t0 + `,"c\u0061rd":"x","g\u0065o":{"\u0063":2}}`,
			[]string{"card", "geo.c"},
			[]Value{str("x"), num(2)}},
		{"duplicate keys: last wins",
			`{"type":"a",` + t0 + `,"x":1,"geo":{"c":"A","d":1},"x":2,"geo":{"c":"B"},"o":{"k":1,"j":2,"k":3}}`,
			[]string{"x", "geo.c", "geo.d", "o"},
			[]Value{num(2), str("B"), {}, obj("k", num(3), "j", num(2))}},
		{"duplicate object slot replaced by a scalar",
			`{"type":"a",` + t0 + `,"geo":{"c":"A"},"geo":5}`,
			[]string{"geo", "geo.c"},
			[]Value{num(5), {}}},
		{"numbers",
			`{"type":"a",` + t0 + `,"a":0,"b":0.1,"c":9007199254740993,"d":123456789.123456789,"e":1E-7,"f":-74.0}`,
			[]string{"a", "b", "c", "d", "e", "f"},
			[]Value{num(0), num(0.1), num(9007199254740992), num(123456789.12345679), num(1e-7), num(-74)}},
		{"whitespace everywhere",
			" \t{ \"type\" : \"a\" , \"time\" :\n1 , \"l\" : [ 1 , { } ] , \"x\" : { \"y\" : 2 } }\r\n",
			[]string{"l", "x.y"},
			[]Value{list(num(1), obj()), num(2)}},
		{"skipped values of every kind",
			`{"type":"a",` + t0 + `,"a":{"b":[1,{"c":"\u1234"},true,false,null,-0.5e-3]},"s":"ok"}`,
			[]string{"s"},
			[]Value{str("ok")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := decodeWith(t, DecoderOptions{RequireTime: true}, tc.line, tc.paths...)
			if err != nil {
				t.Fatal(err)
			}
			if len(ev.Fields) != len(tc.want) {
				t.Fatalf("got %d fields, want %d", len(ev.Fields), len(tc.want))
			}
			for i, w := range tc.want {
				if g := ev.Fields[i]; g.Kind() != w.Kind() || !Equal(g, w) {
					t.Errorf("%s = %s (%v), want %s (%v)", tc.paths[i], g.AppendJSON(nil), g.Kind(), w.AppendJSON(nil), w.Kind())
				}
			}
		})
	}
}

func TestDecodeFixedFields(t *testing.T) {
	const base = "2026-01-01T00:00:00Z"
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	tests := []struct {
		line     string
		typ      string
		tm       int64
		id       string
		withOpts *DecoderOptions
	}{
		{`{"type":"auth","time":"2026-01-01T00:00:00Z","id":"e1"}`, "auth", t0, "e1", nil},
		{`{"id":"e1","time":"2026-01-01T00:00:00Z","type":"auth"}`, "auth", t0, "e1", nil},
		{`{"type":"a\u00e9","time":"2026-01-01T00:00:00.123456789Z"}`, "aé", t0 + 123456789, "", nil},
		{`{"type":"a","time":"2026-01-01T00:00:00.1234567891234Z"}`, "a", t0 + 123456789, "", nil},
		{`{"type":"a","time":"2026-01-01T02:30:00+02:30"}`, "a", t0, "", nil},
		{`{"type":"a","time":"2025-12-31T19:00:00.5-05:00"}`, "a", t0 + 5e8, "", nil},
		{`{"type":"a","time":"2026-01-01t00:00:00z"}`, "a", t0, "", nil},
		{`{"type":"a","time":1767225600000}`, "a", t0, "", nil},
		{`{"type":"a","time":1767225600123}`, "a", t0 + 123e6, "", nil},
		{`{"type":"a","time":1.767225600123e12}`, "a", t0 + 123e6, "", nil},
		{`{"type":"a","time":-1}`, "a", -1e6, "", nil},
		{`{"type":"a","time":0,"id":42}`, "a", 0, "42", nil},
		{`{"type":"a","time":0,"id":-7}`, "a", 0, "-7", nil},
		{`{"type":"a","time":0,"id":123456789012345678901234567890}`, "a", 0, "123456789012345678901234567890", nil},
		{`{"type":"a","time":0,"id":null}`, "a", 0, "", nil},
		{`{"type":"a","time":0,"id":"x","id":"y","type":"b","time":1}`, "b", 1e6, "y", nil},
		{`{"type":"a"}`, "a", 99, "", &DecoderOptions{Now: func() int64 { return 99 }}},
		{`{"type":"a","time":null}`, "a", 99, "", &DecoderOptions{Now: func() int64 { return 99 }}},
		{`{"kind":"a","ts":"` + base + `","eid":7,"type":"x","time":"bad","id":{}}`, "a", t0, "7",
			&DecoderOptions{TypeField: "kind", TimeField: "ts", IDField: "eid", RequireTime: true}},
	}
	for _, tc := range tests {
		opts := DecoderOptions{RequireTime: true}
		if tc.withOpts != nil {
			opts = *tc.withOpts
		}
		ev, err := decodeWith(t, opts, tc.line)
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		if ev.Type != tc.typ || ev.Time != tc.tm || ev.ID != tc.id {
			t.Errorf("%s: got (%q, %d, %q), want (%q, %d, %q)", tc.line, ev.Type, ev.Time, ev.ID, tc.typ, tc.tm, tc.id)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		line   string
		kind   DecodeErrorKind
		offset int
		msg    string
	}{
		{`{"type":"a","time":0 "x":1}`, ErrBadJSON, 21, `invalid JSON at byte 21: expected ',' or '}' after object field`},
		{`{"type":"a","time":0,"x":1`, ErrBadJSON, 26, `invalid JSON at byte 26: unexpected end of input, expected ',' or '}' after object field`},
		{``, ErrBadJSON, 0, `invalid JSON at byte 0: unexpected end of input, expected '{': an event is a JSON object`},
		{`[1]`, ErrBadJSON, 0, `invalid JSON at byte 0: expected '{': an event is a JSON object`},
		{`"a"`, ErrBadJSON, 0, `invalid JSON at byte 0: expected '{': an event is a JSON object`},
		{`{"type":"a","time":0} x`, ErrBadJSON, 22, `invalid JSON at byte 22: unexpected data after the event object`},
		{`{"type":"a","time":0}{}`, ErrBadJSON, 21, `invalid JSON at byte 21: unexpected data after the event object`},
		{`{type:"a"}`, ErrBadJSON, 1, `invalid JSON at byte 1: expected string for object key`},
		{`{"type":"a",}`, ErrBadJSON, 12, `invalid JSON at byte 12: expected string for object key`},
		{`{"type" "a"}`, ErrBadJSON, 8, `invalid JSON at byte 8: expected ':' after object key`},
		{`{"type":"a","x":[1,]}`, ErrBadJSON, 19, `invalid JSON at byte 19: invalid character ']' looking for the start of a value`},
		{`{"type":"a","x":[1 2]}`, ErrBadJSON, 19, `invalid JSON at byte 19: expected ',' or ']' after list element`},
		{`{"type":"a","x":tru}`, ErrBadJSON, 19, `invalid JSON at byte 19: invalid literal: want "true"`},
		{`{"type":"a","x":nul`, ErrBadJSON, 19, `invalid JSON at byte 19: unexpected end of input, invalid literal: want "null"`},
		{`{"type":"a","x":01}`, ErrBadJSON, 17, `invalid JSON at byte 17: expected ',' or '}' after object field`},
		{`{"type":"a","x":-}`, ErrBadJSON, 17, `invalid JSON at byte 17: invalid number "-}": want a digit`},
		{`{"type":"a","x":1.}`, ErrBadJSON, 18, `invalid JSON at byte 18: invalid number: want a digit after '.'`},
		{`{"type":"a","x":1e+}`, ErrBadJSON, 19, `invalid JSON at byte 19: invalid number: want a digit in the exponent`},
		{`{"type":"a","x":+1}`, ErrBadJSON, 16, `invalid JSON at byte 16: invalid character '+' looking for the start of a value`},
		{`{"type":"a","x":"\q"}`, ErrBadJSON, 17, `invalid JSON at byte 17: invalid escape "\\q" in string`},
		{`{"type":"a","x":"\u12G4"}`, ErrBadJSON, 17, `invalid JSON at byte 17: invalid \u escape in string: want four hex digits`},
		{"{\"type\":\"a\",\"x\":\"a\tb\"}", ErrBadJSON, 18, `invalid JSON at byte 18: control character U+0009 in string must be escaped`},
		{`{"type":"a","x":"abc`, ErrBadJSON, 20, `invalid JSON at byte 20: unexpected end of input, unterminated string`},
		{"{\"type\":\"a\",\"x\":\xff}", ErrBadJSON, 16, `invalid JSON at byte 16: invalid byte 0xff looking for the start of a value`},
		{`{"type":"a","time":0,"x":1e400}`, ErrBadJSON, 0, ``}, // skipped: fine
		{`{"type":"a","time":0,"n":1e400}`, ErrBadJSON, 25, `invalid JSON at byte 25: number 1e400 is out of the range of float64`},
		{`{"type":"a","x":` + strings.Repeat("[", 1001) + strings.Repeat("]", 1001) + `}`, ErrBadJSON, 1015, `invalid JSON at byte 1015: nested deeper than 1000 levels`},
		{`{"time":0}`, ErrNoType, 0, `missing "type" field`},
		{`{"type":1,"time":0}`, ErrNoType, 8, `"type" must be a string`},
		{`{"type":null,"time":0}`, ErrNoType, 8, `"type" must be a string`},
		{`{"type":"","time":0}`, ErrNoType, 8, `"type" must not be empty`},
		{`{"type":"a"}`, ErrBadTime, 0, `missing "time" field`},
		{`{"type":"a","time":null}`, ErrBadTime, 0, `missing "time" field`},
		{`{"type":"a","time":"2026-13-01"}`, ErrBadTime, 19, `"time": cannot parse "2026-13-01" as RFC 3339 or epoch milliseconds`},
		{`{"type":"a","time":"2026-02-29T00:00:00Z"}`, ErrBadTime, 19, `"time": cannot parse "2026-02-29T00:00:00Z" as RFC 3339 or epoch milliseconds`},
		{`{"type":"a","time":"1767225600000"}`, ErrBadTime, 19, `"time": cannot parse "1767225600000" as RFC 3339 or epoch milliseconds`},
		{`{"type":"a","time":1.5}`, ErrBadTime, 19, `"time": 1.5 is not a whole number of epoch milliseconds in range`},
		{`{"type":"a","time":9223372036855}`, ErrBadTime, 19, `"time": 9223372036855 epoch milliseconds is out of range`},
		{`{"type":"a","time":true}`, ErrBadTime, 19, `"time" must be an RFC 3339 string or an integer of epoch milliseconds`},
		{`{"type":"a","time":0,"id":1.5}`, ErrBadID, 26, `"id" must be a string or an integer, not 1.5`},
		{`{"type":"a","time":0,"id":[]}`, ErrBadID, 26, `"id" must be a string or an integer`},
		{`{"type":"a","time":0,"id":true}`, ErrBadID, 26, `"id" must be a string or an integer`},
	}
	for _, tc := range tests {
		_, err := decodeWith(t, DecoderOptions{RequireTime: true}, tc.line, "n")
		if tc.msg == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.line, err)
			}
			continue
		}
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: got %v, want a *DecodeError", tc.line, err)
			continue
		}
		if de.Kind != tc.kind || de.Offset != tc.offset || de.Msg != tc.msg || !errors.Is(err, tc.kind) {
			t.Errorf("%s:\n got  %v %d %q\n want %v %d %q", tc.line, de.Kind, de.Offset, de.Msg, tc.kind, tc.offset, tc.msg)
		}
	}
}

func TestDecodeReusesAndDoesNotAlias(t *testing.T) {
	s := NewSchema()
	s.Slot("a")
	s.Slot("o")
	d := NewDecoder(s, DecoderOptions{RequireTime: true})
	ev := Event{Fields: make([]Value, 0, 8)}
	line := []byte(`{"type":"t","time":0,"id":"i1","a":"abc","o":{"k":"v"}}`)
	if err := d.Decode(line, &ev); err != nil {
		t.Fatal(err)
	}
	if cap(ev.Fields) != 8 {
		t.Errorf("Fields not reused: cap %d", cap(ev.Fields))
	}
	for i := range line {
		line[i] = 'X'
	}
	if ev.Type != "t" || ev.ID != "i1" || ev.Fields[0].Str() != "abc" || ev.Fields[1].Obj().Keys[0] != "k" || ev.Fields[1].Obj().Vals[0].Str() != "v" {
		t.Errorf("decoded values alias the line: %+v", ev)
	}
	// A second decode clears what the first one set.
	if err := d.Decode([]byte(`{"type":"t","time":0}`), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ID != "" || !ev.Fields[0].IsNull() || !ev.Fields[1].IsNull() {
		t.Errorf("stale values after a second decode: %+v", ev)
	}
}

func TestDecodeAllocs(t *testing.T) {
	line := []byte(benchLine)
	for _, tc := range []struct {
		paths []string
		max   float64
	}{
		// The id and string slots share 512-byte chunks: one allocation per
		// 256 events for the id "e1", per 19 with 27 bytes of strings.
		{[]string{"amount", "lat", "lon", "geo.country", "score"}, 0.005},
		{[]string{"card_id", "amount", "merchant", "country", "lat"}, 0.06},
	} {
		s := NewSchema()
		for _, p := range tc.paths {
			s.Slot(p)
		}
		d := NewDecoder(s, DecoderOptions{RequireTime: true})
		var ev Event
		// testing.AllocsPerRun truncates the mean to an integer: count by hand.
		const runs = 1000
		var before, after runtimeMem
		d.Decode(line, &ev) // warm up
		before.read()
		for range runs {
			if err := d.Decode(line, &ev); err != nil {
				t.Fatal(err)
			}
		}
		after.read()
		if got := float64(after.mallocs-before.mallocs) / runs; got > tc.max {
			t.Errorf("%v: %.3f allocs per event, want <= %v", tc.paths, got, tc.max)
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{
		"2026-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999999Z",
		"2000-02-29T12:34:56.7+14:00", "1800-03-01T00:00:00-23:59", "2262-04-11T23:47:16.854775807Z",
		"1677-09-21T00:12:43.145224192Z", "2024-02-29T00:00:00.000000001+00:00",
	} {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseTime(s)
		if err != nil || got != want.UnixNano() {
			t.Errorf("ParseTime(%q) = %d, %v; want %d", s, got, err, want.UnixNano())
		}
	}
	for _, s := range []string{
		"", "2026-01-01", "2026-01-01T00:00:00", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00.Z",
		"2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z", "2026-00-01T00:00:00Z",
		"2026-04-31T00:00:00Z", "2100-02-29T00:00:00Z", "2026-01-01T00:00:00+0100", "2026-01-01T00:00:00+24:00",
		"2026-01-01T00:00:00Zx", "+026-01-01T00:00:00Z", "2262-04-11T23:47:16.854775808Z", "1677-09-21T00:12:43.145224191Z",
		"9999-12-31T23:59:59Z",
	} {
		if got, err := ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q) = %d, want an error", s, got)
		}
	}
	if _, err := ParseTime("x"); err == nil || err.Error() != `cannot parse "x" as an RFC 3339 time` {
		t.Errorf("error: %v", err)
	}
}

type runtimeMem struct{ mallocs uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.mallocs = s.Mallocs
}

// TestDecodeCanonicalTypes checks that events get the process's canonical
// copy of their type name (unique.Make), the one the matchers' programs
// hold, whichever path of the decoder reads it: a short plain name, a long
// one, and an escaped one.
func TestDecodeCanonicalTypes(t *testing.T) {
	d := NewDecoder(NewSchema(), DecoderOptions{})
	for _, tc := range []struct{ line, want string }{
		{`{"type":"auth","time":1}`, "auth"},
		{`{"type":"profile_change_request","time":1}`, "profile_change_request"},
		{`{"type":"a\u0075th","time":1}`, "auth"},
		{`{"time":1,"type":"auth"}`, "auth"},
	} {
		h := unique.Make(tc.want)
		var ev Event
		if err := d.Decode([]byte(tc.line), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != tc.want || unsafe.StringData(ev.Type) != unsafe.StringData(h.Value()) {
			t.Errorf("%s: type %q is not the canonical copy of %q", tc.line, ev.Type, tc.want)
		}
	}
}
