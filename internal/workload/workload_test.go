package workload

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func generate(t testing.TB, gen func(io.Writer, Spec) error, s Spec) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := gen(&buf, s); err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	return buf.Bytes()
}

func TestDeterministic(t *testing.T) {
	for _, tc := range []struct {
		name string
		gen  func(io.Writer, Spec) error
	}{{"fraud", Fraud}, {"abc", ABC}} {
		t.Run(tc.name, func(t *testing.T) {
			s := Spec{Name: tc.name, Events: 50_000, Seed: 42}
			a := sha256.Sum256(generate(t, tc.gen, s))
			b := sha256.Sum256(generate(t, tc.gen, s))
			if a != b {
				t.Fatalf("same spec, different bytes: %x vs %x", a, b)
			}
			s.Seed = 43
			if c := sha256.Sum256(generate(t, tc.gen, s)); c == a {
				t.Fatalf("seeds 42 and 43 gave the same bytes")
			}
		})
	}
}

func TestInvalidSpec(t *testing.T) {
	for _, s := range []Spec{{Events: -1}, {Events: 1, Keys: -1}} {
		if err := Fraud(io.Discard, s); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("Fraud(%+v) = %v, want ErrInvalidSpec", s, err)
		}
		if err := ABC(io.Discard, s); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("ABC(%+v) = %v, want ErrInvalidSpec", s, err)
		}
	}
	if out := generate(t, Fraud, Spec{}); len(out) != 0 {
		t.Errorf("zero events wrote %q", out)
	}
}

// decoded is one generated line, checked for the fixed attributes.
type decoded struct {
	typ    string
	millis int64
	fields map[string]any
}

// decodeLines checks that every line is a JSON object with type, a time in
// RFC 3339 UTC with millisecond precision, non-decreasing, by steps in
// [minStep, maxStep] ms, and id "e<line>"; it returns the lines.
func decodeLines(t *testing.T, data []byte, minStep, maxStep int64) []decoded {
	t.Helper()
	var out []decoded
	for i, ln := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			t.Fatalf("line %d %q: %v", i+1, ln, err)
		}
		typ, _ := m["type"].(string)
		ts, _ := m["time"].(string)
		id, _ := m["id"].(string)
		if typ == "" || id != "e"+strconv.Itoa(i+1) {
			t.Fatalf("line %d %q: want a type and id e%d", i+1, ln, i+1)
		}
		tm, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || tm.UTC().Format("2006-01-02T15:04:05.000Z") != ts {
			t.Fatalf("line %d: time %q is not RFC 3339 UTC with ms (%v)", i+1, ts, err)
		}
		d := decoded{typ: typ, millis: tm.UnixMilli(), fields: m}
		if len(out) > 0 {
			if step := d.millis - out[len(out)-1].millis; step < minStep || step > maxStep {
				t.Fatalf("line %d: %d ms after the one before, want %d-%d", i+1, step, minStep, maxStep)
			}
		}
		delete(m, "type")
		delete(m, "time")
		delete(m, "id")
		out = append(out, d)
	}
	return out
}

// checkMix checks the share of each type against want (in %), within tol
// percentage points.
func checkMix(t *testing.T, lines []decoded, want map[string]float64, tol float64) {
	t.Helper()
	n := map[string]int{}
	for _, d := range lines {
		n[d.typ]++
	}
	for typ, pct := range want {
		if got := 100 * float64(n[typ]) / float64(len(lines)); math.Abs(got-pct) > tol {
			t.Errorf("%s: %.2f%% of events, want %.0f%% ± %.1f", typ, got, pct, tol)
		}
	}
}

// fraudShapes lists the fields of each Fraud event type: true if required.
var fraudShapes = map[string]map[string]bool{
	"auth":           {"card_id": true, "user_id": true, "amount": true, "merchant": true, "country": true, "lat": false, "lon": false},
	"refund":         {"card_id": true, "amount": true, "merchant": true},
	"chargeback":     {"card_id": true, "amount": true, "reason": true},
	"login":          {"user_id": true, "device": true, "new_device": true, "country": true},
	"mfa":            {"user_id": true, "ok": true},
	"profile_change": {"user_id": true, "change": true},
}

