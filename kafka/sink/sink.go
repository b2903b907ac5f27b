package sink

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Sink relays the alert log to the alert topic. Make one with New, run it
// with Run, end it with Close. Position and Stats may be called from any
// goroutine.
type Sink struct {
	cfg    Config
	alerts Log
	logger *slog.Logger

	mu      sync.Mutex // guards closed and running
	closed  bool
	running bool
	runWG   sync.WaitGroup
	stopRun context.CancelFunc // cancels the running Run's context; called by Close

	// Owned by New, then by Run while it runs, then by Close.
	conn  *conn
	batch *batch

	position     atomic.Uint64
	committed    atomic.Pointer[Committed] // as read by New
	produced     atomic.Uint64
	transactions atomic.Uint64
	aborted      atomic.Uint64
	retries      atomic.Uint64
	malformed    atomic.Uint64
	buffered     atomic.Int64
	lastErr      atomic.Pointer[failure]

	// abandon makes Run drop its connection on return without aborting
	// an open transaction, as a crash would. For tests.
	abandon bool
}

type failure struct {
	err error
	at  time.Time
}

// Stats counts what a sink did since New.
type Stats struct {
	// Position is the sequence number of the next alert to relay: every
	// alert below it is committed to the topic.
	Position uint64
	// Lag is how many sequence numbers of the log are at or above
	// Position (gaps in the log count too): LastAlertSeq+1-Position.
	Lag uint64
	// Produced counts the records committed (at-least-once:
	// acknowledged, with the position committed after them).
	Produced uint64
	// Transactions counts the commits: transactions (at-least-once:
	// position commits).
	Transactions uint64
	// Aborted counts the transactions given up before the broker
	// confirmed their commit. The broker aborts them, so read_committed
	// consumers never see their records, except a commit whose answer was
	// lost, which may have gone through: the position read back on
	// reconnect tells. Always zero in at-least-once mode.
	Aborted uint64
	// Retries counts the failed attempts that were retried.
	Retries uint64
	// Malformed counts the committed records of alerts whose JSON could
	// not be read: relayed as stored, with a null key and only the
	// sequence number header.
	Malformed uint64
	// Buffered is how many alerts the sink holds in memory now, at most
	// Config.MaxBatch.
	Buffered int
	// LastError is the last error of a failed attempt, and LastErrorAt
	// when it happened; nil and zero if none failed.
	LastError   error
	LastErrorAt time.Time
}

// New connects to the brokers, initialises the transactional producer id
// (fencing any older sink with the same SinkID and aborting its open
// transaction), checks that the alert topic exists and reads the committed
// position. It fails rather than retries: the caller decides when to try
// again. A nil error means the sink is ready to Run.
func New(ctx context.Context, cfg Config, log Log) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		return nil, fmt.Errorf("%w: the alert log is nil", ErrInvalidConfig)
	}
	cfg = cfg.withDefaults()
	s := &Sink{
		cfg:    cfg,
		alerts: log,
		logger: cfg.Logger.With("sink", cfg.SinkID, "topic", cfg.Topic),
		batch:  newBatch(cfg.MaxBatch),
	}
	if err := s.reconnect(ctx); err != nil {
		err, _ = classify(err)
		return nil, err
	}
	return s, nil
}

// Committed is the position a sink found committed in Kafka when it was
// made, with its metadata (Config.Metadata); Found is false when the group
// held none (Position is then 1).
type Committed struct {
	Position uint64
	Metadata string
	Found    bool
}

// Committed returns what New found committed.
func (s *Sink) Committed() Committed {
	if c := s.committed.Load(); c != nil {
		return *c
	}
	return Committed{Position: 1}
}

// Position returns the sequence number of the next alert to relay: every
// alert of the log below it is committed to the alert topic, so alert
// retention may remove those and must keep the rest. It never decreases
// unless the group's offset is rewound from outside.
func (s *Sink) Position() uint64 { return s.position.Load() }

