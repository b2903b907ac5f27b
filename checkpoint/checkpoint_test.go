package checkpoint

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
)

// writer commits batches until stopped: batch i puts state i, offset i+1 and
// an alert, so a consistent prefix of its work has exactly states 0..n-1
// for offset n.
type writer struct {
	s       *Store
	commits atomic.Uint64
	exited  atomic.Bool
	stop    chan struct{}
	wg      sync.WaitGroup
	err     error // read after wg.Wait
}

func startWriter(s *Store) *writer {
	w := &writer{s: s, stop: make(chan struct{})}
	w.wg.Go(func() {
		defer w.exited.Store(true)
		for i := uint64(0); ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			b := s.NewBatch()
			b.PutState("p", 1, binary.BigEndian.AppendUint64(nil, i), []byte("v"))
			b.PutOffset("src", 0, i+1)
			if i%10 == 0 {
				b.AppendAlert(fmt.Sprint("alert", i), int64(i), nil)
			}
			if err := b.Commit(false); err != nil {
				w.err = err
				return
			}
			w.commits.Add(1)
		}
	})
	return w
}

func (w *writer) halt(t *testing.T) {
	t.Helper()
	close(w.stop)
	w.wg.Wait()
	if w.err != nil {
		t.Fatalf("writer: %v", w.err)
	}
}

