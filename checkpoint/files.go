package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// ReadInfo reads the meta.json of the checkpoint or savepoint in dir.
func ReadInfo(dir string) (Info, error) {
	path := filepath.Join(dir, metaFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Info{}, fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	if err != nil {
		return Info{}, fmt.Errorf("checkpoint: %w", err)
	}
	var in Info
	if err := json.Unmarshal(b, &in); err != nil {
		return Info{}, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
	in.Dir = dir
	return in, nil
}

func writeInfo(fs vfs.FS, dir string, in *Info) error {
	b, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		return fmt.Errorf("checkpoint: encode %s: %w", metaFile, err)
	}
	return writeFileSync(fs, filepath.Join(dir, metaFile), append(b, '\n'))
}

// writeFileSync writes a new file and syncs it.
func writeFileSync(fs vfs.FS, path string, data []byte) error {
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("checkpoint: write %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("checkpoint: write %s: %w", path, err)
	}
	return nil
}

// readFile reads a whole file.
func readFile(fs vfs.FS, path string) ([]byte, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(f)
	return b, errors.Join(err, f.Close())
}

func syncDir(fs vfs.FS, dir string) error {
	f, err := fs.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("checkpoint: sync %s: %w", dir, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("checkpoint: sync %s: %w", dir, err)
	}
	return nil
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(fs vfs.FS, dir string) (int64, error) {
	names, err := fs.List(dir)
	if err != nil {
		return 0, fmt.Errorf("checkpoint: size of %s: %w", dir, err)
	}
	var n int64
	for _, name := range names {
		path := filepath.Join(dir, name)
		st, err := fs.Stat(path)
		if err != nil {
			return 0, fmt.Errorf("checkpoint: size of %s: %w", path, err)
		}
		switch {
		case st.IsDir():
			sub, err := dirSize(fs, path)
			if err != nil {
				return 0, err
			}
			n += sub
		case st.Mode().IsRegular():
			n += st.Size()
		}
	}
	return n, nil
}

// removeTemporaries removes checkpoints that were being written when the
// process stopped.
func removeTemporaries(fs vfs.FS, dir string) error {
	for _, sub := range []string{checkpointsDir, savepointsDir} {
		parent := filepath.Join(dir, sub)
		names, err := fs.List(parent)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		for _, name := range names {
			if strings.HasPrefix(name, tmpPrefix) {
				if err := fs.RemoveAll(filepath.Join(parent, name)); err != nil {
					return fmt.Errorf("checkpoint: remove an unfinished checkpoint: %w", err)
				}
			}
		}
	}
	return nil
}
