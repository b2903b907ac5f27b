package checkpoint

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"
)

func TestStateRoundTrip(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	b := s.NewBatch()
	b.PutState("fraud", 1, []byte("card-1"), []byte("s1"))
	b.PutState("fraud", 1, []byte("card-2"), []byte("s2"))
	b.PutState("fraud", 2, []byte("card-1"), []byte("v2"))
	b.PutState("fraudx", 1, []byte("card-1"), []byte("other"))
	b.PutState("fraud", 1, []byte("empty"), nil)
	commit(t, b)

	for _, tc := range []struct {
		pattern string
		version uint32
		key     string
		want    string
		ok      bool
	}{
		{"fraud", 1, "card-1", "s1", true},
		{"fraud", 2, "card-1", "v2", true},
		{"fraudx", 1, "card-1", "other", true},
		{"fraud", 1, "empty", "", true},
		{"fraud", 3, "card-1", "", false},
		{"fraud", 1, "card-3", "", false},
	} {
		got, ok, err := s.GetState(tc.pattern, tc.version, []byte(tc.key))
		if err != nil || ok != tc.ok || string(got) != tc.want || ok && got == nil {
			t.Errorf("GetState(%s, %d, %s) = %q, %v, %v; want %q, %v", tc.pattern, tc.version, tc.key, got, ok, err, tc.want, tc.ok)
		}
	}

	got := map[string]string{}
	if err := s.States("fraud", 1, func(k, v []byte) bool { got[string(k)] = string(v); return true }); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"card-1": "s1", "card-2": "s2", "empty": ""}; !maps.Equal(got, want) {
		t.Errorf("States(fraud, 1) = %v, want %v", got, want)
	}

	var all []string
	err := s.AllStates(func(p string, v uint32, k, st []byte) bool {
		all = append(all, fmt.Sprintf("%s/%d/%s=%s", p, v, k, st))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fraud/1/card-1=s1", "fraud/1/card-2=s2", "fraud/1/empty=", "fraud/2/card-1=v2", "fraudx/1/card-1=other"}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("AllStates = %v, want %v", all, want)
	}

	b = s.NewBatch()
	b.DeleteState("fraud", 1, []byte("card-2"))
	b.DeleteStates("fraud", 2)
	commit(t, b)
	if _, ok, _ := s.GetState("fraud", 1, []byte("card-2")); ok {
		t.Errorf("card-2 still there after DeleteState")
	}
	n := 0
	if err := s.States("fraud", 2, func(k, v []byte) bool { n++; return true }); err != nil || n != 0 {
		t.Errorf("States(fraud, 2) after DeleteStates: %d states, %v", n, err)
	}
	if _, ok, _ := s.GetState("fraudx", 1, []byte("card-1")); !ok {
		t.Errorf("DeleteStates(fraud, 2) removed a state of fraudx")
	}
}

func TestOffsetsAndWatermarksRoundTrip(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	b := s.NewBatch()
	b.PutOffset("kafka:payments", 0, 100)
	b.PutOffset("kafka:payments", 3, 7)
	b.PutOffset(LogSource, 0, 42)
	b.PutWatermark("kafka:payments", 0, -1_000)
	b.PutWatermark("kafka:payments", 3, 1_700_000_000_000_000_000)
	commit(t, b)
	b = s.NewBatch()
	b.PutOffset("kafka:payments", 0, 101) // the later commit wins
	commit(t, b)

	offs, err := s.Offsets()
	if err != nil {
		t.Fatal(err)
	}
	wantOffs := map[string]map[uint32]uint64{"kafka:payments": {0: 101, 3: 7}, LogSource: {0: 42}}
	if !reflect.DeepEqual(offs, wantOffs) {
		t.Errorf("Offsets = %v, want %v", offs, wantOffs)
	}
	wms, err := s.Watermarks()
	if err != nil {
		t.Fatal(err)
	}
	wantWms := map[string]map[uint32]int64{"kafka:payments": {0: -1_000, 3: 1_700_000_000_000_000_000}}
	if !reflect.DeepEqual(wms, wantWms) {
		t.Errorf("Watermarks = %v, want %v", wms, wantWms)
	}
}

// fill writes one record of every kind into b.
func fill(b *Batch, i int) {
	key := []byte(fmt.Sprint("k", i))
	b.PutState("p", 1, key, []byte(fmt.Sprint("state", i)))
	b.PutTimer(int64(i), "p", 1, key)
	b.PutOffset("src", 0, uint64(i+1))
	b.PutWatermark("src", 0, int64(i))
	b.AppendAlert(fmt.Sprint("alert", i), int64(i), []byte(fmt.Sprint("payload", i)))
}

// contents renders everything a store holds, for comparisons.
func contents(t testing.TB, s *Store) string {
	t.Helper()
	var sb strings.Builder
	check := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	check(s.AllStates(func(p string, v uint32, k, st []byte) bool {
		fmt.Fprintf(&sb, "state %s/%d/%s=%s\n", p, v, k, st)
		return true
	}))
	check(s.Timers(1<<62, func(at int64, p string, v uint32, k []byte) bool {
		fmt.Fprintf(&sb, "timer %d %s/%d/%s\n", at, p, v, k)
		return true
	}))
	offs, err := s.Offsets()
	check(err)
	wms, err := s.Watermarks()
	check(err)
	fmt.Fprintf(&sb, "offsets %v\nwatermarks %v\n", offs, wms)
	check(s.Alerts(0, func(seq uint64, payload []byte) bool {
		fmt.Fprintf(&sb, "alert %d %s\n", seq, payload)
		return true
	}))
	return sb.String()
}

