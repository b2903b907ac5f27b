package nfa

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unique"
	"unsafe"

	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/internal/golden"
	"github.com/motifcep/motif/pattern"
)

var _ = golden.Update

// testBase is the time of the first event of parseEvents' lists.
var testBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// stepAll compiles src and steps a fresh state through events, returning
// what it needs to go on.
func stepAll(t testing.TB, src, events string) (*Matcher, *State, *Output) {
	t.Helper()
	schema := event.NewSchema()
	m := NewMatcher(compileOne(t, src, schema))
	st := NewState()
	out := &Output{}
	for _, e := range parseEvents(t, schema, events) {
		if m.p.Sees(e.Type) {
			m.Step(st, e, out)
		}
	}
	return m, st, out
}

// compileOne parses, checks and compiles the single pattern in src.
func compileOne(t testing.TB, src string, schema *event.Schema) *Program {
	t.Helper()
	set, diags := pattern.Compile("t.motif", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	prog, err := Compile(set.Patterns[0], Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// parseEvents reads a compact event list: tokens separated by spaces, each
// `ID[:k=v,...][@SECONDS]`. The type is the ID's leading letters, lower-cased
// (A1 and a1 are both of type a). Without @, the n-th event is at n seconds.
// Values are numbers when they parse as numbers, else strings.
func parseEvents(t testing.TB, schema *event.Schema, s string) []*event.Event {
	t.Helper()
	var out []*event.Event
	base := testBase
	for i, tok := range strings.Fields(s) {
		e := &event.Event{Seq: uint64(i + 1), Time: base + int64(i)*int64(time.Second)}
		if at := strings.LastIndexByte(tok, '@'); at >= 0 {
			sec, err := strconv.ParseFloat(tok[at+1:], 64)
			if err != nil {
				t.Fatalf("bad time in %q", tok)
			}
			e.Time = base + int64(sec*float64(time.Second))
			tok = tok[:at]
		}
		var fields string
		if c := strings.IndexByte(tok, ':'); c >= 0 {
			tok, fields = tok[:c], tok[c+1:]
		}
		e.ID = tok
		j := 0
		for j < len(tok) && (tok[j] < '0' || tok[j] > '9') {
			j++
		}
		e.Type = strings.ToLower(tok[:j])
		e.Fields = make([]event.Value, schema.Len())
		if fields != "" {
			for _, kv := range strings.Split(fields, ",") {
				k, v, _ := strings.Cut(kv, "=")
				slot, ok := schema.Lookup(k)
				if !ok {
					continue
				}
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					e.Fields[slot] = event.NumberValue(f)
				} else {
					e.Fields[slot] = event.StringValue(v)
				}
			}
		}
		out = append(out, e)
	}
	return out
}

// runCase runs src over the events and returns the matches, one string each
// ("a1 b1 c1"; timeouts prefixed "timeout: "), in emission order, after the
// end of input.
func runCase(t testing.TB, src, events string) []string {
	t.Helper()
	m, st, out := stepAll(t, src, events)
	m.AdvanceTime(st, math.MaxInt64, out)
	var got []string
	for _, mt := range out.Matches {
		var ids []string
		for _, me := range mt.Events {
			ids = append(ids, me.Event.ID)
		}
		s := strings.Join(ids, " ")
		if mt.Timeout {
			s = "timeout: " + s
		}
		got = append(got, s)
	}
	if st.PartialMatches() == 0 && st.BufferedEvents() != 0 {
		t.Errorf("no partial match left but %d events still buffered", st.BufferedEvents())
	}
	return got
}

func src(header, stages string) string {
	return "pattern p {\n" + header + "\n" + stages + "\n}\n"
}

type nfaCase struct {
	name   string
	src    string
	events string
	want   []string
}

func checkCases(t *testing.T, cases []nfaCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Matches with the same first event come in no particular order
			// (as in FlinkCEP): compare as sorted lists.
			got := runCase(t, c.src, c.events)
			want := append([]string(nil), c.want...)
			slices.Sort(got)
			slices.Sort(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("events %q\n got: %q\nwant: %q", c.events, got, c.want)
			}
		})
	}
}

