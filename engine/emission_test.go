package engine

import (
	"bytes"
	"strings"
	"testing"

	"github.com/motifcep/motif/internal/workload"
)

// A durable engine alerts at the same events as the in-memory one, however
// its owner commits, evicts and restarts: a node that takes a partition over
// replays it without output up to where the previous owner's delivered
// alerts end, and needs the alerts before that offset to be exactly those
// the previous owner had made by then.
func TestFlushKeepsEmissionPoints(t *testing.T) {
	var buf bytes.Buffer
	if err := workload.Fraud(&buf, workload.Spec{Name: "fraud", Events: 4000, Keys: 60, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	evs := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// after[i]: the alerts made once event i is pushed.
	run := func(d *durable, every, restart int) []int {
		after := make([]int, len(evs))
		commits := 0
		for i, js := range evs {
			if err := push(t, d.e, &d.seq, js); err != nil {
				t.Fatal(err)
			}
			after[i] = len(d.rec.alerts)
			if i%every != every-1 {
				continue
			}
			d.commit()
			if commits++; restart > 0 && commits%restart == 0 {
				d.start(false)
			}
		}
		return after
	}
	e, rec := newEngine(t, workload.FraudPatterns, Config{})
	want := make([]int, len(evs))
	var seq uint64
	for i, js := range evs {
		if err := push(t, e, &seq, js); err != nil {
			t.Fatal(err)
		}
		want[i] = len(rec.alerts)
	}
	if want[len(want)-1] < 20 {
		t.Fatalf("%d alerts: the fixture exercises nothing", want[len(want)-1])
	}
	for _, tc := range []struct {
		name           string
		cache          int64
		every, restart int
	}{
		{"large cache", 1 << 40, 97, 0},
		{"small cache", 16 << 10, 53, 0},
		{"no cache", 1, 31, 0},
		{"restarts", 1 << 40, 101, 4},
		{"restarts with a small cache", 16 << 10, 59, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := run(newDurableWith(t, tc.cache, workload.FraudPatterns), tc.every, tc.restart)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("after event %d (%s): %d alerts, want %d", i, evs[i], got[i], want[i])
				}
			}
		})
	}
}