func TestUncommittedBatchLeavesNothing(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	empty := contents(t, s)
	b := s.NewBatch()
	fill(b, 1)
	if got := contents(t, s); got != empty {
		t.Errorf("an open batch is visible:\n%s", got)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := contents(t, s); got != empty {
		t.Errorf("a closed batch left:\n%s", got)
	}
	s = reopen(t, s, Options{})
	if got := contents(t, s); got != empty {
		t.Errorf("a closed batch left, after reopen:\n%s", got)
	}
	if err := b.Commit(true); !errors.Is(err, ErrBatchDone) {
		t.Errorf("Commit after Close = %v, want ErrBatchDone", err)
	}
}

func TestCommittedBatchSurvivesReopen(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	for i := range 3 {
		b := s.NewBatch()
		fill(b, i)
		commit(t, b)
	}
	before := contents(t, s)
	if !strings.Contains(before, "alert 3 payload2") {
		t.Fatalf("unexpected contents:\n%s", before)
	}
	s = reopen(t, s, Options{})
	if after := contents(t, s); after != before {
		t.Errorf("after reopen:\n%s\nwant:\n%s", after, before)
	}
}

func TestBatchErrorAbortsWholeBatch(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	empty := contents(t, s)
	b := s.NewBatch()
	fill(b, 1)
	b.PutState("bad\x00name", 1, nil, nil)
	fill(b, 2) // ignored
	err := b.Commit(true)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "NUL") {
		t.Fatalf("Commit = %v, want ErrInvalid about NUL", err)
	}
	if got := contents(t, s); got != empty {
		t.Errorf("a failed batch left:\n%s", got)
	}
	b = s.NewBatch()
	if seq := b.AppendAlert("", 0, nil); seq != 0 || !errors.Is(b.Err(), ErrInvalid) {
		t.Errorf("AppendAlert with empty id = %d, %v", seq, b.Err())
	}
	b.Close()
}

func TestClosedStore(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch()
	b.PutState("p", 1, nil, nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := b.Commit(true); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close = %v", err)
	}
	if err := s.NewBatch().Commit(true); !errors.Is(err, ErrClosed) {
		t.Errorf("NewBatch().Commit after Close = %v", err)
	}
	if _, _, err := s.GetState("p", 1, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("GetState after Close = %v", err)
	}
	if _, err := s.Append(0, [][]byte{[]byte("x")}); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v", err)
	}
	if err := s.Timers(0, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Timers after Close = %v", err)
	}
	if _, err := s.Checkpoint(t.Context(), Meta{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Checkpoint after Close = %v", err)
	}
}

func TestCorruptValuesAreErrors(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	// Write malformed records past the encoders, as a damaged disk might.
	for _, kv := range [][2][]byte{
		{sourceKey(nil, prefixOffset, "src", 1), []byte{1, 2, 3}},
		{sourceKey(nil, prefixWatermark, "src", 1), nil},
		{alertIDKey(nil, "dup"), []byte{9}},
		{[]byte{prefixState, 'x'}, nil},
		{[]byte{prefixTimer, 1}, nil},
	} {
		if err := s.db.Set(kv[0], kv[1], nil); err != nil {
			t.Fatal(err)
		}
	}
	b := s.NewBatch()
	b.AppendAlert("a", 0, nil)
	commit(t, b)
	if err := s.db.Set(alertKey(nil, 1), []byte{1}, nil); err != nil {
		t.Fatal(err)
	}

	checks := map[string]error{}
	_, checks["Offsets"] = s.Offsets()
	_, checks["Watermarks"] = s.Watermarks()
	_, _, checks["AlertSeen"] = s.AlertSeen("dup")
	checks["Alerts"] = s.Alerts(0, func(uint64, []byte) bool { return true })
	checks["AllStates"] = s.AllStates(func(string, uint32, []byte, []byte) bool { return true })
	checks["Timers"] = s.Timers(1<<62, func(int64, string, uint32, []byte) bool { return true })
	for name, err := range checks {
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "key ") {
			t.Errorf("%s = %v, want ErrCorrupt naming the key", name, err)
		}
	}
}

func TestNamedRecordsAndDeadLetters(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	b := s.NewBatch()
	b.PutMeta("pipeline/0", []byte("resume"))
	b.PutMeta("empty", nil)
	b.PutDeadLetter("log", 0, 7, "bad json", []byte("{x"))
	b.PutDeadLetter("log", 0, 3, "", nil)
	b.PutDeadLetter("log", 1, 1, "other partition", nil)
	commit(t, b)
	s = reopen(t, s, Options{})

	if v, ok, err := s.GetMeta("pipeline/0"); err != nil || !ok || string(v) != "resume" {
		t.Errorf("GetMeta = %q, %v, %v", v, ok, err)
	}
	if v, ok, err := s.GetMeta("empty"); err != nil || !ok || v == nil || len(v) != 0 {
		t.Errorf("GetMeta(empty) = %v, %v, %v", v, ok, err)
	}
	if _, ok, err := s.GetMeta("none"); ok || err != nil {
		t.Errorf("GetMeta(none) = %v, %v", ok, err)
	}
	var got []string
	if err := s.DeadLetters("log", 0, func(off uint64, reason string, rec []byte) bool {
		got = append(got, fmt.Sprintf("%d %q %q", off, reason, rec))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{`3 "" ""`, `7 "bad json" "{x"`}; !reflect.DeepEqual(got, want) {
		t.Errorf("DeadLetters = %v, want %v", got, want)
	}
	b = s.NewBatch()
	b.DeleteMeta("pipeline/0")
	commit(t, b)
	if _, ok, _ := s.GetMeta("pipeline/0"); ok {
		t.Errorf("DeleteMeta left the record")
	}
}
