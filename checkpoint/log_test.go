package checkpoint

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestAppendConcurrentGetsContiguousOffsets(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	const workers, calls, perCall = 8, 40, 3
	type ack struct {
		first uint64
		recs  []string
	}
	acks := make([][]ack, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for c := range calls {
				var recs []string
				var raw [][]byte
				for r := range perCall {
					rec := fmt.Sprintf("w%d-c%d-r%d", w, c, r)
					recs = append(recs, rec)
					raw = append(raw, []byte(rec))
				}
				first, err := s.Append(uint32(w%2), raw)
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				acks[w] = append(acks[w], ack{first, recs})
			}
		})
	}
	wg.Wait()

	logs := map[uint32][]string{0: readAll(t, s, 0, 0), 1: readAll(t, s, 1, 0)}
	for p, recs := range logs {
		if want := workers / 2 * calls * perCall; len(recs) != want || s.LogEnd(p) != uint64(want) {
			t.Errorf("partition %d: %d records, end %d; want %d", p, len(recs), s.LogEnd(p), want)
		}
	}
	// Every call's records sit at its offsets, contiguous; a worker's calls
	// are in its order.
	for w, as := range acks {
		recs := logs[uint32(w%2)]
		for i, a := range as {
			if i > 0 && a.first <= as[i-1].first {
				t.Errorf("worker %d: call %d at %d, after %d", w, i, a.first, as[i-1].first)
			}
			if got := recs[a.first : a.first+perCall]; !reflect.DeepEqual(got, a.recs) {
				t.Errorf("worker %d call %d at %d: %v, want %v", w, i, a.first, got, a.recs)
			}
		}
	}
	st := s.Stats()
	if st.LogAppends != workers*calls || st.LogRecords != workers*calls*perCall || st.LogGroupCommits == 0 || st.LogGroupCommits > st.LogAppends {
		t.Errorf("Stats = %+v", st)
	}
	if got := s.Partitions(); !reflect.DeepEqual(got, []uint32{0, 1}) {
		t.Errorf("Partitions = %v", got)
	}

	s = reopen(t, s, Options{})
	for p, recs := range logs {
		if got := readAll(t, s, p, 0); !reflect.DeepEqual(got, recs) {
			t.Errorf("partition %d after reopen differs", p)
		}
	}
	first, err := s.Append(0, [][]byte{[]byte("after")})
	if err != nil || first != uint64(len(logs[0])) {
		t.Errorf("Append after reopen = %d, %v; want %d", first, err, len(logs[0]))
	}
}