// checkPrefix asserts that the store at dir holds exactly the writer's
// first n batches, n being its committed offset, and returns n.
func checkPrefix(t *testing.T, dir string) uint64 {
	t.Helper()
	s := open(t, dir, Options{})
	offs, err := s.Offsets()
	if err != nil {
		t.Fatal(err)
	}
	n := offs["src"][0]
	var count, want uint64
	err = s.States("p", 1, func(k, _ []byte) bool {
		if got := binary.BigEndian.Uint64(k); got != want {
			t.Errorf("state %d where %d was expected", got, want)
			return false
		}
		want++
		count++
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if count != n {
		t.Errorf("%s: %d states for offset %d", dir, count, n)
	}
	if wantSeq := (n + 9) / 10; s.LastAlertSeq() != wantSeq {
		t.Errorf("%s: LastAlertSeq %d, want %d", dir, s.LastAlertSeq(), wantSeq)
	}
	return n
}

func TestCheckpointWhileWriting(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	w := startWriter(s)
	waitForCommits(t, w, 100)

	// The writer goes on while checkpoints are taken: at least one of a few
	// attempts must see commits finish during the call.
	var info Info
	progressed := false
	for range 5 {
		before := w.commits.Load()
		var err error
		info, err = s.Checkpoint(t.Context(), Meta{Patterns: map[string]uint32{"p": 1}, Labels: map[string]string{"why": "test"}})
		if err != nil {
			t.Fatal(err)
		}
		if w.commits.Load() > before {
			progressed = true
			break
		}
	}
	waitForCommits(t, w, w.commits.Load()+100)
	w.halt(t)
	if !progressed {
		t.Errorf("no commit finished while a checkpoint was taken")
	}

	n := checkPrefix(t, info.Dir)
	if n == 0 || n >= w.commits.Load() {
		t.Errorf("checkpoint at offset %d of %d commits", n, w.commits.Load())
	}
	if got := info.Meta.Offsets["src"][0]; got != n {
		t.Errorf("Info offsets say %d, the data %d", got, n)
	}
	if info.Meta.AlertSeq != (n+9)/10 || info.Meta.Patterns["p"] != 1 || info.Meta.Labels["why"] != "test" {
		t.Errorf("Info.Meta = %+v", info.Meta)
	}
	read, err := ReadInfo(info.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(read, info) {
		t.Errorf("ReadInfo = %+v\nwant %+v", read, info)
	}
	st := s.Stats()
	if st.CheckpointsTaken == 0 || st.CheckpointsFailed != 0 || st.LastCheckpointBytes != info.Size || info.Size <= 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func waitForCommits(t *testing.T, w *writer, n uint64) {
	t.Helper()
	waitFor(t, fmt.Sprint(n, " commits"), defaultWait, func() bool { return w.commits.Load() >= n || w.exited.Load() })
}

func TestKeepLastCheckpoints(t *testing.T) {
	s := open(t, t.TempDir(), Options{KeepCheckpoints: 2})
	var ids []uint64
	for i := range 4 {
		b := s.NewBatch()
		b.PutOffset("src", 0, uint64(i))
		commit(t, b)
		info, err := s.Checkpoint(t.Context(), Meta{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, info.ID)
	}
	if !reflect.DeepEqual(ids, []uint64{1, 2, 3, 4}) {
		t.Errorf("ids = %v", ids)
	}
	list, err := s.ListCheckpoints()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != 3 || list[1].ID != 4 || list[1].Meta.Offsets["src"][0] != 3 {
		t.Errorf("ListCheckpoints = %+v", list)
	}
	for _, id := range []uint64{1, 2} {
		if _, err := os.Stat(filepath.Join(s.Dir(), checkpointsDir, formatID(id))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("checkpoint %d not removed: %v", id, err)
		}
	}
	// Numbering goes on after reopen.
	s = reopen(t, s, Options{KeepCheckpoints: 2})
	if info, err := s.Checkpoint(t.Context(), Meta{}); err != nil || info.ID != 5 {
		t.Errorf("Checkpoint after reopen = %d, %v", info.ID, err)
	}
}

func TestSavepoints(t *testing.T) {
	s := open(t, t.TempDir(), Options{KeepCheckpoints: 1})
	if _, err := s.Savepoint(t.Context(), "before-v2", Meta{}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Checkpoint(t.Context(), Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Savepoint(t.Context(), "before-v2", Meta{}); !errors.Is(err, ErrExists) {
		t.Errorf("second savepoint of one name = %v", err)
	}
	for _, bad := range []string{"", ".hidden", "a/b", "..", "x y"} {
		if _, err := s.Savepoint(t.Context(), bad, Meta{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("Savepoint(%q) = %v", bad, err)
		}
	}
	saves, err := s.ListSavepoints()
	if err != nil || len(saves) != 1 || saves[0].Name != "before-v2" || saves[0].ID != 1 {
		t.Errorf("ListSavepoints = %+v, %v", saves, err)
	}
	if dir, err := Locate(s.Dir(), "before-v2"); err != nil || dir != saves[0].Dir {
		t.Errorf("Locate(before-v2) = %s, %v", dir, err)
	}
	if dir, err := Locate(s.Dir(), "latest"); err != nil || filepath.Base(dir) != formatID(4) {
		t.Errorf("Locate(latest) = %s, %v", dir, err)
	}
	if dir, err := Locate(s.Dir(), "4"); err != nil || filepath.Base(dir) != formatID(4) {
		t.Errorf("Locate(4) = %s, %v", dir, err)
	}
	if _, err := Locate(s.Dir(), "2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Locate of a pruned checkpoint = %v", err)
	}
	if err := s.DeleteSavepoint("before-v2"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSavepoint("before-v2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteSavepoint = %v", err)
	}
	if saves, _ := s.ListSavepoints(); len(saves) != 0 {
		t.Errorf("savepoints after delete: %+v", saves)
	}
}

func TestCheckpointFailureIsCounted(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	// A file where the checkpoints directory should be.
	if err := os.WriteFile(filepath.Join(s.Dir(), checkpointsDir), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Checkpoint(t.Context(), Meta{}); err == nil {
		t.Fatal("Checkpoint into a file succeeded")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Savepoint(ctx, "x", Meta{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Savepoint with a cancelled context = %v", err)
	}
	if st := s.Stats(); st.CheckpointsFailed != 2 || st.CheckpointsTaken != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestRestore(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	for i := range 3 {
		b := s.NewBatch()
		fill(b, i)
		commit(t, b)
	}
	if _, err := s.Append(0, [][]byte{[]byte("e0"), []byte("e1")}); err != nil {
		t.Fatal(err)
	}
	want := contents(t, s)
	info, err := s.Savepoint(t.Context(), "good", Meta{})
	if err != nil {
		t.Fatal(err)
	}
	// Later changes, flushed and compacted so that the live database no
	// longer uses the tables the savepoint shares.
	b := s.NewBatch()
	fill(b, 9)
	b.DeleteState("p", 1, []byte("k0"))
	commit(t, b)
	if _, err := s.Append(0, [][]byte{[]byte("e2")}); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Compact(t.Context(), []byte{0}, []byte{0xff}, false); err != nil {
		t.Fatal(err)
	}
	changed := contents(t, s)

	// Restore into a new directory.
	other := t.TempDir()
	if err := Restore(other, info.Dir); err != nil {
		t.Fatal(err)
	}
	r := open(t, other, Options{})
	if got := contents(t, r); got != want {
		t.Errorf("restored into a new dir:\n%s\nwant:\n%s", got, want)
	}
	if got := readAll(t, r, 0, 0); !reflect.DeepEqual(got, []string{"e0", "e1"}) {
		t.Errorf("restored log = %v", got)
	}
	// The restored store writes and compacts; the savepoint is untouched.
	b = r.NewBatch()
	fill(b, 7)
	commit(t, b)
	if err := r.db.Compact(t.Context(), []byte{0}, []byte{0xff}, false); err != nil {
		t.Fatal(err)
	}

	// Restore over the live directory: refused while it is open.
	if err := Restore(s.Dir(), info.Dir); !errors.Is(err, ErrLocked) {
		t.Errorf("Restore over an open store = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Restore(s.Dir(), info.Dir); err != nil {
		t.Fatal(err)
	}
	s = open(t, s.Dir(), Options{})
	if got := contents(t, s); got != want || got == changed {
		t.Errorf("restored in place:\n%s\nwant:\n%s", got, want)
	}
	if first, err := s.Append(0, [][]byte{[]byte("again")}); err != nil || first != 2 {
		t.Errorf("Append after restore = %d, %v; want 2", first, err)
	}
	if saves, _ := s.ListSavepoints(); len(saves) != 1 {
		t.Errorf("savepoints after restore: %+v", saves)
	}
}

func TestRestoreInterrupted(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	b := s.NewBatch()
	fill(b, 1)
	commit(t, b)
	info, err := s.Savepoint(t.Context(), "sp", Meta{})
	if err != nil {
		t.Fatal(err)
	}
	want := contents(t, s)
	b = s.NewBatch()
	fill(b, 2)
	commit(t, b)
	changed := contents(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Stopped while copying: no marker, so Open discards the copy.
	if err := copyDB(filepath.Join(info.Dir, dbDir), filepath.Join(dir, restoreStaging)); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, Options{})
	if got := contents(t, s); got != changed {
		t.Errorf("after an incomplete restore:\n%s\nwant:\n%s", got, changed)
	}
	if _, err := os.Stat(filepath.Join(dir, restoreStaging)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("incomplete copy left behind: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Stopped after the copy was marked complete and the old database
	// removed: Open finishes the swap.
	if err := copyDB(filepath.Join(info.Dir, dbDir), filepath.Join(dir, restoreStaging)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, restoreDone), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, dbDir)); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, Options{})
	if got := contents(t, s); got != want {
		t.Errorf("after a finished restore:\n%s\nwant:\n%s", got, want)
	}
}
