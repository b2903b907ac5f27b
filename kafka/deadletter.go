package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Headers of a dead letter. The record's key and value are the original's.
const (
	HeaderReason          = "motif-reason"           // why the record was rejected
	HeaderSourceTopic     = "motif-source-topic"     // where it was read from
	HeaderSourcePartition = "motif-source-partition" // decimal
	HeaderSourceOffset    = "motif-source-offset"    // decimal
)

// DeadLetterConfig configures DeadLetters.
type DeadLetterConfig struct {
	Brokers []string // seed brokers, host:port
	// ClientOpts are added after the producer's own options (tests: dial
	// timeouts, TLS, SASL). Disabling idempotence or lowering acks loses
	// the guarantee Flush gives.
	ClientOpts []kgo.Opt
	Logger     *slog.Logger // nil discards
}

// DeadLetters writes the records a pipeline cannot use (undecodable,
// invalid) to a dead-letter topic, with the original key and value and
// headers naming the reason and the source position.
//
// The producer is idempotent with acks=all, so a dead letter is written
// once even when produce requests are retried. Add only queues; Flush waits
// for every queued dead letter to be acknowledged, and the caller flushes
// before committing the offsets of the records it rejected, so that no dead
// letter is lost. The methods are safe for concurrent use.
type DeadLetters struct {
	cl    *kgo.Client
	topic string
	log   *slog.Logger

	produced atomic.Uint64
	failed   atomic.Uint64

	mu       sync.Mutex
	firstErr error // first failure since the last Flush
	nErr     int   // failures since the last Flush
}

// NewDeadLetters returns a DeadLetters writing to topic, which must exist.
func NewDeadLetters(ctx context.Context, cfg DeadLetterConfig, topic string) (*DeadLetters, error) {
	var errs []error
	if len(cfg.Brokers) == 0 {
		errs = append(errs, errors.New("no brokers"))
	}
	if topic == "" {
		errs = append(errs, errors.New("no topic"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("kafka: dead letters: %w", err)
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), // required by, and the default with, idempotence
	}
	cl, err := kgo.NewClient(append(opts, cfg.ClientOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: dead letters client: %w", err)
	}
	md, err := kadm.NewClient(cl).Metadata(ctx, topic)
	if err == nil {
		err = md.Topics[topic].Err
		if _, ok := md.Topics[topic]; !ok {
			err = errors.New("not in the cluster's metadata")
		}
	}
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafka: dead letter topic %q: %w", topic, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DeadLetters{cl: cl, topic: topic, log: log}, nil
}

// Topic returns the dead-letter topic.
func (d *DeadLetters) Topic() string { return d.topic }

// Add queues a dead letter for the record at offset of src, rejected for
// reason. It copies key and value (a Source's buffers are reused), and
// blocks while the producer's buffer is full. A failure is counted and
// reported by the next Flush.
func (d *DeadLetters) Add(src TopicPartition, offset int64, reason string, key, value []byte) {
	r := &kgo.Record{
		Topic: d.topic,
		Key:   slices.Clone(key),
		Value: slices.Clone(value),
		Headers: []kgo.RecordHeader{
			{Key: HeaderReason, Value: []byte(reason)},
			{Key: HeaderSourceTopic, Value: []byte(src.Topic)},
			{Key: HeaderSourcePartition, Value: strconv.AppendInt(nil, int64(src.Partition), 10)},
			{Key: HeaderSourceOffset, Value: strconv.AppendInt(nil, offset, 10)},
		},
	}
	d.cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
		if err == nil {
			d.produced.Add(1)
			return
		}
		d.failed.Add(1)
		err = fmt.Errorf("dead letter of %s offset %d: %w", src, offset, err)
		d.log.Error("kafka: dead letter failed", "topic", d.topic, "err", err)
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.nErr == 0 {
			d.firstErr = err
		}
		d.nErr++
	})
}

// Flush waits until every dead letter added before it is acknowledged or
// failed. It returns an error if ctx ends first, or if any dead letter
// failed since the previous Flush: then the caller must not commit the
// offsets of the records it rejected.
func (d *DeadLetters) Flush(ctx context.Context) error {
	if err := d.cl.Flush(ctx); err != nil {
		return fmt.Errorf("kafka: flushing dead letters to %q: %w", d.topic, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	err, n := d.firstErr, d.nErr
	d.firstErr, d.nErr = nil, 0
	if n == 0 {
		return nil
	}
	return fmt.Errorf("kafka: %d dead letters to %q failed; first: %w", n, d.topic, err)
}

// Produced returns how many dead letters were acknowledged.
func (d *DeadLetters) Produced() uint64 { return d.produced.Load() }

// Failed returns how many dead letters failed.
func (d *DeadLetters) Failed() uint64 { return d.failed.Load() }

// Close releases the producer. Dead letters not yet acknowledged fail:
// Flush first.
func (d *DeadLetters) Close() { d.cl.Close() }
