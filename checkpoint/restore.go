package checkpoint

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Names inside a Store directory while a restore runs.
const (
	restoreStaging = "db.restore"      // the copy being made
	restoreDone    = "db.restore.done" // exists once the copy is complete
)

// Restore replaces the database of the Store directory dataDir by a copy of
// the checkpoint or savepoint in fromDir (see Locate); its checkpoints and
// savepoints stay. No Store may have dataDir open (ErrLocked).
//
// It is safe to interrupt: the copy goes to <dataDir>/db.restore, a marker
// file then records that it is complete, and only then is the old database
// swapped out. Open (or another Restore) finishes a swap that was under way
// and discards an incomplete copy. Table files are hard-linked (they are
// never modified), the rest is copied.
func Restore(dataDir, fromDir string) error {
	src := filepath.Join(fromDir, dbDir)
	if st, err := os.Stat(src); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: no database in %s", ErrNotFound, fromDir)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("checkpoint: restore: %w", err)
	}
	unlock, err := lockDB(filepath.Join(dataDir, dbDir))
	if err != nil {
		return err
	}
	defer unlock()
	if err := finishRestore(dataDir); err != nil {
		return err
	}
	staging := filepath.Join(dataDir, restoreStaging)
	if err := os.RemoveAll(staging); err != nil {
		return fmt.Errorf("checkpoint: restore: %w", err)
	}
	if err := copyDB(src, staging); err != nil {
		return errors.Join(err, os.RemoveAll(staging))
	}
	if err := writeFileSync(vfs.Default, filepath.Join(dataDir, restoreDone), nil); err != nil {
		return err
	}
	if err := syncDir(vfs.Default, dataDir); err != nil {
		return err
	}
	return finishRestore(dataDir)
}

// lockDB takes Pebble's lock of a database directory, if it exists, so that
// a restore cannot pull it from under an open Store.
func lockDB(dir string) (unlock func(), err error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return func() {}, nil
	}
	l, err := pebble.LockDirectory(dir, vfs.Default)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrLocked, dir, err)
	}
	return func() { _ = l.Close() }, nil
}

// finishRestore completes or discards a restore found under way in dataDir.
func finishRestore(dataDir string) error {
	staging := filepath.Join(dataDir, restoreStaging)
	done := filepath.Join(dataDir, restoreDone)
	_, err := os.Stat(done)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// No complete copy: drop whatever was being copied.
		if err := os.RemoveAll(staging); err != nil {
			return fmt.Errorf("checkpoint: discard incomplete restore: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("checkpoint: restore: %w", err)
	}
	if _, err := os.Stat(staging); err == nil {
		db := filepath.Join(dataDir, dbDir)
		if err := os.RemoveAll(db); err != nil {
			return fmt.Errorf("checkpoint: restore: remove the old database: %w", err)
		}
		if err := os.Rename(staging, db); err != nil {
			return fmt.Errorf("checkpoint: restore: %w", err)
		}
		if err := syncDir(vfs.Default, dataDir); err != nil {
			return err
		}
	}
	if err := os.Remove(done); err != nil {
		return fmt.Errorf("checkpoint: restore: %w", err)
	}
	return syncDir(vfs.Default, dataDir)
}

// copyDB copies a Pebble directory: tables and blob files are hard-linked
// when possible (Pebble never modifies them), the WAL, MANIFEST and OPTIONS
// are copied (Pebble appends to or recycles them). The lock file stays.
func copyDB(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("checkpoint: restore: %w", err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("checkpoint: restore: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if name == "LOCK" || !e.Type().IsRegular() {
			continue
		}
		from, to := filepath.Join(src, name), filepath.Join(dst, name)
		if strings.HasSuffix(name, ".sst") || strings.HasSuffix(name, ".blob") {
			if os.Link(from, to) == nil {
				continue
			}
		}
		if err := copyFile(from, to); err != nil {
			return err
		}
	}
	return syncDir(vfs.Default, dst)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("checkpoint: restore: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("checkpoint: restore: %w", err)
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("checkpoint: restore: copy %s: %w", from, err)
	}
	return nil
}
