package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// faultFS is the operating system's file system with faults a test arms:
// while armed, the operations match selects fail with err, at most times
// of them (0: all). It stands for what cannot be produced for real here,
// a disk that fills up.
type faultFS struct {
	vfs.FS
	mu    sync.Mutex
	match func(errorfs.Op) bool
	times int
	hits  int
}

func newFaultFS() *faultFS {
	f := &faultFS{}
	f.FS = errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(f.maybe))
	return f
}

// ReuseForWrite wraps the recycled file (a WAL) that errorfs hands back
// unwrapped, so that faults reach it too.
func (f *faultFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	file, err := f.FS.ReuseForWrite(oldname, newname, category)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f, path: newname}, nil
}

// faultFile is a file whose writes and syncs the faultFS may fail.
type faultFile struct {
	vfs.File
	fs   *faultFS
	path string
}

func (f *faultFile) fault(kind errorfs.OpKind) error {
	return f.fs.maybe(errorfs.Op{Kind: kind, Path: f.path})
}

func (f *faultFile) Write(p []byte) (int, error) {
	if err := f.fault(errorfs.OpFileWrite); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.fault(errorfs.OpFileWriteAt); err != nil {
		return 0, err
	}
	return f.File.WriteAt(p, off)
}

func (f *faultFile) Sync() error {
	if err := f.fault(errorfs.OpFileSync); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultFile) SyncData() error {
	if err := f.fault(errorfs.OpFileSyncData); err != nil {
		return err
	}
	return f.File.SyncData()
}

func (f *faultFile) SyncTo(length int64) (bool, error) {
	if err := f.fault(errorfs.OpFileSyncTo); err != nil {
		return false, err
	}
	return f.File.SyncTo(length)
}

// arm makes the next operations match selects fail with ENOSPC.
func (f *faultFS) arm(times int, match func(errorfs.Op) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.match, f.times, f.hits = match, times, 0
}

// disarm gives the space back and returns how many operations failed.
func (f *faultFS) disarm() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.match = nil
	return f.hits
}

func (f *faultFS) maybe(op errorfs.Op) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.match == nil || (f.times > 0 && f.hits >= f.times) || !f.match(op) {
		return nil
	}
	f.hits++
	return &fs.PathError{Op: "write", Path: op.Path, Err: syscall.ENOSPC}
}

// needsSpace selects what fails on a full disk: creating, growing,
// writing and syncing files (a sync can be where delayed allocation
// finds no space).
func needsSpace(op errorfs.Op) bool {
	switch op.Kind {
	case errorfs.OpCreate, errorfs.OpLink, errorfs.OpMkdirAll, errorfs.OpFileWrite, errorfs.OpFileWriteAt,
		errorfs.OpFilePreallocate, errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
		return true
	}
	return false
}

