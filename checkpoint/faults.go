package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Storage faults.
//
// Pebble calls Logger.Fatalf when a write to its WAL fails (a full disk,
// an I/O error): the commit cannot be taken back, and Pebble's log writer
// keeps the error, so no later synced commit can succeed either. For a
// synced commit the call is made on the committing goroutine, before
// DB.Apply returns: pebbleLogger.Fatalf panics with a *fatalError, the
// store's commit paths (commitPebble, Checkpoint) recover it, and the
// store fails: that commit and every later write return an error wrapping
// ErrFailed and the cause; reads go on. Reopening the store recovers every
// synced commit. A commit that failed may still be found after reopening
// (it reached the WAL, or a flush wrote it), whole, like a commit a crash
// interrupted.
//
// Pebble's other fatal paths (a failed MANIFEST write during a flush or
// compaction, a failed WAL rotation) run with its mutexes held or on its
// own goroutines: the panic stops the process, and a restart recovers from
// the WAL.

// fatalError is what pebbleLogger.Fatalf panics with. cause is the first
// error among Fatalf's arguments.
type fatalError struct {
	msg   string
	cause error
}

func (e *fatalError) Error() string { return "pebble: " + e.msg }
func (e *fatalError) Unwrap() error { return e.cause }

// pebbleLogger sends Pebble's messages to slog. Pebble calls Fatalf only
// when it cannot go on safely, and expects it not to return: it panics
// with a *fatalError.
type pebbleLogger struct{ l *slog.Logger }

// Infof logs at debug level: Pebble's informational messages (WAL replay,
// compactions) are routine and would drown a server's log.
func (p pebbleLogger) Infof(format string, args ...any) {
	if p.l.Enabled(context.Background(), slog.LevelDebug) {
		p.l.Debug("pebble", "msg", fmt.Sprintf(format, args...))
	}
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error("pebble", "msg", fmt.Sprintf(format, args...))
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	e := &fatalError{msg: fmt.Sprintf(format, args...)}
	for _, a := range args {
		if err, ok := a.(error); ok {
			e.cause = err
			break
		}
	}
	p.l.Error("pebble: fatal", "msg", e.msg)
	panic(e)
}

var _ pebble.Logger = pebbleLogger{}

// catchFatal, deferred, turns a *fatalError panic into *err, an error
// naming what was being done and where; other panics go on.
func catchFatal(what, dir string, err *error) {
	r := recover()
	if r == nil {
		return
	}
	f, ok := r.(*fatalError)
	if !ok {
		panic(r)
	}
	cause := error(f)
	if f.cause != nil {
		cause = f.cause
	}
	*err = fmt.Errorf("%w: %s in %s: %w", ErrFailed, what, dir, cause)
}

// commitPebble commits a Pebble batch of the live database, refusing it
// if the store has failed and failing the store if the commit meets a
// storage fault. what names the operation in errors.
func (s *Store) commitPebble(b *pebble.Batch, opts *pebble.WriteOptions, what string) (err error) {
	if err := s.writable(); err != nil {
		return err
	}
	defer func() {
		if err != nil && errors.Is(err, ErrFailed) {
			s.fail(err)
		}
	}()
	defer catchFatal(what, s.dbPath(), &err)
	if err := b.Commit(opts); err != nil {
		return fmt.Errorf("checkpoint: %s in %s: %w", what, s.dbPath(), err)
	}
	return nil
}

// writable returns the error that failed the store, if it has, counting
// the write it refuses.
func (s *Store) writable() error {
	if p := s.failed.Load(); p != nil {
		s.stats.writeFailures.Add(1)
		return *p
	}
	return nil
}

// fail records err, which wraps ErrFailed, as the store's failure unless
// one is recorded already, and counts it.
func (s *Store) fail(err error) {
	s.stats.writeFailures.Add(1)
	if s.failed.CompareAndSwap(nil, &err) {
		s.log.Error("checkpoint: store failed; writes are refused until it is reopened", "err", err)
	}
}

func (s *Store) dbPath() string { return s.path }

// checkLayout refuses a Store directory whose database or checkpoint
// directories are not directories, and an OPTIONS file Pebble cannot
// read, with errors naming the path and wrapping ErrCorrupt. It runs
// before pebble.Open, whose own errors would not say which file is wrong.
func checkLayout(dir string, fs vfs.FS, opts *pebble.Options) error {
	for _, sub := range []string{dbDir, checkpointsDir, savepointsDir} {
		path := filepath.Join(dir, sub)
		st, err := fs.Stat(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("checkpoint: open %s: %w", path, err)
		}
		if !st.IsDir() {
			return fmt.Errorf("%w: %s is not a directory", ErrCorrupt, path)
		}
	}
	db := filepath.Join(dir, dbDir)
	if _, err := fs.Stat(db); errors.Is(err, os.ErrNotExist) {
		return missingDB(dir, db)
	}
	desc, err := pebble.Peek(db, fs)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, db, err)
	}
	if desc.OptionsFilename == "" {
		return nil
	}
	data, err := readFile(fs, desc.OptionsFilename)
	if err != nil {
		return fmt.Errorf("checkpoint: open %s: %w", desc.OptionsFilename, err)
	}
	check := opts.Clone()
	check.EnsureDefaults()
	if err := check.CheckCompatibility(db, string(data)); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, desc.OptionsFilename, err)
	}
	return nil
}

// missingDB refuses a Store directory that holds checkpoints or savepoints
// but no database: it was in use, and opening it would start an empty
// store (the embedded log included) as if nothing had been stored.
func missingDB(dir, db string) error {
	for _, sub := range []string{checkpointsDir, savepointsDir} {
		infos, err := listInfos(filepath.Join(dir, sub))
		if err != nil {
			return err
		}
		if len(infos) > 0 {
			return fmt.Errorf("%w: %s is missing, but %s holds checkpoints: restore one (Restore) or remove the directory", ErrCorrupt, db, dir)
		}
	}
	return nil
}

// openError wraps an error of pebble.Open on the database directory db,
// with ErrCorrupt when the database is damaged: Pebble reports corruption,
// or the MANIFEST lists files that are missing or not of the size it
// records (Pebble's consistency check, found out by opening the database
// read-only without it).
func openError(db string, err error, opts *pebble.Options) error {
	if pebble.IsCorruptionError(err) || errors.Is(err, os.ErrNotExist) || failsConsistency(db, opts) {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, db, err)
	}
	return fmt.Errorf("checkpoint: open %s: %w", db, err)
}

func failsConsistency(db string, opts *pebble.Options) bool {
	o := opts.Clone()
	o.ReadOnly, o.DisableConsistencyCheck = true, true
	d, err := pebble.Open(db, o)
	if err != nil {
		return false
	}
	_ = d.Close()
	return true
}

// readErr wraps an error of a Pebble read, "checkpoint: what: err", with
// ErrCorrupt in place of "checkpoint" when Pebble reports corruption (a
// damaged table), so that callers tell without importing Pebble.
func readErr(err error, what string) error {
	if pebble.IsCorruptionError(err) {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, what, err)
	}
	return fmt.Errorf("checkpoint: %s: %w", what, err)
}