// TestContiguity ports FlinkCEP's documented contiguity example: pattern
// "a b" over a, c, b1, b2.
func TestContiguity(t *testing.T) {
	checkCases(t, []nfaCase{
		{"strict", src("within none", "begin a: a\nnext b: b\nfollowed_by z?: c"), "a1 c1 b1 b2", nil},
		{"relaxed", src("within none", "begin a: a\nfollowed_by b: b"), "a1 c1 b1 b2", []string{"a1 b1"}},
		{"nondeterministic", src("within none", "begin a: a\nfollowed_by_any b: b"), "a1 c1 b1 b2", []string{"a1 b1", "a1 b2"}},
		{"strict ignores invisible types", src("within none", "begin a: a\nnext b: b"), "a1 x1 b1", []string{"a1 b1"}},
		{"strict broken by visible any", src("within none", "begin a: a\nnext b: b\nfollowed_by z: any where false"), "a1 x1 b1", nil},
	})
}

// TestLoopContiguity ports the documented consecutive() and
// allowCombinations() example: C D A1 A2 A3 D A4 B.
func TestLoopContiguity(t *testing.T) {
	const events = "c1 d1 a1 a2 a3 d2 a4 b1"
	// The stages read `any` so that d events are visible, as in Flink.
	stages := func(mod string) string {
		return src("within none", `begin c: any where type == "c"
followed_by a+`+mod+`: any where type == "a"
followed_by b: any where type == "b"`)
	}
	checkCases(t, []nfaCase{
		{"relaxed", stages(""), events,
			[]string{"c1 a1 b1", "c1 a1 a2 b1", "c1 a1 a2 a3 b1", "c1 a1 a2 a3 a4 b1"}},
		{"consecutive", stages(" consecutive"), events,
			[]string{"c1 a1 b1", "c1 a1 a2 b1", "c1 a1 a2 a3 b1"}},
		{"combinations", stages(" combinations"), events,
			[]string{"c1 a1 b1", "c1 a1 a2 b1", "c1 a1 a3 b1", "c1 a1 a4 b1", "c1 a1 a2 a3 b1", "c1 a1 a2 a4 b1", "c1 a1 a3 a4 b1", "c1 a1 a2 a3 a4 b1"}},
	})
}

// TestSkipStrategies ports the documented after-match skip examples.
func TestSkipStrategies(t *testing.T) {
	bc := func(skip string) string { return src("within none\nskip "+skip, "begin b+: b\nnext c: c") }
	greedy := func(skip string) string {
		return src("within none\nskip "+skip,
			`begin x: any where type in ["a", "b", "c"]
followed_by y: any where type in ["b", "c"]
followed_by z+ greedy: c
followed_by d: d`)
	}
	checkCases(t, []nfaCase{
		{"no_skip", bc("no_skip"), "b1 b2 b3 c1", []string{"b1 b2 b3 c1", "b2 b3 c1", "b3 c1"}},
		{"to_next", bc("to_next"), "b1 b2 b3 c1", []string{"b1 b2 b3 c1", "b2 b3 c1", "b3 c1"}},
		{"past_last_event", bc("past_last_event"), "b1 b2 b3 c1", []string{"b1 b2 b3 c1"}},
		{"to_first", bc("to_first b"), "b1 b2 b3 c1", []string{"b1 b2 b3 c1", "b2 b3 c1", "b3 c1"}},
		{"to_last", bc("to_last b"), "b1 b2 b3 c1", []string{"b1 b2 b3 c1", "b3 c1"}},
		{"greedy no_skip", greedy("no_skip"), "a1 b1 c1 c2 c3 d1", []string{"a1 b1 c1 c2 c3 d1", "b1 c1 c2 c3 d1", "c1 c2 c3 d1"}},
		{"greedy to_first", greedy("to_first z"), "a1 b1 c1 c2 c3 d1", []string{"a1 b1 c1 c2 c3 d1", "c1 c2 c3 d1"}},
		{"loop no_skip", src("within none", "begin a: a\nfollowed_by b+: b"), "a1 b1 b2 b3", []string{"a1 b1", "a1 b1 b2", "a1 b1 b2 b3"}},
		{"loop to_next", src("within none\nskip to_next", "begin a: a\nfollowed_by b+: b"), "a1 b1 b2 b3", []string{"a1 b1"}},
	})
}

