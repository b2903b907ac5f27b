package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics exposes the node's counters to Prometheus. They are read from
// the node at scrape time, so there is one source of truth and nothing is
// counted twice.
type metrics struct {
	s   *Server
	reg *prometheus.Registry
}

func newMetrics(s *Server) *metrics {
	m := &metrics{s: s, reg: prometheus.NewRegistry()}
	m.reg.MustRegister(m, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(s.opts.Collectors...)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("motif_"+name, help, labels, nil)
}

var (
	mEventsIn        = desc("events_in_total", "Events matched (valid, not late).")
	mEventsLate      = desc("events_late_total", "Events older than the watermark, kept as dead letters.")
	mEventsInvalid   = desc("events_invalid_total", "Events rejected: at publish, or by matching (dead letters).", "stage")
	mEventsDup       = desc("events_duplicate_total", "Published events acknowledged again but not appended: their id was already accepted.")
	mPublished       = desc("events_published_total", "Events appended to the embedded log by publish.")
	mAlerts          = desc("alerts_total", "Alerts emitted, per pattern version.", "pattern", "version")
	mSuppressed      = desc("alerts_suppressed_total", "Alerts dropped by suppress, per pattern version.", "pattern", "version")
	mTimeouts        = desc("partial_matches_timed_out_total", "Partial matches that expired or timed out, per pattern version.", "pattern", "version")
	mCapDropped      = desc("partial_matches_dropped_total", "Partial matches dropped by the per-key cap, per pattern version.", "pattern", "version")
	mPartials        = desc("partial_matches", "Open partial matches over all keys, per pattern version.", "pattern", "version")
	mStateBytes      = desc("state_bytes", "Encoded bytes of the key states as last written to the state store, per pattern version.", "pattern", "version")
	mBusy            = desc("busy_seconds_total", "Time matching spent working rather than waiting for input; its rate near 1 means matching cannot keep up.")
	mPatternVersions = desc("pattern_versions", "Pattern versions that run, by state.", "state")
	mCommits         = desc("commits_total", "Commits of state, alerts and offsets.")
	mCommitFailures  = desc("commit_failures_total", "Commits that failed.")
	mCheckpoints     = desc("checkpoints_total", "Checkpoints and savepoints taken.")
	mCkptFailures    = desc("checkpoint_failures_total", "Checkpoints and savepoints that failed.")
	mCkptDuration    = desc("checkpoint_duration_seconds", "How long the last checkpoint took.")
	mCkptSize        = desc("checkpoint_size_bytes", "Size of the last checkpoint (hard-linked files included).")
	mCkptAge         = desc("checkpoint_age_seconds", "Time since the last checkpoint was taken.")
	mWatermark       = desc("watermark_seconds", "Event-time watermark of a partition (Unix seconds).", "source", "partition")
	mWatermarkLag    = desc("watermark_lag_seconds", "Wall-clock time minus the watermark.", "source", "partition")
	mSourceLag       = desc("source_lag_records", "Records appended but not yet matched.", "source", "partition")
	mPartIdle        = desc("partition_idle", "1 while a partition is idle: it does not hold the watermark back.", "source", "partition")
	mPartPaused      = desc("partition_paused", "1 while fetching from a partition is paused (ahead of the others, or input held).", "source", "partition")
	mHeld            = desc("input_held", "1 while matching's input is held back because the alert sink is too far behind.")
	mHeldSeconds     = desc("input_held_seconds_total", "Time matching's input was held back because the alert sink was too far behind.")
	mCacheBytes      = desc("state_cache_bytes", "Key states cached in memory.")
	mLogBytes        = desc("log_bytes", "Bytes in the embedded event log.")
	mAlertLogBytes   = desc("alert_log_bytes", "Bytes in the alert log.")
	mSubscribers     = desc("subscribers", "Open alert subscriptions.")
	mAlertSeq        = desc("alert_log_last_seq", "Sequence number of the last alert in the alert log.")
	mRetentionFail   = desc("retention_failures_total", "Retention runs that failed.")
	mUp              = desc("running", "1 while the node matches.")
)

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	prometheus.DescribeByCollect(m, ch)
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	st, err := m.s.node.Status()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(mUp, err)
		return
	}
	c := st.Counters
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	up := 0.0
	if st.Running {
		up = 1
	}
	gauge(mUp, up)
	counter(mEventsIn, c.Events)
	counter(mEventsLate, c.Late)
	counter(mEventsInvalid, c.Rejected, "publish")
	counter(mEventsInvalid, c.Invalid, "match")
	counter(mEventsDup, c.Duplicates)
	counter(mPublished, c.Published)
	for _, p := range c.Patterns {
		v := strconv.Itoa(p.Version)
		counter(mAlerts, p.Alerts, p.Name, v)
		counter(mSuppressed, p.Suppressed, p.Name, v)
		counter(mTimeouts, p.Timeouts, p.Name, v)
		counter(mCapDropped, p.CapDropped, p.Name, v)
		gauge(mPartials, float64(p.PartialMatches), p.Name, v)
		gauge(mStateBytes, float64(p.StateBytes), p.Name, v)
	}
	ch <- prometheus.MustNewConstMetric(mBusy, prometheus.CounterValue, c.Busy.Seconds())
	byState := map[string]int{}
	for _, p := range st.Patterns {
		byState[p.State]++
	}
	for _, s := range []string{"active", "retiring"} {
		gauge(mPatternVersions, float64(byState[s]), s)
	}
	counter(mCommits, c.Commits)
	counter(mCommitFailures, c.CommitFailures)
	counter(mCheckpoints, c.Checkpoints)
	counter(mCkptFailures, c.CheckpointFailures)
	if cp := st.LastCheckpoint; cp != nil {
		gauge(mCkptDuration, cp.Duration.Seconds())
		gauge(mCkptSize, float64(cp.Size))
		gauge(mCkptAge, time.Since(cp.Created).Seconds())
	}
	now := time.Now()
	for _, p := range st.Partitions {
		part := strconv.FormatUint(uint64(p.Partition), 10)
		if wm := eventTime(p.Watermark); wm != nil {
			gauge(mWatermark, float64(p.Watermark)/1e9, p.Source, part)
			gauge(mWatermarkLag, now.Sub(wm.AsTime()).Seconds(), p.Source, part)
		}
		gauge(mSourceLag, float64(p.Lag()), p.Source, part)
		gauge(mPartIdle, b2f(p.Idle), p.Source, part)
		gauge(mPartPaused, b2f(p.Paused), p.Source, part)
	}
	gauge(mHeld, b2f(c.Held))
	ch <- prometheus.MustNewConstMetric(mHeldSeconds, prometheus.CounterValue, c.HeldTime.Seconds())
	gauge(mCacheBytes, float64(c.CacheBytes))
	gauge(mLogBytes, float64(st.Store.LogBytes))
	gauge(mAlertLogBytes, float64(st.Store.AlertLogBytes))
	gauge(mSubscribers, float64(m.s.subscribers.Load()))
	gauge(mAlertSeq, float64(c.LastAlertSeq))
	counter(mRetentionFail, c.RetentionFailures)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
