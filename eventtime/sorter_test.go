package eventtime

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/motifcep/motif/event"
)

func ev(t int64, seq uint64) *event.Event { return &event.Event{Time: t, Seq: seq} }

// drain pops every poppable event.
func drain(s *Sorter) []*event.Event {
	var out []*event.Event
	for e := s.Pop(); e != nil; e = s.Pop() {
		out = append(out, e)
	}
	return out
}

func seqs(es []*event.Event) []uint64 {
	var out []uint64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

func TestSorterInOrder(t *testing.T) {
	s := NewSorter(0)
	if wm := s.Watermark(); wm != math.MinInt64 {
		t.Fatalf("initial watermark %d", wm)
	}
	if s.Pop() != nil {
		t.Fatal("Pop on an empty sorter")
	}
	for i := range uint64(5) {
		if !s.Push(ev(10+int64(i/2), i)) {
			t.Fatalf("event %d late", i)
		}
		if got := drain(s); len(got) != 1 || got[0].Seq != i {
			t.Fatalf("after push %d: popped %v", i, seqs(got))
		}
	}
	if s.Len() != 0 || s.Watermark() != 12 {
		t.Fatalf("Len %d, watermark %d", s.Len(), s.Watermark())
	}
}

func TestSorterEqualTimesKeepSeqOrder(t *testing.T) {
	s := NewSorter(10 * time.Nanosecond)
	for _, e := range []*event.Event{ev(5, 3), ev(5, 1), ev(4, 9), ev(5, 2), ev(6, 0), ev(5, 4)} {
		s.Push(e)
	}
	if got := drain(s); len(got) != 0 {
		t.Fatalf("popped %v before the watermark", seqs(got))
	}
	s.Close()
	if got := seqs(drain(s)); !slices.Equal(got, []uint64{9, 1, 2, 3, 4, 0}) {
		t.Fatalf("order %v", got)
	}
	// Equal (Time, Seq): Push order.
	s = NewSorter(time.Second)
	a, b, c := ev(7, 0), ev(7, 0), ev(3, 0)
	s.Push(a)
	s.Push(c)
	s.Push(b)
	s.Close()
	if got := drain(s); len(got) != 3 || got[0] != c || got[1] != a || got[2] != b {
		t.Fatal("equal (Time, Seq) not in push order")
	}
}

func TestSorterLateBoundary(t *testing.T) {
	s := NewSorter(5 * time.Nanosecond)
	s.Push(ev(100, 1)) // watermark 95
	if s.Watermark() != 95 {
		t.Fatalf("watermark %d, want 95", s.Watermark())
	}
	if !s.Push(ev(95, 2)) {
		t.Error("time == watermark is not late")
	}
	if s.Push(ev(94, 3)) {
		t.Error("time < watermark is late")
	}
	if s.Len() != 2 {
		t.Errorf("Len %d: a late event was kept", s.Len())
	}
	if got := seqs(drain(s)); !slices.Equal(got, []uint64{2}) {
		t.Errorf("popped %v, want [2]", got)
	}
	s.AdvanceTo(100)
	if got := seqs(drain(s)); !slices.Equal(got, []uint64{1}) {
		t.Errorf("after AdvanceTo(100): %v", got)
	}
	s.AdvanceTo(50) // never lowers
	if s.Watermark() != 100 || s.Push(ev(99, 4)) {
		t.Errorf("AdvanceTo lowered the watermark to %d", s.Watermark())
	}
}

func TestSorterClose(t *testing.T) {
	s := NewSorter(time.Hour)
	for i := range uint64(10) {
		s.Push(ev(int64(10-i), i))
	}
	if s.Pop() != nil {
		t.Fatal("popped before the watermark")
	}
	s.Close()
	if s.Watermark() != math.MaxInt64 {
		t.Fatalf("watermark after Close %d", s.Watermark())
	}
	got := drain(s)
	if len(got) != 10 || !slices.IsSortedFunc(got, func(a, b *event.Event) int { return int(a.Time - b.Time) }) {
		t.Fatalf("after Close: %v", seqs(got))
	}
	if s.Push(ev(1<<62, 99)) {
		t.Error("Push after Close accepted")
	}
}

func TestSorterWatermarkSaturates(t *testing.T) {
	s := NewSorter(time.Hour)
	s.Push(ev(math.MinInt64+1, 0))
	if s.Watermark() != math.MinInt64 {
		t.Fatalf("watermark %d wrapped", s.Watermark())
	}
}

// TestSorterProperty: the output is sorted by (Time, Seq) and is a permutation
// of the events Push accepted; Push rejects exactly the events older than the
// watermark.
func TestSorterProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 300 {
		ooo := time.Duration(r.IntN(50))
		s := NewSorter(ooo)
		var accepted, out []*event.Event
		var base int64
		n := r.IntN(300)
		for i := range n {
			base += int64(r.IntN(5))
			e := ev(base-int64(r.IntN(80)), uint64(i))
			wm := s.Watermark()
			if ok := s.Push(e); ok != (e.Time >= wm) {
				t.Fatalf("round %d: Push(%d) = %v at watermark %d", round, e.Time, ok, wm)
			} else if ok {
				accepted = append(accepted, e)
			}
			if r.IntN(3) == 0 {
				out = append(out, drain(s)...)
			}
			for _, e := range out {
				if e.Time > s.Watermark() {
					t.Fatalf("round %d: popped %d beyond watermark %d", round, e.Time, s.Watermark())
				}
			}
		}
		s.Close()
		out = append(out, drain(s)...)
		if s.Len() != 0 {
			t.Fatalf("round %d: %d left", round, s.Len())
		}
		cmp := func(a, b *event.Event) int {
			if a.Time != b.Time {
				return int(a.Time - b.Time)
			}
			return int(a.Seq) - int(b.Seq)
		}
		if !slices.IsSortedFunc(out, cmp) {
			t.Fatalf("round %d: output not sorted", round)
		}
		slices.SortFunc(accepted, cmp)
		if !slices.Equal(out, accepted) {
			t.Fatalf("round %d: output is not the accepted events", round)
		}
	}
}

func TestSorterInOrderAllocs(t *testing.T) {
	s := NewSorter(0)
	e := ev(0, 0)
	allocs := testing.AllocsPerRun(1000, func() {
		e.Time++
		s.Push(e)
		s.Pop()
	})
	if allocs != 0 || len(s.heap) != 0 || cap(s.heap) != 0 {
		t.Errorf("%v allocs per event, heap used: %d", allocs, cap(s.heap))
	}
}

func BenchmarkSorter(b *testing.B) {
	b.Run("in-order", func(b *testing.B) {
		s := NewSorter(0)
		e := ev(0, 0)
		b.ReportAllocs()
		for b.Loop() {
			e.Time++
			s.Push(e)
			if s.Pop() == nil {
				b.Fatal("nothing popped")
			}
		}
	})
	b.Run("jitter-5s", func(b *testing.B) {
		// One event per millisecond, each up to 5s late; 5s out-of-orderness.
		r := rand.New(rand.NewPCG(1, 1))
		const n = 1 << 16
		events := make([]event.Event, n)
		for i := range events {
			events[i] = event.Event{Time: int64(i)*1e6 - r.Int64N(5e9), Seq: uint64(i)}
		}
		s := NewSorter(5 * time.Second)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			e := &events[i%n]
			if i >= n && i%n == 0 { // next lap: shift times forward
				for j := range events {
					events[j].Time += n * 1e6
				}
			}
			s.Push(e)
			s.Pop()
			i++
		}
	})
}
