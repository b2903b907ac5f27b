package checkpoint

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rec is a record whose data is its id.
func rec(id string, at time.Duration) Record {
	return Record{Data: []byte(id), ID: id, Time: int64(at)}
}

func noID(data string) Record { return Record{Data: []byte(data)} }

func appendRecs(t testing.TB, s *Store, partition uint32, recs ...Record) []Appended {
	t.Helper()
	acks, err := s.AppendRecords(partition, recs)
	if err != nil {
		t.Fatalf("AppendRecords: %v", err)
	}
	if len(acks) != len(recs) {
		t.Fatalf("AppendRecords: %d acks for %d records", len(acks), len(recs))
	}
	return acks
}

func fresh(p uint32, off uint64) Appended { return Appended{Partition: p, Offset: off} }
func dup(p uint32, off uint64) Appended   { return Appended{Partition: p, Offset: off, Duplicate: true} }

// countKeys counts the keys of a kind.
func countKeys(t testing.TB, s *Store, prefix byte) int {
	t.Helper()
	n := 0
	if err := s.scan([]byte{prefix}, []byte{prefix + 1}, "count", func(_, _ []byte) (bool, error) {
		n++
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAppendRecordsWithinCall(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	acks := appendRecs(t, s, 0, rec("a", 1), rec("b", 2), rec("a", 3), noID("x"), noID("x"), rec("b", 2))
	want := []Appended{fresh(0, 0), fresh(0, 1), dup(0, 0), fresh(0, 2), fresh(0, 3), dup(0, 1)}
	if !reflect.DeepEqual(acks, want) {
		t.Errorf("acks = %v\nwant   %v", acks, want)
	}
	if got := readAll(t, s, 0, 0); !slices.Equal(got, []string{"a", "b", "x", "x"}) {
		t.Errorf("log = %v", got)
	}
	// Records without id are not indexed.
	if e, x := countKeys(t, s, prefixEventID), countKeys(t, s, prefixEventTime); e != 2 || x != 2 {
		t.Errorf("index holds %d 'e' and %d 'x' keys, want 2 and 2", e, x)
	}
	st := s.Stats()
	if st.LogRecords != 4 || st.LogDuplicates != 2 || st.LogAppends != 1 {
		t.Errorf("Stats = %+v", st)
	}
	// All duplicates: nothing appended, no segment written.
	if acks := appendRecs(t, s, 0, rec("a", 1), rec("b", 2)); !reflect.DeepEqual(acks, []Appended{dup(0, 0), dup(0, 1)}) {
		t.Errorf("all duplicates: %v", acks)
	}
	if s.LogEnd(0) != 4 || countKeys(t, s, prefixSegment) != 1 {
		t.Errorf("after a call of duplicates: end %d, %d segments", s.LogEnd(0), countKeys(t, s, prefixSegment))
	}
	if acks, err := s.AppendRecords(0, nil); acks != nil || err != nil {
		t.Errorf("empty call = %v, %v", acks, err)
	}
}

func TestAppendRecordsAcrossCallsAndPartitions(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	appendRecs(t, s, 0, rec("a", 1), rec("b", 1))
	// Plain Append keeps working, and shares the offsets.
	if first, err := s.Append(0, [][]byte{[]byte("plain")}); err != nil || first != 2 {
		t.Fatalf("Append = %d, %v", first, err)
	}
	// Ids are global: "a" on partition 5 is the one on partition 0.
	acks := appendRecs(t, s, 5, rec("c", 2), rec("a", 1), rec("d", 2))
	if want := []Appended{fresh(5, 0), dup(0, 0), fresh(5, 1)}; !reflect.DeepEqual(acks, want) {
		t.Errorf("acks = %v, want %v", acks, want)
	}
	if got := readAll(t, s, 5, 0); !slices.Equal(got, []string{"c", "d"}) {
		t.Errorf("partition 5 = %v", got)
	}
	acks = appendRecs(t, s, 0, rec("d", 2), rec("e", 3))
	if want := []Appended{dup(5, 1), fresh(0, 3)}; !reflect.DeepEqual(acks, want) {
		t.Errorf("acks = %v, want %v", acks, want)
	}
}

func TestAppendRecordsReopen(t *testing.T) {
	opts := Options{DedupeWindow: time.Minute}
	s := open(t, t.TempDir(), opts)
	appendRecs(t, s, 0, rec("a", 0), rec("b", 30*time.Second))
	s = reopen(t, s, opts)
	acks := appendRecs(t, s, 1, rec("a", 0), rec("b", 30*time.Second), rec("c", 2*time.Minute))
	if want := []Appended{dup(0, 0), dup(0, 1), fresh(1, 0)}; !reflect.DeepEqual(acks, want) {
		t.Errorf("after reopen: %v, want %v", acks, want)
	}
	// maxSeen (2m) survives reopen: "a" (0) is out of the window, "b" (30s)
	// too, though neither was pruned.
	s = reopen(t, s, opts)
	acks = appendRecs(t, s, 1, rec("a", 0), rec("c", 2*time.Minute))
	if want := []Appended{fresh(1, 1), dup(1, 0)}; !reflect.DeepEqual(acks, want) {
		t.Errorf("after a second reopen: %v, want %v", acks, want)
	}
}

func TestAppendRecordsWindow(t *testing.T) {
	const w = time.Minute
	s := open(t, t.TempDir(), Options{DedupeWindow: w})
	appendRecs(t, s, 0, rec("a", 0), rec("b", 50*time.Second), rec("c", 70*time.Second))
	// maxSeen 70s, cutoff 10s: "a" is out, "b" in.
	acks := appendRecs(t, s, 0, rec("a", 0), rec("b", 50*time.Second))
	if want := []Appended{fresh(0, 3), dup(0, 1)}; !reflect.DeepEqual(acks, want) {
		t.Errorf("acks = %v, want %v", acks, want)
	}
	// "a" at 0 arrived late (older than the window): appended, not
	// remembered beyond its call, so appended again, once.
	if acks := appendRecs(t, s, 0, rec("a", 0), rec("a", 0)); !reflect.DeepEqual(acks, []Appended{fresh(0, 4), dup(0, 4)}) {
		t.Errorf("late record again: %v", acks)
	}
	// The window moves within a call: "d" at 3m expires "b" and "c" for the
	// records after it.
	acks = appendRecs(t, s, 0, rec("b", 50*time.Second), rec("d", 3*time.Minute), rec("c", 70*time.Second), rec("d", 3*time.Minute))
	if want := []Appended{dup(0, 1), fresh(0, 5), fresh(0, 6), dup(0, 5)}; !reflect.DeepEqual(acks, want) {
		t.Errorf("acks = %v, want %v", acks, want)
	}
	// Within a call an id is appended once, however the window moves: "e"
	// at 3m is out of the window after "f" at 5m, but repeats in its call.
	acks = appendRecs(t, s, 0, rec("e", 3*time.Minute), rec("f", 5*time.Minute), rec("e", 3*time.Minute))
	if want := []Appended{fresh(0, 7), fresh(0, 8), dup(0, 7)}; !reflect.DeepEqual(acks, want) {
		t.Errorf("acks = %v, want %v", acks, want)
	}
	// The next call finds it expired.
	if acks := appendRecs(t, s, 0, rec("e", 3*time.Minute)); !reflect.DeepEqual(acks, []Appended{fresh(0, 9)}) {
		t.Errorf("acks = %v", acks)
	}
}

func TestPruneIDs(t *testing.T) {
	opts := Options{DedupeWindow: 10 * time.Minute}
	s := open(t, t.TempDir(), opts)
	var old []Record
	for i := range 2*pruneChunk + 10 { // more than one chunk
		old = append(old, rec(fmt.Sprintf("old%05d", i), time.Duration(i)))
	}
	appendRecs(t, s, 0, old...)
	appendRecs(t, s, 1, rec("keep", 9*time.Minute+30*time.Second), rec("reused", 0))
	if err := s.EnforceRetention(0); err != nil { // maxSeen 9m30s: nothing old enough
		t.Fatal(err)
	}
	if n := countKeys(t, s, prefixEventID); n != len(old)+2 {
		t.Fatalf("%d ids before pruning, want %d", n, len(old)+2)
	}
	appendRecs(t, s, 1, rec("new", 11*time.Minute))
	// "reused" is back as a new event, past the window of the first: its
	// entry is rewritten, and pruning must keep the new one.
	if acks := appendRecs(t, s, 1, rec("reused", 11*time.Minute)); !reflect.DeepEqual(acks, []Appended{fresh(1, 3)}) {
		t.Fatalf("reused id: %v", acks)
	}
	if err := s.EnforceRetention(0); err != nil {
		t.Fatal(err)
	}
	// Left: keep (9m30s), new and reused (11m).
	if e, x := countKeys(t, s, prefixEventID), countKeys(t, s, prefixEventTime); e != 3 || x != 3 {
		t.Errorf("after pruning: %d 'e' and %d 'x' keys, want 3 and 3", e, x)
	}
	s = reopen(t, s, opts)
	acks := appendRecs(t, s, 2, rec("keep", 9*time.Minute+30*time.Second), rec("reused", 11*time.Minute), rec("old00000", 0), rec("new", 11*time.Minute))
	if want := []Appended{dup(1, 0), dup(1, 3), fresh(2, 0), dup(1, 2)}; !reflect.DeepEqual(acks, want) {
		t.Errorf("after pruning and reopen: %v, want %v", acks, want)
	}
	// Pruning never removes the newest entry (maxSeen is read from it).
	appendRecs(t, s, 2, rec("last", time.Hour))
	if err := s.EnforceRetention(0); err != nil {
		t.Fatal(err)
	}
	if e, x := countKeys(t, s, prefixEventID), countKeys(t, s, prefixEventTime); e != 1 || x != 1 {
		t.Errorf("%d 'e' and %d 'x' keys left, want 1 and 1", e, x)
	}
	s = reopen(t, s, opts)
	if got := s.logs.ids.maxSeen.Load(); got != int64(time.Hour) {
		t.Errorf("maxSeen after reopen = %d", got)
	}
}

func TestEventIDDecodersRejectMalformed(t *testing.T) {
	for _, k := range [][]byte{{prefixEventTime}, {prefixEventTime, 1, 2, 3, 4, 5, 6, 7, 8}, eventIDKey(nil, "a")} {
		if _, _, err := decodeEventTimeKey(k); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decodeEventTimeKey(%q) = %v", k, err)
		}
	}
	if _, _, _, err := decodeEventIDValue(eventIDKey(nil, "a"), make([]byte, 12)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("decodeEventIDValue: %v", err)
	}
	at, id, err := decodeEventTimeKey(eventTimeKey(nil, -7, "id"))
	at2, p, off, err2 := decodeEventIDValue(nil, eventIDValue(nil, -7, 3, 1<<40))
	if err != nil || err2 != nil || at != -7 || string(id) != "id" || at2 != -7 || p != 3 || off != 1<<40 {
		t.Errorf("round trip: %d %q %d %d %d %v %v", at, id, at2, p, off, err, err2)
	}
}

// TestAppendRecordsGroupedLikeSerial checks that the calls of one group
// commit deduplicate as if committed one by one: a late record of one call
// (out of the window) is no original for the next call, an in-window one
// is.
func TestAppendRecordsGroupedLikeSerial(t *testing.T) {
	s := open(t, t.TempDir(), Options{DedupeWindow: time.Minute})
	appendRecs(t, s, 0, rec("now", time.Hour))
	// One group of two calls, committed as the committer (idle now) would.
	calls := [][]Record{
		{rec("late", 0), rec("in", time.Hour)},
		{rec("late", 0), rec("in", time.Hour), rec("late", 0)},
	}
	var c groupCommit
	for i, recs := range calls {
		c.reqs = append(c.reqs, &appendReq{partition: uint32(i + 1), recs: recs, acks: make([]Appended, len(recs))})
	}
	if err := c.commit(&s.logs, 1<<10); err != nil {
		t.Fatal(err)
	}
	want := [][]Appended{
		{fresh(1, 0), fresh(1, 1)},
		{fresh(2, 0), dup(1, 1), dup(2, 0)},
	}
	for i, r := range c.reqs {
		if !reflect.DeepEqual(r.acks, want[i]) {
			t.Errorf("call %d: acks = %v, want %v", i, r.acks, want[i])
		}
	}
	if st := s.Stats(); st.LogGroupCommits != 2 || st.LogRecords != 4 || st.LogDuplicates != 2 {
		t.Errorf("Stats = %+v", st)
	}
	// The same calls one by one, after the group: all duplicates but the
	// late records.
	for i, recs := range calls {
		end := s.LogEnd(uint32(i + 1))
		want := []Appended{fresh(uint32(i+1), end), dup(1, 1)}
		if i == 1 {
			want = append(want, dup(2, end))
		}
		if acks := appendRecs(t, s, uint32(i+1), recs...); !reflect.DeepEqual(acks, want) {
			t.Errorf("call %d again: acks = %v, want %v", i, acks, want)
		}
	}
}

func TestAppendRecordsDedupeOff(t *testing.T) {
	s := open(t, t.TempDir(), Options{DedupeWindow: NoDedupe})
	acks := appendRecs(t, s, 0, rec("a", 0), rec("a", 0))
	if want := []Appended{fresh(0, 0), fresh(0, 1)}; !reflect.DeepEqual(acks, want) {
		t.Errorf("acks = %v, want %v", acks, want)
	}
	if n := countKeys(t, s, prefixEventID); n != 0 {
		t.Errorf("%d ids indexed with deduplication off", n)
	}
	if err := s.EnforceRetention(0); err != nil {
		t.Error(err)
	}
}

func TestDedupeOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		w  time.Duration
		ok bool
	}{{0, true}, {NoDedupe, true}, {-time.Hour, true}, {time.Millisecond, true}, {time.Hour, true}, {1, false}, {time.Millisecond - 1, false}} {
		err := Options{DedupeWindow: tc.w}.Validate()
		if (err == nil) != tc.ok || err != nil && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "DedupeWindow")) {
			t.Errorf("Validate(DedupeWindow %v) = %v", tc.w, err)
		}
	}
	// Every problem at once.
	err := Options{DedupeWindow: 10, CacheSize: -1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "DedupeWindow") || !strings.Contains(err.Error(), "CacheSize") {
		t.Errorf("Validate = %v", err)
	}
	if _, err := Open(t.TempDir(), Options{DedupeWindow: 10}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open with DedupeWindow 10ns = %v", err)
	}
	s := open(t, t.TempDir(), Options{})
	if s.opts.DedupeWindow != DefaultDedupeWindow {
		t.Errorf("default window %v", s.opts.DedupeWindow)
	}
	long := Record{Data: []byte("x"), ID: strings.Repeat("i", MaxRecordIDBytes+1)}
	if _, err := s.AppendRecords(0, []Record{long}); !errors.Is(err, ErrInvalid) {
		t.Errorf("oversized id = %v", err)
	}
	if _, err := s.AppendRecords(0, []Record{{Data: make([]byte, MaxAppendBytes)}, {Data: []byte("x"), ID: "x"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("oversized call = %v", err)
	}
	if s.Stats().LogAppends != 0 {
		t.Error("refused calls were counted")
	}
}

// TestAppendRecordsConcurrent has callers on three partitions append
// overlapping ids: each id must be appended once, and every ack for it
// name that one record.
func TestAppendRecordsConcurrent(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	const workers, calls, perCall, ids = 16, 40, 8, 300
	type ack struct {
		id string
		a  Appended
	}
	acks := make([][]ack, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range calls {
				recs := make([]Record, perCall)
				for i := range recs {
					id := fmt.Sprintf("id%03d", rng.IntN(ids))
					recs[i] = rec(id, time.Duration(len(id)))
				}
				got, err := s.AppendRecords(uint32(w%3), recs)
				if err != nil {
					t.Errorf("AppendRecords: %v", err)
					return
				}
				for i, a := range got {
					acks[w] = append(acks[w], ack{recs[i].ID, a})
				}
			}
		})
	}
	wg.Wait()

	where := map[string]Appended{}
	for _, as := range acks {
		for _, a := range as {
			loc := a.a
			loc.Duplicate = false
			if prev, ok := where[a.id]; ok && prev != loc {
				t.Errorf("%s acked at %v and at %v", a.id, prev, loc)
			}
			where[a.id] = loc
		}
	}
	total := 0
	for p := range uint32(3) {
		recs := readAll(t, s, p, 0)
		total += len(recs)
		for off, id := range recs {
			if loc := where[id]; loc != fresh(p, uint64(off)) {
				t.Errorf("%s stored at %d/%d, acked at %v", id, p, off, loc)
			}
		}
	}
	if total != len(where) {
		t.Errorf("%d records stored for %d ids", total, len(where))
	}
	st := s.Stats()
	if st.LogRecords != uint64(total) || st.LogDuplicates != workers*calls*perCall-uint64(total) {
		t.Errorf("Stats = %+v, %d stored", st, total)
	}
}

