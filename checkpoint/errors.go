package checkpoint

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed is returned by every method of a Store (and its batches)
	// called after Store.Close.
	ErrClosed = errors.New("checkpoint: store is closed")

	// ErrCorrupt is wrapped by every error about a stored key or value that
	// cannot be decoded, and by Open's errors about a database file that
	// Pebble reports corrupt or cannot read, or a directory of the layout
	// that is not one; the message names the key or the path.
	ErrCorrupt = errors.New("checkpoint: corrupt record")

	// ErrFailed is wrapped by the error of a write that failed on a storage
	// fault (a full disk, an I/O error), with the cause (errors.Is(err,
	// syscall.ENOSPC) for a full disk), and by every write after it: Pebble
	// cannot commit again once its log failed, so the store refuses writes
	// until it is closed and opened again. Reads go on.
	ErrFailed = errors.New("checkpoint: store failed")

	// ErrInvalid is wrapped by errors about arguments the store cannot
	// encode: an empty name, a name holding a NUL byte, a record too large.
	ErrInvalid = errors.New("checkpoint: invalid argument")

	// ErrTrimmed is returned by ReadLog for an offset that retention or
	// TrimLog has already removed.
	ErrTrimmed = errors.New("checkpoint: log offset trimmed")

	// ErrOutOfRange is returned by ReadLog for an offset past the end of
	// the log.
	ErrOutOfRange = errors.New("checkpoint: log offset past the end")

	// ErrNotFound is returned for a savepoint or checkpoint that does not
	// exist.
	ErrNotFound = errors.New("checkpoint: not found")

	// ErrExists is returned by Savepoint for a name already taken.
	ErrExists = errors.New("checkpoint: already exists")

	// ErrLocked is returned by Restore when a Store has the data directory
	// open.
	ErrLocked = errors.New("checkpoint: data directory in use")

	// ErrBatchDone is returned by a Batch used after Commit or Close.
	ErrBatchDone = errors.New("checkpoint: batch already committed or closed")
)

// corrupt returns an error wrapping ErrCorrupt that names the key.
func corrupt(key []byte, format string, args ...any) error {
	return fmt.Errorf("%w: key %s: %s", ErrCorrupt, keyString(key), fmt.Sprintf(format, args...))
}

// invalid returns an error wrapping ErrInvalid.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