// TestDiskFullDuringCommit fills the disk under a store that commits and
// appends: the commit that meets it fails with an error naming the
// database and wrapping ENOSPC, the store refuses writes from then on
// (counted) but still reads, and reopened with space back it holds every
// acknowledged commit and append.
func TestDiskFullDuringCommit(t *testing.T) {
	dir := t.TempDir()
	ffs := newFaultFS()
	s, err := Open(dir, Options{fs: ffs})
	if err != nil {
		t.Fatal(err)
	}
	var acked []string
	for i := range 5 {
		b := s.NewBatch()
		fill(b, i)
		commit(t, b)
		if _, err := s.Append(0, [][]byte{fmt.Appendf(nil, "e%d", i)}); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, fmt.Sprintf("e%d", i))
	}
	want := contents(t, s)

	ffs.arm(0, needsSpace)
	b := s.NewBatch()
	fill(b, 5)
	err = b.Commit(true)
	if !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), filepath.Join(dir, dbDir)) {
		t.Fatalf("Commit on a full disk = %v; want ErrFailed wrapping ENOSPC, naming %s", err, filepath.Join(dir, dbDir))
	}
	if ffs.disarm() == 0 {
		t.Fatal("no write met the full disk")
	}

	// Space is back, but the store refuses writes until reopened.
	if _, err := s.Append(0, [][]byte{[]byte("late")}); !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Append after the failure = %v; want ErrFailed", err)
	}
	b = s.NewBatch()
	b.PutState("p", 1, []byte("late"), []byte("x"))
	if err := b.Commit(false); !errors.Is(err, ErrFailed) {
		t.Errorf("Commit after the failure = %v; want ErrFailed", err)
	}
	if _, err := s.Checkpoint(t.Context(), Meta{}); !errors.Is(err, ErrFailed) {
		t.Errorf("Checkpoint after the failure = %v; want ErrFailed", err)
	}
	if st := s.Stats(); !st.Failed || st.WriteFailures != 4 || st.CheckpointsFailed != 1 {
		t.Errorf("Stats = %+v; want Failed, 4 write failures, 1 failed checkpoint", st)
	}
	if got, ok, err := s.GetState("p", 1, []byte("k4")); err != nil || !ok || string(got) != "state4" {
		t.Errorf("GetState after the failure = %q, %v, %v", got, ok, err)
	}
	_ = s.Close() // may report the log's failure; it must release the directory

	s = open(t, dir, Options{})
	// The failed commit may have reached the log before the disk filled:
	// then it is there whole, as after a crash.
	if got := contents(t, s); got != want {
		offs, err := s.Offsets()
		st, ok, _ := s.GetState("p", 1, []byte("k5"))
		if err != nil || offs["src"][0] != 6 || !ok || string(st) != "state5" || s.LastAlertSeq() != 6 {
			t.Errorf("after reopening:\n%s\nwant:\n%s(or that and batch 5 whole)", got, want)
		}
	}
	if recs := readAll(t, s, 0, 0); strings.Join(recs, ",") != strings.Join(acked, ",") {
		t.Errorf("log after reopening = %v, want %v", recs, acked)
	}
	b = s.NewBatch()
	fill(b, 6)
	commit(t, b)
	if st := s.Stats(); st.Failed || st.WriteFailures != 0 {
		t.Errorf("Stats after reopening = %+v", st)
	}
}

// TestDiskFullDuringAppend fills the disk under concurrent appenders:
// every call acknowledged before is durable, every call after fails with
// ErrFailed, and none hangs.
func TestDiskFullDuringAppend(t *testing.T) {
	dir := t.TempDir()
	ffs := newFaultFS()
	s, err := Open(dir, Options{fs: ffs})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		acked  = map[string]uint64{}
		failed atomic.Int64
		wg     sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				rec := fmt.Sprintf("w%d-%d", w, i)
				off, err := s.Append(0, [][]byte{[]byte(rec)})
				if err != nil {
					if !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.ENOSPC) {
						t.Errorf("Append = %v; want ErrFailed wrapping ENOSPC", err)
					}
					failed.Add(1)
					return
				}
				mu.Lock()
				acked[rec] = off
				mu.Unlock()
			}
		})
	}
	waitFor(t, "200 appends", defaultWait, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 200
	})
	ffs.arm(0, needsSpace)
	wg.Wait()
	ffs.disarm()
	if failed.Load() != 4 {
		t.Errorf("%d appenders failed, want 4", failed.Load())
	}
	if st := s.Stats(); !st.Failed || st.WriteFailures == 0 {
		t.Errorf("Stats = %+v", st)
	}
	_ = s.Close()

	s = open(t, dir, Options{})
	for rec, off := range acked {
		var got string
		if err := s.ReadLog(0, off, 1, func(_ uint64, r []byte) bool { got = string(r); return true }); err != nil || got != rec {
			t.Errorf("acknowledged %s at %d: found %q, %v", rec, off, got, err)
		}
	}
	if _, err := s.Append(0, [][]byte{[]byte("after")}); err != nil {
		t.Errorf("Append after reopening: %v", err)
	}
}

