package alert

import (
	"encoding/json"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/motifcep/motif/event"
)

func ns(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixNano()
}

// example is the alert of language.md §4.
func example() *Alert {
	return &Alert{
		ID: "01JGFJJZ000000000000000000", Pattern: "card_testing", Version: 3, Kind: KindMatch,
		Key: []string{"4111-1111"}, Severity: "high", Message: "card 4111-1111 probed 3 times, then 950",
		Fields: []Field{
			{"probes", event.NumberValue(3)},
			{"total", event.NumberValue(3.5)},
			{"amount", event.NumberValue(950)},
		},
		Events: []StageEvents{{"probe", []string{"e1", "e2", "e4"}}, {"big", []string{"e9"}}},
		Start:  ns("2026-01-01T00:00:00Z"), End: ns("2026-01-01T00:04:00Z"),
	}
}

func TestAppendJSONExample(t *testing.T) {
	want := `{"id":"01JGFJJZ000000000000000000","pattern":"card_testing","version":3,"kind":"match",` +
		`"key":"4111-1111","severity":"high","message":"card 4111-1111 probed 3 times, then 950",` +
		`"fields":{"probes":3,"total":3.5,"amount":950},` +
		`"events":{"probe":["e1","e2","e4"],"big":["e9"]},` +
		`"start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:04:00Z"}`
	if got := string(example().AppendJSON(nil)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestAppendJSONShapes(t *testing.T) {
	tests := []struct {
		name   string
		modify func(a *Alert)
		want   string // a substring
	}{
		{"key null", func(a *Alert) { a.Key = nil }, `"key":null,`},
		{"empty key null", func(a *Alert) { a.Key = []string{} }, `"key":null,`},
		{"key string", func(a *Alert) { a.Key = []string{`a"b`} }, `"key":"a\"b",`},
		{"key list", func(a *Alert) { a.Key = []string{"u1", "d2"} }, `"key":["u1","d2"],`},
		{"no fields", func(a *Alert) { a.Fields = nil }, `"fields":{},"events"`},
		{"no events", func(a *Alert) { a.Events = nil }, `"events":{},"start"`},
		{"seq first", func(a *Alert) { a.Seq = 42 }, `{"seq":42,"id":`},
		{"detected_at last", func(a *Alert) { a.DetectedAt = ns("2026-01-01T00:04:00.120Z") }, `,"detected_at":"2026-01-01T00:04:00.12Z"}`},
		{"nanoseconds, UTC", func(a *Alert) { a.Start = ns("2026-01-01T01:00:00.000000001+01:00") }, `"start":"2026-01-01T00:00:00.000000001Z"`},
		{"field values", func(a *Alert) {
			a.Fields = []Field{
				{"s", event.StringValue("x")}, {"b", event.BoolValue(true)}, {"n", event.NullValue()},
				{"l", event.ListValue([]event.Value{event.NumberValue(1)})},
				{"t", event.TimeValue(0)}, {"d", event.DurationValue(int64(90 * time.Second))},
			}
		}, `"fields":{"s":"x","b":true,"n":null,"l":[1],"t":"1970-01-01T00:00:00Z","d":"1m30s"}`},
		{"timeout", func(a *Alert) { a.Kind = KindTimeout }, `"kind":"timeout"`},
	}
	for _, tc := range tests {
		a := example()
		tc.modify(a)
		if got := string(a.AppendJSON(nil)); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %s\ndoes not contain %s", tc.name, got, tc.want)
		}
	}
	a := example()
	if got := string(a.AppendJSON([]byte("x"))); !strings.HasPrefix(got, `x{"id"`) {
		t.Errorf("AppendJSON does not append: %s", got)
	}
	if m, err := json.Marshal(a); err != nil || string(m) != string(a.AppendJSON(nil)) {
		t.Errorf("MarshalJSON: %s, %v", m, err)
	}
}

func TestRoundTrip(t *testing.T) {
	full := example()
	full.Seq, full.DetectedAt = 7, ns("2026-01-01T00:04:00.5Z")
	full.Key = []string{"a", "b\n"}
	full.Fields = append(full.Fields,
		Field{"o", event.ObjectValue(&event.Obj{Keys: []string{"z", "a"}, Vals: []event.Value{event.NullValue(), event.ListValue([]event.Value{event.BoolValue(false), event.StringValue("é")})}})},
		Field{"neg", event.NumberValue(-1.25e-7)})
	noKey := example()
	noKey.Key, noKey.Fields, noKey.Events = nil, nil, nil
	for _, a := range []*Alert{example(), full, noKey} {
		text := a.AppendJSON(nil)
		var back Alert
		if err := json.Unmarshal(text, &back); err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if again := back.AppendJSON(nil); string(again) != string(text) {
			t.Errorf("round trip:\n%s\n%s", text, again)
		}
		if back.Seq != a.Seq || back.Start != a.Start || back.DetectedAt != a.DetectedAt || len(back.Fields) != len(a.Fields) {
			t.Errorf("round trip lost data: %+v", back)
		}
		for i := range a.Fields {
			if !event.Equal(back.Fields[i].Value, a.Fields[i].Value) || back.Fields[i].Name != a.Fields[i].Name {
				t.Errorf("field %d: %v, want %v", i, back.Fields[i], a.Fields[i])
			}
		}
	}
	var a Alert
	for _, bad := range []string{`[]`, `{"start":"yesterday"}`, `{"id":1}`, `{"id":"x"} {}`, `{"fields":[]}`} {
		if err := a.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("UnmarshalJSON(%s) accepted", bad)
		}
	}
	if err := a.UnmarshalJSON([]byte(`{"id":"x","future":{"a":[1]}}`)); err != nil || a.ID != "x" {
		t.Errorf("unknown keys: %v", err)
	}
}