func TestFraudEvents(t *testing.T) {
	const events = 200_000
	lines := decodeLines(t, generate(t, Fraud, Spec{Events: events, Seed: 7}), 0, FraudMaxStepMs)
	if len(lines) != events {
		t.Fatalf("%d lines, want %d", len(lines), events)
	}
	checkMix(t, lines, map[string]float64{"auth": 70, "refund": 5, "login": 12, "mfa": 10, "chargeback": 3}, 1.5)
	profile := 0
	for i, d := range lines {
		shape, ok := fraudShapes[d.typ]
		if !ok {
			t.Fatalf("line %d: unknown type %q", i+1, d.typ)
		}
		if d.typ == "profile_change" {
			profile++
		}
		for f, required := range shape {
			if _, ok := d.fields[f]; required && !ok {
				t.Fatalf("line %d: %s without %s", i+1, d.typ, f)
			}
		}
		for f, v := range d.fields {
			if _, ok := shape[f]; !ok {
				t.Fatalf("line %d: %s with unexpected field %s", i+1, d.typ, f)
			}
			var good bool
			switch f {
			case "amount", "lat", "lon":
				_, good = v.(float64)
			case "new_device", "ok":
				_, good = v.(bool)
			default:
				_, good = v.(string)
			}
			if !good {
				t.Fatalf("line %d: %s.%s = %#v has the wrong type", i+1, d.typ, f, v)
			}
		}
		if _, lat := d.fields["lat"]; lat != (d.fields["lon"] != nil) {
			t.Fatalf("line %d: lat without lon or the reverse", i+1)
		}
		if c, ok := d.fields["card_id"].(string); ok && d.typ == "auth" {
			if u := d.fields["user_id"].(string); u != "u"+c[1:] {
				t.Fatalf("line %d: card %s with user %s", i+1, c, u)
			}
		}
	}
	if profile == 0 || profile > events/200 {
		t.Errorf("%d profile_change events, want a few", profile)
	}
}

func TestABCEvents(t *testing.T) {
	const events, keys = 100_000, 50
	lines := decodeLines(t, generate(t, ABC, Spec{Events: events, Keys: keys, Seed: 1}), 1, 199)
	if len(lines) != events {
		t.Fatalf("%d lines, want %d", len(lines), events)
	}
	checkMix(t, lines, map[string]float64{"A": 30, "B": 30, "C": 20, "D": 20}, 1)
	users := map[string]bool{}
	for i, d := range lines {
		u, _ := d.fields["user"].(string)
		n, err := strconv.Atoi(strings.TrimPrefix(u, "u"))
		v, ok := d.fields["v"].(float64)
		if len(d.fields) != 2 || !strings.HasPrefix(u, "u") || err != nil || n < 0 || n >= keys ||
			!ok || v != math.Trunc(v) || v < 0 || v > 99 {
			t.Fatalf("line %d: fields %v, want user u0-u%d and v 0-99", i+1, d.fields, keys-1)
		}
		users[u] = true
	}
	if len(users) != keys {
		t.Errorf("%d users, want %d", len(users), keys)
	}
}