// TestQuantifiers covers every quantifier.
func TestQuantifiers(t *testing.T) {
	checkCases(t, []nfaCase{
		{"optional taken", src("within none", "begin a: a\nfollowed_by b?: b\nfollowed_by c: c"), "a1 b1 c1", []string{"a1 b1 c1", "a1 c1"}},
		{"optional absent", src("within none", "begin a: a\nfollowed_by b?: b\nfollowed_by c: c"), "a1 c1", []string{"a1 c1"}},
		{"times", src("within none", "begin a{2}: a\nfollowed_by c: c"), "a1 a2 a3 c1", []string{"a1 a2 c1", "a2 a3 c1"}},
		{"times range", src("within none", "begin a{2,3}: a\nnext c: c"), "a1 a2 a3 c1", []string{"a1 a2 a3 c1", "a2 a3 c1"}},
		{"at least", src("within none", "begin a{2,}: a\nnext c: c"), "a1 a2 a3 c1", []string{"a1 a2 a3 c1", "a2 a3 c1"}},
		{"star", src("within none", "begin s: s\nfollowed_by a*: a\nnext c: c"), "s1 a1 c1", []string{"s1 a1 c1"}},
		{"star empty", src("within none", "begin s: s\nfollowed_by a*: a\nfollowed_by c: c"), "s1 c1", []string{"s1 c1"}},
		{"zero to m", src("within none", "begin s: s\nfollowed_by a{0,2}: a\nnext c: c"), "s1 c1", []string{"s1 c1"}},
		{"until", src("within none", "begin a+: a until v > 5\nfollowed_by c: c"), "a1:v=1 a2:v=9 a3:v=1 c1",
			[]string{"a1 c1", "a3 c1"}},
	})
}

// TestNegation covers not_next and not_followed_by, in the middle and at the end.
func TestNegation(t *testing.T) {
	checkCases(t, []nfaCase{
		{"not_next ok", src("within none", "begin a: a\nnot_next n: b\nfollowed_by c: c"), "a1 d1 c1", []string{"a1 c1"}},
		{"not_next broken", src("within none", "begin a: a\nnot_next n: b\nfollowed_by c: c"), "a1 b1 c1", nil},
		{"not_followed_by ok", src("within none", "begin a: a\nnot_followed_by n: b\nfollowed_by c: c"), "a1 d1 c1", []string{"a1 c1"}},
		{"not_followed_by broken", src("within none", "begin a: a\nnot_followed_by n: b\nfollowed_by c: c"), "a1 d1 b1 c1", nil},
		{"trailing not_followed_by completes at deadline", src("within 10s", "begin a: a\nnot_followed_by n: b"), "a1@0 d1@3", []string{"a1"}},
		{"trailing not_followed_by broken", src("within 10s", "begin a: a\nnot_followed_by n: b"), "a1@0 b1@3", nil},
		{"trailing absence after window is fine", src("within 10s", "begin a: a\nnot_followed_by n: b"), "a1@0 b1@10", []string{"a1"}},
		{"trailing not_next", src("within none", "begin a: a\nnot_next n: b where v > 5"), "a1 b1:v=1", []string{"a1"}},
		{"trailing not_next broken", src("within none", "begin a: a\nnot_next n: b where v > 5"), "a1 b1:v=9", nil},
		{"trailing not_next pending at end", src("within none", "begin a: a\nnot_next n: b"), "a1", nil},
		{"stage within deadline", src("within none", "begin a: a\nnot_followed_by n: b within 5s"), "a1@0 b1@6", []string{"a1"}},
	})
}