// Stats returns the sink's counters.
func (s *Sink) Stats() Stats {
	st := Stats{
		Position:     s.position.Load(),
		Lag:          s.Lag(),
		Produced:     s.produced.Load(),
		Transactions: s.transactions.Load(),
		Aborted:      s.aborted.Load(),
		Retries:      s.retries.Load(),
		Malformed:    s.malformed.Load(),
		Buffered:     int(s.buffered.Load()),
	}
	if f := s.lastErr.Load(); f != nil {
		st.LastError, st.LastErrorAt = f.err, f.at
	}
	return st
}

// Lag is the number of sequence numbers of the log at or above the
// position: the alerts not yet committed to the topic (gaps count too).
func (s *Sink) Lag() uint64 {
	end, pos := s.alerts.LastAlertSeq()+1, s.position.Load()
	if end <= pos {
		return 0
	}
	return end - pos
}

// Run relays the alert log until ctx is done or Close is called, and then
// returns nil. A signal on wake (which may be nil) says the log has new
// alerts; without one the sink looks every Config.PollInterval.
//
// A failed attempt (a broker down or slow, a lost connection, a commit
// whose outcome is unknown) closes the connection, waits a backoff and
// starts over from the position committed in Kafka: nothing is skipped
// and, in transactional mode, nothing is written twice. Run returns an
// error only for what retrying cannot cure: ErrFenced (a newer sink with
// the same SinkID took over), ErrPositionAhead, ErrTopicNotFound, an
// authorisation or record size error, or an error reading the alert log.
// Run may be called again after it returned.
func (s *Sink) Run(ctx context.Context, wake <-chan struct{}) error {
	ctx, err := s.startRun(ctx)
	if err != nil {
		return err
	}
	defer s.endRun()
	poll := time.NewTicker(s.cfg.PollInterval)
	defer poll.Stop()
	backoff := s.cfg.RetryBackoff
	for ctx.Err() == nil {
		full, err := s.step(ctx)
		if err != nil {
			if ctx.Err() != nil { // interrupted, not failed
				if s.conn != nil && s.conn.inTxn {
					s.aborted.Add(1)
				}
				s.dropConn(!s.abandon)
				return nil
			}
			err, fatal := s.fail(err)
			if fatal {
				return err
			}
			s.logger.Warn("sink: attempt failed, retrying", "err", err, "backoff", backoff)
			if sleep(ctx, jitter(backoff)) != nil {
				return nil
			}
			backoff = min(2*backoff, s.cfg.MaxRetryBackoff)
			continue
		}
		backoff = s.cfg.RetryBackoff
		if full {
			continue
		}
		if s.Lag() == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-wake:
			case <-poll.C:
			}
		}
		if s.cfg.Linger > 0 && s.Lag() < uint64(s.cfg.MaxBatch) {
			if sleep(ctx, s.cfg.Linger) != nil {
				return nil
			}
		}
	}
	return nil
}

func (s *Sink) startRun(ctx context.Context) (context.Context, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, ErrClosed
	case s.running:
		return nil, ErrRunning
	}
	s.running = true
	s.runWG.Add(1)
	ctx, s.stopRun = context.WithCancel(ctx)
	return ctx, nil
}

func (s *Sink) endRun() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopRun()
	s.running = false
	s.runWG.Done()
}

// fail records a failed attempt and drops the connection; it reports
// whether the failure is fatal.
func (s *Sink) fail(err error) (error, bool) {
	err, fatal := classify(err)
	s.lastErr.Store(&failure{err: err, at: time.Now()})
	if s.conn != nil && s.conn.inTxn {
		s.aborted.Add(1)
	}
	// No abort: the next connection's producer id initialisation aborts
	// the transaction, and does not wait, as an abort would, for requests
	// a stalled broker holds.
	s.dropConn(false)
	if fatal {
		s.logger.Error("sink: stopped", "err", err)
	} else {
		s.retries.Add(1)
	}
	return err, fatal
}

