package engine

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestTimerQueue drives the queue with random moves, removals and reuses
// of entries and checks, against a plain list, that timers come out in
// (time, group, key) order, each live one once, and that stale timers stay
// bounded.
func TestTimerQueue(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	groups := []*keyGroup{{idx: 0}, {idx: 1}}
	var q timerQueue
	var ens []*entry
	for i := range 2000 {
		g := groups[i%2]
		ens = append(ens, &entry{g: g, id: "k" + strconv.Itoa(i), timer: noDeadline})
	}
	for round := range 20 {
		for range 20000 {
			en := ens[rng.IntN(len(ens))]
			switch rng.IntN(10) {
			case 0:
				q.remove(en)
			case 1: // the entry is reused for another key
				q.remove(en)
				en.id = "k" + strconv.Itoa(rng.IntN(100000))
			default:
				if en.id == "" {
					continue
				}
				// Over 3 buckets in even rounds, over more than
				// the wheel's span in odd ones, so that buckets whose
				// wheel slot another holds go to the map.
				spread := []int{3, 3 * wheelBuckets}[round%2]
				q.set(en, int64(round+rng.IntN(spread))<<bucketShift+rng.Int64N(1<<bucketShift), noDeadline)
			}
			if stale := q.stored - q.live; stale > q.live/2+1024 {
				t.Fatalf("%d stale timers beside %d live ones", stale, q.live)
			}
		}
		var want []*entry
		for _, en := range ens {
			if en.timer != noDeadline {
				want = append(want, en)
			}
		}
		if q.len() != len(want) {
			t.Fatalf("len() = %d, %d entries have a timer", q.len(), len(want))
		}
		slices.SortFunc(want, func(a, b *entry) int {
			return cmp.Or(cmp.Compare(a.timer, b.timer), cmp.Compare(a.g.idx, b.g.idx), cmp.Compare(a.id, b.id))
		})
		// Fire half of them, in order.
		for _, en := range want[:len(want)/2] {
			tm := q.first(en.timer)
			if tm == nil || tm.en != en || tm.at != en.timer {
				t.Fatalf("round %d: first timer %+v, want %s at %d", round, tm, en.id, en.timer)
			}
			q.remove(en)
		}
		if rest := want[len(want)/2:]; len(rest) > 0 {
			if tm := q.first(rest[0].timer - 1); tm != nil {
				t.Fatalf("round %d: timer at %d is due before %d", round, tm.at, rest[0].timer)
			}
		}
	}
}

// TestTimerQueueGivesMemoryBack: once most keys leave (evicted or
// released), a compaction leaves the queue's arrays about the size of the
// live timers, not of the most it ever held.
func TestTimerQueueGivesMemoryBack(t *testing.T) {
	g := &keyGroup{}
	var q timerQueue
	var ens []*entry
	for i := range 200_000 {
		en := &entry{g: g, id: "k" + strconv.Itoa(i), timer: noDeadline}
		ens = append(ens, en)
		// 2000 a bucket, over 100 one-second buckets.
		q.set(en, int64(i%100)<<bucketShift, noDeadline)
	}
	q.first(0) // the first bucket enters the heap
	for _, en := range ens[:len(ens)-1000] {
		q.remove(en)
	}
	room := cap(q.near) // the emptied buckets kept for reuse are bounded apart
	q.eachBucket(func(ts *[]timer) { room += cap(*ts) })
	if live := q.len(); live != 1000 || room > 4*live+(q.buckets.len()+1)*minTimerCap {
		t.Fatalf("%d live timers, room for %d in %d buckets", live, room, q.buckets.len())
	}
}

// TestBucketQueueOrder: buckets come out of the queue smallest first,
// whether they come in nearly in order (the run) or in any order (the
// heap), with pops among the pushes.
func TestBucketQueueOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name string
		next func(last int64) int64
	}{
		{"any order", func(int64) int64 { return r.Int64N(5000) }},
		{"mostly later", func(last int64) int64 {
			if r.IntN(10) == 0 {
				return last - r.Int64N(50)
			}
			return last + 1 + r.Int64N(3)
		}},
	} {
		var q bucketQueue
		queued := map[int64]bool{}
		var want []int64
		last := int64(1000)
		for i := range 5000 {
			b := tc.next(last)
			if queued[b] {
				continue // a bucket is queued once
			}
			last = max(last, b)
			q.push(b)
			queued[b] = true
			want = append(want, b)
			if i%3 == 2 { // pops among the pushes
				slices.Sort(want)
				if got := q.pop(); got != want[0] {
					t.Fatalf("%s: pop %d, want %d", tc.name, got, want[0])
				}
				delete(queued, want[0])
				want = want[1:]
			}
			if q.len() != len(want) {
				t.Fatalf("%s: len %d, want %d", tc.name, q.len(), len(want))
			}
		}
		slices.Sort(want)
		for _, w := range want {
			if m := q.min(); m != w {
				t.Fatalf("%s: min %d, want %d", tc.name, m, w)
			}
			if got := q.pop(); got != w {
				t.Fatalf("%s: pop %d, want %d", tc.name, got, w)
			}
		}
		if q.len() != 0 {
			t.Fatalf("%s: %d left", tc.name, q.len())
		}
	}
}

// A key whose partial matches expire without output wakes once, when the
// last of them has expired, not once per partial match: in between it
// holds what it held at its last event, and a timer per expiry would read
// a cold key again and again.
func TestSilentDeadlinesWakeOnce(t *testing.T) {
	e, rec := newEngine(t, `pattern p {
    key k
    within 10s
    begin       a: a
    followed_by b: b
}`, Config{})
	var seq uint64
	a := func(sec int, k string) {
		t.Helper()
		if err := push(t, e, &seq, fmt.Sprintf(`{"type":"a","time":%q,"k":%q}`, at(sec), k)); err != nil {
			t.Fatal(err)
		}
	}
	a(0, "x")  // expires at 10 s
	a(3, "x")  // expires at 13 s
	a(11, "y") // moves the watermark past 10 s
	x := entryOf(t, e, "x")
	if want := t0.Add(13 * time.Second).UnixNano(); x.timer != want {
		t.Fatalf("x wakes at %v, want %v (its last deadline)", time.Unix(0, x.timer).UTC(), time.Unix(0, want).UTC())
	}
	if n := x.states[0].PartialMatches(); n != 2 {
		t.Fatalf("x holds %d partial matches before its wake, want 2", n)
	}
	a(14, "y")
	if n := keys(e); n != 1 {
		t.Fatalf("%d keys hold state after x's last deadline, want 1 (y)", n)
	}
	if got := e.MatcherStats()["p"].Timeouts; got != 2 {
		t.Fatalf("%d timeouts, want 2 (both of x's)", got)
	}
	if len(rec.alerts) != 0 {
		t.Fatalf("alerts %v, want none", rec.alerts)
	}
}

// entryOf returns the entry of the one-part key k.
func entryOf(t *testing.T, e *Engine, k string) *entry {
	t.Helper()
	for _, g := range e.groups {
		for id, en := range g.keys.all() {
			if p := partsOf(id); len(p) == 1 && p[0] == k {
				return en
			}
		}
	}
	t.Fatalf("no entry for key %q", k)
	return nil
}
