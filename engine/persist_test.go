package engine

import (
	"fmt"
	"testing"

	"github.com/motifcep/motif/checkpoint"
)

// The cache's byte count stays equal to what its entries hold through
// flushes, evictions, read-backs and releases, each entry counted at its
// size in memory (TestCacheBytesMatchHeap checks that against the heap),
// and the timers in memory are those of cached entries: the bound means
// what it says.
func TestCacheAccounting(t *testing.T) {
	s, err := checkpoint.Open(t.TempDir(), checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e, _ := newEngine(t, `pattern p {
    key k
    within 1m
    begin       a: a
    followed_by b: b
}`, Config{Store: s, CacheBytes: 16 << 10, StoreEmpty: true})
	var seq uint64
	for i := range 3000 {
		typ := "a"
		if i%3 == 2 {
			typ = "b"
		}
		if err := push(t, e, &seq, fmt.Sprintf(`{"type":%q,"time":%q,"k":"k%d"}`, typ, at(i/10), i%97)); err != nil {
			t.Fatal(err)
		}
		if i%50 != 49 {
			continue
		}
		b := s.NewBatch()
		if _, err := e.Flush(b); err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(false); err != nil {
			t.Fatal(err)
		}
		var want int64
		cached := 0
		for _, g := range e.groups {
			for _, en := range g.keys.all() {
				want += int64(en.bytes)
				cached++
				if size := en.memSize(e.persist.seen); en.bytes != size {
					t.Fatalf("after event %d: key %q counted as %d bytes, its size is %d", i, en.id, en.bytes, size)
				}
			}
		}
		if got := e.persist.cached; got != want {
			t.Fatalf("after event %d: cache counts %d bytes, its entries hold %d", i, got, want)
		}
		if got := e.persist.cached; got > e.persist.limit {
			t.Fatalf("after event %d: cache holds %d bytes, bound %d", i, got, e.persist.limit)
		}
		if e.timers.len() > cached {
			t.Fatalf("after event %d: %d timers in memory for %d cached keys", i, e.timers.len(), cached)
		}
	}
	if _, loads, evictions := e.CacheStats(); loads == 0 || evictions == 0 {
		t.Fatalf("loads %d, evictions %d: the test did not exercise the store", loads, evictions)
	}
}
