package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/kafka"
	"github.com/motifcep/motif/kafka/sink"
	"github.com/motifcep/motif/node"
	"github.com/prometheus/client_golang/prometheus"
)

// defaultAlertsMaxLag is --alerts-max-lag's default: about 300 MB of alert
// log on disk at a typical 300 bytes an alert.
const defaultAlertsMaxLag = 1_000_000

// stringsFlag is a list given comma-separated, repeatable.
type stringsFlag []string

func (l *stringsFlag) String() string { return strings.Join(*l, ",") }
func (l *stringsFlag) Set(s string) error {
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

// kafkaSetup is what --kafka-* flags add to a node.
type kafkaSetup struct {
	input *kafka.Input
	dead  *kafka.DeadLetters
	sink  atomic.Pointer[sink.Sink]
}

func (o *serveOptions) checkKafka() error {
	var errs []error
	if len(o.kafkaBrokers) == 0 {
		for _, f := range []struct {
			name string
			set  bool
		}{{"--kafka-topics", len(o.kafkaTopics) > 0}, {"--alerts-topic", o.alertsTopic != ""},
			{"--dead-letter-topic", o.deadLetterTopic != ""}, {"--kafka-key-field", o.kafkaKeyField != ""}} {
			if f.set {
				errs = append(errs, fmt.Errorf("%s needs --kafka-brokers", f.name))
			}
		}
	} else if len(o.kafkaTopics) == 0 {
		errs = append(errs, errors.New("--kafka-brokers needs --kafka-topics"))
	}
	return errors.Join(errs...)
}

// openKafka connects the source and the dead-letter topic; nil without
// --kafka-brokers.
func openKafka(ctx context.Context, o *serveOptions, log *slog.Logger) (*kafkaSetup, error) {
	if len(o.kafkaBrokers) == 0 {
		return nil, nil
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	k := &kafkaSetup{}
	var err error
	k.input, err = kafka.NewInput(cctx, kafka.SourceConfig{Brokers: o.kafkaBrokers, Topics: o.kafkaTopics, Logger: log})
	if err != nil {
		return nil, err
	}
	if o.deadLetterTopic != "" {
		k.dead, err = kafka.NewDeadLetters(cctx, kafka.DeadLetterConfig{Brokers: o.kafkaBrokers, Logger: log}, o.deadLetterTopic)
		if err != nil {
			return nil, err
		}
	}
	log.Info("reading kafka", "brokers", o.kafkaBrokers.String(), "topics", o.kafkaTopics.String(),
		"partitions", len(k.input.Partitions()), "dead_letters", o.deadLetterTopic)
	return k, nil
}

// configure makes the node read Kafka and keeps undelivered alerts.
func (k *kafkaSetup) configure(cfg *node.Config, o *serveOptions) {
	if k == nil {
		return
	}
	cfg.Input = k.input
	cfg.IdleTimeout = o.idleTimeout.d
	cfg.KeyField = o.kafkaKeyField
	if k.dead != nil {
		cfg.DeadLetters = kafka.DeadLetterSink(k.dead)
	}
	if o.alertsTopic != "" && o.alertsMaxLag > 0 {
		// Backpressure: while the alert topic is slow or down, alerts wait
		// in the alert log (on disk, never in memory) and, past the bound,
		// events wait in Kafka rather than turning into more alerts.
		cfg.Hold = func() bool {
			s := k.sink.Load()
			return s != nil && s.Lag() >= o.alertsMaxLag
		}
	}
	// Retention keeps every alert the sink has not delivered yet.
	cfg.Store.AlertFloor = func() uint64 {
		if s := k.sink.Load(); s != nil {
			return s.Position()
		}
		if o.alertsTopic != "" {
			return 0 // not started yet: keep everything
		}
		return ^uint64(0)
	}
}

// runSink relays the node's alerts to --alerts-topic until ctx is done.
func (k *kafkaSetup) runSink(ctx context.Context, o *serveOptions, n *node.Node, log *slog.Logger) (<-chan error, error) {
	if k == nil || o.alertsTopic == "" {
		return nil, nil
	}
	id, err := sinkID(n.Store(), o.sinkID)
	if err != nil {
		return nil, err
	}
	s, err := sink.New(ctx, sink.Config{Brokers: o.kafkaBrokers, Topic: o.alertsTopic, SinkID: id,
		Transactional: !o.atLeastOnce, Logger: log}, n.Store())
	if err != nil {
		return nil, err
	}
	k.sink.Store(s)
	done := make(chan error, 1)
	go func() {
		defer s.Close()
		done <- s.Run(ctx, n.AlertSignals(ctx))
	}()
	log.Info("writing alerts to kafka", "topic", o.alertsTopic, "sink_id", id, "position", s.Position(), "exactly_once", !o.atLeastOnce)
	return done, nil
}

// collectors are the sink's metrics, for /metrics.
func (k *kafkaSetup) collectors() []prometheus.Collector {
	if k == nil {
		return nil
	}
	return []prometheus.Collector{sinkMetrics{k}}
}

var (
	mSinkPosition = prometheus.NewDesc("motif_alert_sink_position", "Sequence number of the next alert to write to the alert topic: every one below it is committed there.", nil, nil)
	mSinkLag      = prometheus.NewDesc("motif_alert_sink_lag", "Alerts of the alert log not yet committed to the alert topic.", nil, nil)
	mSinkProduced = prometheus.NewDesc("motif_alert_sink_records_total", "Alert records committed to the alert topic.", nil, nil)
	mSinkTxns     = prometheus.NewDesc("motif_alert_sink_commits_total", "Transactions (at-least-once: position commits) of the alert sink.", nil, nil)
	mSinkAborted  = prometheus.NewDesc("motif_alert_sink_aborted_total", "Transactions of the alert sink given up before their commit was confirmed.", nil, nil)
	mSinkRetries  = prometheus.NewDesc("motif_alert_sink_retries_total", "Failed attempts of the alert sink that were retried.", nil, nil)
)

// sinkMetrics exports the alert sink's counters; none before it runs.
type sinkMetrics struct{ k *kafkaSetup }

func (m sinkMetrics) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(m, ch) }

func (m sinkMetrics) Collect(ch chan<- prometheus.Metric) {
	s := m.k.sink.Load()
	if s == nil {
		return
	}
	st := s.Stats()
	for _, v := range []struct {
		d *prometheus.Desc
		t prometheus.ValueType
		v uint64
	}{
		{mSinkPosition, prometheus.GaugeValue, st.Position}, {mSinkLag, prometheus.GaugeValue, st.Lag},
		{mSinkProduced, prometheus.CounterValue, st.Produced}, {mSinkTxns, prometheus.CounterValue, st.Transactions},
		{mSinkAborted, prometheus.CounterValue, st.Aborted}, {mSinkRetries, prometheus.CounterValue, st.Retries},
	} {
		ch <- prometheus.MustNewConstMetric(v.d, v.t, float64(v.v))
	}
}

func (k *kafkaSetup) close() {
	if k == nil {
		return
	}
	if k.dead != nil {
		k.dead.Close()
	}
}

// sinkID returns the sink id given, or the one made for this data
// directory the first time (kept in the store).
func sinkID(s *checkpoint.Store, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	const key = "kafka-sink-id"
	if b, ok, err := s.GetMeta(key); err != nil || ok {
		return string(b), err
	}
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	id := "node-" + hex.EncodeToString(r[:])
	b := s.NewBatch()
	defer b.Close()
	b.PutMeta(key, []byte(id))
	return id, b.Commit(true)
}
