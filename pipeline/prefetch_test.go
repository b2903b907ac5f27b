package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/internal/wait"
)

// A pattern change while records are read ahead: the records after the
// change are decoded again for the new patterns, whose new field they
// carry, and every one of them alerts.
func TestPatternChangeDecodesReadAheadAgain(t *testing.T) {
	v1 := mustSet(t, `pattern p { key user  begin a: a }`)
	v2 := mustSet(t, `pattern p { key user  begin a: a where amount > 5 }`)
	s := openStore(t, t.TempDir())
	defer s.Close()
	const n, at = 3000, 100
	var lines [][]byte
	for i := range n {
		lines = append(lines, fmt.Appendf(nil, `{"type":"a","user":"u%d","amount":9,"time":"2026-01-01T00:00:%02dZ"}`, i, i/100))
	}
	appendLog(t, s, lines)
	var p *Pipeline
	var released atomic.Bool
	// One record per read: the pipeline stops reading exactly at offset
	// at, with the records after it read ahead.
	p, err := New(Config{Set: v1, Store: s, CommitEvents: 1, Hold: func() bool { return !released.Load() && p.next[0] >= at }})
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, p)
	wait.For(t, "the pipeline to hold at the change", func() bool { return p.Stats().Held })
	if err := p.SetPatterns(context.Background(), Patterns{Set: v2, Version: func(string) int { return 2 }}); err != nil {
		t.Fatal(err)
	}
	released.Store(true)
	wait.For(t, "all events", func() bool { return p.Stats().Offset == n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	v2Alerts := 0
	for _, a := range alertRefs(t, s) {
		if a.Version == 2 {
			v2Alerts++
		}
	}
	if v2Alerts != n-at {
		t.Fatalf("%d alerts of v2, want one per record after the change: %d", v2Alerts, n-at)
	}
}

// A commit that fails while matching goes on ends Run with its error, and
// no later commit is made: a restart resumes from the last commit that
// landed and ends with exactly the alerts of an uninterrupted run.
func TestFailedCommitEndsRun(t *testing.T) {
	set, lines := fraudInput(t, 20000, 2000)
	want := reference(t, set, lines)
	s := openStore(t, t.TempDir())
	defer s.Close()
	appendLog(t, s, lines)
	cfg := Config{Set: set, Store: s, CommitEvents: 300, StateEvents: 3000, StopAtEnd: true}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	var applied atomic.Int64
	p.apply = func(b *checkpoint.Batch) error {
		if applied.Add(1) == 30 {
			b.Close()
			return boom
		}
		return b.Commit(true)
	}
	if err := p.Run(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Run returned %v, want the failed commit's error", err)
	}
	if got := applied.Load(); got != 30 {
		t.Fatalf("%d commits tried, want none after the one that failed (30)", got)
	}
	if st := p.Stats(); st.Commits != 29 || st.CommitFailures != 1 {
		t.Fatalf("%d commits, %d failures; want 29, 1", st.Commits, st.CommitFailures)
	}
	if got := len(logged(t, s)); got == 0 || got >= len(want) {
		t.Fatalf("%d alerts committed before the failure (of %d): the test proves nothing", got, len(want))
	}
	p, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	diffAlerts(t, logged(t, s), want)
}
