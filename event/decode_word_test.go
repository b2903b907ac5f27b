package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestDecodeNumbersNearTheEnd reads numbers of every shape that fits a word
// or not, followed by 0 to 9 bytes before the end of the line, so that the
// word they are read from is cut by the end of the line at every place.
func TestDecodeNumbersNearTheEnd(t *testing.T) {
	var nums []string
	for ni := 1; ni <= 9; ni++ {
		for nf := -1; nf <= 9; nf++ {
			n := strings.Repeat("9", ni)[:ni-1] + "7"
			if nf >= 0 {
				n += "." + strings.Repeat("3", nf)
			}
			nums = append(nums, n, "-"+n, "0"+n[1:])
		}
	}
	d := newTestDecoder("n")
	for _, num := range nums {
		for pad := 0; pad <= 9; pad++ {
			for _, tail := range []string{"}" + strings.Repeat(" ", pad), strings.Repeat(" ", pad) + "}", `,"x":` + strings.Repeat("1", pad+1) + "}"} {
				line := `{"type":"t","time":0,"n":` + num + tail
				got, err := decodeSlot(t, d, line)
				var m map[string]any
				jerr := json.Unmarshal([]byte(line), &m)
				if (err == nil) != (jerr == nil) {
					t.Errorf("%s: %v, encoding/json %v", line, err, jerr)
					continue
				}
				if err != nil {
					continue
				}
				want, _ := strconv.ParseFloat(num, 64)
				if got.Kind() != Number || math.Float64bits(got.Num()) != math.Float64bits(want) {
					t.Errorf("%s: got %s, want %v", line, got.AppendJSON(nil), want)
				}
			}
		}
	}
	// A line that ends inside a number.
	for _, tc := range []struct{ num, msg string }{
		{"1234567.", "unexpected end of input, invalid number: want a digit after '.'"},
		{"1.", "unexpected end of input, invalid number: want a digit after '.'"},
		{"-", `unexpected end of input, invalid number "-": want a digit`},
		{"1234567", "unexpected end of input, expected ',' or '}' after object field"},
		{"12.3456", "unexpected end of input, expected ',' or '}' after object field"},
		{"1e", "unexpected end of input, invalid number: want a digit in the exponent"},
	} {
		line := `{"type":"t","time":0,"n":` + tc.num
		_, err := decodeSlot(t, d, line)
		want := fmt.Sprintf("invalid JSON at byte %d: %s", len(line), tc.msg)
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", line, err, want)
		}
	}
}

// TestStopOrHigh checks stopOrHigh's lowest mark against a byte at a time,
// for every byte at every place after plain bytes and before random ones.
func TestStopOrHigh(t *testing.T) {
	stops := func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80 }
	r := rand.New(rand.NewPCG(1, 2))
	for pos := range 8 {
		for c := range 256 {
			for range 20 {
				var w [8]byte
				for k := range w {
					w[k] = byte(r.Uint32())
					if k < pos {
						w[k] = byte(0x20 + r.IntN(0x60))
						for stops(w[k]) {
							w[k] = byte(0x20 + r.IntN(0x60))
						}
					}
				}
				w[pos] = byte(c)
				want := 8
				for k, b := range w {
					if stops(b) {
						want = k
						break
					}
				}
				if got := bits.TrailingZeros64(stopOrHigh(load64(w[:], 0))) >> 3; got != want {
					t.Fatalf("% x: first stop %d, want %d", w, got, want)
				}
			}
		}
	}
}

// TestDecodeKeyPatterns uses names of every length around the 8 and 16 bytes
// a pattern spans, first and last in the object, with the line ending right
// after them, in one order and then another.
func TestDecodeKeyPatterns(t *testing.T) {
	var paths []string
	for n := 1; n <= 15; n++ {
		paths = append(paths, strings.Repeat(string(rune('a'+n-1)), n))
	}
	// Names that differ only in their second word.
	paths = append(paths, "card_id_1", "card_id_2", "card_id_12", "card_id_123", "card_id_1234", "card_id_12345")
	d := newTestDecoder(paths...)
	line := func(keys []string, pre string) string {
		var b strings.Builder
		b.WriteString("{" + pre)
		for _, k := range keys {
			fmt.Fprintf(&b, "%q:%d,", k, len(k))
		}
		b.WriteString(`"type":"t","time":0}`)
		return b.String()
	}
	reversed := make([]string, len(paths))
	for i, p := range paths {
		reversed[len(paths)-1-i] = p
	}
	swapped := append([]string(nil), paths...)
	for i := 15; i+1 < len(swapped); i += 2 {
		swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
	}
	for _, keys := range [][]string{paths, paths, reversed, reversed, paths[3:9], paths[9:], paths, swapped, paths} {
		for _, pre := range []string{"", " ", "\n\t"} {
			l := line(keys, pre)
			var ev Event
			if err := d.Decode([]byte(l), &ev); err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			checkAgainstStdlib(t, []byte(l), &ev, paths)
		}
	}
	// The last key ends the line: a pattern of two words cannot be read.
	for _, k := range paths {
		for _, l := range []string{
			`{"type":"t","time":0,"` + k + `":1}`,
			`{"type":"t","time":0,"` + k + `":1`,
			`{"type":"t","time":0,"` + k + `"`,
			`{"` + k + `":1,"type":"t","time":0}`,
		} {
			var ev Event
			err := d.Decode([]byte(l), &ev)
			var m map[string]any
			if jerr := json.Unmarshal([]byte(l), &m); (err == nil) != (jerr == nil) {
				t.Fatalf("%s: %v, encoding/json %v", l, err, jerr)
			}
			if err == nil {
				checkAgainstStdlib(t, []byte(l), &ev, paths)
			}
		}
	}
}