func TestReadLogBounds(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	if first, err := s.Append(3, nil); first != 0 || err != nil {
		t.Errorf("empty Append = %d, %v", first, err)
	}
	for i := range 5 {
		if _, err := s.Append(3, [][]byte{[]byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := s.ReadLog(3, 1, 2, func(off uint64, rec []byte) bool { got = append(got, string(rec)); return true })
	if err != nil || !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Errorf("ReadLog(3, 1, max 2) = %v, %v", got, err)
	}
	got = nil
	err = s.ReadLog(3, 0, 0, func(off uint64, rec []byte) bool { got = append(got, string(rec)); return off < 2 })
	if err != nil || !reflect.DeepEqual(got, []string{"0", "1", "2"}) {
		t.Errorf("ReadLog stopped by fn = %v, %v", got, err)
	}
	if err := s.ReadLog(3, 5, 0, nil); err != nil {
		t.Errorf("ReadLog at the end = %v", err)
	}
	if err := s.ReadLog(3, 6, 0, nil); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("ReadLog past the end = %v", err)
	}
	if err := s.ReadLog(9, 0, 0, nil); err != nil {
		t.Errorf("ReadLog of an empty partition = %v", err)
	}
	if _, err := s.Append(0, [][]byte{make([]byte, MaxAppendBytes+1)}); !errors.Is(err, ErrInvalid) {
		t.Errorf("oversized Append = %v", err)
	}
}

func TestTrimLog(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	// Three segments: [0,4) [4,8) [8,12).
	for c := range 3 {
		var recs [][]byte
		for r := range 4 {
			recs = append(recs, fmt.Appendf(nil, "rec%02d", c*4+r))
		}
		if _, err := s.Append(0, recs); err != nil {
			t.Fatal(err)
		}
	}
	per := s.Stats().LogBytes / 12
	if err := s.TrimLog(0, 6); err != nil { // mid-segment
		t.Fatal(err)
	}
	if got := s.LogStart(0); got != 6 {
		t.Errorf("LogStart = %d, want 6", got)
	}
	if err := s.ReadLog(0, 5, 0, nil); !errors.Is(err, ErrTrimmed) {
		t.Errorf("ReadLog below the start = %v", err)
	}
	if got := readAll(t, s, 0, 6); len(got) != 6 || got[0] != "rec06" {
		t.Errorf("after trim: %v", got)
	}
	if got := s.Stats().LogBytes; got != 6*per {
		t.Errorf("LogBytes = %d, want %d", got, 6*per)
	}
	if err := s.TrimLog(0, 3); err != nil { // behind the start: nothing
		t.Fatal(err)
	}
	s = reopen(t, s, Options{})
	if s.LogStart(0) != 6 || s.LogEnd(0) != 12 || s.Stats().LogBytes != 6*per {
		t.Errorf("after reopen: start %d end %d bytes %d", s.LogStart(0), s.LogEnd(0), s.Stats().LogBytes)
	}
	if err := s.TrimLog(0, 100); err != nil { // clamped to the end
		t.Fatal(err)
	}
	if s.LogStart(0) != 12 || s.Stats().LogBytes != 0 {
		t.Errorf("trim all: start %d bytes %d", s.LogStart(0), s.Stats().LogBytes)
	}
	// Offsets keep counting after the log was emptied, across reopen too.
	s = reopen(t, s, Options{})
	if first, err := s.Append(0, [][]byte{[]byte("next")}); err != nil || first != 12 {
		t.Errorf("Append after trimming all = %d, %v; want 12", first, err)
	}
}

func TestLogRetention(t *testing.T) {
	clock := newManualClock()
	opts := Options{LogRetention: Retention{MaxAge: time.Hour}, Clock: clock.Now}
	s := open(t, t.TempDir(), opts)
	for i := range 4 { // one segment per hour: offsets 2i, 2i+1
		if _, err := s.Append(0, [][]byte{[]byte("a"), []byte("b")}); err != nil {
			t.Fatal(err)
		}
		if i < 3 {
			clock.Advance(time.Hour)
		}
	}
	clock.Advance(30 * time.Minute) // segments are 3.5h, 2.5h, 1.5h, 0.5h old

	// Nothing consumed: nothing goes, however old.
	if err := s.EnforceRetention(0); err != nil {
		t.Fatal(err)
	}
	if s.LogStart(0) != 0 {
		t.Errorf("unconsumed records trimmed: start %d", s.LogStart(0))
	}
	// Consumed up to 3: only the first whole segment [0,2) is below it.
	b := s.NewBatch()
	b.PutOffset(LogSource, 0, 3)
	commit(t, b)
	if err := s.EnforceRetention(0); err != nil {
		t.Fatal(err)
	}
	if s.LogStart(0) != 2 {
		t.Errorf("start = %d, want 2", s.LogStart(0))
	}
	// Consumed all: the three segments older than an hour go.
	b = s.NewBatch()
	b.PutOffset(LogSource, 0, 8)
	commit(t, b)
	if err := s.EnforceRetention(0); err != nil {
		t.Fatal(err)
	}
	if s.LogStart(0) != 6 {
		t.Errorf("start = %d, want 6", s.LogStart(0))
	}

	// By bytes: keep at most one record.
	per := s.Stats().LogBytes / 2
	s = reopen(t, s, Options{LogRetention: Retention{MaxBytes: per}, Clock: clock.Now})
	if err := s.EnforceRetention(0); err != nil {
		t.Fatal(err)
	}
	if s.LogStart(0) != 8 || s.Stats().LogBytes != 0 {
		t.Errorf("by bytes: start %d, bytes %d", s.LogStart(0), s.Stats().LogBytes)
	}
}

func TestPartitionsListed(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	for _, p := range []uint32{7, 2, 1 << 31} {
		if _, err := s.Append(p, [][]byte{[]byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	want := []uint32{2, 7, 1 << 31}
	if got := s.Partitions(); !slices.Equal(got, want) {
		t.Errorf("Partitions = %v, want %v", got, want)
	}
	s = reopen(t, s, Options{})
	if got := s.Partitions(); !slices.Equal(got, want) {
		t.Errorf("Partitions after reopen = %v, want %v", got, want)
	}
}
