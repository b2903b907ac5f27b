package sink

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Defaults that Config fields left at zero take.
const (
	DefaultMaxBatch           = 1000
	DefaultMaxBatchBytes      = 8 << 20
	DefaultPollInterval       = 100 * time.Millisecond
	DefaultRetryBackoff       = 100 * time.Millisecond
	DefaultMaxRetryBackoff    = 5 * time.Second
	DefaultTransactionTimeout = time.Minute
)

// IDPrefix starts the transactional id and the consumer group name of a
// sink: both are IDPrefix + Config.SinkID.
const IDPrefix = "motif-sink-"

// maxSinkID bounds Config.SinkID: Kafka group names and transactional ids
// are short strings, and the prefix takes some of the room.
const maxSinkID = 200

// Config configures a Sink. Brokers, Topic and SinkID are required; every
// other field has a default.
type Config struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string

	// Topic is the alert topic. It must exist: the sink does not create it.
	Topic string

	// SinkID names this sink for good: the transactional id and the
	// consumer group that holds its position are "motif-sink-" + SinkID.
	// It must be stable across restarts of the node whose alert log the
	// sink relays, and unique to that log: two sinks with the same SinkID
	// fence each other, two logs under one SinkID share one position.
	SinkID string

	// Transactional selects exactly-once delivery: alerts and the position
	// are committed in one Kafka transaction. False selects at-least-once:
	// an idempotent producer, the position committed after the alerts are
	// acknowledged, so a crash or failed attempt between the two writes
	// the alerts again.
	Transactional bool

	// MaxBatch bounds the alerts of one transaction (at-least-once: of one
	// position commit), and so the alerts the sink holds in memory.
	// Zero means DefaultMaxBatch.
	MaxBatch int

	// MaxBatchBytes bounds the payload bytes of one batch; a batch holds
	// at least one alert whatever its size. Zero means
	// DefaultMaxBatchBytes.
	MaxBatchBytes int

	// Linger is how long the sink waits for more alerts before it starts a
	// transaction that would not be full. Zero or negative (the default)
	// does not wait: woken once per commit of the node, the sink already
	// takes a commit's alerts in one transaction, and waiting only adds
	// latency (BenchmarkKafkaLatency: p50 about 5 ms without, 7 to 10 ms
	// with 1 to 5 ms). A positive Linger gathers the alerts of several
	// commits into fewer transactions.
	Linger time.Duration

	// PollInterval is how often the sink looks at the alert log when no
	// wake signal comes. Zero means DefaultPollInterval.
	PollInterval time.Duration

	// RetryBackoff is the wait after the first failed attempt; it doubles
	// with each further failure up to MaxRetryBackoff, with jitter. Zero
	// means DefaultRetryBackoff and DefaultMaxRetryBackoff.
	RetryBackoff, MaxRetryBackoff time.Duration

	// TransactionTimeout is the transaction timeout the broker enforces
	// (it must not exceed the broker's transaction.max.timeout.ms). The
	// sink gives up an attempt after half of it, aborting the transaction
	// itself, so the broker never has to. In at-least-once mode it bounds
	// an attempt the same way. Zero means DefaultTransactionTimeout.
	TransactionTimeout time.Duration

	// Metadata, if set, gives the metadata committed with each position
	// (the offset commit's metadata string) for the position next: a
	// cluster records there where the input stood for the alerts below
	// next, so the node that takes the log over knows where to resume.
	// Without it the metadata is a fixed note.
	Metadata func(next uint64) (string, error)

	// Ahead is how far the committed position may be ahead of the log's
	// end: a node that continues another's log regenerates the alerts the
	// other already relayed, and the sink skips them as they come. Zero
	// refuses any position past the end (ErrPositionAhead).
	Ahead uint64

	// ClientOpts are added to the sink's kgo options (SASL, TLS, client id,
	// compression...), after the sink's own. Options that change what the
	// sink relies on (transactional id, idempotence, acks, partitioner
	// semantics) break its guarantees.
	ClientOpts []kgo.Opt

	// Logger receives the sink's messages and the Kafka client's warnings.
	// Nil discards them.
	Logger *slog.Logger
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("Brokers is empty"))
	}
	if c.Topic == "" {
		errs = append(errs, errors.New("Topic is empty"))
	}
	if err := checkSinkID(c.SinkID); err != nil {
		errs = append(errs, err)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxBatch", int64(c.MaxBatch)},
		{"MaxBatchBytes", int64(c.MaxBatchBytes)},
		{"PollInterval", int64(c.PollInterval)},
		{"RetryBackoff", int64(c.RetryBackoff)},
		{"MaxRetryBackoff", int64(c.MaxRetryBackoff)},
		{"TransactionTimeout", int64(c.TransactionTimeout)},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s is negative", f.name))
		}
	}
	if c.RetryBackoff > 0 && c.MaxRetryBackoff > 0 && c.MaxRetryBackoff < c.RetryBackoff {
		errs = append(errs, fmt.Errorf("MaxRetryBackoff %v is below RetryBackoff %v", c.MaxRetryBackoff, c.RetryBackoff))
	}
	if c.TransactionTimeout > 0 && c.TransactionTimeout < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("TransactionTimeout %v is below 100ms", c.TransactionTimeout))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
}

func checkSinkID(id string) error {
	switch {
	case id == "":
		return errors.New("SinkID is empty")
	case len(id) > maxSinkID:
		return fmt.Errorf("SinkID is %d bytes long, more than %d", len(id), maxSinkID)
	case strings.ContainsFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return fmt.Errorf("SinkID %q holds white space or a control character", id)
	}
	return nil
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	if c.MaxBatch == 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = DefaultMaxBatchBytes
	}
	c.Linger = max(c.Linger, 0)
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.MaxRetryBackoff == 0 {
		c.MaxRetryBackoff = max(DefaultMaxRetryBackoff, c.RetryBackoff)
	}
	if c.TransactionTimeout == 0 {
		c.TransactionTimeout = DefaultTransactionTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// group is the consumer group that holds the sink's position.
func (c *Config) group() string { return IDPrefix + c.SinkID }

// transactionalID is the sink's transactional id.
func (c *Config) transactionalID() string { return IDPrefix + c.SinkID }

// attemptTimeout bounds one attempt: half the transaction timeout, so the
// sink aborts a stuck transaction before the broker does (which would look
// like a fence).
func (c *Config) attemptTimeout() time.Duration { return c.TransactionTimeout / 2 }
