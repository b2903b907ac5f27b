package engine

import (
	"testing"

	"github.com/motifcep/motif/event"
)

// PatternStats counts every open partial match at any moment, not only
// at a Flush: those of cached keys as they are now (changed, released,
// read back since the last Flush) and those of keys only in the store.
func TestPartialMatchesBetweenFlushes(t *testing.T) {
	d := newDurable(t, 16<<10) // a small cache: keys leave it and come back
	events := timerEvents(4000, 300)
	checked := 0
	for i, line := range events {
		ev := d.e.NewEvent()
		if err := event.NewDecoder(d.e.Schema(), event.DecoderOptions{RequireTime: true}).Decode([]byte(line), ev); err != nil {
			t.Fatal(err)
		}
		d.seq++
		ev.Seq = d.seq
		if err := d.e.Push(ev); err != nil {
			t.Fatal(err)
		}
		if i%97 == 0 {
			checkPartials(t, d)
			checked++
		}
		if i%250 == 249 {
			d.commit()
		}
	}
	if checked < 40 {
		t.Fatalf("checked %d times", checked)
	}
}

// checkPartials compares PatternStats with a count over the cached keys
// and the stored states of the keys that are not cached and not released.
func checkPartials(t *testing.T, d *durable) {
	t.Helper()
	want := map[string]int64{}
	cached := map[string]bool{}
	for _, g := range d.e.groups {
		for id, en := range g.keys.all() {
			for i, st := range en.states {
				rt := g.pats[i]
				cached[rt.prog.Name+"\x00"+id] = true
				if st != nil {
					want[rt.prog.Name] += int64(st.PartialMatches())
				}
			}
		}
	}
	// A released key may have left the cache with its stored states still
	// in the store until the next Flush deletes them (its tomb).
	for _, tb := range d.e.persist.tombs {
		for i, s := range tb.stored {
			if s.at != noStored {
				cached[tb.g.pats[i].prog.Name+"\x00"+tb.id] = true
			}
		}
	}
	if err := d.s.AllStates(func(pattern string, _ uint32, key, state []byte) bool {
		if cached[pattern+"\x00"+string(key)] {
			return true
		}
		c, err := CountState(state)
		if err != nil {
			t.Fatal(err)
		}
		want[pattern] += c.PartialMatches
		return true
	}); err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	for _, ps := range d.e.PatternStats() {
		if ps.PartialMatches != want[ps.Name] {
			t.Fatalf("after %d events: %s has %d open partial matches, PatternStats says %d", d.seq, ps.Name, want[ps.Name], ps.PartialMatches)
		}
		total += ps.PartialMatches
	}
	if d.seq > 1000 && total == 0 {
		t.Fatalf("after %d events no open partial match: the test proves nothing", d.seq)
	}
}
