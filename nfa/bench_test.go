package nfa

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/motifcep/motif/event"
)

// BenchmarkStep3 runs a 3-stage followed_by pattern, keyed, over 100k keys
// with state in memory: the per-event cost of routing to a key's state and
// stepping it. Most events start no partial match (type x, or an a that
// fails its condition); those must allocate nothing.
func BenchmarkStep3(b *testing.B) {
	const keys = 100_000
	schema := event.NewSchema()
	prog := compileOne(b, `pattern p {
    key k
    within 10m
    begin       a: a where v > 90
    followed_by b: b where v > a.v
    followed_by c: c
}`, schema)
	m := NewMatcher(prog)
	vslot, _ := schema.Lookup("v")
	kslot, _ := schema.Lookup("k")
	rng := rand.New(rand.NewPCG(1, 2))
	types := []string{"a", "b", "c", "x"}
	const n = 1 << 16
	evs := make([]*event.Event, n)
	names := make([]string, keys)
	for i := range names {
		names[i] = "k" + strconv.Itoa(i)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := range evs {
		f := make([]event.Value, schema.Len())
		f[vslot] = event.NumberValue(float64(rng.IntN(100)))
		f[kslot] = event.StringValue(names[rng.IntN(keys)])
		evs[i] = &event.Event{Type: types[rng.IntN(4)], Time: base + int64(i)*int64(time.Millisecond), ID: "e", Fields: f}
	}
	states := make(map[string]*State, keys)
	var out Output
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := evs[i&(n-1)]
		// Times keep increasing across laps of the event ring.
		e.Time = base + int64(i)*int64(time.Millisecond)
		k := e.Fields[kslot].Str()
		st := states[k]
		if st == nil {
			st = NewState()
			states[k] = st
		}
		out.Reset()
		m.Step(st, e, &out)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestNoAllocsWithoutPartialMatch asserts the hot path: an event that starts
// no partial match allocates nothing.
func TestNoAllocsWithoutPartialMatch(t *testing.T) {
	schema := event.NewSchema()
	prog := compileOne(t, `pattern p {
    key k
    within 10m
    begin       a: a where v > 90
    followed_by b: b where v > a.v
    followed_by c: c
}`, schema)
	m := NewMatcher(prog)
	vslot, _ := schema.Lookup("v")
	st := NewState()
	var out Output
	e := &event.Event{Type: "a", Time: 1, Fields: make([]event.Value, schema.Len())}
	e.Fields[vslot] = event.NumberValue(5)
	allocs := testing.AllocsPerRun(1000, func() {
		e.Time++
		out.Reset()
		m.Step(st, e, &out)
	})
	if allocs != 0 {
		t.Fatalf("Step allocated %v times per event that starts no partial match", allocs)
	}
	e.Type = "x"
	allocs = testing.AllocsPerRun(1000, func() {
		e.Time++
		m.Step(st, e, &out)
	})
	if allocs != 0 {
		t.Fatalf("Step allocated %v times per event of another type", allocs)
	}
}
