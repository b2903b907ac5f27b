package statebench

import (
	"context"
	"encoding/json"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/motifcep/motif/pipeline"
)

func TestMixIsAPermutation(t *testing.T) {
	for _, keys := range []uint64{1, 2, 10, 97, 1000, 4096} {
		for pass := range uint64(3) {
			seen := make([]bool, keys)
			for i := range keys {
				k := Mix(7, pass*keys+i, keys)
				if k >= keys || seen[k] {
					t.Fatalf("keys %d pass %d: user %d twice or out of range", keys, pass, k)
				}
				seen[k] = true
			}
		}
	}
	if Mix(7, 0, 1000) == Mix(7, 1000, 1000) && Mix(7, 1, 1000) == Mix(7, 1001, 1000) {
		t.Error("two passes in the same order")
	}
}

func TestEventsAreJSON(t *testing.T) {
	ev := Events{NoteBytes: 37, Seed: 1}
	for _, line := range [][]byte{ev.A(nil, 12345, 7), ev.B(nil, 12346, 7)} {
		var got struct {
			Type, ID, User, Note string
			Time                 int64
		}
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if got.User != "u7" || got.Time != Start+12345/EventsPerMs {
			t.Errorf("%s: user %q time %d", line, got.User, got.Time)
		}
		if want := map[string]int{"a": 37, "b": 0}[got.Type]; len(got.Note) != want {
			t.Errorf("%s: note of %d bytes, want %d", line, len(got.Note), want)
		}
	}
	if string(ev.A(nil, 1, 1)) == string(ev.A(nil, 2, 1)) {
		t.Error("two events alike")
	}
}

// A pipeline over Input: a's open matches, b's complete them, and only
// released records are read.
func TestInputFeedsAPipeline(t *testing.T) {
	const keys = 2000
	ev := Events{NoteBytes: 10, Seed: 1}
	in := NewInput(func(buf []byte, n uint64) []byte {
		if n < keys {
			return ev.A(buf, n, n)
		}
		return ev.B(buf, n, Mix(1, n-keys, keys))
	})
	r := startPipeline(t, t.TempDir(), in, 0)
	defer r.stop(t)
	in.Release(keys)
	r.waitOffset(t, keys, time.Minute)
	if _, partials := r.stateBytes(); partials != keys {
		t.Fatalf("%d open partial matches, want %d", partials, keys)
	}
	in.Release(keys + keys/2)
	r.waitOffset(t, keys+keys/2, time.Minute)
	if _, partials := r.stateBytes(); partials != keys/2 {
		t.Errorf("%d open partial matches after %d b's, want %d", partials, keys/2, keys/2)
	}
	if st := r.p.Stats(); st.Alerts != keys/2 || st.Invalid != 0 {
		t.Errorf("%d alerts, %d invalid; want %d, 0", st.Alerts, st.Invalid, keys/2)
	}
	if got := in.Taken(); got != keys+keys/2 {
		t.Errorf("took %d records, want %d", got, keys+keys/2)
	}
}

func TestInputPause(t *testing.T) {
	in := NewInput(func(buf []byte, n uint64) []byte { return append(buf, 'x') })
	in.Release(3)
	if err := in.Open(context.Background(), []*uint64{nil}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	read := func(n int) {
		if _, err := in.Read(n, func(int, uint64, pipeline.Record) bool { return true }); err != nil {
			t.Fatal(err)
		}
	}
	read(1)
	time.Sleep(20 * time.Millisecond)
	read(2)
	end := time.Now()
	longest, n := in.Pause(start, end)
	if n != 1 || longest.D < 20*time.Millisecond || longest.D > end.Sub(start) || longest.Start().Before(start) {
		t.Errorf("pause %+v (%d), want one of 20ms or more", longest, n)
	}
	if longest, n := in.Pause(end.Add(time.Second), end.Add(2*time.Second)); n != 0 || longest.D != 0 {
		t.Errorf("pause %+v (%d) outside the run", longest, n)
	}
}

func TestGCPausesQuantile(t *testing.T) {
	buckets := []float64{0, 0.001, 0.002, 0.004, 0.008}
	p := GCPauses{counts: []uint64{90, 9, 0, 1}, buckets: buckets}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, time.Millisecond}, {0.95, 2 * time.Millisecond}, {0.99, 2 * time.Millisecond}, {1, 8 * time.Millisecond}} {
		if got := p.Quantile(c.q); got != c.want {
			t.Errorf("q%v = %v, want %v", c.q, got, c.want)
		}
	}
	earlier := GCPauses{counts: []uint64{90, 9, 0, 0}, buckets: buckets}
	got := p.Since(earlier)
	if got.Count() != 1 || got.Max() != 8*time.Millisecond {
		t.Errorf("since: %d pauses, max %v", got.Count(), got.Max())
	}
	if got := got.Plus(earlier); got.Count() != 100 || got.Quantile(0.5) != time.Millisecond {
		t.Errorf("plus: %d pauses, median %v", got.Count(), got.Quantile(0.5))
	}
	if (GCPauses{}).Quantile(0.99) != 0 {
		t.Error("no pauses, a quantile")
	}
	var names []string
	for _, d := range metrics.All() {
		names = append(names, d.Name)
	}
	if ReadGCPauses().buckets == nil {
		t.Errorf("no /sched/pauses/total/gc:seconds among %v", names)
	}
}

func TestReadMemory(t *testing.T) {
	m := ReadMemory()
	if m.HeapObjects == 0 || m.GoTotal == 0 || m.RSS == 0 {
		t.Errorf("%+v: a zero", m)
	}
	if Written() == 0 {
		t.Error("nothing written so far")
	}
}

// The scenario of BenchmarkOpenMatches, small: most b's find their key in
// the store, not the cache.
func TestOpenMatchesSmall(t *testing.T) {
	const keys = 20000
	m := openMatches(t, keys, keys/4, 256<<10, Events{Seed: 1})
	if m.coldLoads < keys/8 {
		t.Errorf("%d of %d b's read from the store", m.coldLoads, keys/4)
	}
	if m.peak.HeapLive == 0 || m.settled.HeapLive == 0 {
		t.Errorf("no heap figures: %+v %+v", m.peak, m.settled)
	}
}