// TestWriteStallsCounted provokes a write stall, as Pebble's own test does:
// tiny memtables, and a flush held at the creation of its table, so that
// full memtables queue up. Stats count the stall and its time.
func TestWriteStallsCounted(t *testing.T) {
	release := make(chan struct{})
	var held atomic.Bool
	blocking := errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if op.Kind == errorfs.OpCreate && strings.HasSuffix(op.Path, ".sst") {
			held.Store(true)
			<-release
		}
		return nil
	}))
	s := open(t, t.TempDir(), Options{fs: blocking, tune: func(o *pebble.Options) {
		o.MemTableSize = 256 << 10
		o.MemTableStopWritesThreshold = 2
	}})
	if st := s.Stats(); st.WriteStalls != 0 || st.WriteStallTime != 0 {
		t.Fatalf("Stats before any write = %+v", st)
	}
	var commits atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() {
		state := make([]byte, 1<<10)
		key := make([]byte, 8)
		for i := uint64(0); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			b := s.NewBatch()
			for j := range uint64(16) {
				binary.BigEndian.PutUint64(key, i*16+j)
				b.PutState("p", 1, key, state)
			}
			if werr = b.Commit(false); werr != nil {
				return
			}
			commits.Add(1)
		}
	})
	waitFor(t, "a write stall", defaultWait, func() bool { return s.Stats().WriteStalls > 0 })
	if !held.Load() {
		t.Error("writes stalled before a flush was held")
	}
	stalledAt := commits.Load()
	first := s.Stats().WriteStallTime
	waitFor(t, "the stall's time to grow", defaultWait, func() bool { return s.Stats().WriteStallTime > first })
	close(release)
	waitFor(t, "commits after the stall", defaultWait, func() bool { return commits.Load() > stalledAt+10 })
	close(stop)
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
	st := s.Stats()
	if st.WriteStalls == 0 || st.WriteStallTime <= first {
		t.Errorf("Stats = %+v", st)
	}
	// No stall under way: the total no longer grows.
	if again := s.Stats(); again.WriteStallTime != st.WriteStallTime {
		t.Errorf("WriteStallTime grows with no stall: %v then %v", st.WriteStallTime, again.WriteStallTime)
	}
	t.Logf("%d stalls, %v", st.WriteStalls, st.WriteStallTime)
}

// corruptStore writes a store at dir whose data is both in a table and
// in the WAL, closes it and returns what it holds.
func corruptStore(t *testing.T, dir string) string {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		b := s.NewBatch()
		fill(b, i)
		commit(t, b)
	}
	if _, err := s.Checkpoint(t.Context(), Meta{}); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch()
	fill(b, 3)
	commit(t, b)
	want := contents(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return want
}

// dbFile returns the path of the newest file of the database in dir whose
// name has the prefix and suffix given.
func dbFile(t *testing.T, dir, prefix, suffix string) string {
	t.Helper()
	names, err := os.ReadDir(filepath.Join(dir, dbDir))
	if err != nil {
		t.Fatal(err)
	}
	path := ""
	for _, e := range names {
		if strings.HasPrefix(e.Name(), prefix) && strings.HasSuffix(e.Name(), suffix) {
			path = filepath.Join(dir, dbDir, e.Name()) // names are sorted
		}
	}
	if path == "" {
		t.Fatalf("no %s*%s in %s", prefix, suffix, dir)
	}
	return path
}

// scribble overwrites a file with as many bytes of garbage.
func scribble(t *testing.T, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, max(st.Size(), 64))
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOpenCorrupt damages a store directory in the ways a disk, a crash or
// a hand can: Open refuses it with an error that wraps ErrCorrupt and
// names the path, and never panics.
func TestOpenCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string) string // returns the path the error must name
	}{
		{"garbage MANIFEST", func(t *testing.T, dir string) string {
			p := dbFile(t, dir, "MANIFEST-", "")
			scribble(t, p)
			return filepath.Join(dir, dbDir)
		}},
		{"missing MANIFEST", func(t *testing.T, dir string) string {
			p := dbFile(t, dir, "MANIFEST-", "")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			return filepath.Base(p)
		}},
		{"garbage OPTIONS", func(t *testing.T, dir string) string {
			p := dbFile(t, dir, "OPTIONS-", "")
			scribble(t, p)
			return p
		}},
		{"garbage table", func(t *testing.T, dir string) string {
			p := dbFile(t, dir, "", ".sst")
			scribble(t, p)
			return filepath.Join(dir, dbDir)
		}},
		{"truncated table", func(t *testing.T, dir string) string {
			p := dbFile(t, dir, "", ".sst")
			if err := os.Truncate(p, 10); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{"missing table", func(t *testing.T, dir string) string {
			p := dbFile(t, dir, "", ".sst")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, dbDir)
		}},
		{"database is a file", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, dbDir)
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{"checkpoints is a file", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, checkpointsDir)
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{"database missing beside checkpoints", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, dbDir)
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
			return p
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			corruptStore(t, dir)
			path := tc.damage(t, dir)
			s, err := Open(dir, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Errorf("Open = %v; want ErrCorrupt naming %s", err, path)
			}
		})
	}
}