// TestTime covers the window, stage bounds, gap and timeouts.
func TestTime(t *testing.T) {
	checkCases(t, []nfaCase{
		{"within strict", src("within 10s", "begin a: a\nfollowed_by b: b"), "a1@0 b1@10", nil},
		{"within", src("within 10s", "begin a: a\nfollowed_by b: b"), "a1@0 b1@9.999", []string{"a1 b1"}},
		{"stage within", src("within none", "begin a: a\nfollowed_by b: b within 2s"), "a1@0 b1@3 a2@4 b2@5", []string{"a2 b2"}},
		{"gap", src("within none\ngap 2s", "begin a: a\nfollowed_by b+: b\nfollowed_by c: c"), "a1@0 b1@1 b2@4 c1@5", []string{}},
		{"timeouts", src("within 10s", "begin a: a\nfollowed_by b: b\non_timeout emit"), "a1@0 x1@20", []string{"timeout: a1"}},
	})
}

// TestIterativeConditions covers conditions that read earlier stages and
// the stage's own events.
func TestIterativeConditions(t *testing.T) {
	checkCases(t, []nfaCase{
		{"previous stage", src("within none", "begin a: a\nfollowed_by b: b where v > a.v"), "a1:v=5 b1:v=3 b2:v=7", []string{"a1 b2"}},
		{"own events", src("within none", "begin a+: a where count(a) < 2\nnext c: c"), "a1 a2 a3 c1", []string{"a2 a3 c1", "a3 c1"}},
		{"aggregate", src("within none", "begin a+ consecutive: a\nnext b: b where v > sum(a.v)"), "a1:v=1 a2:v=2 b1:v=3",
			[]string{"a2 b1"}},
	})
}

func TestGroups(t *testing.T) {
	// FlinkCEP's documented group example: c (a b){2,3} d
	group := src("within none", `begin start: c
followed_by g{2,3}: (
    begin a: a
    next  b: b
)
followed_by end: d`)
	checkCases(t, []nfaCase{
		{"group", group, "c1 a1 b1 a2 b2 d1", []string{"c1 a1 b1 a2 b2 d1"}},
		{"group three", group, "c1 a1 b1 a2 b2 a3 b3 d1", []string{"c1 a1 b1 a2 b2 d1", "c1 a1 b1 a2 b2 a3 b3 d1"}},
		{"group broken", group, "c1 a1 d0 b1 a2 b2 d1", nil},
	})
}

func TestCapBoundsPartialMatches(t *testing.T) {
	schema := event.NewSchema()
	prog := compileOne(t, src("within none", "begin a: a\nfollowed_by_any b+: b\nfollowed_by c: c"), schema)
	prog.MaxRuns = 100
	m := NewMatcher(prog)
	st := NewState()
	var out Output
	evs := "a1"
	for i := 0; i < 200; i++ {
		evs += " b" + strconv.Itoa(i+1)
	}
	for _, e := range parseEvents(t, schema, evs) {
		m.Step(st, e, &out)
	}
	if st.PartialMatches() > 100 {
		t.Fatalf("partial matches = %d, want at most the cap of 100", st.PartialMatches())
	}
	if m.Stats.CapDropped == 0 {
		t.Fatal("cap never bit")
	}
}

// TestHeldMatchReleasedByTimeout: a match held back by the skip strategy is
// emitted as soon as the earlier partial match holding it times out, not at
// the end of input.
func TestHeldMatchReleasedByTimeout(t *testing.T) {
	m, st, out := stepAll(t, src("within 10s\nskip to_next", "begin a: a\nfollowed_by b: b where k == a.k"),
		"a1:k=1@0 a2:k=2@5 b1:k=2@6")
	if len(out.Matches) != 0 {
		t.Fatalf("match emitted while the earlier partial match a1 is open")
	}
	m.AdvanceTime(st, testBase+int64(10*time.Second), out)
	if len(out.Matches) != 1 || out.Matches[0].Events[0].Event.ID != "a2" {
		t.Fatalf("after a1 timed out: %d matches, want {a2 b1}", len(out.Matches))
	}
}

// TestTimeoutSeverityDefaultsToMedium: on_timeout emit does not inherit the
// match emit's severity.
func TestTimeoutSeverityDefaultsToMedium(t *testing.T) {
	m, st, out := stepAll(t, src("within 10s", "begin a: a\nfollowed_by b: b\nemit high\non_timeout emit"), "a1@0")
	m.AdvanceTime(st, math.MaxInt64, out)
	if len(out.Matches) != 1 || !out.Matches[0].Timeout {
		t.Fatalf("want one timeout, got %d matches", len(out.Matches))
	}
	if r := m.Render(&out.Matches[0], nil); r.Severity != "medium" {
		t.Fatalf("timeout severity %q, want medium", r.Severity)
	}
}

