package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/engine"
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/internal/workload"
	"github.com/motifcep/motif/pattern"
)

// fraudInput generates n events of the fraud workload over keys cards.
func fraudInput(t testing.TB, n, keys int) (*pattern.Set, [][]byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := workload.Fraud(&buf, workload.Spec{Name: "fraud", Events: n, Keys: keys, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	return mustSet(t, workload.FraudPatterns), bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
}

func mustSet(t testing.TB, src string) *pattern.Set {
	t.Helper()
	set, diags := pattern.Compile("p.motif", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return set
}

// reference runs the in-memory engine over the lines, numbered by offset
// as the pipeline numbers them, and returns its alerts as JSON without
// detected_at.
func reference(t testing.TB, set *pattern.Set, lines [][]byte) []string {
	t.Helper()
	rec := &collect{}
	eng, err := engine.New(set, engine.Config{}, rec)
	if err != nil {
		t.Fatal(err)
	}
	dec := event.NewDecoder(eng.Schema(), event.DecoderOptions{RequireTime: true})
	for off, l := range lines {
		ev := eng.NewEvent()
		if err := dec.Decode(l, ev); err != nil {
			eng.Release(ev)
			continue
		}
		if ev.ID == "" {
			ev.ID = strconv.Itoa(off)
		}
		ev.Seq = uint64(off)
		_ = eng.Push(ev)
	}
	eng.Close()
	return rec.alerts
}

type collect struct{ alerts []string }

func (c *collect) Alert(a *alert.Alert) {
	c.alerts = append(c.alerts, stripDetected(a.AppendJSON(nil)))
}
func (c *collect) Late(*event.Event, int64) {}
func stripDetected(js []byte) string {
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		panic(err)
	}
	delete(m, "detected_at")
	out, _ := json.Marshal(m)
	return string(out)
}

// logged returns the store's alert log, without detected_at.
func logged(t testing.TB, s *checkpoint.Store) []string {
	t.Helper()
	var out []string
	if err := s.Alerts(0, func(seq uint64, payload []byte) bool {
		out = append(out, stripDetected(payload))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func openStore(t testing.TB, dir string) *checkpoint.Store {
	t.Helper()
	s, err := checkpoint.Open(dir, checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func appendLog(t testing.TB, s *checkpoint.Store, lines [][]byte) {
	t.Helper()
	for len(lines) > 0 {
		n := min(len(lines), 1000)
		if _, err := s.Append(0, lines[:n]); err != nil {
			t.Fatal(err)
		}
		lines = lines[n:]
	}
}

func diffAlerts(t *testing.T, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	t.Errorf("%d alerts, want %d", len(got), len(want))
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Fatalf("first difference at alert %d:\n got: %s\nwant: %s", i, g, w)
		}
	}
}

// A pipeline whose cache holds a fraction of the keys, committing often,
// finds exactly the in-memory engine's alerts: states really go through
// Pebble and come back.
func TestSameAlertsAsInMemory(t *testing.T) {
	set, lines := fraudInput(t, 20000, 2000)
	want := reference(t, set, lines)
	if len(want) == 0 {
		t.Fatal("the fixture has no alerts")
	}
	s := openStore(t, t.TempDir())
	defer s.Close()
	appendLog(t, s, lines)
	const cache = 64 << 10
	p, err := New(Config{Set: set, Store: s, CommitEvents: 500, CacheBytes: cache, StopAtEnd: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	diffAlerts(t, logged(t, s), want)
	bytes, loads, evictions := p.Engine().CacheStats()
	if loads == 0 || evictions == 0 {
		t.Errorf("loads %d, evictions %d: the states never left memory", loads, evictions)
	}
	if bytes > cache {
		t.Errorf("cache holds %d bytes after the last commit, bound %d", bytes, cache)
	}
	if st := p.Stats(); st.Offset != uint64(len(lines)) || st.Events != uint64(len(lines)) {
		t.Errorf("stats %+v, want %d events and offset", st, len(lines))
	}
}

// Invalid records are kept as dead letters with their reasons and the
// stream goes on.
func TestDeadLetters(t *testing.T) {
	set := mustSet(t, `event a { k: string }
pattern p { key k  begin a: a  followed_by b: a }`)
	lines := [][]byte{
		[]byte(`{"type":"a","time":"2026-01-01T00:00:00Z","k":"x","id":"1"}`),
		[]byte(`not json`),
		[]byte(`{"type":"a","time":"2026-01-01T00:00:01Z","k":5,"id":"2"}`),
		[]byte(`{"type":"a","time":"2026-01-01T00:00:02Z","k":"x","id":"3"}`),
	}
	s := openStore(t, t.TempDir())
	defer s.Close()
	appendLog(t, s, lines)
	p, err := New(Config{Set: set, Store: s, StopAtEnd: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := s.DeadLetters(Source, 0, func(off uint64, reason string, rec []byte) bool {
		got = append(got, fmt.Sprintf("%d %s", off, reason))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0][:2] != "1 " || got[1][:2] != "2 " {
		t.Fatalf("dead letters %q, want offsets 1 and 2 with reasons", got)
	}
	if a := logged(t, s); len(a) != 1 {
		t.Fatalf("%d alerts, want 1 (events 1 and 3)", len(a))
	}
	if st := p.Stats(); st.Invalid != 2 || st.Events != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// A savepoint taken mid-stream and restored into a new data directory
// continues to exactly the alerts of one uninterrupted run.
func TestSavepointRestore(t *testing.T) {
	set, lines := fraudInput(t, 12000, 1500)
	want := reference(t, set, lines)
	half := len(lines) / 2

	dir := t.TempDir()
	s := openStore(t, dir)
	appendLog(t, s, lines[:half])
	p, err := New(Config{Set: set, Store: s, CommitEvents: 700, CacheBytes: 32 << 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	wait.For(t, "the first half", func() bool { return p.Stats().Offset == uint64(half) })
	if _, err := p.Checkpoint(ctx, "mid"); err != nil {
		t.Fatal(err)
	}
	// Work after the savepoint is not in it.
	appendLog(t, s, lines[half:half+100])
	wait.For(t, "the events after the savepoint", func() bool { return p.Stats().Offset == uint64(half+100) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	from, err := checkpoint.Locate(dir, "mid")
	if err != nil {
		t.Fatal(err)
	}
	dir2 := filepath.Join(t.TempDir(), "restored")
	if err := checkpoint.Restore(dir2, from); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, dir2)
	defer s2.Close()
	if end := s2.LogEnd(0); end != uint64(half) {
		t.Fatalf("restored log ends at %d, want %d", end, half)
	}
	appendLog(t, s2, lines[half:])
	p2, err := New(Config{Set: set, Store: s2, CommitEvents: 700, CacheBytes: 32 << 10, StopAtEnd: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	diffAlerts(t, logged(t, s2), want)
}

func keyOfAlert(t testing.TB, js string) string {
	t.Helper()
	var a struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal([]byte(js), &a); err != nil {
		t.Fatal(err)
	}
	return a.Key
}