// TestOpenDamagedWAL: the end of the newest WAL is where a crash tears a
// write, so Pebble reads it up to the damage. Open succeeds and the store
// holds whole batches, a prefix of those committed.
func TestOpenDamagedWAL(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(path string) error
	}{
		{"truncated", func(p string) error {
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			return os.Truncate(p, st.Size()/2)
		}},
		{"garbage", func(p string) error { scribble(t, p); return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, Options{})
			for i := range 20 {
				b := s.NewBatch()
				fill(b, i)
				commit(t, b)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := tc.damage(dbFile(t, dir, "", ".log")); err != nil {
				t.Fatal(err)
			}
			s = open(t, dir, Options{})
			offs, err := s.Offsets()
			if err != nil {
				t.Fatal(err)
			}
			n := int(offs["src"][0])
			var states int
			if err := s.States("p", 1, func(k, v []byte) bool { states++; return true }); err != nil {
				t.Fatal(err)
			}
			if states != n || s.LastAlertSeq() != uint64(n) {
				t.Errorf("after the damage: offset %d, %d states, last alert %d; want one batch each", n, states, s.LastAlertSeq())
			}
			if tc.name == "truncated" && (n == 0 || n == 20) {
				t.Errorf("offset %d after cutting the WAL in half", n)
			}
			b := s.NewBatch()
			fill(b, 20)
			commit(t, b)
		})
	}
}

// TestOpenLockedIsNotCorrupt: a database another Store holds open is in
// use, not damaged.
func TestOpenLockedIsNotCorrupt(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, Options{})
	if s, err := Open(dir, Options{}); err == nil {
		s.Close()
		t.Fatal("second Open succeeded")
	} else if errors.Is(err, ErrCorrupt) {
		t.Errorf("second Open = %v; want an error that is not ErrCorrupt", err)
	}
}

// TestCorruptTableFoundLater: a damaged table that Open does not read is
// found by a read (an error wrapping Pebble's corruption, counted) or by a
// compaction, which Pebble would otherwise end the process for.
func TestCorruptTableFoundLater(t *testing.T) {
	dir := t.TempDir()
	// Three tables, left in L0: the layout version, the states of q, one
	// batch of everything.
	s := open(t, dir, Options{tune: func(o *pebble.Options) { o.DisableAutomaticCompactions = true }})
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 4<<10)
	b := s.NewBatch()
	for i := range 200 {
		b.PutState("q", 1, fmt.Appendf(nil, "key%04d", i), big)
	}
	commit(t, b)
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	b = s.NewBatch()
	fill(b, 1)
	commit(t, b)
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The largest table holds only the states of q, which Open does not
	// read.
	names, err := os.ReadDir(filepath.Join(dir, dbDir))
	if err != nil {
		t.Fatal(err)
	}
	var largest string
	var size int64
	for _, e := range names {
		if st, err := e.Info(); err == nil && strings.HasSuffix(e.Name(), ".sst") && st.Size() > size {
			largest, size = filepath.Join(dir, dbDir, e.Name()), st.Size()
		}
	}
	scribble(t, largest)

	// With compactions on, the first one reads the damaged table.
	s = open(t, dir, Options{})
	waitFor(t, "the corruption to be counted", defaultWait, func() bool { return s.Stats().Corruptions > 0 })
	if _, _, err := s.GetState("q", 1, []byte("key0007")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("GetState from the damaged table = %v; want ErrCorrupt", err)
	}
	if _, ok, err := s.GetState("p", 1, []byte("k1")); err != nil || !ok {
		t.Errorf("GetState from a sound table = %v, %v", ok, err)
	}
}

