package eventtime

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestWatermarksIdle(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	w := NewWatermarks(3, 10*time.Nanosecond, time.Minute, clk.now)
	if w.Current() != math.MinInt64 {
		t.Fatal("watermark before any event")
	}
	w.Observe(0, 100)
	w.Observe(1, 200)
	if got := w.Current(); got != math.MinInt64 {
		t.Fatalf("partition 2 has no event yet and is not idle: got %d", got)
	}
	clk.advance(59 * time.Second)
	w.Observe(0, 110)
	w.Observe(1, 210)
	if w.Idle(2) {
		t.Fatal("idle before the timeout")
	}
	clk.advance(time.Second)
	if !w.Idle(2) || w.Idle(0) {
		t.Fatalf("idle: %v %v %v", w.Idle(0), w.Idle(1), w.Idle(2))
	}
	if got := w.Current(); got != 100 { // min(110, 210) - 10
		t.Fatalf("with 2 idle: %d, want 100", got)
	}
	// Partition 2 comes back behind: the combined watermark does not go back.
	w.Observe(2, 50)
	if w.Idle(2) {
		t.Fatal("an event makes a partition active")
	}
	if got := w.Current(); got != 100 {
		t.Fatalf("after partition 2 came back: %d, want 100 (monotonic)", got)
	}
	w.Observe(2, 300)
	w.Observe(0, 400)
	if got := w.Current(); got != 200 { // min(390, 200, 290)
		t.Fatalf("all active: %d, want 200", got)
	}
	// Everything idle: the max of all.
	clk.advance(time.Minute)
	if !w.Idle(0) || !w.Idle(1) || !w.Idle(2) {
		t.Fatal("not all idle")
	}
	if got := w.Current(); got != 390 {
		t.Fatalf("all idle: %d, want 390", got)
	}
	// One comes back: it alone is active, but the watermark stays at 390.
	w.Observe(1, 220)
	if got := w.Current(); got != 390 {
		t.Fatalf("after all idle: %d, want 390", got)
	}
	w.Observe(1, 1000)
	if got := w.Current(); got != 990 {
		t.Fatalf("one active: %d, want 990", got)
	}
}

func TestWatermarksNoIdleTimeout(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	w := NewWatermarks(2, 0, 0, clk.now)
	w.Observe(0, 5)
	clk.advance(24 * time.Hour)
	if w.Idle(1) || w.Current() != math.MinInt64 {
		t.Fatal("idleness with a zero timeout")
	}
}

func TestWatermarksMonotonic(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	clk := &fakeClock{t: time.Unix(0, 0)}
	w := NewWatermarks(4, time.Duration(r.IntN(100)), 10*time.Second, clk.now)
	prev := w.Current()
	for range 10000 {
		clk.advance(time.Duration(r.IntN(3000)) * time.Millisecond)
		if r.IntN(2) == 0 {
			w.Observe(r.IntN(4), r.Int64N(1e6))
		}
		cur := w.Current()
		if cur < prev {
			t.Fatalf("watermark went back from %d to %d", prev, cur)
		}
		prev = cur
	}
}

// A partition marked active (it has records waiting) holds the watermark
// back past the idle timeout; restored times resume the watermark.
func TestWatermarksActiveAndRestore(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	w := NewWatermarks(2, 0, time.Second, clk.now)
	w.Restore(0, 500, 300)
	w.Restore(1, 400, 300)
	if got := w.Current(); got != 400 {
		t.Fatalf("restored: %d, want 400", got)
	}
	w.Observe(0, 900)
	clk.advance(2 * time.Second)
	w.Active(1) // behind, with a backlog
	w.Observe(0, 1000)
	if w.Idle(1) {
		t.Fatal("a partition with a backlog went idle")
	}
	if got := w.Current(); got != 400 {
		t.Fatalf("partition 1 still holds the watermark: %d, want 400", got)
	}
	clk.advance(2 * time.Second)
	w.Observe(0, 1100)
	if got := w.Current(); got != 1100 {
		t.Fatalf("partition 1 idle: %d, want 1100", got)
	}
}
