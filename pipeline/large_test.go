package pipeline

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/motifcep/motif/internal/wait"
)

// A million keys with an open partial match each: the states live in
// Pebble, the cache stays within its bound, and the matches are exactly
// the expected ones. (A tenth of the keys under the race detector.)
func TestLargeState(t *testing.T) {
	keys := 1_000_000
	if raceEnabled || testing.Short() {
		keys = 100_000
	}
	set := mustSet(t, `pattern pair {
    key k
    within 1h
    begin       a: A
    followed_by b: B
}`)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	stamp := func(i int) string { return t0.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano) }
	lines := make([][]byte, 0, keys+keys/1000)
	for i := range keys {
		lines = append(lines, fmt.Appendf(nil, `{"type":"A","time":%q,"id":"a%d","k":"k%d"}`, stamp(i), i, i))
	}
	var wantKeys []string
	for i := 0; i < keys; i += 1000 {
		lines = append(lines, fmt.Appendf(nil, `{"type":"B","time":%q,"id":"b%d","k":"k%d"}`, stamp(keys+i), i, i))
		wantKeys = append(wantKeys, fmt.Sprintf("k%d", i))
	}
	s := openStore(t, t.TempDir())
	defer s.Close()
	appendLog(t, s, lines)

	const cache = 8 << 20
	maxCached := int64(0)
	p, err := New(Config{Set: set, Store: s, CommitEvents: 20000, CacheBytes: cache})
	if err != nil {
		t.Fatal(err)
	}
	p.cfg.OnCommit = func(st Stats) {
		// As of the commit: matching goes on while it is synced.
		maxCached = max(maxCached, st.CacheBytes)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	wait.For(t, "every event to be matched", func() bool { return p.Stats().Offset == uint64(len(lines)) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if maxCached > cache {
		t.Errorf("the cache held up to %d bytes after a commit, bound %d", maxCached, cache)
	}
	_, loads, evictions := p.Engine().CacheStats()
	if evictions < uint64(keys/2) {
		t.Errorf("%d evictions for %d keys: the states did not go to Pebble", evictions, keys)
	}
	stored := 0
	if err := s.States("pair", 1, func(key, state []byte) bool { stored++; return true }); err != nil {
		t.Fatal(err)
	}
	if want := keys - len(wantKeys); stored != want {
		t.Errorf("%d states in Pebble, want %d (every key still waiting for B)", stored, want)
	}
	var got []string
	for _, a := range logged(t, s) {
		got = append(got, keyOfAlert(t, a))
	}
	slices.Sort(got)
	slices.Sort(wantKeys)
	if !slices.Equal(got, wantKeys) {
		t.Errorf("%d alerts, want %d (one per key given a B)", len(got), len(wantKeys))
	}
	t.Logf("%d keys: %d evictions, %d loads, cache high-water %d bytes", keys, evictions, loads, maxCached)
}
