package nfa

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/motifcep/motif/event"
)

// BenchmarkStep3 runs a 3-stage followed_by pattern, keyed, over 100k keys
// with state in memory, the way the engine does: the event was just decoded
// (its fields are in cache), its key is looked up in a map of the keys that
// hold state, and a key whose state goes idle is dropped. Most events start
// no partial match (type x, or an a that fails its condition); those must
// allocate nothing.
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
	type input struct {
		typ, key int32
		v        float64
	}
	in := make([]input, n)
	for i := range in {
		in[i] = input{typ: int32(rng.IntN(4)), key: int32(rng.IntN(keys)), v: float64(rng.IntN(100))}
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	states := map[string]*State{}
	var free []*State
	var out Output
	var keyBuf []byte
	// Events come back for reuse as the engine's do: once no state
	// holds them.
	var pool []*event.Event
	fresh := func() *event.Event {
		if k := len(pool); k > 0 {
			e := pool[k-1]
			pool = pool[:k-1]
			return e
		}
		return &event.Event{ID: "e", Fields: make([]event.Value, schema.Len())}
	}
	e := fresh()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x := &in[i&(n-1)]
		// Decode: fill the event's fields, as the decoder does.
		e.Type = types[x.typ]
		e.Time = base + int64(i)*int64(time.Millisecond)
		e.Seq = uint64(i)
		keyBuf = strconv.AppendInt(append(keyBuf[:0], 'k'), int64(x.key), 10)
		e.Fields[vslot] = event.NumberValue(x.v)
		e.Fields[kslot] = event.StringValue("")
		st := states[string(keyBuf)]
		if st == nil {
			if k := len(free); k > 0 {
				st, free = free[k-1], free[:k-1]
			} else {
				st = NewState()
			}
		}
		out.Reset()
		e.Hold()
		m.Step(st, e, &out)
		for _, d := range m.Dropped {
			if d.Drop() {
				pool = append(pool, d)
			}
		}
		clear(m.Dropped)
		m.Dropped = m.Dropped[:0]
		switch {
		case st.Idle():
			delete(states, string(keyBuf))
			free = append(free, st)
		default:
			if _, ok := states[string(keyBuf)]; !ok {
				states[string(keyBuf)] = st
			}
		}
		if !e.Drop() { // a state kept it
			e = fresh()
		}
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
