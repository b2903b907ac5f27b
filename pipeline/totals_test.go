package pipeline

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/engine"
	"github.com/motifcep/motif/internal/wait"
)

// The totals of stored partial matches and state bytes per pattern version
// equal what the store holds, through evictions, restarts, a store written
// without them, completed matches and expired windows.
func TestStateTotals(t *testing.T) {
	set := mustSet(t, `pattern p { key user  begin a: a  followed_by b: b  within 1m }`)
	s := openStore(t, t.TempDir())
	defer s.Close()
	stored := func() engine.StateTotals {
		var tot engine.StateTotals
		if err := s.States("p", 1, func(_, state []byte) bool {
			c, err := engine.CountState(state)
			if err != nil {
				t.Fatal(err)
			}
			tot.PartialMatches += c.PartialMatches
			tot.StateBytes += c.StateBytes
			tot.States++
			return true
		}); err != nil {
			t.Fatal(err)
		}
		return tot
	}
	check := func(p *Pipeline, what string, partials int64) {
		t.Helper()
		ps := p.Stats().Patterns
		if len(ps) != 1 {
			t.Fatalf("%s: pattern stats %+v", what, ps)
		}
		want := stored()
		if want.PartialMatches != partials {
			t.Fatalf("%s: the store holds %d partial matches, the test expects %d", what, want.PartialMatches, partials)
		}
		if ps[0].PartialMatches != want.PartialMatches || ps[0].StateBytes != want.StateBytes {
			t.Errorf("%s: totals %d partial matches, %d bytes; the store holds %d, %d",
				what, ps[0].PartialMatches, ps[0].StateBytes, want.PartialMatches, want.StateBytes)
		}
		if rec := totalsRecord(t, s); rec != nil && (len(rec) != 1 || !rec[0].StatesCounted || rec[0].States != want.States) {
			t.Errorf("%s: totals record %+v; the store holds %d states", what, rec, want.States)
		}
	}
	// A cache far smaller than the states: most are evicted and read back.
	open := func() *Pipeline {
		p, err := New(Config{Set: set, Store: s, CommitEvents: 7, CacheBytes: 1024})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	feed := func(p *Pipeline, lines [][]byte) {
		t.Helper()
		appendLog(t, s, lines)
		end := s.LogEnd(0)
		stop := running(t, p)
		wait.Within(t, 10*time.Second, "the events to be committed", func() bool { return p.Stats().Offset == end })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
	var lines [][]byte
	for i := range 50 {
		lines = append(lines, ev("a", fmt.Sprintf("u%d", i), i/5))
	}
	p := open()
	feed(p, lines)
	check(p, "50 keys with an open match", 50)
	if _, _, ev := p.Engine().CacheStats(); ev == 0 {
		t.Error("nothing was evicted: the test does not cover states read back")
	}

	check(open(), "restarted", 50)

	b := s.NewBatch()
	b.DeleteMeta("pipeline/0/totals")
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	p = open()
	check(p, "counted from a store without totals", 50)

	// Totals saved before the stored states were counted: counted again.
	feed(p, [][]byte{ev("c", "u0", 10)})
	rec := totalsRecord(t, s)
	for i := range rec {
		rec[i].States, rec[i].StatesCounted = 0, false
	}
	b = s.NewBatch()
	js, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	b.PutMeta("pipeline/0/totals", js)
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	p = open()
	feed(p, [][]byte{ev("c", "u0", 11)})
	check(p, "counted from totals without state counts", 50)

	lines = lines[:0]
	for i := range 10 {
		lines = append(lines, ev("b", fmt.Sprintf("u%d", i), 20))
	}
	feed(p, lines)
	check(p, "ten matches completed", 40)

	// An event two minutes on closes every window.
	p = open()
	feed(p, [][]byte{ev("c", "u0", 59), []byte(`{"type":"c","user":"u0","time":"2026-01-01T00:03:00Z"}`)})
	check(p, "windows closed", 0)
	if ps := p.Stats().Patterns[0]; ps.StateBytes != 0 {
		t.Errorf("no state left, yet %d bytes counted", ps.StateBytes)
	}
}

// totalsRecord reads the totals record of partition 0's pipeline; nil
// if there is none.
func totalsRecord(t *testing.T, s *checkpoint.Store) []engine.StateTotals {
	t.Helper()
	b, ok, err := s.GetMeta("pipeline/0/totals")
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return nil
	}
	var out []engine.StateTotals
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
