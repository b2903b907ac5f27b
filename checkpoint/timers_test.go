package checkpoint

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

type timer struct {
	at      int64
	pattern string
	version uint32
	key     string
}

func (tm timer) String() string {
	return fmt.Sprintf("%d %s/%d/%s", tm.at, tm.pattern, tm.version, tm.key)
}

func collectTimers(t *testing.T, s *Store, upTo int64) []timer {
	t.Helper()
	var got []timer
	err := s.Timers(upTo, func(at int64, p string, v uint32, k []byte) bool {
		got = append(got, timer{at, p, v, string(k)})
		return true
	})
	if err != nil {
		t.Fatalf("Timers(%d): %v", upTo, err)
	}
	return got
}

func TestTimersInEventTimeOrder(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	// Already in (time, pattern, version, key) order.
	sorted := []timer{
		{math.MinInt64, "a", 1, "k"},
		{-10_000_000_000, "b", 1, "k"},
		{-1, "a", 1, "k1"},
		{-1, "a", 1, "k2"},
		{0, "a", 1, ""},
		{0, "a", 2, "k"},
		{0, "ab", 1, "k"},
		{0, "b", 1, "k"},
		{1, "a", 1, "k"},
		{5_000_000_000, "a", 1, "k"},
		{math.MaxInt64, "a", 1, "k"},
	}
	shuffled := append([]timer(nil), sorted...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	b := s.NewBatch()
	for _, tm := range shuffled {
		b.PutTimer(tm.at, tm.pattern, tm.version, []byte(tm.key))
	}
	commit(t, b)

	for _, tc := range []struct {
		upTo int64
		n    int // how many of sorted are due
	}{
		{math.MinInt64, 1},
		{-2, 2},
		{-1, 4},
		{0, 8},
		{4_999_999_999, 9},
		{math.MaxInt64 - 1, 10},
		{math.MaxInt64, 11},
	} {
		got := collectTimers(t, s, tc.upTo)
		if want := sorted[:tc.n]; !reflect.DeepEqual(got, want) {
			t.Errorf("Timers(%d) =\n%v\nwant\n%v", tc.upTo, got, want)
		}
	}

	// Stop early, then delete what fired.
	var first []timer
	if err := s.Timers(0, func(at int64, p string, v uint32, k []byte) bool {
		first = append(first, timer{at, p, v, string(k)})
		return len(first) < 3
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, sorted[:3]) {
		t.Errorf("Timers stopped early = %v, want %v", first, sorted[:3])
	}
	b = s.NewBatch()
	for _, tm := range sorted[:8] {
		b.DeleteTimer(tm.at, tm.pattern, tm.version, []byte(tm.key))
	}
	commit(t, b)
	if got := collectTimers(t, s, math.MaxInt64); !reflect.DeepEqual(got, sorted[8:]) {
		t.Errorf("after deleting the fired timers: %v, want %v", got, sorted[8:])
	}
}

func TestTimersReadOnlyTheDueRange(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	b := s.NewBatch()
	for i := range 1000 {
		b.PutTimer(int64(i), "p", 1, []byte("k"))
	}
	commit(t, b)
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := s.Timers(9, func(at int64, _ string, _ uint32, _ []byte) bool {
		if at > 9 {
			t.Errorf("timer at %d is not due at 9", at)
		}
		n++
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if n != 10 {
		t.Errorf("visited %d timers, want 10", n)
	}
}

func TestTimersHintFindsEarlierTimers(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	put := func(at int64) {
		b := s.NewBatch()
		b.PutTimer(at, "p", 1, nil)
		commit(t, b)
	}
	del := func(at int64) {
		b := s.NewBatch()
		b.DeleteTimer(at, "p", 1, nil)
		commit(t, b)
	}
	put(10)
	put(20)
	if got := collectTimers(t, s, 15); len(got) != 1 || got[0].at != 10 {
		t.Fatalf("Timers(15) = %v", got)
	}
	del(10)
	if got := collectTimers(t, s, 15); len(got) != 0 { // the front is now known empty up to 16
		t.Fatalf("Timers(15) after delete = %v", got)
	}
	put(-5) // before the hint
	if got := collectTimers(t, s, 15); len(got) != 1 || got[0].at != -5 {
		t.Errorf("Timers(15) after an earlier put = %v", got)
	}
	if got := collectTimers(t, s, math.MaxInt64); len(got) != 2 || got[1].at != 20 {
		t.Errorf("Timers(max) = %v", got)
	}

	// A timer committed while a scan runs, behind what the scan finds, is
	// not hidden by the hint that scan leaves.
	err := s.Timers(25, func(at int64, _ string, _ uint32, _ []byte) bool {
		if at == 20 {
			put(-100)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	del(-5)
	if got := collectTimers(t, s, 25); len(got) != 2 || got[0].at != -100 {
		t.Errorf("Timers(25) after a put during a scan = %v", got)
	}
}

// TestTimersHintUnderConcurrency fires timers due before random bounds
// under 500 while another goroutine puts timers at random times under 1000,
// many behind the bounds already scanned: none may be missed.
func TestTimersHintUnderConcurrency(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := rand.New(rand.NewPCG(3, 4))
		for i := range 400 {
			b := s.NewBatch()
			b.PutTimer(r.Int64N(1000), "p", 1, []byte(fmt.Sprint(i)))
			if err := b.Commit(false); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	r := rand.New(rand.NewPCG(5, 6))
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		b := s.NewBatch()
		err := s.Timers(r.Int64N(500), func(at int64, p string, v uint32, k []byte) bool {
			b.DeleteTimer(at, p, v, k)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		commit(t, b)
	}
	// What the hint-guided scan sees must be all that is left.
	var raw []timer
	err := s.scan([]byte{prefixTimer}, []byte{prefixTimer + 1}, "", func(k, _ []byte) (bool, error) {
		at, p, v, key, err := decodeTimerKey(k)
		raw = append(raw, timer{at, string(p), v, string(key)})
		return true, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) == 0 {
		t.Fatal("no timer left: the test checks nothing")
	}
	if got := collectTimers(t, s, math.MaxInt64); !reflect.DeepEqual(got, raw) {
		t.Errorf("Timers missed live timers:\n got %v\nwant %v", got, raw)
	}
}
