package checkpoint

import (
	"sync"
	"testing"
	"time"
)

// open opens a Store in dir and closes it when the test ends.
func open(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// reopen closes s and opens its directory again.
func reopen(t testing.TB, s *Store, opts Options) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return open(t, s.Dir(), opts)
}

// commit commits b with sync and fails the test on error.
func commit(t testing.TB, b *Batch) {
	t.Helper()
	if err := b.Commit(true); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// manualClock is a Clock that tests move by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// readAll returns the records of a partition from offset from to the end.
func readAll(t testing.TB, s *Store, partition uint32, from uint64) []string {
	t.Helper()
	var recs []string
	want := from
	err := s.ReadLog(partition, from, 0, func(off uint64, rec []byte) bool {
		if off != want {
			t.Fatalf("ReadLog: offset %d, want %d", off, want)
		}
		want++
		recs = append(recs, string(rec))
		return true
	})
	if err != nil {
		t.Fatalf("ReadLog(%d, %d): %v", partition, from, err)
	}
	return recs
}

// defaultWait bounds every wait on a condition.
const defaultWait = 30 * time.Second
