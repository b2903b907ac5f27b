// Package kafka reads Kafka topics into Motif and writes dead letters back.
//
// # Source
//
// A Source reads an explicit set of partitions: Motif assigns them (through
// the Raft partition table in a cluster), not a Kafka consumer group, and the
// offset to resume each one from comes from Motif's own committed state
// (SourceConfig.Start), committed atomically with the state it produced.
// Nothing is committed to Kafka. Each partition gets a dense index, its
// position in Source.Partitions, which is the partition's number for
// watermarks downstream.
//
// Poll passes records to a callback, in offset order within a partition,
// exactly once each: a callback that returns false stops the Poll, and the
// records not yet passed are delivered first by the next one. Records are
// read with read_committed isolation: records of aborted transactions are
// never passed, nor are transaction markers, but the next offset to read
// (Source.Next) moves past both.
//
// Pause and Resume give per-partition backpressure: a paused partition is not
// fetched, and its records already fetched are held (in order, behind the
// first one held), while the others carry on. kgo drops what it had buffered
// for a paused partition without moving its position and fetches it again
// after Resume, so pausing neither loses nor repeats a record. Resume wakes a
// Poll that waits while records are held. Lag reports per partition the high
// watermark of its last fetch minus its next offset.
//
// # Errors
//
// kgo retries by itself what a broker marks retriable (leadership moves,
// brokers restarting, fetch sessions); Source ignores those. Everything else about a partition is fatal to that partition: Poll
// returns a *PartitionError naming topic, partition and offset, the Source
// stops fetching it, and the other partitions carry on. The caller decides:
// Seek the partition to another offset, or give up.
//
//   - OFFSET_OUT_OF_RANGE, when the offset to read is below the log start
//     (retention removed it) or past its end (the log was truncated or the
//     topic recreated), is ErrOffsetOutOfRange with the log's bounds. The
//     client is configured never to reset (kgo.NoResetOffset): by default kgo
//     would silently jump to the log start or rewind by time.
//   - A partition unknown to the cluster for longer than
//     SourceConfig.MissingAfter (its topic was deleted) is
//     ErrPartitionMissing.
//   - Data loss detected by leader epoch validation (*kgo.ErrDataLoss),
//     authorization failures, corrupt batches and batches that decompress
//     beyond SourceConfig.MaxDecompressBytes are fatal too.
//
// # Memory
//
// kgo keeps at most one buffered fetch response per broker and does not send
// that broker another fetch until Poll has taken every record of it; with
// MaxConcurrentFetches at most that many fetches are in flight or buffered
// across brokers. Each response is bounded by FetchMaxBytes (and
// FetchMaxPartitionBytes per partition), except that a broker returns one
// whole record batch even when it is larger. So fetched, undelivered data is
// bounded by
//
//	MaxConcurrentFetches × FetchMaxBytes of wire bytes (64 MiB by default),
//
// decompressed: times the compression ratio, and no batch beyond
// MaxDecompressBytes (64 MiB). On top of that the Source holds at most the
// records of one PollRecords call (MaxPollRecords) it has not passed yet,
// plus the records of partitions paused after they were fetched.
//
// # Dead letters
//
// DeadLetters produces records that could not be used (undecodable, invalid)
// to a dead-letter topic with the original key and value and headers naming
// the reason and the source position, through an idempotent producer with
// acks=all. Its Flush waits for every dead letter to be acknowledged; the
// caller flushes before committing its offsets, so a dead letter is never
// lost.
//
// # Dev broker
//
// RunDev starts an in-process Kafka-protocol cluster (franz-go's kfake) for
// local trials and tests. It keeps everything in memory and is not for
// production. Package kafkatest wraps it for tests.
//
// The Kafka alert sink lives in package kafka/sink, not here.
package kafka
