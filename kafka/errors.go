package kafka

import (
	"errors"
	"fmt"
)

// Sentinels, checked with errors.Is.
var (
	// ErrClosed is returned by a Source or DeadLetters used after Close.
	ErrClosed = errors.New("kafka: closed")

	// ErrOffsetOutOfRange means the offset a partition was to be read from
	// is not in its log: below the log start (retention or DeleteRecords
	// removed it) or past the log end (the log was truncated or the topic
	// recreated). The partition is stopped; see Source.Seek.
	ErrOffsetOutOfRange = errors.New("offset out of range")

	// ErrPartitionMissing means a partition stayed unknown to the cluster
	// for longer than SourceConfig.MissingAfter: its topic was most likely
	// deleted. The partition is stopped.
	ErrPartitionMissing = errors.New("partition missing from the cluster")
)

// PartitionError is a fatal error reading one partition. The Source stops
// fetching the partition when it reports one; the other partitions carry
// on. It wraps the cause: ErrOffsetOutOfRange, ErrPartitionMissing, a
// *kgo.ErrDataLoss, a kerr.Error or a client error.
type PartitionError struct {
	TopicPartition
	Index int   // the partition's index in Source.Partitions
	Next  int64 // the offset the Source was to read next
	// LogStart and HighWatermark are the bounds of the log the broker
	// reported with the error; -1 when unknown.
	LogStart, HighWatermark int64
	Err                     error
}

func (e *PartitionError) Error() string {
	if errors.Is(e.Err, ErrOffsetOutOfRange) {
		switch {
		case e.LogStart >= 0 && e.Next < e.LogStart:
			return fmt.Sprintf("kafka: %s: next offset %d is below the log start %d (records %d..%d were removed): %v",
				e.TopicPartition, e.Next, e.LogStart, e.Next, e.LogStart-1, e.Err)
		case e.HighWatermark >= 0 && e.Next > e.HighWatermark:
			return fmt.Sprintf("kafka: %s: next offset %d is past the log end %d: %v",
				e.TopicPartition, e.Next, e.HighWatermark, e.Err)
		}
	}
	return fmt.Sprintf("kafka: %s at offset %d (log %s): %v",
		e.TopicPartition, e.Next, bounds(e.LogStart, e.HighWatermark), e.Err)
}

func (e *PartitionError) Unwrap() error { return e.Err }

func bounds(start, end int64) string {
	f := func(v int64) string {
		if v < 0 {
			return "?"
		}
		return fmt.Sprint(v)
	}
	return "[" + f(start) + ", " + f(end) + ")"
}
