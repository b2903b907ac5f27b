package kafka

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String returns "topic/partition".
func (tp TopicPartition) String() string {
	return tp.Topic + "/" + strconv.FormatInt(int64(tp.Partition), 10)
}

func compareTP(a, b TopicPartition) int {
	if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

// Record is a record as read from a partition.
//
// A *Record passed to a Poll callback is only valid during the call. Its
// Key, Value and Headers alias the client's fetch buffers: they stay valid
// until the next Poll or TryPoll and must be copied to be kept longer.
type Record struct {
	TopicPartition
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []kgo.RecordHeader
	Timestamp time.Time
}

// Defaults of SourceConfig. Together they bound the memory a Source holds
// in fetched but undelivered records; see the package documentation.
const (
	DefaultMaxPollRecords         = 1024
	DefaultFetchMaxBytes          = 16 << 20 // per fetch request (one per broker at a time)
	DefaultFetchMaxPartitionBytes = 1 << 20  // per partition within a fetch
	DefaultMaxConcurrentFetches   = 4
	DefaultMaxDecompressBytes     = 64 << 20 // per record batch, decompressed
	DefaultFetchMaxWait           = 500 * time.Millisecond
	DefaultMissingAfter           = 30 * time.Second
)

// SourceConfig configures a Source. Zero fields take the defaults above.
type SourceConfig struct {
	Brokers []string // seed brokers, host:port
	Topics  []string // topics to read; ignored when Partitions is set

	// Partitions assigned to this source; nil means every partition of
	// Topics, discovered from the cluster's metadata by NewSource.
	Partitions []TopicPartition

	// Start gives the next offset to read of a partition, from Motif's
	// committed state; ok=false starts at the partition's earliest offset.
	// nil starts every partition at its earliest offset.
	Start func(tp TopicPartition) (next int64, ok bool)

	// MaxPollRecords bounds how many records one Poll takes from the
	// client; default DefaultMaxPollRecords.
	MaxPollRecords int

	// FetchMaxBytes, FetchMaxPartitionBytes and MaxConcurrentFetches are
	// kgo's fetch limits (the Java fetch.max.bytes and
	// max.partition.fetch.bytes; at most MaxConcurrentFetches fetch
	// responses are in flight or buffered at once). MaxDecompressBytes caps
	// what one record batch may decompress to.
	FetchMaxBytes          int32
	FetchMaxPartitionBytes int32
	MaxConcurrentFetches   int
	MaxDecompressBytes     int

	// FetchMaxWait is how long a broker may hold a fetch that has no data
	// yet; it also bounds how long Resume takes to have an effect.
	FetchMaxWait time.Duration

	// MissingAfter is how long a partition may stay unknown to the cluster
	// (UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_ID) before it is reported
	// as ErrPartitionMissing; shorter spells happen while a topic is
	// created or a partition moves and are retried.
	MissingAfter time.Duration

	// ClientOpts are added after the Source's own options (tests: dial
	// timeouts, TLS, SASL). Options that change how records are read
	// (isolation level, offsets, consumer groups) break the Source's
	// guarantees.
	ClientOpts []kgo.Opt

	Logger *slog.Logger // nil discards
}

// Validate reports every problem of cfg at once.
func (cfg *SourceConfig) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(cfg.Brokers) == 0 {
		add("no brokers")
	}
	if cfg.Partitions == nil && len(cfg.Topics) == 0 {
		add("neither topics nor partitions")
	}
	if cfg.Partitions != nil && len(cfg.Partitions) == 0 {
		add("an empty partition list (nil means every partition of Topics)")
	}
	for i, t := range cfg.Topics {
		if t == "" {
			add("topic %d: empty name", i)
		}
	}
	seen := make(map[TopicPartition]bool, len(cfg.Partitions))
	for _, tp := range cfg.Partitions {
		switch {
		case tp.Topic == "":
			add("partition %d: empty topic name", tp.Partition)
		case tp.Partition < 0:
			add("partition %s: negative partition", tp)
		case seen[tp]:
			add("partition %s: listed twice", tp)
		}
		seen[tp] = true
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxPollRecords", int64(cfg.MaxPollRecords)},
		{"FetchMaxBytes", int64(cfg.FetchMaxBytes)},
		{"FetchMaxPartitionBytes", int64(cfg.FetchMaxPartitionBytes)},
		{"MaxConcurrentFetches", int64(cfg.MaxConcurrentFetches)},
		{"MaxDecompressBytes", int64(cfg.MaxDecompressBytes)},
		{"FetchMaxWait", int64(cfg.FetchMaxWait)},
		{"MissingAfter", int64(cfg.MissingAfter)},
	} {
		if f.v < 0 {
			add("%s %d: negative", f.name, f.v)
		}
	}
	if cfg.FetchMaxPartitionBytes > 0 && cfg.FetchMaxBytes > 0 && cfg.FetchMaxPartitionBytes > cfg.FetchMaxBytes {
		add("FetchMaxPartitionBytes %d exceeds FetchMaxBytes %d", cfg.FetchMaxPartitionBytes, cfg.FetchMaxBytes)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("kafka: source config: %w", errors.Join(errs...))
}

func (cfg SourceConfig) withDefaults() SourceConfig {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.MaxPollRecords, DefaultMaxPollRecords)
	def(&cfg.MaxConcurrentFetches, DefaultMaxConcurrentFetches)
	def(&cfg.MaxDecompressBytes, DefaultMaxDecompressBytes)
	if cfg.FetchMaxBytes == 0 {
		cfg.FetchMaxBytes = DefaultFetchMaxBytes
	}
	if cfg.FetchMaxPartitionBytes == 0 {
		cfg.FetchMaxPartitionBytes = min(DefaultFetchMaxPartitionBytes, cfg.FetchMaxBytes)
	}
	if cfg.FetchMaxWait == 0 {
		cfg.FetchMaxWait = DefaultFetchMaxWait
	}
	if cfg.MissingAfter == 0 {
		cfg.MissingAfter = DefaultMissingAfter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// Source reads an explicit set of partitions from given offsets. It is not
// a consumer group member and commits nothing to Kafka: where to resume is
// Motif's own committed state, handed in through SourceConfig.Start.
//
// Poll, TryPoll and Seek must be called by one goroutine at a time (the
// poller). Pause, Resume, Paused, Lag, Next, Partitions and Close may be
// called from any goroutine, including from within a Poll callback.
type Source struct {
	cl     *kgo.Client
	log    *slog.Logger
	max    int
	after  time.Duration
	tps    []TopicPartition
	parts  []partition
	byName map[string][]int // topic → partition number → index, -1 if not assigned

	mu      sync.Mutex    // orders changes to what kgo fetches (paused, failed); guards wake
	wake    func()        // cancels the poller's wait while it holds records back
	resumes atomic.Uint64 // Resume calls, to not miss one that comes before wake is set

	// Poller-only state.
	pending []pendingRecord // taken from kgo, not yet passed to fn, in order
	held    []bool          // per partition: a record was held back in this deliver pass
	rec     Record          // reused for every callback

	closed   atomic.Bool
	stop     context.CancelFunc // called by Close: ends refreshEnds
	refreshd chan struct{}      // closed when refreshEnds has returned
}

// partition is the state of one assigned partition.
type partition struct {
	next   atomic.Int64 // next offset to deliver
	hwm    atomic.Int64 // high watermark of the last fetch; -1 unknown
	paused atomic.Bool  // by the caller
	failed atomic.Bool  // by a fatal error, until Seek

	// Poller only.
	fetched      int64     // one past the last record taken from kgo; -1 unknown
	missingSince time.Time // first of consecutive "unknown partition" errors
}

type pendingRecord struct {
	r     *kgo.Record
	index int
}

// NewSource checks cfg, resolves the partitions to read, asks Start where
// to begin each one and starts fetching. It returns an error naming the
// topic when a topic or an assigned partition does not exist, and one
// naming the partition when Start gives a negative offset.
func NewSource(ctx context.Context, cfg SourceConfig) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	tps, err := ResolvePartitions(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Source{
		log:    cfg.Logger,
		max:    cfg.MaxPollRecords,
		after:  cfg.MissingAfter,
		tps:    tps,
		parts:  make([]partition, len(tps)),
		held:   make([]bool, len(tps)),
		byName: make(map[string][]int),
	}
	assign := make(map[string]map[int32]kgo.Offset)
	for i, tp := range tps {
		off := kgo.NewOffset().AtStart()
		next := int64(-1) // resolved from the first record
		if cfg.Start != nil {
			if n, ok := cfg.Start(tp); ok {
				if n < 0 {
					return nil, fmt.Errorf("kafka: %s: start offset %d is negative", tp, n)
				}
				off, next = kgo.NewOffset().At(n), n
			}
		}
		s.parts[i].next.Store(next)
		s.parts[i].fetched = next
		s.parts[i].hwm.Store(-1)
		if assign[tp.Topic] == nil {
			assign[tp.Topic] = make(map[int32]kgo.Offset)
		}
		assign[tp.Topic][tp.Partition] = off
		idx := s.byName[tp.Topic]
		for int(tp.Partition) >= len(idx) {
			idx = append(idx, -1)
		}
		idx[tp.Partition] = i
		s.byName[tp.Topic] = idx
	}
	opts := append(consumeOpts(cfg), kgo.ConsumePartitions(assign))
	s.cl, err = kgo.NewClient(append(opts, cfg.ClientOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: source client: %w", err)
	}
	var stopCtx context.Context
	stopCtx, s.stop = context.WithCancel(context.Background())
	s.refreshd = make(chan struct{})
	go s.refreshEnds(stopCtx)
	return s, nil
}

// endsEvery is how often the ends of paused partitions are listed.
const endsEvery = time.Second

// refreshEnds lists the end offsets of paused partitions every endsEvery
// until Close: fetches report a partition's end, and a paused partition
// is not fetched, so without this its lag would stay where the pause found
// it while records pile up behind it.
func (s *Source) refreshEnds(stop context.Context) {
	defer close(s.refreshd)
	tick := time.NewTicker(endsEvery)
	defer tick.Stop()
	adm := kadm.NewClient(s.cl)
	for {
		select {
		case <-stop.Done():
			return
		case <-tick.C:
		}
		var topics []string
		for i := range s.parts {
			if t := s.tps[i].Topic; s.parts[i].paused.Load() && !slices.Contains(topics, t) {
				topics = append(topics, t)
			}
		}
		if len(topics) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(stop, endsEvery)
		ends, err := adm.ListEndOffsets(ctx, topics...)
		cancel()
		if err != nil {
			continue // lag stays as it was; the next tick tries again
		}
		ends.Each(func(o kadm.ListedOffset) {
			idx := s.byName[o.Topic]
			if o.Err != nil || int(o.Partition) >= len(idx) || idx[o.Partition] < 0 {
				return
			}
			p := &s.parts[idx[o.Partition]]
			for {
				old := p.hwm.Load()
				if o.Offset <= old || p.hwm.CompareAndSwap(old, o.Offset) {
					return
				}
			}
		})
	}
}

// consumeOpts are the options every Source client has, before ClientOpts.
func consumeOpts(cfg SourceConfig) []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers come back so that the next offset to read
		// moves past them; Poll never passes them on.
		kgo.KeepControlRecords(),
		// Never jump to another offset on OFFSET_OUT_OF_RANGE: report it.
		kgo.ConsumeResetOffset(kgo.NoResetOffset()),
		// kgo still retries these itself; we see them to notice a
		// partition that stays missing.
		kgo.KeepRetryableFetchErrors(),
		kgo.FetchMaxBytes(cfg.FetchMaxBytes),
		kgo.FetchMaxPartitionBytes(cfg.FetchMaxPartitionBytes),
		kgo.MaxConcurrentFetches(cfg.MaxConcurrentFetches),
		kgo.MaxDecompressBatchBytes(cfg.MaxDecompressBytes),
		kgo.BrokerMaxReadBytes(2*cfg.FetchMaxBytes + 1<<20),
		kgo.FetchMaxWait(cfg.FetchMaxWait),
	}
}

// ResolvePartitions returns the assigned partitions, sorted, after checking
// that each exists.
func ResolvePartitions(ctx context.Context, cfg SourceConfig) ([]TopicPartition, error) {
	topics := cfg.Topics
	if cfg.Partitions != nil {
		topics = nil
		for _, tp := range cfg.Partitions {
			if !slices.Contains(topics, tp.Topic) {
				topics = append(topics, tp.Topic)
			}
		}
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...)}, cfg.ClientOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: metadata client: %w", err)
	}
	defer cl.Close()
	md, err := kadm.NewClient(cl).Metadata(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka: reading metadata of %v: %w", topics, err)
	}
	var errs []error
	exists := make(map[TopicPartition]bool)
	var all []TopicPartition
	for _, t := range topics {
		d, ok := md.Topics[t]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("kafka: topic %q: not in the cluster's metadata", t))
			continue
		case d.Err != nil:
			errs = append(errs, fmt.Errorf("kafka: topic %q: %w", t, d.Err))
			continue
		}
		for p := range d.Partitions {
			tp := TopicPartition{t, p}
			exists[tp] = true
			all = append(all, tp)
		}
	}
	if cfg.Partitions != nil {
		all = slices.Clone(cfg.Partitions)
		for _, tp := range all {
			if !exists[tp] && md.Topics[tp.Topic].Err == nil && len(md.Topics[tp.Topic].Partitions) > 0 {
				errs = append(errs, fmt.Errorf("kafka: partition %s: topic %q has %d partitions",
					tp, tp.Topic, len(md.Topics[tp.Topic].Partitions)))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(all, compareTP)
	return all, nil
}

// Partitions returns the assigned partitions, sorted by topic then
// partition. A partition's index in this slice is its number in every other
// method (and in the watermark sorter downstream). The slice is shared: do
// not modify it.
func (s *Source) Partitions() []TopicPartition { return s.tps }

func (s *Source) valid(index int) bool { return index >= 0 && index < len(s.parts) }

// Pause stops delivering records of the partition at index until Resume:
// records of it already fetched are held back (kgo drops what it buffered
// and fetches it again after Resume), and no more are fetched. Other
// partitions are not affected. Pausing a paused partition, or an index out
// of range, does nothing.
func (s *Source) Pause(index int) {
	if !s.valid(index) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.parts[index].paused.Swap(true) {
		return
	}
	tp := s.tps[index]
	s.cl.PauseFetchPartitions(map[string][]int32{tp.Topic: {tp.Partition}})
}

// Resume undoes Pause. Fetching restarts with the next fetch request, at
// most FetchMaxWait later. A partition stopped by an error stays stopped
// (see Seek). Resuming a partition that is not paused does nothing.
func (s *Source) Resume(index int) {
	if !s.valid(index) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.parts[index].paused.Swap(false) {
		return
	}
	s.resumes.Add(1)
	if s.wake != nil {
		s.wake() // records of it may be held: deliver them
	}
	if s.parts[index].failed.Load() {
		return
	}
	tp := s.tps[index]
	s.cl.ResumeFetchPartitions(map[string][]int32{tp.Topic: {tp.Partition}})
}

// Paused reports whether the partition at index is paused by Pause.
func (s *Source) Paused(index int) bool {
	return s.valid(index) && s.parts[index].paused.Load()
}

// Failed reports whether the partition at index is stopped by an error
// that Poll returned, until Seek.
func (s *Source) Failed(index int) bool {
	return s.valid(index) && s.parts[index].failed.Load()
}

// Next returns the offset of the partition at index that the Source reads
// next: one past the last record passed to a callback (or skipped
// transaction marker), or the start offset; -1 when the partition started
// at its earliest offset and nothing was read yet.
func (s *Source) Next(index int) int64 {
	if !s.valid(index) {
		return -1
	}
	return s.parts[index].next.Load()
}

// Lag returns, per partition index, the high watermark reported by the last
// fetch of the partition minus the next offset to read: how many records
// (counting open transactions' records and markers) are behind. It is -1
// while either is unknown.
func (s *Source) Lag() []int64 {
	lag := make([]int64, len(s.parts))
	for i := range s.parts {
		hwm, next := s.parts[i].hwm.Load(), s.parts[i].next.Load()
		switch {
		case hwm < 0 || next < 0:
			lag[i] = -1
		default:
			lag[i] = max(0, hwm-next)
		}
	}
	return lag
}

// Seek makes the partition at index read next from offset next, dropping
// its records fetched but not yet delivered, and restarts a partition
// stopped by an error. It is how the caller decides what to do after an
// ErrOffsetOutOfRange: skip to the log start it names, or give up. A paused
// partition stays paused. Call it from the poller.
func (s *Source) Seek(index int, next int64) error {
	switch {
	case s.closed.Load():
		return ErrClosed
	case !s.valid(index):
		return fmt.Errorf("kafka: seek: partition index %d out of range [0, %d)", index, len(s.parts))
	case next < 0:
		return fmt.Errorf("kafka: seek %s: negative offset %d", s.tps[index], next)
	}
	s.pending = slices.DeleteFunc(s.pending, func(pr pendingRecord) bool { return pr.index == index })
	tp := s.tps[index]
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &s.parts[index]
	p.next.Store(next)
	p.hwm.Store(-1)
	p.fetched = next
	p.missingSince = time.Time{}
	s.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{tp.Topic: {tp.Partition: {Epoch: -1, Offset: next}}})
	if p.failed.Swap(false) && !p.paused.Load() {
		s.cl.ResumeFetchPartitions(map[string][]int32{tp.Topic: {tp.Partition}})
	}
	return nil
}

// Close stops fetching and releases the client. Records not yet delivered
// are dropped: they are read again from the committed offsets.
func (s *Source) Close() {
	if s.closed.Swap(true) {
		return
	}
	s.stop()
	<-s.refreshd
	s.cl.Close()
}