// TestPruneRacesRewrites reuses ids once they expire while pruning runs
// all along: pruning must never delete the entry of a record appended
// after it began (an id appended again once its first record expired),
// nor leave an id pointing at the wrong record.
func TestPruneRacesRewrites(t *testing.T) {
	const w = time.Millisecond
	s := open(t, t.TempDir(), Options{DedupeWindow: w})
	var clock atomic.Int64 // event time, advanced by every call
	stop := make(chan struct{})
	var pruned sync.WaitGroup
	pruned.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.EnforceRetention(0); err != nil {
				t.Error(err)
				return
			}
		}
	})
	type ack struct {
		id string
		at int64
		a  Appended
	}
	const workers, calls = 8, 300
	acks := make([][]ack, workers)
	var wg sync.WaitGroup
	for wk := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(wk), 2))
			for range calls {
				at := clock.Add(int64(50 * time.Microsecond))
				// A new id moves the window on; the others come back
				// once their last record has expired, or as retries.
				recs := make([]Record, 4)
				for i := range recs {
					id := fmt.Sprintf("id%02d", rng.IntN(20))
					if i == 0 {
						id = fmt.Sprintf("new%d", at)
					}
					recs[i] = Record{Data: []byte(id), ID: id, Time: at}
				}
				got, err := s.AppendRecords(0, recs)
				if err != nil {
					t.Errorf("AppendRecords: %v", err)
					return
				}
				for i, a := range got {
					acks[wk] = append(acks[wk], ack{recs[i].ID, at, a})
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	pruned.Wait()

	log := readAll(t, s, 0, 0)
	latest := map[string]ack{} // the last record appended per id
	var maxSeen int64
	for _, as := range acks {
		for _, a := range as {
			if log[a.a.Offset] != a.id {
				t.Fatalf("%s acked at %d, which holds %s", a.id, a.a.Offset, log[a.a.Offset])
			}
			if !a.a.Duplicate && a.a.Offset >= latest[a.id].a.Offset {
				latest[a.id] = a
				maxSeen = max(maxSeen, a.at)
			}
		}
	}
	if err := s.EnforceRetention(0); err != nil {
		t.Fatal(err)
	}
	for id, a := range latest {
		if a.at < maxSeen-int64(w) {
			continue
		}
		got := appendRecs(t, s, 1, Record{ID: id, Time: a.at, Data: []byte(id)})
		if got[0] != dup(0, a.a.Offset) {
			t.Errorf("%s (at %d, maxSeen %d): retry = %v, want a duplicate of %d", id, a.at, maxSeen, got[0], a.a.Offset)
		}
	}
}

// dedupeCrashEnv makes the test binary the child of
// TestAppendRecordsSurvivesKill.
const dedupeCrashEnv = "MOTIF_CHECKPOINT_DEDUPE_CRASH_DIR"

// TestAppendRecordsSurvivesKill runs AppendRecords callers in a child
// process, each call retrying one id of its previous call, SIGKILLs it
// mid-stream, then checks that every acknowledged id is known, with the
// offset it was acknowledged at, and that no id is known whose record is
// missing.
func TestAppendRecordsSurvivesKill(t *testing.T) {
	if dir := os.Getenv(dedupeCrashEnv); dir != "" {
		dedupeCrashChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAppendRecordsSurvivesKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), dedupeCrashEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	acked := map[string]Appended{} // id -> where it was first stored
	calls := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		// "idack id partition offset dup" per record.
		f := strings.Fields(sc.Text())
		if len(f) != 5 || f[0] != "idack" {
			continue // the test framework's own lines
		}
		p, err1 := strconv.ParseUint(f[2], 10, 32)
		off, err2 := strconv.ParseUint(f[3], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		a := Appended{Partition: uint32(p), Offset: off}
		if prev, ok := acked[f[1]]; ok && prev != a {
			t.Errorf("%s acked at %v, then at %v", f[1], prev, a)
		}
		acked[f[1]] = a
		if f[4] == "1" {
			calls++ // a retry, one per call
		}
		if calls == 300 && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended by itself after %d calls: %v\n%s", calls, err, stderr.String())
	}

	s := open(t, dir, Options{})
	// Every acknowledged id is known where it was acknowledged.
	var recs []Record
	var want []Appended
	for id, a := range acked {
		recs = append(recs, Record{Data: []byte(id), ID: id, Time: 1})
		want = append(want, Appended{Partition: a.Partition, Offset: a.Offset, Duplicate: true})
	}
	for i := 0; i < len(recs); i += 64 {
		j := min(i+64, len(recs))
		got := appendRecs(t, s, 9, recs[i:j]...)
		for k := range got {
			if got[k] != want[i+k] {
				t.Errorf("%s acked at %v before the kill, now %v", recs[i+k].ID, want[i+k], got[k])
			}
		}
	}
	// Every known id names its record.
	known := 0
	err = s.scan([]byte{prefixEventID}, []byte{prefixEventID + 1}, "ids", func(k, v []byte) (bool, error) {
		_, p, off, err := decodeEventIDValue(k, v)
		if err != nil {
			return false, err
		}
		known++
		if err := s.ReadLog(p, off, 1, func(_ uint64, rec []byte) bool {
			if !bytes.Equal(rec, k[1:]) {
				t.Errorf("id %s names %d/%d, which holds %s", k[1:], p, off, rec)
			}
			return true
		}); err != nil || off >= s.LogEnd(p) {
			t.Errorf("id %s names %d/%d, beyond the log (end %d): %v", k[1:], p, off, s.LogEnd(p), err)
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.LogEnd(9) != 0 {
		t.Errorf("a retry of an acknowledged id was appended: partition 9 ends at %d", s.LogEnd(9))
	}
	t.Logf("%d acknowledged ids survived SIGKILL; %d ids known", len(acked), known)
}

// dedupeCrashChild appends from 4 goroutines until killed, or for a minute
// at most should the parent have gone. Each call holds two new ids and the
// first id of the previous call (a retry), which must be a duplicate.
func dedupeCrashChild(dir string) {
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(time.Minute)
	for w := range 4 {
		wg.Go(func() {
			var retry Record
			var line []byte
			for i := 0; time.Now().Before(deadline); i++ {
				recs := make([]Record, 0, 3)
				for j := range 2 {
					id := fmt.Sprintf("w%d-%d-%d", w, i, j)
					recs = append(recs, Record{Data: []byte(id), ID: id, Time: int64(i)})
				}
				if i > 0 {
					recs = append(recs, retry)
				}
				retry = recs[0]
				acks, err := s.AppendRecords(uint32(w%2), recs)
				if err == nil && i > 0 && !acks[2].Duplicate {
					err = fmt.Errorf("retry of %s appended again", recs[2].ID)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				line = line[:0]
				for k, a := range acks {
					d := 0
					if a.Duplicate {
						d = 1
					}
					line = fmt.Appendf(line, "idack %s %d %d %d\n", recs[k].ID, a.Partition, a.Offset, d)
				}
				mu.Lock()
				_, _ = os.Stdout.Write(line)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	os.Exit(0)
}

// BenchmarkAppendRecords appends calls of 64 records of 200 bytes, each
// with a new id (16 bytes), from one caller or 16. ids=none sends the same
// records without ids (the cost of deduplication is the difference);
// ids=dups sends one call's records again and again (every record a
// duplicate, nothing appended). The allocations include the 64 id strings
// each call with ids makes.
func BenchmarkAppendRecords(b *testing.B) {
	for _, tc := range []struct {
		callers int
		ids     string
	}{{1, "new"}, {16, "new"}, {1, "none"}, {16, "none"}, {1, "dups"}} {
		b.Run(fmt.Sprintf("callers=%d/ids=%s", tc.callers, tc.ids), func(b *testing.B) {
			benchAppendRecords(b, tc.callers, tc.ids)
		})
	}
}

func benchAppendRecords(b *testing.B, callers int, ids string) {
	const perCall = 64
	s := open(b, b.TempDir(), Options{})
	data := make([]byte, 200)
	var next atomic.Int64
	newRecs := func(recs []Record, buf []byte) []byte {
		n := next.Add(perCall) - perCall
		for i := range recs {
			recs[i] = Record{Data: data, Time: n + int64(i)}
			if ids != "none" {
				buf = strconv.AppendInt(append(buf[:0], "evt-"...), 1e12+recs[i].Time, 10)
				recs[i].ID = string(buf)
			}
		}
		return buf
	}
	call := func(recs []Record, buf []byte) ([]byte, error) {
		if ids != "dups" {
			buf = newRecs(recs, buf)
		}
		_, err := s.AppendRecords(0, recs)
		return buf, err
	}
	run := func(recs []Record, buf []byte, pb func() bool) error {
		if ids == "dups" {
			buf = newRecs(recs, buf)
			if _, err := s.AppendRecords(0, recs); err != nil {
				return err
			}
		}
		var err error
		for pb() {
			if buf, err = call(recs, buf); err != nil {
				return err
			}
		}
		return nil
	}
	b.SetBytes(200 * perCall)
	b.ReportAllocs()
	if callers == 1 {
		if err := run(make([]Record, perCall), nil, b.Loop); err != nil {
			b.Fatal(err)
		}
	} else {
		b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			if err := run(make([]Record, perCall), nil, pb.Next); err != nil {
				b.Error(err)
			}
		})
	}
	st := s.Stats()
	b.ReportMetric(float64(st.LogRecords+st.LogDuplicates)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(st.LogAppends)/float64(max(st.LogGroupCommits, 1)), "calls/group")
}
