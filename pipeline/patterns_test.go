package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/engine"
	"github.com/motifcep/motif/internal/wait"
)

// running starts p.Run on a goroutine; stop cancels it and returns its error.
func running(t *testing.T, p *Pipeline) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return func() error { cancel(); return <-done }
}

type alertRef struct {
	Pattern string
	Version int
	Key     string
}

func alertRefs(t *testing.T, s *checkpoint.Store) []alertRef {
	t.Helper()
	var out []alertRef
	for _, js := range logged(t, s) {
		var a alertRef
		if err := json.Unmarshal([]byte(js), &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func ev(typ, user string, sec int) []byte {
	return fmt.Appendf(nil, `{"type":%q,"user":%q,"time":"2026-01-01T00:00:%02dZ"}`, typ, user, sec)
}

// A replaced pattern version finishes the partial matches it holds and
// starts none, while the new version matches from the change on; once the
// old version holds nothing it retires and its state is gone.
func TestReplacedVersionRetires(t *testing.T) {
	v1 := mustSet(t, `pattern p { key user  begin a: a  followed_by b: b  within 1m }`)
	v2 := mustSet(t, `pattern p { key user  begin a: a  followed_by c: c  within 1m }`)
	s := openStore(t, t.TempDir())
	defer s.Close()
	var mu sync.Mutex
	var retired []string
	p, err := New(Config{Set: v1, Store: s, CommitEvents: 1, OnRetired: func(name string, version int) {
		mu.Lock()
		retired = append(retired, fmt.Sprintf("%s v%d", name, version))
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, p)
	appendLog(t, s, [][]byte{ev("a", "u1", 1)})
	wait.For(t, "the first event", func() bool { return p.Stats().Offset == 1 })

	err = p.SetPatterns(context.Background(), Patterns{
		Set:      v2,
		Version:  func(string) int { return 2 },
		Retiring: []engine.Retiring{{Decl: v1.Patterns[0], Version: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// u2's a starts only v2; u1's b completes v1's open match; u2's c
	// completes v2's; the b of u2 matches nothing (v1 started nothing).
	appendLog(t, s, [][]byte{ev("a", "u2", 2), ev("b", "u1", 3), ev("c", "u2", 4), ev("b", "u2", 5), ev("c", "u1", 6)})
	wait.For(t, "all events", func() bool { return p.Stats().Offset == 6 })
	wait.For(t, "v1 to retire", func() bool { mu.Lock(); defer mu.Unlock(); return len(retired) == 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := alertRefs(t, s)
	want := []alertRef{{"p", 1, "u1"}, {"p", 2, "u2"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("alerts %v, want %v", got, want)
	}
	if retired[0] != "p v1" {
		t.Errorf("retired %v", retired)
	}
	n := 0
	if err := s.States("p", 1, func(_, _ []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d states of the retired version remain", n)
	}
}

// Dropping a pattern deletes its partial matches and their timers at once:
// nothing of it matches or fires afterwards, and a restart finds nothing
// of it either.
func TestDroppedPatternLeavesNothing(t *testing.T) {
	both := mustSet(t, `pattern p { key user  begin a: a  followed_by b: b  within 1m }
pattern q { key user  begin a: a  not_followed_by b: c  within 1m }`)
	onlyP := mustSet(t, `pattern p { key user  begin a: a  followed_by b: b  within 1m }`)
	dir := t.TempDir()
	s := openStore(t, dir)
	// States with every commit: the store holds q's timers at once.
	p, err := New(Config{Set: both, Store: s, CommitEvents: 1, StateEvents: -1})
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, p)
	appendLog(t, s, [][]byte{ev("a", "u1", 1), ev("a", "u2", 2)})
	wait.For(t, "the first events", func() bool { return p.Stats().Offset == 2 })
	timers := func() int {
		n := 0
		if err := s.Timers(1<<62, func(_ int64, pat string, _ uint32, _ []byte) bool {
			if pat == "q" {
				n++
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if timers() == 0 {
		t.Fatal("q has no timers before the change: the test proves nothing")
	}
	if err := p.SetPatterns(context.Background(), Patterns{Set: onlyP}); err != nil {
		t.Fatal(err)
	}
	// Far past q's window: had q survived, it would complete two absences.
	appendLog(t, s, [][]byte{ev("b", "u1", 50), []byte(`{"type":"x","user":"z","time":"2026-01-01T01:00:00Z"}`)})
	wait.For(t, "all events", func() bool { return p.Stats().Offset == 4 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := alertRefs(t, s); fmt.Sprint(got) != fmt.Sprint([]alertRef{{"p", 1, "u1"}}) {
		t.Errorf("alerts %v, want only p's", got)
	}
	if n := timers(); n != 0 {
		t.Errorf("%d timers of the dropped pattern remain", n)
	}
	n := 0
	if err := s.States("q", 1, func(_, _ []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d states of the dropped pattern remain", n)
	}
	s.Close()
}
