package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// decodeSlot decodes line with the single slot path and returns its value.
func decodeSlot(t *testing.T, d *Decoder, line string) (Value, error) {
	t.Helper()
	var ev Event
	err := d.Decode([]byte(line), &ev)
	if err != nil {
		return Value{}, err
	}
	return ev.Fields[0], nil
}

func newTestDecoder(paths ...string) *Decoder {
	s := NewSchema()
	for _, p := range paths {
		s.Slot(p)
	}
	return NewDecoder(s, DecoderOptions{RequireTime: true})
}

// TestDecodeStringsAtEveryOffset puts a quote, a backslash escape, a control
// character, a non-ASCII rune and an invalid byte at every offset of the
// 8-byte words that strings are read in, with the string ending at every
// distance from the end of the line, as a value, a key and the id.
func TestDecodeStringsAtEveryOffset(t *testing.T) {
	specials := []struct {
		raw  string // as written in the JSON string
		want string // decoded; "" for an error
	}{
		{`\"`, `"`}, {`\\`, `\`}, {`\/`, `/`}, {`\n`, "\n"}, {`\u00e9`, "é"}, {`\ud83d\ude00`, "😀"},
		{"é", "é"}, {"€", "€"}, {"\xff", "\uFFFD"}, {"\xe2\x82", "\uFFFD\uFFFD"}, {"\u2028", "\u2028"},
		{"\x7f", "\x7f"}, {" ", " "}, {"~", "~"},
		{"\t", ""}, {"\x00", ""}, {"\x1f", ""},
	}
	d := newTestDecoder("s")
	for _, sp := range specials {
		for pre := 0; pre <= 17; pre++ {
			for post := 0; post <= 9; post++ {
				content := strings.Repeat("a", pre) + sp.raw + strings.Repeat("b", post)
				want := strings.Repeat("a", pre) + sp.want + strings.Repeat("b", post)
				// Keys without escapes are matched as they are, invalid UTF-8 included.
				keyName := want
				if !strings.Contains(sp.raw, `\`) {
					keyName = content
				}
				kd := newTestDecoder(keyName)
				for pad := 0; pad <= 9; pad++ {
					tail := "}" + strings.Repeat(" ", pad)
					line := `{"type":"t","time":0,"s":"` + content + `"` + tail
					got, err := decodeSlot(t, d, line)
					checkString(t, line, got, err, sp.want == "", want, len(`{"type":"t","time":0,"s":"`)+pre)

					// As a key: the slot named like the content is found.
					keyLine := `{"type":"t","time":0,"` + content + `":"v"` + tail
					var ev Event
					err = kd.Decode([]byte(keyLine), &ev)
					if sp.want == "" {
						if err == nil {
							t.Errorf("%q: accepted a control character in a key", keyLine)
						}
					} else if err != nil || ev.Fields[0].Str() != "v" {
						t.Errorf("%q: slot %v, %v", keyLine, ev.Fields[0].AppendJSON(nil), err)
					}

					idLine := `{"type":"t","time":0,"id":"` + content + `"` + tail
					err = d.Decode([]byte(idLine), &ev)
					if sp.want == "" {
						if err == nil {
							t.Errorf("%q: accepted a control character in the id", idLine)
						}
					} else if err != nil || ev.ID != want {
						t.Errorf("%q: id %q, %v; want %q", idLine, ev.ID, err, want)
					}
				}
			}
		}
	}
}

func checkString(t *testing.T, line string, got Value, err error, wantErr bool, want string, errOffset int) {
	t.Helper()
	if wantErr {
		var de *DecodeError
		if !errors.As(err, &de) || de.Offset != errOffset || !strings.Contains(de.Msg, "control character") {
			t.Errorf("%q: got %v, want a control character error at %d", line, err, errOffset)
		}
		return
	}
	var m map[string]any
	if jerr := json.Unmarshal([]byte(line), &m); jerr != nil {
		t.Fatalf("%q: encoding/json: %v", line, jerr)
	}
	if err != nil || got.Kind() != String || got.Str() != want || got.Str() != m["s"] {
		t.Errorf("%q: got %v %v, want %q (encoding/json %q)", line, got.AppendJSON(nil), err, want, m["s"])
	}
}

