package engine

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/pattern"
)

// mixedPatterns exercise what orders a Parallel's merge: alerts of one
// event from patterns of two key groups, timeouts and absences that fire
// from timers at the same times on many keys, suppress, held matches
// emitted at the end, and the cap on partial matches (a warning).
const mixedPatterns = `
event a { k: string, u: string, v: number }
event b { k: string, u: string, v: number }
event c { u: string }

pattern ab_by_k {
    key k
    within 20s
    begin x: a
    followed_by y: b where v > x.v
    on_timeout emit low "k {key} timed out"
    emit medium "k {key}: {x.v} then {y.v}"
}

pattern a_by_u {
    key u
    within 10s
    begin x: a where v > 5
    emit low "u {key} saw {x.v}"
}

pattern absent_c {
    key u
    within 15s
    begin x: b
    not_followed_by y: c
    emit high "u {key} no c after {x.v}"
}

pattern burst {
    key k
    within 30s
    suppress 20s
    begin x{3,}: a
    emit high "k {key}: {count(x)} a"
}

pattern many {
    key u
    within none
    skip past_last_event
    begin x: a
    followed_by_any y+: b
    followed_by z: c
    emit low "u {key}: {count(y)} b"
}
`

// mixedEvents writes n events over few keys, with times on whole seconds
// so that many events and deadlines fall on the same instant, and some out
// of order (up to 5 s).
func mixedEvents(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	var b bytes.Buffer
	sec := 0
	for i := range n {
		sec += r.IntN(3)
		at := sec - r.IntN(6) // up to 5 s late
		typ := []string{"a", "a", "b", "b", "c"}[r.IntN(5)]
		fmt.Fprintf(&b, `{"type":%q,"id":"e%d","time":%q,"k":"k%d","u":"u%d","v":%d}`+"\n",
			typ, i, t0.Add(time.Duration(at)*time.Second).Format(time.RFC3339), r.IntN(12), r.IntN(7), r.IntN(10))
	}
	return b.Bytes()
}

// runOnce runs src over lines on one Engine (n == 0) or a Parallel of n
// engines and returns the alerts as JSON lines, the late events, the
// warnings and the counters.
func runOnce(t *testing.T, set *pattern.Set, lines []byte, n int, cfg Config) (alerts, late, warnings []string, st Stats, ps []PatternStats) {
	t.Helper()
	rec := &recorder{}
	var logs bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	cfg.Now = func() time.Time { return t0 }
	// Released events are wiped and decoded into again: one released while
	// a partial match holds it would change what later alerts show.
	var pool []*event.Event
	cfg.Recycle = func(ev *event.Event) {
		*ev = event.Event{Type: "recycled"}
		pool = append(pool, ev)
	}
	type runner interface {
		Schema() *event.Schema
		Push(*event.Event) error
		Close()
	}
	var r runner
	var par *Parallel
	var one *Engine
	if n == 0 {
		e, err := New(set, cfg, rec)
		if err != nil {
			t.Fatal(err)
		}
		r, one = e, e
	} else {
		p, err := NewParallel(set, cfg, rec, n)
		if err != nil {
			t.Fatal(err)
		}
		r, par = p, p
	}
	pushLines(t, r.Schema(), bytes.Split(bytes.TrimSpace(lines), []byte("\n")), r.Push, func() *event.Event {
		if k := len(pool); k > 0 {
			ev := pool[k-1]
			pool = pool[:k-1]
			return ev
		}
		return &event.Event{}
	})
	r.Close()
	for _, a := range rec.alerts {
		alerts = append(alerts, string(a.AppendJSON(nil)))
	}
	if one != nil {
		st, ps = one.Stats, one.PatternStats()
	} else {
		st, ps = par.Stats(), par.PatternStats()
	}
	return alerts, rec.late, strings.Split(logs.String(), "\n"), st, ps
}

// checkSet parses and checks a pattern file.
func checkSet(t *testing.T, src string) *pattern.Set {
	t.Helper()
	set, diags := pattern.Compile("t.motif", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return set
}

// TestParallelEqualsEngine: a Parallel of any number of engines emits
// exactly what one Engine does, in the same order, and counts the same.
func TestParallelEqualsEngine(t *testing.T) {
	fraud, fraudLines := fraudInput(t, 20_000, 300, 3)
	cases := []struct {
		name  string
		set   *pattern.Set
		lines []byte
		cfg   Config
		min   int // alerts at least, so that the case tests something
	}{
		{"mixed", checkSet(t, mixedPatterns), mixedEvents(4000, 1), Config{OutOfOrderness: 3 * time.Second, MaxPartialMatches: 4}, 1000},
		{"mixed-in-order", checkSet(t, mixedPatterns), mixedEvents(4000, 2), Config{MaxPartialMatches: 4}, 1000},
		{"fraud", fraud, fraudLines, Config{}, 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, wantLate, wantWarn, wantSt, wantPS := runOnce(t, c.set, c.lines, 0, c.cfg)
			if len(want) < c.min || len(wantLate) == 0 && c.cfg.OutOfOrderness > 0 || len(wantWarn) < 2 && c.cfg.MaxPartialMatches > 0 {
				t.Fatalf("%d alerts, %d late, warnings %q: the case tests little", len(want), len(wantLate), wantWarn)
			}
			for _, n := range []int{1, 2, 3, 4} {
				got, late, warn, st, ps := runOnce(t, c.set, c.lines, n, c.cfg)
				if i := firstDiff(want, got); i >= 0 {
					t.Fatalf("%d engines: alert %d of %d/%d differs:\n one: %s\n got: %s", n, i, len(want), len(got), nth(want, i), nth(got, i))
				}
				if !slices.Equal(late, wantLate) || !slices.Equal(warn, wantWarn) {
					t.Errorf("%d engines: late %v, warnings %q; one engine: %v, %q", n, late, warn, wantLate, wantWarn)
				}
				if st != wantSt || !slices.Equal(ps, wantPS) {
					t.Errorf("%d engines: stats %+v %+v; one engine: %+v %+v", n, st, ps, wantSt, wantPS)
				}
			}
		})
	}
}

func firstDiff(a, b []string) int {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return -1
}

func nth(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}
