package checkpoint

import (
	"errors"
	"testing"
)

func TestAlertMarks(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	if _, _, ok, err := s.AlertMark(100); err != nil || ok {
		t.Fatalf("AlertMark on an empty store = ok %v, err %v; want none", ok, err)
	}
	for _, m := range []struct {
		seq  uint64
		mark string
	}{{1, "a"}, {5, "b"}, {9, "c"}} {
		b := s.NewBatch()
		b.PutAlertMark(m.seq, []byte(m.mark))
		commit(t, b)
	}
	check := func(seq, wantAt uint64, want string) {
		t.Helper()
		at, mark, ok, err := s.AlertMark(seq)
		if err != nil || !ok || at != wantAt || string(mark) != want {
			t.Errorf("AlertMark(%d) = %d %q ok %v err %v; want %d %q", seq, at, mark, ok, err, wantAt, want)
		}
	}
	check(1, 1, "a")
	check(4, 1, "a")
	check(5, 5, "b")
	check(8, 5, "b")
	check(1000, 9, "c")

	if err := s.TrimAlertMarks(7); err != nil {
		t.Fatal(err)
	}
	check(7, 5, "b") // kept: a reader at 7 needs it
	check(9, 9, "c")
	if _, _, ok, _ := s.AlertMark(4); ok {
		t.Error("mark 1 survived TrimAlertMarks(7)")
	}
}

func TestSkipAlertsTo(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	b := s.NewBatch()
	if seq := b.AppendAlert("x", 1, []byte(`{}`)); seq != 1 {
		t.Fatalf("first alert seq = %d", seq)
	}
	// A batch holding numbers blocks the skip: it could commit below it.
	if err := s.SkipAlertsTo(10); !errors.Is(err, ErrAlertsOpen) {
		t.Fatalf("SkipAlertsTo with an open batch = %v; want ErrAlertsOpen", err)
	}
	commit(t, b)
	if err := s.SkipAlertsTo(10); err != nil {
		t.Fatal(err)
	}
	if got := s.LastAlertSeq(); got != 9 {
		t.Errorf("LastAlertSeq after SkipAlertsTo(10) = %d; want 9", got)
	}
	if err := s.SkipAlertsTo(3); err != nil { // backwards: nothing changes
		t.Fatal(err)
	}
	b = s.NewBatch()
	if seq := b.AppendAlert("y", 2, []byte(`{}`)); seq != 10 {
		t.Errorf("alert after SkipAlertsTo(10) numbered %d", seq)
	}
	commit(t, b)

	// The numbering survives a restart.
	s = reopen(t, s, Options{})
	b = s.NewBatch()
	defer b.Close()
	if seq := b.AppendAlert("z", 3, []byte(`{}`)); seq != 11 {
		t.Errorf("alert after reopen numbered %d; want 11", seq)
	}
	var seqs []uint64
	if err := s.Alerts(0, func(seq uint64, _ []byte) bool { seqs = append(seqs, seq); return true }); err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 10 {
		t.Errorf("alerts = %v; want [1 10]", seqs)
	}
}