// TestCheckpointFailsHalfway fails a checkpoint at each of its steps, as a
// full disk would: the failure is returned (naming the path, wrapping the
// cause) and counted, the unfinished directory is gone, the previous
// checkpoint is intact and restores, and the next checkpoint succeeds (or,
// when the WAL itself could not be written, is refused: the store failed).
func TestCheckpointFailsHalfway(t *testing.T) {
	inTmp := func(op errorfs.Op) bool { return strings.Contains(op.Path, string(filepath.Separator)+tmpPrefix) }
	base := func(op errorfs.Op) string { return filepath.Base(op.Path) }
	for _, tc := range []struct {
		name   string
		times  int
		match  func(errorfs.Op) bool
		failed bool // the store fails
	}{
		{"link or copy a table", 0, func(op errorfs.Op) bool {
			return op.Kind == errorfs.OpLink || op.Kind == errorfs.OpCreate && inTmp(op) && strings.HasSuffix(op.Path, ".sst")
		}, false},
		{"copy the MANIFEST", 1, func(op errorfs.Op) bool {
			return op.Kind == errorfs.OpFileWrite && inTmp(op) && strings.HasPrefix(base(op), "MANIFEST-")
		}, false},
		{"copy the WAL", 1, func(op errorfs.Op) bool {
			return op.Kind == errorfs.OpFileWrite && inTmp(op) && strings.HasSuffix(op.Path, ".log")
		}, false},
		{"write meta.json", 1, func(op errorfs.Op) bool {
			return op.Kind == errorfs.OpFileWrite && base(op) == metaFile
		}, false},
		{"sync meta.json", 1, func(op errorfs.Op) bool {
			return op.Kind == errorfs.OpFileSync && base(op) == metaFile
		}, false},
		{"rename into place", 1, func(op errorfs.Op) bool {
			return op.Kind == errorfs.OpRename && inTmp(op)
		}, false},
		{"sync the checkpoints directory", 1, func(op errorfs.Op) bool {
			return op.Kind == errorfs.OpFileSync && base(op) == checkpointsDir
		}, false},
		{"flush the WAL", 0, func(op errorfs.Op) bool {
			return needsSpace(op) && !inTmp(op) && strings.HasSuffix(op.Path, ".log")
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ffs := newFaultFS()
			s, err := Open(dir, Options{fs: ffs})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for i := range 3 {
				b := s.NewBatch()
				fill(b, i)
				commit(t, b)
			}
			if err := s.db.Flush(); err != nil { // a table to link
				t.Fatal(err)
			}
			b := s.NewBatch()
			fill(b, 3) // and a WAL to copy
			commit(t, b)
			prev, err := s.Checkpoint(t.Context(), Meta{Labels: map[string]string{"n": "1"}})
			if err != nil {
				t.Fatal(err)
			}
			want := contents(t, s)
			b = s.NewBatch()
			fill(b, 4)
			commit(t, b)

			ffs.arm(tc.times, tc.match)
			_, err = s.Checkpoint(t.Context(), Meta{})
			if ffs.disarm() == 0 {
				t.Fatalf("the fault was never met (Checkpoint = %v)", err)
			}
			if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("Checkpoint = %v; want an error wrapping ENOSPC naming a path in %s", err, dir)
			}
			if errors.Is(err, ErrFailed) != tc.failed {
				t.Errorf("Checkpoint = %v; ErrFailed %v, want %v", err, errors.Is(err, ErrFailed), tc.failed)
			}
			st := s.Stats()
			if st.CheckpointsFailed != 1 || st.CheckpointsTaken != 1 || st.Failed != tc.failed {
				t.Errorf("Stats = %+v", st)
			}
			entries, err := os.ReadDir(filepath.Join(dir, checkpointsDir))
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Name() != filepath.Base(prev.Dir) {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("checkpoints directory holds %v; want only %s", names, filepath.Base(prev.Dir))
			}
			if list, err := s.ListCheckpoints(); err != nil || len(list) != 1 || list[0].ID != prev.ID || list[0].Meta.Labels["n"] != "1" {
				t.Errorf("ListCheckpoints = %+v, %v", list, err)
			}

			next, err := s.Checkpoint(t.Context(), Meta{})
			switch {
			case tc.failed && !errors.Is(err, ErrFailed):
				t.Errorf("Checkpoint of a failed store = %v; want ErrFailed", err)
			case !tc.failed && err != nil:
				t.Errorf("Checkpoint after the fault: %v", err)
			case !tc.failed && next.ID != prev.ID+2:
				t.Errorf("next checkpoint id %d, want %d", next.ID, prev.ID+2)
			}

			other := t.TempDir()
			if err := Restore(other, prev.Dir); err != nil {
				t.Fatal(err)
			}
			r := open(t, other, Options{})
			if got := contents(t, r); got != want {
				t.Errorf("restored from the previous checkpoint:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