// step relays one batch, connecting first if need be. It reports whether
// the batch was full, so more alerts may be waiting.
func (s *Sink) step(ctx context.Context) (full bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.attemptTimeout())
	defer cancel()
	if s.conn == nil {
		if err := s.reconnect(ctx); err != nil {
			return false, err
		}
	}
	b := s.batch
	if err := s.fill(b); err != nil {
		return false, err
	}
	if b.len() == 0 {
		return false, nil
	}
	if s.cfg.Transactional {
		err = s.transact(ctx, s.conn, b)
	} else {
		err = s.deliver(ctx, s.conn, b)
	}
	if err != nil {
		return false, err
	}
	s.position.Store(b.last + 1)
	s.produced.Add(uint64(b.len()))
	s.transactions.Add(1)
	s.malformed.Add(uint64(b.malformed))
	full = b.len() >= s.cfg.MaxBatch || b.bytes >= s.cfg.MaxBatchBytes
	b.reset()
	s.buffered.Store(0)
	return full, nil
}

// fill reads the next batch from the log into b.
func (s *Sink) fill(b *batch) error {
	err := s.alerts.Alerts(s.position.Load(), func(seq uint64, payload []byte) bool {
		if err := b.add(s.cfg.Topic, seq, payload); err != nil {
			s.logger.Warn("sink: alert JSON unreadable, relaying it as stored with a null key", "seq", seq, "err", err)
		}
		return b.len() < s.cfg.MaxBatch && b.bytes < s.cfg.MaxBatchBytes
	})
	s.buffered.Store(int64(b.len()))
	if err != nil {
		return &logError{err}
	}
	return nil
}

// reconnect makes a new connection and reads the committed position
// through it. After a failure that is the only position to trust: a
// commit whose answer was lost may have happened.
func (s *Sink) reconnect(ctx context.Context) error {
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	pos, meta, found, err := s.fetchCommitted(ctx, c)
	if err == nil && s.committed.Load() == nil {
		s.committed.Store(&Committed{Position: pos, Metadata: meta, Found: found})
	}
	if known := s.position.Load(); err == nil && !found && known > 1 {
		// The offset this sink committed is gone: expired (the broker's
		// offsets.retention.minutes passed without a commit) or deleted.
		// Starting over from the log's first alert would repeat every
		// alert; what this sink itself committed is still true.
		s.logger.Warn("sink: the committed position is gone from Kafka, keeping the last one this sink committed", "group", s.cfg.group(), "position", known)
		pos = known
	}
	if err == nil {
		err = s.checkPosition(pos)
	}
	if err != nil {
		c.close(false)
		return err
	}
	if old := s.position.Swap(pos); old != 0 && old != pos {
		s.logger.Info("sink: committed position differs from the last one seen", "was", old, "now", pos)
	}
	s.logger.Info("sink: connected", "position", pos, "transactional", s.cfg.Transactional)
	s.conn = c
	return nil
}

// dropConn closes the connection, aborting an open transaction if abort,
// and drops a batch the client may still hold records of.
func (s *Sink) dropConn(abort bool) {
	if s.conn == nil {
		return
	}
	s.conn.close(abort)
	s.conn = nil
	if s.batch.len() > 0 {
		s.batch = newBatch(s.cfg.MaxBatch)
	}
	s.buffered.Store(0)
}

// Close stops Run if it runs, waits for it to return, aborts a
// transaction left open and closes the connection. It is idempotent.
func (s *Sink) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	if s.running {
		s.stopRun()
	}
	s.mu.Unlock()
	s.runWG.Wait()
	s.dropConn(true)
}

// logError is an error reading the alert log: fatal, since the sink
// cannot go on without the log.
type logError struct{ err error }

func (e *logError) Error() string { return "sink: read alert log: " + e.err.Error() }
func (e *logError) Unwrap() error { return e.err }

// jitter returns a duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}