func TestComputeID(t *testing.T) {
	start := ns("2026-01-01T00:00:00.123Z")
	evs := func() []StageEvents {
		return []StageEvents{{"a", []string{"e1", "e2"}}, {"b", []string{"e3"}}}
	}
	base := ComputeID("p", 1, []string{"k"}, KindMatch, evs(), start)
	if len(base) != 26 || strings.Trim(base, crockford) != "" {
		t.Fatalf("id %q is not 26 Crockford base32 characters", base)
	}
	if again := ComputeID("p", 1, []string{"k"}, KindMatch, evs(), start); again != base {
		t.Fatalf("not deterministic: %s %s", base, again)
	}
	// The first 10 characters are the start in ms.
	ms := new(big.Int)
	for _, c := range base[:10] {
		ms.Lsh(ms, 5).Or(ms, big.NewInt(int64(strings.IndexRune(crockford, c))))
	}
	if ms.Int64() != start/1e6 {
		t.Errorf("time part %d, want %d", ms.Int64(), start/1e6)
	}
	variants := map[string]string{
		"pattern":          ComputeID("q", 1, []string{"k"}, KindMatch, evs(), start),
		"version":          ComputeID("p", 2, []string{"k"}, KindMatch, evs(), start),
		"key":              ComputeID("p", 1, []string{"j"}, KindMatch, evs(), start),
		"key null":         ComputeID("p", 1, nil, KindMatch, evs(), start),
		"key empty part":   ComputeID("p", 1, []string{""}, KindMatch, evs(), start),
		"key split":        ComputeID("p", 1, []string{"k", ""}, KindMatch, evs(), start),
		"kind":             ComputeID("p", 1, []string{"k"}, KindTimeout, evs(), start),
		"stage order":      ComputeID("p", 1, []string{"k"}, KindMatch, []StageEvents{{"b", []string{"e3"}}, {"a", []string{"e1", "e2"}}}, start),
		"event order":      ComputeID("p", 1, []string{"k"}, KindMatch, []StageEvents{{"a", []string{"e2", "e1"}}, {"b", []string{"e3"}}}, start),
		"event moved":      ComputeID("p", 1, []string{"k"}, KindMatch, []StageEvents{{"a", []string{"e1"}}, {"b", []string{"e2", "e3"}}}, start),
		"stage renamed":    ComputeID("p", 1, []string{"k"}, KindMatch, []StageEvents{{"a", []string{"e1", "e2"}}, {"c", []string{"e3"}}}, start),
		"id boundary":      ComputeID("p", 1, []string{"k"}, KindMatch, []StageEvents{{"a", []string{"e1e2"}}, {"b", []string{"e3"}}}, start),
		"stage/id shifted": ComputeID("p", 1, []string{"k"}, KindMatch, []StageEvents{{"a", []string{"e1", "e2", "b"}}, {"e3", nil}}, start),
		"extra event":      ComputeID("p", 1, []string{"k"}, KindMatch, []StageEvents{{"a", []string{"e1", "e2"}}, {"b", []string{"e3", "e4"}}}, start),
		"pattern/key":      ComputeID("pk", 1, []string{""}, KindMatch, evs(), start),
	}
	seen := map[string]string{base: "base"}
	for name, id := range variants {
		if prev, ok := seen[id]; ok {
			t.Errorf("%s gives the same id as %s: %s", name, prev, id)
		}
		seen[id] = name
		if id[:10] != base[:10] {
			t.Errorf("%s changed the time part", name)
		}
	}
	if later := ComputeID("p", 1, []string{"k"}, KindMatch, evs(), start+1e6); later[:10] == base[:10] || later[10:] != base[10:] || later <= base {
		t.Errorf("start: %s vs %s", later, base)
	}
	if id := ComputeID("p", 1, nil, KindMatch, nil, -5e9); id[:10] != "0000000000" {
		t.Errorf("negative start: %s", id)
	}
}

func TestEncodeID(t *testing.T) {
	// Check the bit packing against math/big.
	r := rand.New(rand.NewPCG(7, 8))
	for range 1000 {
		ms := r.Uint64() >> 16
		var h [10]byte
		for i := range h {
			h[i] = byte(r.Uint32())
		}
		want := new(big.Int).SetUint64(ms)
		want.Lsh(want, 80).Or(want, new(big.Int).SetBytes(h[:]))
		got := new(big.Int)
		for _, c := range encodeID(ms, h[:]) {
			got.Lsh(got, 5).Or(got, big.NewInt(int64(strings.IndexRune(crockford, c))))
		}
		if got.Cmp(want) != 0 {
			t.Fatalf("encodeID(%x, %x): %x, want %x", ms, h, got, want)
		}
	}
}

func TestAppendJSONAllocs(t *testing.T) {
	a := example()
	a.Seq, a.DetectedAt = 1, a.End
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf = a.AppendJSON(buf[:0]) }); n != 0 {
		t.Errorf("AppendJSON: %v allocs", n)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	a := example()
	a.DetectedAt = a.End
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = a.AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkComputeID(b *testing.B) {
	a := example()
	b.ReportAllocs()
	for b.Loop() {
		ComputeID(a.Pattern, a.Version, a.Key, a.Kind, a.Events, a.Start)
	}
}