// TestDecodeUnterminatedStrings ends the line inside a string at every
// distance from its start.
func TestDecodeUnterminatedStrings(t *testing.T) {
	d := newTestDecoder("s")
	for n := 0; n <= 20; n++ {
		prefix := `{"type":"t","time":0,"s":"`
		line := prefix + strings.Repeat("x", n)
		_, err := decodeSlot(t, d, line)
		want := fmt.Sprintf("invalid JSON at byte %d: unexpected end of input, unterminated string", len(line))
		if err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", line, err, want)
		}
		line += `\`
		_, err = decodeSlot(t, d, line)
		want = fmt.Sprintf("invalid JSON at byte %d: unexpected end of input, unterminated string", len(line))
		if err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", line, err, want)
		}
	}
}

// TestDecodeNumberEdges checks numbers around the limits of the exact fast
// path against strconv, also as the last value of the line.
func TestDecodeNumberEdges(t *testing.T) {
	nums := []string{
		"0", "-0", "0.0", "-0.0", "1", "-1", "7", "10", "0.5", "208.50", "-74.0060", "103.8211",
		"9007199254740991", "9007199254740992", "9007199254740993", "-9007199254740993", "9007199254740994",
		"900719925474099.3", "900719925474099.5", "9007199254740.993", "0.9007199254740993", "0.9007199254740992",
		"1234567890123456789", "12345678901234567890", "123456789012345678901", "18446744073709551615", "18446744073709551616",
		"0.0000000000000000001", "0.00000000000000000001", "0.0000000000000000000000001", "1.0000000000000000001",
		"1.000000000000000000000001", "4.35", "0.1", "0.3", "123456789.123456789", "1.7976931348623157",
		"1e22", "1e23", "1.5e2", "1E-7", "-0.5e-3", "1e-400", "123456789012345678.9",
		"99999999999999999999999999999", "0.30000000000000004", "5e-324",
	}
	d := newTestDecoder("n")
	for _, num := range nums {
		want, err := strconv.ParseFloat(num, 64)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range []string{
			`{"type":"t","time":0,"n":` + num + `}`,
			`{"type":"t","time":0,"n":` + num + `,"x":"padding to read whole words"}`,
			`{"type":"t","time":0,"n":` + num + ` }`,
		} {
			got, err := decodeSlot(t, d, line)
			if err != nil || got.Kind() != Number || math.Float64bits(got.Num()) != math.Float64bits(want) {
				t.Errorf("%s: got %v %v, want %v", line, got.AppendJSON(nil), err, want)
			}
		}
	}
	for _, bad := range []struct{ num, msg string }{
		{"01", "expected ',' or '}' after object field"},
		{"-", `invalid number "-}": want a digit`},
		{"1.", "invalid number: want a digit after '.'"},
		{"1.e5", "invalid number: want a digit after '.'"},
		{"1e", "invalid number: want a digit in the exponent"},
		{"-01.5", "expected ',' or '}' after object field"},
		{"1.5.5", "expected ',' or '}' after object field"},
		{"1e400", "number 1e400 is out of the range of float64"},
	} {
		line := `{"type":"t","time":0,"n":` + bad.num + `}`
		_, err := decodeSlot(t, d, line)
		if err == nil || !strings.HasSuffix(err.Error(), bad.msg) {
			t.Errorf("%s: %v, want %q", line, err, bad.msg)
		}
	}
}

// TestDecodeTimeShapes checks the time of an event in the common shape and
// others, against time.Parse, across the cache of the last date.
func TestDecodeTimeShapes(t *testing.T) {
	valid := []string{
		"2026-01-01T00:00:00.005Z", "2026-01-01T00:00:00.999Z", "2026-01-01T23:59:59.000Z", "2026-01-02T00:00:00.000Z",
		"2026-01-01T00:00:00.005Z", "2024-02-29T12:00:00.123Z", "2000-02-29T00:00:00.000Z", "1970-01-01T00:00:00.000Z",
		"1969-12-31T23:59:59.999Z", "2262-04-11T23:47:16.854Z", "1677-09-21T00:12:44.000Z", "2026-12-31T10:20:30.456Z",
		"2026-01-01T00:00:00Z", "2026-01-01T00:00:00.5Z", "2026-01-01T00:00:00.12Z", "2026-01-01T00:00:00.1234Z",
		"2026-01-01T00:00:00.123456789Z", "2026-01-01T00:00:00.005+01:00", "2026-01-01T00:00:00.005-05:30",
		"2026-01-01t00:00:00.005z", "2026-01-01T00:00:00.005z", "2026-01-01t00:00:00.005Z",
	}
	d := newTestDecoder()
	for _, s := range valid {
		want, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		if err != nil {
			t.Fatal(err)
		}
		var ev Event
		if err := d.Decode([]byte(`{"type":"t","time":"`+s+`"}`), &ev); err != nil || ev.Time != want.UnixNano() {
			t.Errorf("%s: got %d %v, want %d", s, ev.Time, err, want.UnixNano())
		}
	}
	invalid := []string{
		"2026-02-29T00:00:00.000Z", "2100-02-29T00:00:00.000Z", "2026-04-31T00:00:00.000Z", "2026-13-01T00:00:00.000Z",
		"2026-00-01T00:00:00.000Z", "2026-01-00T00:00:00.000Z", "2026-01-01T24:00:00.000Z", "2026-01-01T00:60:00.000Z",
		"2026-01-01T00:00:60.000Z", "2262-04-11T23:47:16.855Z", "1677-09-21T00:12:43.000Z", "9999-12-31T23:59:59.999Z",
		"2026-01-01T00:00:00.000", "2026-01-01T00:00:00.000ZZ", "2026-01-01 00:00:00.000Z", "2026-01-01T00:00:00,000Z",
		"2026-01-01T00:00:00.00xZ", "+026-01-01T00:00:00.000Z",
	}
	for _, s := range invalid {
		// After a valid time of the same date, so that the date is cached.
		for _, warm := range []string{s[:10] + "T00:00:00.000Z", "2026-01-01T00:00:00.000Z"} {
			var ev Event
			d.Decode([]byte(`{"type":"t","time":"`+warm+`"}`), &ev)
			err := d.Decode([]byte(`{"type":"t","time":"`+s+`"}`), &ev)
			if !errors.Is(err, ErrBadTime) {
				t.Errorf("%s after %s: got %v (%d), want a bad time", s, warm, err, ev.Time)
			}
		}
	}
}

// TestParseMillisZAgrees mutates every byte of a time in the common shape and
// checks that parseMillisZ, when it answers, agrees with parseRFC3339.
func TestParseMillisZAgrees(t *testing.T) {
	var c timeCache
	base := "2024-02-29T23:59:59.999Z"
	repl := "0123456789-:.TZtz +/\x00\xff"
	n := 0
	for i := range len(base) {
		for _, r := range []byte(repl) {
			for _, warm := range []bool{false, true} {
				s := []byte(base)
				s[i] = r
				if warm {
					c.parseMillisZ([]byte(base))
				} else {
					c = timeCache{}
				}
				got, ok := c.parseMillisZ(s)
				want, wantOK := parseRFC3339(string(s))
				if ok && (!wantOK || got != want) {
					t.Errorf("%q: parseMillisZ %d, parseRFC3339 %d %v", s, got, want, wantOK)
				}
				if wantOK && strings.ToUpper(string(s)) == string(s) && !ok {
					t.Errorf("%q: parseMillisZ declined the common shape", s)
				}
				n += b2i(ok)
			}
		}
	}
	if n == 0 {
		t.Error("parseMillisZ never answered")
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestDecodeKeyGuesses decodes lines whose keys come in changing orders, some
// a prefix of others, escaped or spaced, so that the guess of the next key is
// sometimes wrong; every line must decode as encoding/json reads it.
func TestDecodeKeyGuesses(t *testing.T) {
	paths := []string{"lat", "la", "latx", "card_id", "merchant", "k\"q", "a\\b", "é", "geo.lat", "geo.la"}
	d := newTestDecoder(paths...)
	lines := []string{
		`{"type":"t","time":0,"lat":1,"card_id":"c","merchant":"m","geo":{"lat":1,"la":2}}`,
		`{"type":"t","time":0,"la":2,"card_id":"c","merchant":"m","geo":{"la":3,"lat":4}}`,
		`{"type":"t","time":0,"latx":3,"card_id" :"d","merchant":"n"}`,
		`{"type":"t","time":0,"l\u0061t":4,"card_id":"e","merchan":"x","merchant":"o"}`,
		`{"type":"t","time":0,"lat" : 5,"card_idx":"f","card_id":"g"}`,
		`{"type":"t","time":0,"lat":6,"k\"q":7,"a\\b":8,"é":9,"geo":{"lat":1,"la":2}}`,
		`{"type":"t","time":0,"lat":6,"k\"q":7,"a\\b":8,"é":9,"geo":{"lat":1,"la":2}}`,
		`{"type":"t","time":0,"lat":1,"card_id":"c","merchant":"m","geo":{"lat":1,"la":2}}`,
		`{"type":"t","time":0,"lat":1,"card_id":"c","merchant":"m","geo":{"lat":1,"la":2}}`,
		`{"type":"t","time":0,"lat":1}`,
		`{"type":"t","time":0,"lat":1,"c":1}`,
	}
	for range 2 {
		for _, line := range lines {
			var ev Event
			if err := d.Decode([]byte(line), &ev); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			checkAgainstStdlib(t, []byte(line), &ev, paths)
		}
	}
	// A raw quote inside what the guess would read as a name is the end of
	// the key, and the line is not JSON.
	for _, tc := range []struct{ warm, bad string }{
		{`{"type":"t","time":0,"k\"q":1}`, `{"type":"t","time":0,"k"q":1,"x":"padding"}`},
		{`{"type":"t","time":0,"lat":1,"k\"q":1}`, `{"type":"t","time":0,"lat":1,"k"q":1,"x":"padding"}`},
	} {
		var ev Event
		if err := d.Decode([]byte(tc.warm), &ev); err != nil || ev.Fields[5].Num() != 1 {
			t.Fatalf("%s: %v %v", tc.warm, err, ev.Fields[5])
		}
		if err := d.Decode([]byte(tc.bad), &ev); !errors.Is(err, ErrBadJSON) {
			t.Errorf("%s: %v, want bad JSON", tc.bad, err)
		}
	}
}

// TestDecodeFraudMatchesStdlib decodes the fraud workload and compares every
// slot with encoding/json.
func TestDecodeFraudMatchesStdlib(t *testing.T) {
	d := newTestDecoder(fraudPaths...)
	for _, line := range fraudLines(t, 2000) {
		var ev Event
		if err := d.Decode(line, &ev); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		checkAgainstStdlib(t, line, &ev, fraudPaths)
		var m struct {
			Time time.Time
			ID   string
		}
		if err := json.Unmarshal(line, &m); err != nil || ev.Time != m.Time.UnixNano() || ev.ID != m.ID {
			t.Fatalf("%s: time %d id %q, encoding/json %d %q", line, ev.Time, ev.ID, m.Time.UnixNano(), m.ID)
		}
	}
}
