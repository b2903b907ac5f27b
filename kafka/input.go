package kafka

import (
	"context"
	"fmt"
	"strings"

	"github.com/motifcep/motif/pipeline"
)

// SourcePrefix starts the names under which Kafka offsets and dead letters
// are stored: "kafka/" + topic, partition.
const SourcePrefix = "kafka/"

// Input reads Kafka partitions for a pipeline: it is a pipeline.Input, a
// pipeline.Pauser and a pipeline.Lagger. Offsets come from the pipeline's
// commits (Open), never from Kafka's consumer groups.
type Input struct {
	cfg   SourceConfig
	parts []pipeline.Partition
	index map[TopicPartition]int // position in cfg.Partitions and parts
	src   *Source
}

// NewInput resolves the partitions of cfg (every partition of its topics
// when cfg.Partitions is nil); reading starts at Open. cfg.Start is
// replaced by the pipeline's committed offsets.
func NewInput(ctx context.Context, cfg SourceConfig) (*Input, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tps, err := ResolvePartitions(ctx, cfg.withDefaults())
	if err != nil {
		return nil, err
	}
	cfg.Partitions = tps
	in := &Input{cfg: cfg, index: map[TopicPartition]int{}}
	for i, tp := range tps {
		in.parts = append(in.parts, pipeline.Partition{Source: SourcePrefix + tp.Topic, Partition: uint32(tp.Partition)})
		in.index[tp] = i
	}
	return in, nil
}

// Partitions implements pipeline.Input.
func (in *Input) Partitions() []pipeline.Partition { return in.parts }

// Open implements pipeline.Input: it starts reading each partition at its
// committed offset, or at its earliest one.
func (in *Input) Open(ctx context.Context, from []*uint64) error {
	cfg := in.cfg
	cfg.Start = func(tp TopicPartition) (int64, bool) {
		if f := from[in.index[tp]]; f != nil {
			return int64(*f), true
		}
		return 0, false
	}
	src, err := NewSource(ctx, cfg)
	if err != nil {
		return err
	}
	in.src = src
	return nil
}

// Read implements pipeline.Input. It does not wait for records.
func (in *Input) Read(limit int, fn func(i int, off uint64, r pipeline.Record) bool) (int, error) {
	n := 0
	var refused *Record
	_, err := in.src.TryPoll(func(i int, r *Record) bool {
		rec := pipeline.Record{Value: r.Value, Key: r.Key}
		if !r.Timestamp.IsZero() {
			rec.Time = r.Timestamp.UnixNano()
		}
		if !fn(i, uint64(r.Offset), rec) {
			// The Source counts a record refused as passed; it must come
			// again.
			c := *r
			refused = &c
			return false
		}
		n++
		return n < limit
	})
	if refused != nil {
		if serr := in.src.Seek(in.index[refused.TopicPartition], refused.Offset); serr != nil && err == nil {
			err = serr
		}
	}
	return n, err
}

// Pause implements pipeline.Pauser.
func (in *Input) Pause(i int) { in.src.Pause(i) }

// Resume implements pipeline.Pauser.
func (in *Input) Resume(i int) { in.src.Resume(i) }

// Lag implements pipeline.Lagger.
func (in *Input) Lag() []int64 {
	if in.src == nil {
		return nil
	}
	return in.src.Lag()
}

// Close implements pipeline.Input.
func (in *Input) Close() {
	if in.src != nil {
		in.src.Close()
	}
}

// DeadLetterSink adapts d to a pipeline's dead letters.
func DeadLetterSink(d *DeadLetters) pipeline.DeadLetterSink { return deadLetterSink{d} }

type deadLetterSink struct{ d *DeadLetters }

func (s deadLetterSink) Add(p pipeline.Partition, offset uint64, reason string, key, value []byte) {
	topic, ok := strings.CutPrefix(p.Source, SourcePrefix)
	if !ok {
		topic = p.Source
	}
	s.d.Add(TopicPartition{topic, int32(p.Partition)}, int64(offset), reason, key, value)
}

func (s deadLetterSink) Flush(ctx context.Context) error {
	if err := s.d.Flush(ctx); err != nil {
		return fmt.Errorf("dead-letter topic %s: %w", s.d.Topic(), err)
	}
	return nil
}
