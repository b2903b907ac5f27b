// Package checkpoint is the durable storage of a Motif node, on Pebble:
// per-key matching state, the timer index, source offsets and watermarks,
// the alert log, and the embedded event log, committed atomically, with
// checkpoints, savepoints and restore.
//
// It stores bytes. The engine hands it encoded state (nfa.State's binary
// form) and encoded alerts; this package never imports nfa or engine and
// knows nothing of matching.
//
// # Directory
//
//	<dir>/db/                      the Pebble database
//	<dir>/checkpoints/<id>/        automatic checkpoints, id a 10-digit number
//	<dir>/checkpoints/<id>/db/     its Pebble database (hard links, copied WAL)
//	<dir>/checkpoints/<id>/meta.json  its Info (JSON)
//	<dir>/savepoints/<name>/       named checkpoints, same layout
//	<dir>/{checkpoints,savepoints}/.tmp-<id>/  one being written
//	<dir>/db.restore/, db.restore.done         a restore under way
//
// A checkpoint or savepoint directory is itself a Store directory: Open it
// to read what it holds.
//
// # Key layout
//
// The first byte of every key names its kind. Integers are big-endian, so
// keys sort numerically; event times are int64 nanoseconds with the sign
// bit flipped, so negative times sort before positive ones. Names (patterns,
// sources) are non-empty, hold no NUL byte, and end with a NUL, so a name
// sorts before any longer name it prefixes. State and timer keys end with
// the caller's key bytes, unescaped.
//
//	's' pattern 0x00 version:u32 key       -> state bytes
//	't' flip(at):u64 pattern 0x00 version:u32 key -> empty
//	'o' source 0x00 partition:u32          -> next offset:u64
//	'w' source 0x00 partition:u32          -> watermark:i64
//	'a' seq:u64                            -> at:i64 uvarint(len id) id payload
//	'i' id                                 -> seq:u64 of the alert with that id
//	'd' source 0x00 partition:u32 offset:u64 -> uvarint(len reason) reason record
//	'n' name                               -> named record bytes (PutMeta)
//	'l' partition:u32 offset:u64           -> log record bytes
//	'g' partition:u32 first:u64            -> segment: at:i64 count:u64 bytes:u64
//	'e' id                                 -> at:i64 partition:u32 offset:u64 of the record with that id
//	'x' flip(at):u64 id                    -> empty (the 'e' entries by time, for pruning)
//	'c' 0x01                               -> next alert seq (max counter)
//	'c' 0x02 partition:u32                 -> log end, next offset (max counter)
//	'c' 0x03 partition:u32                 -> log start, first untrimmed (max counter)
//	'c' 0x81                               -> alert log bytes (add counter)
//	'c' 0x82                               -> alert log length (add counter)
//	'c' 0x83 partition:u32                 -> log bytes of a partition (add counter)
//	'k' seq:u64                            -> alert mark: the caller's input position for the alerts from seq on
//	'm' "format"                           -> layout version:u32, now 1
//
// Timers ('t') sort by (time, pattern, version, key), so the timers due at a
// watermark are one range at the front of the index; Timers reads only that
// range, and remembers how far its front is known to be empty, so the
// tombstones of fired timers are not read again.
//
// A segment ('g') is what one group commit appended to one partition: the
// wall-clock time of the commit (Options.Clock), the number of records and
// their key and value bytes. LogRetention ages and sizes the log by
// segments; TrimLog shortens the segment it cuts through.
//
// Counters ('c') are written only with Pebble merge operands (the
// "motif.counter.v1" merger): kinds below 0x80 keep the maximum operand,
// the others add them (as two's complement, so retention subtracts). Merges
// commute, so batches committed concurrently and in any order leave the
// same value, and a counter always agrees with the records committed in the
// same batches.
//
// The record id index ('e', and 'x' by time) remembers the records that
// AppendRecords appended with an id: the event time ('at', in 'e' as two's
// complement) and where the record went. It is written in the batch that
// appends the records. The newest time of a record appended with an id
// (maxSeen) is not stored apart: it is the last 'x' key, read at Open,
// since every record that advances it is indexed in the same batch and
// pruning never removes the newest entry.
//
// The byte sizes counted for the alert log and the embedded log are key
// plus value bytes of 'a' and 'l' records; the id indexes and segments
// are not counted.
//
// # Commit model
//
// A Batch gathers state and timer changes, source offsets and watermarks,
// alerts, dead letters (records that could not be processed, with the
// reason) and named records (a pipeline's resume data), and commits them in
// one Pebble batch: after a crash the store
// holds all of a committed batch or none of it, so the engine resumes from
// its last commit with no event skipped and no alert lost or repeated.
// Commit(true) syncs the WAL; Commit(false) does not, and a crash may lose
// such a batch whole. A batch holding alerts always syncs.
//
// AppendAlert takes the next alert sequence number at once, from a counter
// persisted (as a max counter) in the batch that commits it, so numbers
// grow across restarts and are never reused. A batch closed without commit
// gives its numbers back if none was handed out after them, and otherwise
// leaves a gap. Readers (Alerts, LastAlertSeq) see alerts only up to the
// highest number below every open batch's first: a reader following the
// log never skips an alert that commits late. The id index ('i') lets the
// engine drop an alert it already raised (AlertSeen).
//
// The embedded log is the event log that ingest appends to. One committer
// goroutine assigns offsets: it gathers every waiting Append call, writes
// their records in one batch and commits it with one WAL sync (group
// commit), then acknowledges them all. A record becomes readable only once
// synced, so readers never see a record a crash could take back, and an
// acknowledged Append is durable. Offsets never go back, even when
// retention empties a partition.
//
// AppendRecords deduplicates (idempotent publishing): a record whose id an
// earlier call appended is acknowledged with the original's partition and
// offset, and not appended, while the original's event time is within
// Options.DedupeWindow of maxSeen (maxSeen - window <= time); within one
// call, a repeated id is always a duplicate. maxSeen advances with the
// records appended with an id, not with duplicates, and never goes back: a
// record stamped far in the future expires every id before it. The
// committer decides, record by record in commit order, looking each id up
// among the ids of the group it is building, then in the 'e' index (one
// SeekPrefixGE, served by the bloom filters, on an iterator the group
// shares), so concurrent calls cannot both append one id, and the
// outcome does not depend on how calls were grouped. The window is checked
// on every lookup: an entry past it is never a duplicate's original,
// whether or not pruning has removed it yet.
//
// # Checkpoint model
//
// Checkpoint and Savepoint use Pebble's checkpoint: table files are hard
// links (so a checkpoint costs the files written since the last one), the
// MANIFEST and WAL are copied. The memtables are flushed first, so the WAL
// copied holds only the commits made meanwhile, not up to four 64 MiB
// memtables' worth. Pebble takes its lock only to note the files; commits
// go on while the memtables flush and the files are linked and copied. The checkpoint holds
// every commit that finished before the call began, and possibly later ones:
// its meta.json therefore records the offsets, watermarks and alert sequence
// number read back from the checkpoint itself (opened read-only, which also
// proves it opens), plus the caller's pattern versions and labels. A
// checkpoint is written under a temporary name and renamed when complete;
// the last Options.KeepCheckpoints are kept. Savepoints are kept until
// deleted. Failures are returned and counted in Stats; the unfinished
// directory is removed, and the earlier checkpoints stay as they were.
//
// Restore replaces a data directory's database by a copy of a checkpoint
// (tables hard-linked, the rest copied): it copies to db.restore, marks the
// copy complete, then swaps, so an interrupted restore is either discarded
// or finished by the next Open.
//
// # Retention
//
// EnforceRetention removes alerts, oldest first, while the oldest is older
// than AlertRetention.MaxAge in event time or the log exceeds MaxBytes,
// with one range deletion and the matching id index entries. It removes
// embedded log segments, oldest first, while too old or too big, but only
// below the offset the engine committed for LogSource: an event is never
// trimmed before it was processed. TrimLog trims a partition explicitly.
// It prunes the record id index of the entries older than maxSeen minus
// Options.DedupeWindow, oldest first through 'x', in chunks; a chunk holds
// the committer back only while it commits (unsynced), and is read again
// should the committer have reused one of its ids meanwhile.
//
// # Faults
//
// A synced commit that Pebble cannot write to its WAL (a full disk, an
// I/O error) fails the store: Pebble reports it by Logger.Fatalf on the
// committing goroutine, where the store recovers it, and since Pebble's
// WAL writer keeps the error, every later write is refused with ErrFailed
// until the store is reopened (faults.go). Pebble's fatal errors on its own
// goroutines still stop the process. A corrupt file Pebble meets is
// logged and counted (Stats.Corruptions) rather than fatal, and reads of
// it fail with ErrCorrupt. Open refuses a damaged directory with ErrCorrupt
// naming the path: a MANIFEST, OPTIONS or table Pebble cannot read or that
// is missing, a directory of the layout that is a file, a missing database
// beside checkpoints. Write stalls are counted in Stats from Pebble's
// EventListener (events.go); the Pebble settings and the memory they take
// are in options.go.
package checkpoint
