package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// propKeys are the keys of generated objects: few, so that keys repeat and
// schema paths hit; some need escaping.
var propKeys = []string{"a", "b", "geo", "k\"q", "é", "x/y", "type"}

type jsonGen struct {
	r   *rand.Rand
	buf []byte
}

func (g *jsonGen) ws() {
	for g.r.IntN(4) == 0 {
		g.buf = append(g.buf, " \t\r\n"[g.r.IntN(4)])
	}
}

func (g *jsonGen) value(depth int) {
	n := 7
	if depth >= 4 {
		n = 5
	}
	switch g.r.IntN(n) {
	case 0:
		g.str(g.randString())
	case 1:
		g.number()
	case 2:
		g.buf = append(g.buf, [...]string{"true", "false", "null"}[g.r.IntN(3)]...)
	case 3, 4:
		if depth < 4 {
			g.object(depth + 1)
			return
		}
		g.number()
	case 5:
		g.buf = append(g.buf, '[')
		for i := range g.r.IntN(4) {
			if i > 0 {
				g.buf = append(g.buf, ',')
			}
			g.ws()
			g.value(depth + 1)
			g.ws()
		}
		g.buf = append(g.buf, ']')
	case 6:
		g.object(depth + 1)
	}
}

func (g *jsonGen) object(depth int) {
	g.buf = append(g.buf, '{')
	for i := range g.r.IntN(6) {
		if i > 0 {
			g.buf = append(g.buf, ',')
		}
		g.ws()
		g.str(propKeys[g.r.IntN(len(propKeys))])
		g.ws()
		g.buf = append(g.buf, ':')
		g.ws()
		g.value(depth)
		g.ws()
	}
	g.buf = append(g.buf, '}')
}

func (g *jsonGen) randString() string {
	const pool = "ab \"\\/\n\t\x01é€😀\u2028<"
	var sb strings.Builder
	runes := []rune(pool)
	for range g.r.IntN(8) {
		if g.r.IntN(20) == 0 {
			sb.WriteByte(0xff) // invalid UTF-8
			continue
		}
		sb.WriteRune(runes[g.r.IntN(len(runes))])
	}
	return sb.String()
}

// str writes s as a JSON string, escaping each character in a random valid way.
func (g *jsonGen) str(s string) {
	g.buf = append(g.buf, '"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			g.buf = append(g.buf, s[i])
			i++
			continue
		}
		i += size
		switch short := map[rune]string{'"': `\"`, '\\': `\\`, '/': `\/`, '\n': `\n`, '\t': `\t`}[r]; {
		case short != "" && g.r.IntN(2) == 0:
			g.buf = append(g.buf, short...)
		case r >= 0x10000:
			if g.r.IntN(2) == 0 {
				g.buf = utf8.AppendRune(g.buf, r)
			} else {
				r -= 0x10000
				g.buf = fmt.Appendf(g.buf, `\u%04x\u%04X`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			}
		case r < 0x20 || r == '"' || r == '\\' || g.r.IntN(4) == 0:
			g.buf = fmt.Appendf(g.buf, `\u%04x`, r)
		default:
			g.buf = utf8.AppendRune(g.buf, r)
		}
	}
	g.buf = append(g.buf, '"')
}

func (g *jsonGen) number() {
	r := g.r
	switch r.IntN(6) {
	case 0:
		g.buf = strconv.AppendInt(g.buf, r.Int64N(1<<53)-1<<52, 10)
	case 1:
		g.buf = strconv.AppendFloat(g.buf, r.NormFloat64()*math.Pow(10, float64(r.IntN(40)-20)), 'g', -1, 64)
	case 2:
		g.buf = strconv.AppendFloat(g.buf, r.Float64()*1000, 'f', r.IntN(18), 64)
	case 3:
		g.buf = strconv.AppendFloat(g.buf, r.NormFloat64(), 'E', r.IntN(20), 64)
	case 4: // random digits, beyond the fast path too
		if r.IntN(2) == 0 {
			g.buf = append(g.buf, '-')
		}
		g.buf = append(g.buf, "123456789"[r.IntN(9)])
		for range r.IntN(25) {
			g.buf = append(g.buf, byte('0'+r.IntN(10)))
		}
		if r.IntN(2) == 0 {
			g.buf = append(g.buf, '.')
			for range 1 + r.IntN(20) {
				g.buf = append(g.buf, byte('0'+r.IntN(10)))
			}
		}
	case 5:
		g.buf = append(g.buf, [...]string{"0", "-0", "0.0", "-0.0", "1e5", "1E-5", "0.1", "9007199254740993"}[r.IntN(8)]...)
	}
}

// propPaths are the schema paths: every path of up to two keys, some of three.
func propPaths() []string {
	var ps []string
	for _, a := range propKeys {
		if a == "type" {
			continue // the fixed field
		}
		ps = append(ps, a)
		for _, b := range propKeys {
			ps = append(ps, a+"."+b)
			ps = append(ps, a+"."+b+".a")
		}
	}
	return ps
}