func TestCountABCByHand(t *testing.T) {
	at := func(ms int64) string {
		return time.UnixMilli(baseMillis + ms).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	ev := func(typ, user string, ms int64) string {
		return `{"type":"` + typ + `","time":"` + at(ms) + `","user":"` + user + `"}`
	}
	const min10 = 10 * 60 * 1000
	input := strings.Join([]string{
		ev("A", "u1", 0),         // a1
		ev("A", "u2", 1000),      // x1
		ev("B", "u2", 1000),      // y1: same time as x1, after it
		ev("B", "u1", 1000),      // b1
		ev("C", "u2", 1000),      // z1: (x1 y1 z1)                        u2: 1
		ev("C", "u1", 2000),      // c1: (a1 b1 c1)                        u1: 1
		ev("A", "u1", 3000),      // a2
		ev("D", "u1", 3500),      //
		ev("C", "u1", 4000),      // c2: (a1 b1 c2); a2 has no B after it  u1: 2
		ev("B", "u1", 5000),      // b2
		``,                       // blank lines are skipped
		ev("C", "u1", min10),     // c3: a1 exactly 10m before: no; (a2 b2 c3)  u1: 3
		ev("B", "u2", min10+998), // y2
		ev("C", "u2", min10+999), // z2: x1 9m59.999s before: (x1 y1 z2) (x1 y2 z2)  u2: 3
		`{"type":"C","time":` + strconv.FormatInt(baseMillis+min10+999, 10) + `}`, // no user: ignored
		ev("C", "u1", min10+3000), // c4: a2 exactly 10m before: none           u1: 3
	}, "\n")
	got, err := CountABC(strings.NewReader(input))
	if err != nil || got != 6 {
		t.Fatalf("CountABC = %d, %v; want 6", got, err)
	}

	backwards := ev("A", "u1", 5000) + "\n" + ev("B", "u2", 4999)
	if _, err := CountABC(strings.NewReader(backwards)); !errors.Is(err, ErrUnordered) {
		t.Errorf("times going backwards: %v, want ErrUnordered", err)
	}
	if _, err := CountABC(strings.NewReader(ev("A", "u1", 0) + "\n{not json")); err == nil {
		t.Errorf("bad JSON: no error")
	}
}

// naiveCountABC counts the (a, b, c) triples of every user by trying them all.
func naiveCountABC(t *testing.T, lines []decoded) int64 {
	t.Helper()
	byUser := map[string][]decoded{}
	for _, d := range lines {
		u := d.fields["user"].(string)
		byUser[u] = append(byUser[u], d)
	}
	var n int64
	for _, evs := range byUser {
		for i, a := range evs {
			if a.typ != "A" {
				continue
			}
			for j := i + 1; j < len(evs); j++ {
				if evs[j].typ != "B" {
					continue
				}
				for k := j + 1; k < len(evs); k++ {
					if evs[k].typ == "C" && evs[k].millis-a.millis < 10*60*1000 {
						n++
					}
				}
			}
		}
	}
	return n
}

func TestCountABCAgainstNaive(t *testing.T) {
	// 8000 events 100 ms apart on average span more than the 10-minute window.
	data := generate(t, ABC, Spec{Events: 8000, Keys: 3, Seed: 9})
	want := naiveCountABC(t, decodeLines(t, data, 1, 199))
	got, err := CountABC(bytes.NewReader(data))
	if err != nil || got != want {
		t.Fatalf("CountABC = %d, %v; naive count %d", got, err, want)
	}
	if want == 0 {
		t.Fatalf("no matches: the comparison proves nothing")
	}
}

func BenchmarkFraud(b *testing.B) {
	const events = 1_000_000
	for b.Loop() {
		if err := Fraud(io.Discard, Spec{Events: events, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkABC(b *testing.B) {
	const events = 1_000_000
	for b.Loop() {
		if err := ABC(io.Discard, Spec{Events: events, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkCountABC(b *testing.B) {
	const events = 100_000
	data := generate(b, ABC, Spec{Events: events, Seed: 1})
	for b.Loop() {
		if _, err := CountABC(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func TestAppendTime(t *testing.T) {
	l := newLine()
	for _, ms := range []int64{baseMillis, baseMillis + 1, baseMillis + dayMillis - 1, baseMillis + dayMillis,
		baseMillis + 400*dayMillis + 12345678, 0, -1, 951782400000 /* 2000-02-29 */} {
		want := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
		if got := string(l.appendTime(nil, ms)); got != want {
			t.Errorf("appendTime(%d) = %s, want %s", ms, got, want)
		}
	}
}

func TestFixed(t *testing.T) {
	l := newLine()
	for _, tc := range []struct {
		v        int64
		decimals int
		want     string
	}{{1234, 2, "12.34"}, {5, 2, "0.05"}, {-338688, 4, "-33.8688"}, {-1278, 4, "-0.1278"}, {100000, 2, "1000.00"}} {
		l.b = l.b[:0]
		l.fixed("x", tc.v, tc.decimals)
		if got := string(l.b); got != `,"x":`+tc.want {
			t.Errorf("fixed(%d, %d) = %s, want %s", tc.v, tc.decimals, got, tc.want)
		}
	}
}
