package engine

import (
	"bytes"
	"slices"
	"testing"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/internal/workload"
	"github.com/motifcep/motif/pattern"
)

// TestEventsComeBackWhenFree: an event comes back through Config.Recycle
// once nothing holds it, including one that partial matches kept and let go
// of later, never while a partial match still holds it, and never twice.
// Recycled events are wiped and decoded into again, so a premature one
// changes the alerts: they must equal those of a run that never reuses an
// event.
func TestEventsComeBackWhenFree(t *testing.T) {
	set, in := fraudInput(t, 20_000, 300, 5)
	lines := bytes.Split(bytes.TrimSpace(in), []byte("\n"))

	run := func(t *testing.T, shards int, reuse bool) (alerts []string, made, recycled int) {
		var pool, all []*event.Event
		back := map[*event.Event]bool{} // in the pool now
		cfg := Config{Recycle: func(ev *event.Event) {
			recycled++
			if ev.Held() {
				t.Fatalf("event %s recycled while held", ev.ID)
			}
			if back[ev] {
				t.Fatalf("event %s recycled twice", ev.ID)
			}
			if reuse {
				*ev = event.Event{Type: "recycled", ID: "recycled"}
				back[ev] = true
				pool = append(pool, ev)
			}
		}}
		var sink alertSink
		p, err := NewParallel(set, cfg, &sink, shards)
		if err != nil {
			t.Fatal(err)
		}
		pushLines(t, p.Schema(), lines, p.Push, func() *event.Event {
			if k := len(pool); k > 0 {
				var ev *event.Event
				ev, pool = pool[k-1], pool[:k-1]
				delete(back, ev)
				return ev
			}
			all = append(all, &event.Event{})
			return all[len(all)-1]
		})
		p.Close()
		if reuse {
			for _, ev := range all {
				if !ev.Held() && !back[ev] {
					t.Errorf("event %s is held by nothing but never came back", ev.ID)
				}
			}
		}
		return sink.lines, len(all), recycled
	}
	for _, shards := range []int{1, 2, 3} {
		want, _, _ := run(t, shards, false)
		if len(want) == 0 {
			t.Fatal("no alerts")
		}
		got, made, recycled := run(t, shards, true)
		if !slices.Equal(got, want) {
			t.Fatalf("%d shards: with events reused, %d alerts differ from the %d of a run without reuse", shards, len(got), len(want))
		}
		// Every fraud pattern has a window, which the end of input closes:
		// then nothing holds any event.
		if recycled != len(lines) {
			t.Errorf("%d shards: %d of %d events came back", shards, recycled, len(lines))
		}
		t.Logf("%d shards: %d events allocated, %d recycled", shards, made, recycled)
	}
}

type alertSink struct{ lines []string }

func (s *alertSink) Alert(a *alert.Alert) {
	a.DetectedAt = 0
	s.lines = append(s.lines, string(a.AppendJSON(nil)))
}
func (s *alertSink) Late(*event.Event, int64) {}

// pushLines decodes each line into the event next gives and pushes it, its
// line number (from 1) as its Seq.
func pushLines(t testing.TB, schema *event.Schema, lines [][]byte, push func(*event.Event) error, next func() *event.Event) {
	t.Helper()
	dec := event.NewDecoder(schema, event.DecoderOptions{RequireTime: true})
	for i, l := range lines {
		ev := next()
		if err := dec.Decode(l, ev); err != nil {
			t.Fatal(err)
		}
		ev.Seq = uint64(i + 1)
		if err := push(ev); err != nil {
			t.Fatal(err)
		}
	}
}

// fraudInput returns the fraud workload's patterns and n of its events
// over the given number of keys, as NDJSON.
func fraudInput(t testing.TB, n, keys int, seed uint64) (*pattern.Set, []byte) {
	t.Helper()
	set, err := workload.FraudSet()
	if err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	if err := workload.Fraud(&in, workload.Spec{Name: "fraud", Events: n, Keys: keys, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return set, in.Bytes()
}
