// Package sink writes a node's alerts to a Kafka alert topic, exactly once.
//
// The alert log in the node's store (checkpoint.Store's Alerts) is the
// outbox; the sink relays it. It reads the alerts after its position, a
// batch at a time, produces one record per alert and commits, in the same
// Kafka transaction, its new position: the sequence number of the next
// alert, stored as the offset of consumer group "motif-sink-<SinkID>" for
// partition 0 of the alert topic (AddOffsetsToTxn and TxnOffsetCommit, the
// way a consume-transform-produce application commits what it consumed).
// The records and the position become visible together or not at all. On
// start, and after any failure, the sink reads the committed position back
// (asking for stable offsets) and resumes from the alert log there.
//
// The transactional id is "motif-sink-<SinkID>". Initialising it bumps the
// producer epoch, which aborts whatever transaction an earlier sink with
// the same SinkID left open and fences that sink: its next request is
// refused and its Run returns ErrFenced. The sink reads its position only
// after it initialised the producer id, so no older sink can commit after
// the read.
//
// # Guarantee
//
// In transactional mode (Config.Transactional), a consumer reading the
// alert topic with isolation level read_committed sees every alert of the
// log at or above the position the sink started from (the first alert of
// the log for a new SinkID) exactly once, as long as retention has not
// removed it from the log first, and the alerts of one key in sequence
// order. This holds across crashes of the sink at any point, restarts,
// broker failures, lost answers to a commit and zombie sinks with the same
// SinkID. A read_uncommitted consumer may also see records of aborted
// transactions.
//
// In at-least-once mode (Transactional false), the sink produces with an
// idempotent producer and commits the position (a plain offset commit)
// once every record of the batch is acknowledged. Every alert is delivered;
// a crash or a failed attempt between the acknowledgement and the position
// commit delivers the batch again. Consumers dedupe by the id header.
//
// Either way the sink holds at most Config.MaxBatch alerts in memory: when
// the brokers are slow or down it stops reading the log and retries, and
// the lag stays on disk. Position is the retention floor: the log must keep
// every alert at or above it (enforcing that is the caller's part).
//
// The position lives in Kafka's group offsets, which a broker expires
// when the group has not committed for offsets.retention.minutes (seven
// days by default). A running sink that finds its offset gone keeps the
// position it committed itself; a sink started after its offset expired
// relays the log again from its first alert. Set offsets.retention.minutes
// above the longest time a sink may go without relaying an alert.
//
// # Records
//
// One record per alert, to Config.Topic:
//
//   - value: the alert's JSON exactly as stored in the log.
//   - key: the alert's key. One part (the JSON string, or a list of one):
//     the string's bytes, so the alert lands in the partition that events
//     keyed by the same string get in a topic with as many partitions.
//     Several parts: the key's JSON list as stored, e.g. ["4111","m-7"],
//     which no other list of parts gives. The number of parts is fixed by
//     the pattern, so keys of one pattern version never mix the two forms.
//     Null (no key): no key.
//   - headers: motif-alert-id, motif-alert-seq (decimal), motif-pattern,
//     motif-pattern-version (decimal).
//
// The partition is the client's default partitioner's choice (murmur2 of
// the key, as Kafka's Java client; keyless records spread). Records of one
// key are produced in sequence order, in order within and across
// transactions.
//
// An alert whose JSON cannot be read is relayed all the same, as stored,
// with no key and only the motif-alert-seq header, and counted in
// Stats.Malformed.
//
// This package does not create topics, consume the alert topic, enforce
// the store's retention, or decide when alerts are raised.
package sink
