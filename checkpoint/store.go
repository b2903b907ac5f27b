package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Names inside a Store directory.
const (
	dbDir          = "db"
	checkpointsDir = "checkpoints"
	savepointsDir  = "savepoints"
)

// LogSource is the source name under which the engine commits its offsets
// in the embedded log (Batch.PutOffset(LogSource, partition, next)).
// LogRetention never removes a record at or above that offset.
const LogSource = "log"

// Store is the durable storage of a node: one Pebble database under
// <dir>/db, its checkpoints under <dir>/checkpoints and savepoints under
// <dir>/savepoints. All methods are safe for concurrent use; a Batch is
// not.
type Store struct {
	dir    string
	path   string // of the database, <dir>/db
	opts   Options
	log    *slog.Logger
	db     *pebble.DB
	fs     vfs.FS  // where the database and checkpoints are written
	events *events // Pebble's write stalls and corruption

	// failed is the error of the storage fault that stopped writes, if one
	// did (faults.go).
	failed atomic.Pointer[error]

	// closeMu guards closed: every method holds it for reading while it
	// uses db, Close for writing.
	closeMu sync.RWMutex
	closed  bool

	alerts   alertLog
	logs     embeddedLog
	ckpts    checkpoints
	timers   timerHint
	retainMu sync.Mutex // one EnforceRetention or TrimLog at a time

	stats struct {
		checkpoints, checkpointsFailed atomic.Uint64
		lastCkptNanos, lastCkptBytes   atomic.Int64
		appends, appendRecords, groups atomic.Uint64
		duplicates                     atomic.Uint64
		writeFailures                  atomic.Uint64
	}
}

// Open opens (creating if needed) the Store in dir. A restore that was
// interrupted is finished first (see Restore).
func Open(dir string, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("checkpoint: open %s: %w", dir, err)
	}
	if err := finishRestore(dir); err != nil {
		return nil, err
	}
	ev := newEvents(opts.Logger)
	cache := pebble.NewCache(opts.CacheSize)
	defer cache.Unref()
	popts := opts.pebbleOptions(cache, ev, false)
	if err := checkLayout(dir, opts.fs, popts); err != nil {
		return nil, err
	}
	if err := removeTemporaries(opts.fs, dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, dbDir)
	db, err := pebble.Open(path, popts)
	if err != nil {
		return nil, openError(path, err, popts)
	}
	s := &Store{dir: dir, path: path, opts: opts, log: opts.Logger, db: db, fs: opts.fs, events: ev}
	s.timers.init()
	if err := s.load(); err != nil {
		if pebble.IsCorruptionError(err) && !errors.Is(err, ErrCorrupt) {
			err = fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		return nil, errors.Join(fmt.Errorf("checkpoint: open %s: %w", path, err), db.Close())
	}
	s.logs.start(s)
	return s, nil
}

// load checks the layout version and reads what the store keeps in memory.
func (s *Store) load() error {
	if err := checkFormat(s.db, s.dbPath()); err != nil {
		return err
	}
	if err := s.alerts.load(s.db); err != nil {
		return err
	}
	if err := s.logs.load(s.db); err != nil {
		return err
	}
	if err := s.logs.ids.load(s.db, s.opts.DedupeWindow); err != nil {
		return err
	}
	return s.ckpts.load(s.dir)
}

// checkFormat writes the layout version into a new database and refuses a
// database of another version.
func checkFormat(db *pebble.DB, path string) (err error) {
	v, closer, err := db.Get(metaFormatKey)
	if errors.Is(err, pebble.ErrNotFound) {
		if !isEmpty(db) {
			return corrupt(metaFormatKey, "missing in a database that holds data")
		}
		defer catchFatal("write the layout version", path, &err)
		return db.Set(metaFormatKey, binary.BigEndian.AppendUint32(nil, formatVersion), pebble.Sync)
	}
	if err != nil {
		return readErr(err, "read "+keyString(metaFormatKey))
	}
	defer closer.Close()
	if len(v) != 4 {
		return corrupt(metaFormatKey, "value of %d bytes, want 4", len(v))
	}
	if got := binary.BigEndian.Uint32(v); got != formatVersion {
		return fmt.Errorf("checkpoint: layout version %d, this build reads %d", got, formatVersion)
	}
	return nil
}

func isEmpty(db *pebble.DB) bool {
	it, err := db.NewIter(nil)
	if err != nil {
		return false
	}
	defer it.Close()
	return !it.First()
}

// enter marks the start of a call that uses db; leave must follow when it
// returns nil.
func (s *Store) enter() error {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) leave() { s.closeMu.RUnlock() }

// Close waits for pending appends to commit, then closes the database.
// Calls made after Close return ErrClosed. Close is idempotent.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()
	s.logs.stop()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("checkpoint: close: %w", err)
	}
	return nil
}

// Dir returns the directory the store was opened in.
func (s *Store) Dir() string { return s.dir }

// Stats are the store's counters since Open, and the sizes of its logs.
type Stats struct {
	CheckpointsTaken       uint64        // automatic checkpoints and savepoints written
	CheckpointsFailed      uint64        // attempts that returned an error
	LastCheckpointDuration time.Duration // of the last successful one
	LastCheckpointBytes    int64         // its size on disk, shared files included

	LogAppends      uint64 // acknowledged Append and AppendRecords calls
	LogRecords      uint64 // records they appended
	LogDuplicates   uint64 // records AppendRecords acknowledged as duplicates
	LogGroupCommits uint64 // synced Pebble commits that carried them
	LogBytes        int64  // key and value bytes in the embedded log now

	AlertLogLength int64 // alerts in the alert log now
	AlertLogBytes  int64 // their key and value bytes

	WriteStalls    uint64        // times Pebble stopped writes (flushes or compactions behind)
	WriteStallTime time.Duration // total time writes were stopped, a stall under way included
	WriteFailures  uint64        // writes that failed on a storage fault, or were refused after one (ErrFailed)
	Corruptions    uint64        // corrupt files Pebble met (reads of them fail)
	Failed         bool          // a storage fault stopped writes: reopen the store
}

// Stats returns the current counters.
func (s *Store) Stats() Stats {
	st := Stats{
		CheckpointsTaken:       s.stats.checkpoints.Load(),
		CheckpointsFailed:      s.stats.checkpointsFailed.Load(),
		LastCheckpointDuration: time.Duration(s.stats.lastCkptNanos.Load()),
		LastCheckpointBytes:    s.stats.lastCkptBytes.Load(),
		LogAppends:             s.stats.appends.Load(),
		LogRecords:             s.stats.appendRecords.Load(),
		LogDuplicates:          s.stats.duplicates.Load(),
		LogGroupCommits:        s.stats.groups.Load(),
		AlertLogLength:         s.alerts.count.Load(),
		AlertLogBytes:          s.alerts.bytes.Load(),
		WriteFailures:          s.stats.writeFailures.Load(),
		Corruptions:            s.events.corruptions.Load(),
		Failed:                 s.failed.Load() != nil,
	}
	st.WriteStalls, st.WriteStallTime = s.events.stallStats()
	for _, p := range s.logs.all() {
		st.LogBytes += p.bytes.Load()
	}
	return st
}