// TestCanStart checks the types that may start a partial match, and that a
// type CanStart rules out leaves an empty state empty, with no output.
func TestCanStart(t *testing.T) {
	cases := []struct {
		src   string
		start string // the types that can start, of a b c d x
	}{
		{src("within 1m", "begin a: a\nfollowed_by b: b"), "a"},
		{src("within 1m", "begin a: a where v > 1\nfollowed_by b: b"), "a"},
		{src("within 1m", "begin a?: a\nfollowed_by b: b"), "ab"},
		{src("within 1m", "begin a*: a\nfollowed_by b?: b\nfollowed_by c: c"), "abc"},
		{src("within 1m", "begin a: any where v > 1\nfollowed_by b: b"), "abcdx"},
		{src("within 1m", "begin a: a\nnot_followed_by n: b"), "a"},
		{src("within 1m", "begin a+: a until v > 5\nfollowed_by c: c"), "a"},
		{src("within none", "begin g{2}: (\n begin a: a\n next b: b\n)\nfollowed_by d: d"), "a"},
		{src("within none", "begin g?: (\n begin a: a\n next b: b\n)\nfollowed_by d: d"), "ad"},
	}
	for _, c := range cases {
		schema := event.NewSchema()
		prog := compileOne(t, c.src, schema)
		var got string
		for _, typ := range []string{"a", "b", "c", "d", "x"} {
			if prog.CanStart(typ) {
				got += typ
				continue
			}
			m := NewMatcher(prog)
			st := NewState()
			var out Output
			for _, e := range parseEvents(t, schema, typ+"1:v=9") {
				m.Step(st, e, &out)
			}
			if !st.Idle() || len(out.Matches) > 0 {
				t.Errorf("%s\nCanStart(%q) = false, but a step left %d partial matches and %d matches",
					c.src, typ, st.PartialMatches(), len(out.Matches))
			}
		}
		if got != c.start {
			t.Errorf("%s\ntypes that can start: %q, want %q", c.src, got, c.start)
		}
	}
}

// TestStartsAgreesWithStep checks Matcher.Starts against what a step does
// to a state that holds nothing: for begin conditions on the event alone,
// optional and looping begins, groups, and conditions that reference the
// stage being started (empty at the start).
func TestStartsAgreesWithStep(t *testing.T) {
	srcs := []string{
		src("within 1m", "begin a: a where v > 1\nfollowed_by b: b"),
		src("within 1m", "begin a{3,}: a where v < 2\nfollowed_by b: b where v > 5"),
		src("within 1m", "begin a?: a where v > 5\nfollowed_by b: b where v < 5"),
		src("within 1m", "begin a*: a\nfollowed_by b?: b where v == 1\nfollowed_by c: c"),
		src("within 1m", "begin a: any where v > 1 and v < 8\nfollowed_by b: b"),
		src("within 1m", "begin a+: a where count(a) < 1 or v > 3 until v > 5\nfollowed_by c: c"),
		src("within none", "begin g?: (\n begin a: a where v > 2\n next b: b\n)\nfollowed_by d: d where v < 3"),
		src("within 1m", "begin a: a where exists(w)\nnot_followed_by n: b"),
	}
	events := "a1:v=0 a2:v=2 a3:v=9,w=1 b1:v=1 b2:v=9 c1:v=3 d1:v=1 d2:v=7 x1:v=4"
	for _, s := range srcs {
		schema := event.NewSchema()
		prog := compileOne(t, s, schema)
		m, ref := NewMatcher(prog), NewMatcher(prog)
		started := 0
		for _, e := range parseEvents(t, schema, events) {
			st, refSt := NewState(), NewState()
			var out, refOut Output
			got := m.Starts(e)
			ref.Step(refSt, e, &refOut) // a matcher that was not asked first
			want := !refSt.Idle() || len(refOut.Matches) > 0
			if got != want {
				t.Errorf("%s\nStarts(%s) = %v, but a step left %d partial matches and %d matches",
					s, e.ID, got, refSt.PartialMatches(), len(refOut.Matches))
			}
			// The step after Starts takes the edges Starts found.
			m.Step(st, e, &out)
			if st.PartialMatches() != refSt.PartialMatches() || len(out.Matches) != len(refOut.Matches) {
				t.Errorf("%s\nafter Starts(%s), a step left %d partial matches and %d matches, want %d and %d",
					s, e.ID, st.PartialMatches(), len(out.Matches), refSt.PartialMatches(), len(refOut.Matches))
			}
			if got {
				started++
			}
		}
		if started == 0 {
			t.Errorf("%s\nno event starts a match: the case tests nothing", s)
		}
	}
	schema := event.NewSchema()
	m := NewMatcher(compileOne(t, srcs[0], schema))
	m.Retiring = true
	if m.Starts(parseEvents(t, schema, "a1:v=9")[0]) {
		t.Error("a retiring matcher starts a match")
	}
}

