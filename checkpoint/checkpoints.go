package checkpoint

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Meta is what a checkpoint records besides its data.
type Meta struct {
	// Offsets, Watermarks and AlertSeq are read from the checkpoint itself
	// when it is taken, whatever the caller passed: they are exactly the
	// committed offsets, watermarks and last alert sequence number of its
	// data.
	Offsets    map[string]map[uint32]uint64 `json:"offsets,omitempty"`
	Watermarks map[string]map[uint32]int64  `json:"watermarks,omitempty"`
	AlertSeq   uint64                       `json:"alert_seq"`

	// Patterns (name to version) and Labels are the caller's.
	Patterns map[string]uint32 `json:"patterns,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// Info describes a checkpoint or savepoint; its meta.json holds it.
type Info struct {
	ID       uint64        `json:"id"`             // increasing across checkpoints and savepoints
	Name     string        `json:"name,omitempty"` // savepoint name; empty for a checkpoint
	Created  time.Time     `json:"created"`
	Duration time.Duration `json:"duration_ns"` // time taken
	Size     int64         `json:"size_bytes"`  // bytes of its files, hard-linked ones included
	Dir      string        `json:"-"`           // where it is; set when read
	Meta     Meta          `json:"meta"`
}

const (
	metaFile  = "meta.json"
	tmpPrefix = ".tmp-"
)

// checkpoints serialises checkpoints and numbers them.
type checkpoints struct {
	mu   sync.Mutex
	next uint64
}

func (c *checkpoints) load(dir string) error {
	infos, err := listInfos(filepath.Join(dir, checkpointsDir))
	if err != nil {
		return err
	}
	saves, err := listInfos(filepath.Join(dir, savepointsDir))
	if err != nil {
		return err
	}
	c.next = 1
	for _, in := range append(infos, saves...) {
		c.next = max(c.next, in.ID+1)
	}
	return nil
}

// Checkpoint takes an automatic checkpoint into <dir>/checkpoints/<id>/ and
// keeps the last Options.KeepCheckpoints of them. Writes go on meanwhile:
// Pebble holds its lock only while it notes the files to link, and the
// checkpoint holds every commit that finished before the call. ctx is
// checked between steps. Failures are returned and counted in Stats.
func (s *Store) Checkpoint(ctx context.Context, meta Meta) (Info, error) {
	return s.take(ctx, "", meta)
}

// Savepoint takes a named checkpoint into <dir>/savepoints/<name>/, kept
// until DeleteSavepoint. Names are 1 to 128 letters, digits, '.', '_' or
// '-', not starting with '.'.
func (s *Store) Savepoint(ctx context.Context, name string, meta Meta) (Info, error) {
	if err := checkSavepointName(name); err != nil {
		return Info{}, err
	}
	return s.take(ctx, name, meta)
}

func checkSavepointName(name string) error {
	if name == "" || len(name) > 128 || name[0] == '.' {
		return invalid("savepoint name %q", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return invalid("savepoint name %q: %q is not allowed", name, r)
		}
	}
	return nil
}

func (s *Store) take(ctx context.Context, name string, meta Meta) (Info, error) {
	info, err := s.takeLocked(ctx, name, meta)
	if err != nil {
		s.stats.checkpointsFailed.Add(1)
		s.log.Error("checkpoint: failed", "name", name, "err", err)
		return Info{}, err
	}
	s.stats.checkpoints.Add(1)
	s.stats.lastCkptNanos.Store(int64(info.Duration))
	s.stats.lastCkptBytes.Store(info.Size)
	s.log.Info("checkpoint: taken", "id", info.ID, "name", name, "duration", info.Duration, "bytes", info.Size)
	return info, nil
}

func (s *Store) takeLocked(ctx context.Context, name string, meta Meta) (Info, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, fmt.Errorf("checkpoint: %w", err)
	}
	if err := s.enter(); err != nil {
		return Info{}, err
	}
	defer s.leave()
	if err := s.writable(); err != nil {
		return Info{}, err
	}
	s.ckpts.mu.Lock()
	defer s.ckpts.mu.Unlock()

	info := Info{ID: s.ckpts.next, Name: name, Created: time.Now().UTC(), Meta: meta}
	s.ckpts.next++
	parent, final := filepath.Join(s.dir, checkpointsDir), formatID(info.ID)
	if name != "" {
		parent, final = filepath.Join(s.dir, savepointsDir), name
	}
	final = filepath.Join(parent, final)
	if _, err := s.fs.Stat(final); err == nil {
		return Info{}, fmt.Errorf("%w: %s", ErrExists, final)
	}
	tmp := filepath.Join(parent, tmpPrefix+formatID(info.ID))
	if err := s.write(ctx, tmp, &info); err != nil {
		return Info{}, errors.Join(err, s.removeTmp(tmp))
	}
	if err := s.fs.Rename(tmp, final); err != nil {
		return Info{}, errors.Join(fmt.Errorf("checkpoint: %w", err), s.removeTmp(tmp))
	}
	if err := syncDir(s.fs, parent); err != nil {
		// The rename may not last: take the checkpoint back rather
		// than report a failure and leave it.
		return Info{}, errors.Join(err, removeCheckpointDir(s.fs, parent, filepath.Base(final)))
	}
	info.Dir = final
	if name == "" {
		s.prune(parent)
	}
	return info, nil
}

// removeTmp removes a checkpoint that failed while it was written.
func (s *Store) removeTmp(tmp string) error {
	if err := s.fs.RemoveAll(tmp); err != nil {
		return fmt.Errorf("checkpoint: remove the unfinished %s: %w", tmp, err)
	}
	return nil
}

// write fills tmp with the database checkpoint and meta.json.
func (s *Store) write(ctx context.Context, tmp string, info *Info) error {
	start := time.Now()
	if err := s.fs.MkdirAll(tmp, 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := s.pebbleCheckpoint(ctx, filepath.Join(tmp, dbDir)); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := s.readBack(filepath.Join(tmp, dbDir), &info.Meta); err != nil {
		return err
	}
	size, err := dirSize(s.fs, tmp)
	if err != nil {
		return err
	}
	info.Size = size
	info.Duration = time.Since(start)
	return writeInfo(s.fs, tmp, info)
}

// pebbleCheckpoint writes Pebble's checkpoint into dir. It flushes the
// memtables first, so that the checkpoint links the tables they become
// rather than copying the WAL they came from (up to memTableStopWrites
// memtables' worth): it is smaller and faster to take and to open. A
// synced empty commit first proves the WAL writable, so that a failing
// WAL fails the store as a commit would (faults.go) rather than in the
// flush's WAL rotation, where Pebble panics with its mutex held.
func (s *Store) pebbleCheckpoint(ctx context.Context, dir string) (err error) {
	defer func() {
		if err != nil && errors.Is(err, ErrFailed) {
			s.fail(err)
		}
	}()
	defer catchFatal("sync the WAL for a checkpoint", s.dbPath(), &err)
	if err := s.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("checkpoint: sync the WAL of %s: %w", s.dbPath(), err)
	}
	flushed, err := s.db.AsyncFlush()
	if err != nil {
		return fmt.Errorf("checkpoint: flush %s: %w", s.dbPath(), err)
	}
	select {
	case <-flushed:
	case <-ctx.Done():
		return fmt.Errorf("checkpoint: wait for the flush of %s: %w", s.dbPath(), ctx.Err())
	}
	if err := s.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("checkpoint: pebble checkpoint into %s: %w", dir, err)
	}
	return nil
}

// readBack opens the new checkpoint read-only, which proves it opens, and
// reads the offsets, watermarks and alert sequence number its data holds.
func (s *Store) readBack(dir string, m *Meta) error {
	cache := pebble.NewCache(8 << 20)
	defer cache.Unref()
	db, err := pebble.Open(dir, s.opts.pebbleOptions(cache, s.events, true))
	if err != nil {
		return fmt.Errorf("checkpoint: open the new checkpoint %s: %w", dir, err)
	}
	var next uint64
	m.Offsets, err = readOffsets(db)
	if err == nil {
		m.Watermarks, err = readWatermarks(db)
	}
	if err == nil {
		next, err = readCounter(db, counterKey(ctrAlertNext))
	}
	m.AlertSeq = max(next, 1) - 1
	if len(m.Offsets) == 0 {
		m.Offsets = nil // as meta.json reads back
	}
	if len(m.Watermarks) == 0 {
		m.Watermarks = nil
	}
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("checkpoint: close the new checkpoint: %w", cerr)
	}
	return err
}

// prune removes all but the newest KeepCheckpoints checkpoints. A failure
// is logged: the new checkpoint is good all the same.
func (s *Store) prune(parent string) {
	ids, err := checkpointIDs(parent)
	if err != nil {
		s.log.Warn("checkpoint: prune", "err", err)
		return
	}
	for len(ids) > s.opts.KeepCheckpoints {
		if err := removeCheckpointDir(s.fs, parent, formatID(ids[0])); err != nil {
			s.log.Warn("checkpoint: prune", "err", err)
		}
		ids = ids[1:]
	}
}

// removeCheckpointDir removes a checkpoint or savepoint directory so that
// no reader, and no crash, ever sees it half removed: it is first renamed
// to a temporary name (which Open removes if the removal is interrupted),
// then deleted.
func removeCheckpointDir(fs vfs.FS, parent, name string) error {
	dir := filepath.Join(parent, name)
	doomed := filepath.Join(parent, tmpPrefix+"del-"+name)
	if err := fs.Rename(dir, doomed); err != nil {
		return fmt.Errorf("checkpoint: remove %s: %w", dir, err)
	}
	if err := syncDir(fs, parent); err != nil {
		return err
	}
	if err := fs.RemoveAll(doomed); err != nil {
		return fmt.Errorf("checkpoint: remove %s: %w", dir, err)
	}
	return nil
}

// ListCheckpoints returns the automatic checkpoints, oldest first.
func (s *Store) ListCheckpoints() ([]Info, error) {
	return listInfos(filepath.Join(s.dir, checkpointsDir))
}

// ListSavepoints returns the savepoints, oldest first.
func (s *Store) ListSavepoints() ([]Info, error) {
	return listInfos(filepath.Join(s.dir, savepointsDir))
}

// DeleteSavepoint removes a savepoint.
func (s *Store) DeleteSavepoint(name string) error {
	if err := checkSavepointName(name); err != nil {
		return err
	}
	s.ckpts.mu.Lock()
	defer s.ckpts.mu.Unlock()
	dir := filepath.Join(s.dir, savepointsDir, name)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: savepoint %q", ErrNotFound, name)
	}
	return removeCheckpointDir(s.fs, filepath.Join(s.dir, savepointsDir), name)
}

// Locate returns the directory of a checkpoint or savepoint of the Store
// directory dataDir, for Restore: name is a savepoint name, the id of a
// checkpoint, or "latest" for the newest checkpoint.
func Locate(dataDir, name string) (string, error) {
	if name == "latest" {
		ids, err := checkpointIDs(filepath.Join(dataDir, checkpointsDir))
		if err != nil {
			return "", err
		}
		if len(ids) == 0 {
			return "", fmt.Errorf("%w: no checkpoint in %s", ErrNotFound, dataDir)
		}
		return filepath.Join(dataDir, checkpointsDir, formatID(ids[len(ids)-1])), nil
	}
	candidates := []string{}
	if checkSavepointName(name) == nil {
		candidates = append(candidates, filepath.Join(dataDir, savepointsDir, name))
	}
	if id, err := strconv.ParseUint(name, 10, 64); err == nil {
		candidates = append(candidates, filepath.Join(dataDir, checkpointsDir, formatID(id)))
	}
	for _, dir := range candidates {
		if _, err := os.Stat(filepath.Join(dir, metaFile)); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w: no savepoint or checkpoint %q in %s", ErrNotFound, name, dataDir)
}

// complete reports whether a checkpoint directory has its meta.json, which
// is written last. A directory without one (left by a crash under an
// earlier layout, or by hand) is not a checkpoint: listings skip it.
func complete(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, metaFile))
	return err == nil
}

func formatID(id uint64) string { return fmt.Sprintf("%010d", id) }

// checkpointIDs lists the complete checkpoints under parent, in order.
func checkpointIDs(parent string) ([]uint64, error) {
	entries, err := os.ReadDir(parent)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var ids []uint64
	for _, e := range entries {
		if id, err := strconv.ParseUint(e.Name(), 10, 64); err == nil && e.IsDir() && complete(filepath.Join(parent, e.Name())) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// listInfos reads the meta.json of every complete checkpoint under parent.
func listInfos(parent string) ([]Info, error) {
	entries, err := os.ReadDir(parent)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var infos []Info
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || !complete(filepath.Join(parent, e.Name())) {
			continue
		}
		in, err := ReadInfo(filepath.Join(parent, e.Name()))
		if errors.Is(err, ErrNotFound) {
			continue // removed (pruned) since the directory was read
		}
		if err != nil {
			return nil, err
		}
		infos = append(infos, in)
	}
	slices.SortFunc(infos, func(a, b Info) int { return cmp.Compare(a.ID, b.ID) })
	return infos, nil
}