// TestDecodeTypeNames decodes more type names than the cache of recent ones
// holds, of every length around 16 bytes and escaped, in turns: each line
// gets its own type, and a type seen before is the same string.
func TestDecodeTypeNames(t *testing.T) {
	var names []string
	for n := 1; n <= 20; n++ {
		names = append(names, strings.Repeat("t", n), strings.Repeat("u", n-1)+"v")
	}
	names = append(names, `esc\u0061ped`, "é", strings.Repeat("x", 70))
	d := newTestDecoder()
	first := map[string]string{}
	for round := range 3 {
		for i, name := range names {
			if round == 1 && i%3 != 0 {
				continue
			}
			line := `{"type":"` + name + `","time":0}`
			var m struct{ Type string }
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			var ev Event
			if err := d.Decode([]byte(line), &ev); err != nil || ev.Type != m.Type {
				t.Fatalf("%s: type %q %v, want %q", line, ev.Type, err, m.Type)
			}
			if s, ok := first[m.Type]; !ok {
				first[m.Type] = ev.Type
			} else if len(s) <= maxInternedLen && unsafe.StringData(s) != unsafe.StringData(ev.Type) {
				t.Errorf("%s: type %q not interned", line, ev.Type)
			}
		}
	}
}

// TestDecodeRepeatedTime checks that the last time field wins whether it or
// an earlier one has the common shape, also when the time is a slot.
func TestDecodeRepeatedTime(t *testing.T) {
	const common, ms = `"2026-01-01T00:00:00.005Z"`, int64(1767225600005) * 1e6
	for _, slot := range []bool{false, true} {
		d := newTestDecoder()
		if slot {
			d = newTestDecoder("time")
		}
		for _, tc := range []struct {
			times string
			want  int64
			err   error
		}{
			{`"time":` + common, ms, nil},
			{`"time":` + common + `,"time":1000`, 1000 * 1e6, nil},
			{`"time":1000,"time":` + common, ms, nil},
			{`"time":` + common + `,"time":"2026-01-01T00:00:01Z"`, ms + 995*1e6, nil},
			{`"time":` + common + `,"time":null`, 0, ErrBadTime},
			{`"time":` + common + `,"time":"2026-13-01T00:00:00.000Z"`, 0, ErrBadTime},
			{`"time":"2026-13-01T00:00:00.000Z","time":` + common, ms, nil},
			{`"time":` + common + `,"time":true`, 0, ErrBadTime},
		} {
			line := `{"type":"t",` + tc.times + `}`
			var ev Event
			err := d.Decode([]byte(line), &ev)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Errorf("slot %v %s: %v, want %v", slot, line, err, tc.err)
				}
				continue
			}
			if err != nil || ev.Time != tc.want {
				t.Errorf("slot %v %s: time %d %v, want %d", slot, line, ev.Time, err, tc.want)
			}
		}
	}
}

// TestDecodeArenaKeepsStrings decodes many lines with strings of every length
// up to past the largest kept in the shared chunks, some escaped, some at
// the end of the line, keeps every event, and checks them all at the end:
// no string copied later may overwrite one handed out before.
func TestDecodeArenaKeepsStrings(t *testing.T) {
	d := newTestDecoder("a", "b")
	r := rand.New(rand.NewPCG(3, 4))
	type kept struct {
		ev             Event
		id, a, b, line string
	}
	var all []kept
	str := func() (raw, want string) {
		n := r.IntN(140)
		var w strings.Builder
		for range n {
			w.WriteByte(byte('a' + r.IntN(26)))
		}
		want = w.String()
		raw = want
		if n > 0 && r.IntN(8) == 0 {
			raw = `\u0041` + want[1:]
			want = "A" + want[1:]
		}
		return raw, want
	}
	for i := range 3000 {
		ra, a := str()
		rb, b := str()
		id := strconv.Itoa(i) + strings.Repeat("i", r.IntN(20))
		line := `{"type":"t","time":0,"id":"` + id + `","a":"` + ra + `","b":"` + rb + `"}`
		if i%2 == 0 {
			line = `{"type":"t","time":0,"b":"` + rb + `","id":"` + id + `","a":"` + ra + `"}`
		}
		var k kept
		if err := d.Decode([]byte(line), &k.ev); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		k.id, k.a, k.b, k.line = id, a, b, line
		all = append(all, k)
	}
	for _, k := range all {
		if k.ev.ID != k.id || k.ev.Fields[0].Str() != k.a || k.ev.Fields[1].Str() != k.b {
			t.Fatalf("%s: id %q a %q b %q", k.line, k.ev.ID, k.ev.Fields[0].Str(), k.ev.Fields[1].Str())
		}
	}
}
