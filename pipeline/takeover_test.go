package pipeline

import (
	"context"
	"testing"
)

// A pipeline that replays a partition with QuietUntil at a mark of another
// pipeline's alert log produces exactly the other's alerts from that mark
// on: the alerts a takeover must deliver, none before, none missing.
func TestQuietReplayContinuesAtMark(t *testing.T) {
	set, lines := fraudInput(t, 12000, 1500)
	s := openStore(t, t.TempDir())
	defer s.Close()
	appendLog(t, s, lines)
	p, err := New(Config{Set: set, Store: s, CommitEvents: 700, CacheBytes: 32 << 10, StopAtEnd: true, AlertMarks: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	all := logged(t, s)
	if len(all) < 20 {
		t.Fatalf("%d alerts: too few to pick a mark", len(all))
	}
	// Marks cover every alert: the first is at seq 1, each points at an
	// offset no later than the next one's.
	var prevOff uint64
	for seq := uint64(1); seq <= uint64(len(all)); seq++ {
		at, mark, ok, err := s.AlertMark(seq)
		if err != nil || !ok {
			t.Fatalf("no mark at or below alert %d (err %v)", seq, err)
		}
		offs, err := DecodeMark(mark)
		if err != nil || len(offs) != 1 {
			t.Fatalf("mark %d = %v, %v", at, offs, err)
		}
		if offs[0] < prevOff {
			t.Fatalf("mark %d at offset %d, before the previous mark's %d", at, offs[0], prevOff)
		}
		prevOff = offs[0]
	}

	at, mark, _, _ := s.AlertMark(uint64(len(all) / 2))
	offs, _ := DecodeMark(mark)
	if offs[0] == 0 {
		t.Fatal("the middle mark is at offset 0")
	}
	s2 := openStore(t, t.TempDir())
	defer s2.Close()
	appendLog(t, s2, lines)
	p2, err := New(Config{Set: set, Store: s2, CommitEvents: 500, CacheBytes: 32 << 10, StopAtEnd: true, QuietUntil: offs[0]})
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	diffAlerts(t, logged(t, s2), all[at-1:])
	if st := p2.Stats(); st.Quieted != at-1 {
		t.Errorf("quieted %d alerts, want the %d before the mark", st.Quieted, at-1)
	}
}
