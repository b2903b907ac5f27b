package pipeline

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/motifcep/motif/event"
)

// Commits between the ones that write key states carry alerts only. A
// pipeline that dies right after such a commit resumes from the last
// states, replays the records up to where its alerts end without output,
// and ends with exactly the alerts of an uninterrupted run: none missing,
// none twice.
func TestCrashBetweenStateCommits(t *testing.T) {
	set, lines := fraudInput(t, 20000, 2000)
	want := reference(t, set, lines)
	dir := t.TempDir()
	s := openStore(t, dir)
	appendLog(t, s, lines)

	cfg := Config{Set: set, Store: s, CommitEvents: 300, StateEvents: 5000, StopAtEnd: true}
	var atDeath Stats
	var states, alertsAtStates uint64 // as of the last commit with states
	cfg.OnCommit = func(st Stats) {
		if st.StateCommits != states {
			states, alertsAtStates = st.StateCommits, st.Alerts
			return
		}
		if states > 0 && st.Alerts > alertsAtStates && st.Commits > 3*st.StateCommits {
			atDeath = st
			runtime.Goexit() // dies here: nothing more is committed
		}
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var runErr error
	done := make(chan struct{})
	go func() {
		defer close(done) // also when OnCommit ends the goroutine
		runErr = p.Run(context.Background())
	}()
	<-done
	if runErr != nil {
		t.Fatal(runErr)
	}
	if atDeath.Commits == 0 {
		t.Fatal("the run ended before a commit without states followed one with: the test proves nothing")
	}
	if atDeath.StateCommits >= atDeath.Commits {
		t.Fatalf("%d of %d commits carried states", atDeath.StateCommits, atDeath.Commits)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir)
	defer s.Close()
	cfg.Store, cfg.OnCommit = s, nil
	p, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Stats().Offset; got >= atDeath.Offset {
		t.Fatalf("resumed at offset %d: the commit at %d carried no states, so the restart must start before it", got, atDeath.Offset)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if q := p.Stats().Quieted; q == 0 {
		t.Error("the restart replayed no alert without output: the alerts after the last states went unchecked")
	}
	if d := p.Stats().DuplicateAlerts; d != 0 {
		t.Errorf("the restart made %d alerts already committed", d)
	}
	diffAlerts(t, logged(t, s), want)
}

// By default the key states are written every half a million events (or
// ten seconds, or when the cache is full): a commit with states over many
// short-lived keys costs more than matching a hundred thousand events.
func TestDefaultStateCadence(t *testing.T) {
	set, _ := fraudInput(t, 10, 10)
	s := openStore(t, t.TempDir())
	defer s.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p, err := New(Config{Set: set, Store: s, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		events int
		due    bool
	}{
		{100_000, false},
		{DefaultStateEvents - 1, false},
		{DefaultStateEvents, true},
	} {
		p.sinceState = tc.events
		if got := p.statesDue(); got != tc.due {
			t.Errorf("%d events since the last states: states due %v, want %v", tc.events, got, tc.due)
		}
	}
	p.sinceState = 0
	now = now.Add(DefaultStateInterval)
	if !p.statesDue() {
		t.Errorf("states not due %v after the last", DefaultStateInterval)
	}
}

// TestStatesDueBeforeChangesOutgrowTheCache: the states are written before
// the cache and the batch they make outgrow the cache's bound together: a
// commit encodes the changed keys into one batch, memory beside the cache
// until it is applied. A batch still in flight counts too.
func TestStatesDueBeforeChangesOutgrowTheCache(t *testing.T) {
	set, lines := fraudInput(t, 40_000, 5_000)
	s := openStore(t, t.TempDir())
	defer s.Close()
	const limit = 256 << 10
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p, err := New(Config{Set: set, Store: s, CacheBytes: limit, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	dec := event.NewDecoder(p.eng.Schema(), event.DecoderOptions{RequireTime: true})
	commits, byTotal := 0, 0
	for i, l := range lines {
		ev := p.eng.NewEvent()
		if err := dec.Decode(l, ev); err != nil {
			t.Fatal(err)
		}
		ev.Seq = uint64(i)
		if err := p.eng.Push(ev); err != nil {
			t.Fatal(err)
		}
		p.uncommit++
		cached, _, _ := p.eng.CacheStats()
		dirty := p.eng.DirtyBytes()
		if !p.statesDue() {
			if cached+dirty > limit {
				t.Fatalf("states not due with %d bytes cached, %d of them changed: over the bound %d", cached, dirty, limit)
			}
			// With a batch of a quarter of the cache in flight, they are
			// due as soon as the three pass the bound.
			p.flight = &inflight{bytes: limit / 4}
			due := p.statesDue()
			p.flight = nil
			if over := cached+dirty+limit/4 > limit; due != over {
				t.Fatalf("with %d bytes cached, %d changed and %d in flight: states due %v", cached, dirty, limit/4, due)
			}
			continue
		}
		if dirty <= limit/4 {
			byTotal++
		}
		if err := p.commitStates(); err != nil {
			t.Fatal(err)
		}
		if commits++; commits == 20 {
			break
		}
	}
	t.Logf("%d commits with states, %d of them due by the cache and its changes together", commits, byTotal)
	if byTotal == 0 {
		t.Fatalf("%d commits with states, none due by the cache and its changes together: the test exercised nothing", commits)
	}
}