// fromAny converts what encoding/json decodes into a Value.
func fromAny(x any) Value {
	switch x := x.(type) {
	case nil:
		return Value{}
	case bool:
		return BoolValue(x)
	case float64:
		return NumberValue(x)
	case string:
		return StringValue(x)
	case []any:
		l := make([]Value, len(x))
		for i, e := range x {
			l[i] = fromAny(e)
		}
		return ListValue(l)
	case map[string]any:
		o := &Obj{}
		for k, v := range x {
			o.Keys = append(o.Keys, k)
			o.Vals = append(o.Vals, fromAny(v))
		}
		return ObjectValue(o)
	}
	panic(fmt.Sprintf("unexpected %T", x))
}

func lookupPath(m map[string]any, path string) any {
	var cur any = m
	for part := range strings.SplitSeq(path, ".") {
		o, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = o[part]
	}
	return cur
}

// checkAgainstStdlib compares a successful decode with encoding/json.
func checkAgainstStdlib(t *testing.T, line []byte, ev *Event, paths []string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && strings.HasPrefix(te.Value, "number") {
			return // a skipped number beyond float64, which Decode need not read
		}
		t.Fatalf("Decode accepted what encoding/json rejects (%v):\n%s", err, line)
	}
	if typ, _ := m["type"].(string); typ != ev.Type {
		t.Fatalf("type %q, encoding/json %q:\n%s", ev.Type, typ, line)
	}
	for i, p := range paths {
		want := fromAny(lookupPath(m, p))
		if got := ev.Fields[i]; !Equal(got, want) {
			t.Fatalf("%s = %s, encoding/json %s:\n%s", p, got.AppendJSON(nil), want.AppendJSON(nil), line)
		}
	}
}

func TestDecodeMatchesStdlib(t *testing.T) {
	paths := propPaths()
	s := NewSchema()
	for _, p := range paths {
		s.Slot(p)
	}
	d := NewDecoder(s, DecoderOptions{RequireTime: true})
	g := &jsonGen{r: rand.New(rand.NewPCG(1, 2))}
	var ev Event
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		g.buf = append(g.buf[:0], '{')
		g.ws()
		g.buf = append(g.buf, `"time":1767225600000,`...)
		g.ws()
		g.str("type")
		g.buf = append(g.buf, ':')
		g.str("t" + g.randString())
		for range g.r.IntN(6) {
			g.buf = append(g.buf, ',')
			g.ws()
			g.str(propKeys[g.r.IntN(len(propKeys)-1)])
			g.buf = append(g.buf, ':')
			g.ws()
			g.value(1)
		}
		g.buf = append(g.buf, '}')
		g.ws()
		if err := d.Decode(g.buf, &ev); err != nil {
			var m map[string]any
			if json.Unmarshal(g.buf, &m) == nil {
				t.Fatalf("%v:\n%s", err, g.buf)
			}
			continue // a number out of range, which encoding/json rejects too
		}
		checkAgainstStdlib(t, g.buf, &ev, paths)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		benchLine,
		`{"type":"a","time":"2026-01-01T00:00:00.5+01:00","id":7,"geo":{"country":"US","pos":[1,2]},"é":"\u00e9\ud83d\ude00"}`,
		`{"type":"a","time":0,"a":{"b":{"a":null}},"a":[true,false],"geo":{"type":"x"}}`,
		`{"type":"a","time":0,"x":"\ud800\u0041","k\"q":"\/"}`,
		`{"type":"a","time":1e3,"id":-0} `,
		`{"type":"a","x":[1,]}`,
		"{\"type\":\"a\xff\",\"time\":0}",
		`{"type":"a","zz":-1e400}`,
	} {
		f.Add([]byte(s))
	}
	paths := propPaths()
	s := NewSchema()
	for _, p := range paths {
		s.Slot(p)
	}
	d := NewDecoder(s, DecoderOptions{Now: func() int64 { return 1 }})
	f.Fuzz(func(t *testing.T, line []byte) {
		var ev Event
		err := d.Decode(line, &ev)
		if err == nil {
			if !json.Valid(line) {
				t.Fatalf("accepted invalid JSON:\n%q", line)
			}
			checkAgainstStdlib(t, line, &ev, paths)
			return
		}
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		// Valid JSON is rejected as bad JSON only when it is not an object,
		// too deep, or has a slot number out of float64 range.
		if de.Kind == ErrBadJSON && json.Valid(line) {
			trimmed := bytes.TrimLeft(line, " \t\r\n")
			if len(trimmed) > 0 && trimmed[0] == '{' &&
				!strings.Contains(de.Msg, "nested deeper") && !strings.Contains(de.Msg, "out of the range") {
				t.Fatalf("rejected valid JSON: %v\n%q", err, line)
			}
		}
	})
}