// TestStateOfOneMatchIsOneAllocation checks that a state holding one
// partial match of one event lives in its own room: one allocation, and
// MemSize counts no arrays.
func TestStateOfOneMatchIsOneAllocation(t *testing.T) {
	schema := event.NewSchema()
	m := NewMatcher(compileOne(t, src("within 1m", "begin a: a\nfollowed_by b: b"), schema))
	e := parseEvents(t, schema, "a1")[0]
	var out Output
	var st *State
	allocs := testing.AllocsPerRun(100, func() {
		st = NewState()
		m.Step(st, e, &out)
	})
	if st.PartialMatches() != 1 {
		t.Fatalf("%d partial matches, want 1", st.PartialMatches())
	}
	if allocs != 1 {
		t.Errorf("a new state with one partial match took %v allocations, want 1", allocs)
	}
	if got, want := st.MemSize(), AllocSize(int(unsafe.Sizeof(State{}))); got != want {
		t.Errorf("MemSize = %d, want %d (the state alone)", got, want)
	}
	// A second partial match outgrows the room: the arrays move to the heap.
	e2 := parseEvents(t, schema, "a1 a2")[1]
	m.Step(st, e2, &out)
	if st.PartialMatches() != 2 || st.MemSize() <= AllocSize(int(unsafe.Sizeof(State{}))) {
		t.Errorf("after a second match: %d partial matches, MemSize %d", st.PartialMatches(), st.MemSize())
	}
}

// TestPrefetchChangesNothing prefetches states empty, in their room and
// outgrown, and checks that matching then goes on as if it had not: a
// prefetch is a hint and must neither read past what the state holds nor
// change it.
func TestPrefetchChangesNothing(t *testing.T) {
	schema := event.NewSchema()
	m := NewMatcher(compileOne(t, src("within 1m", "begin a: a\nfollowed_by b: b"), schema))
	evs := parseEvents(t, schema, "a1 a2 b3")
	var out Output
	st := NewState()
	st.Prefetch()
	st.PrefetchEvents()
	for _, e := range evs[:2] {
		m.Step(st, e, &out)
		st.Prefetch()
		st.PrefetchEvents()
	}
	if st.PartialMatches() != 2 {
		t.Fatalf("%d partial matches, want 2", st.PartialMatches())
	}
	m.Step(st, evs[2], &out)
	if len(out.Matches) != 2 {
		t.Fatalf("%d matches after the prefetches, want 2", len(out.Matches))
	}
}

// TestPredicateTypesAreCanonical: a program compares event types with the
// canonical copy of each stage's type name (unique.Make), which the
// decoder gives events, so that the comparison meets the same bytes.
func TestPredicateTypesAreCanonical(t *testing.T) {
	prog := compileOne(t, src("within 1m", "begin a: a\nfollowed_by b: b where x > 1"), event.NewSchema())
	n := 0
	for _, p := range prog.preds {
		if p.typ == "" {
			continue
		}
		n++
		if unsafe.StringData(p.typ) != unsafe.StringData(unique.Make(p.typ).Value()) {
			t.Errorf("the type %q of a predicate is not the canonical copy", p.typ)
		}
	}
	if n != 2 {
		t.Errorf("%d typed predicates, want 2", n)
	}
}
