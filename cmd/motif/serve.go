package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/motifcep/motif/api"
	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/nfa"
	"github.com/motifcep/motif/node"
)

// version is the server version GetStatus reports.
const version = "0.1.0-dev"

type serveOptions struct {
	data, listen, config, restore, token string
	patterns                             stringList
	outOfOrderness, defaultWithin        durationFlag
	checkpointInterval, dedupeWindow     durationFlag
	alertRetention, logRetention         durationFlag
	cacheBytes                           int64
	maxPartials                          int
	typeField, timeField, idField        string
	logLevel                             string

	kafkaBrokers, kafkaTopics    stringsFlag
	alertsTopic, deadLetterTopic string
	kafkaKeyField, sinkID        string
	idleTimeout                  durationFlag
	atLeastOnce                  bool
	alertsMaxLag                 uint64

	nodeID, raftAddr, join string
	bootstrap              bool
	failAfter              durationFlag
}

func serveFlags(stderr io.Writer) (*flag.FlagSet, *serveOptions) {
	o := &serveOptions{defaultWithin: durationFlag{24 * time.Hour}, checkpointInterval: durationFlag{node.DefaultCheckpointInterval},
		dedupeWindow: durationFlag{checkpoint.DefaultDedupeWindow}}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.data, "data", "./motif-data", "data `DIR`")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:7070", "`ADDR` to serve gRPC, gRPC-Web, Connect, /metrics and the status page on")
	fs.StringVar(&o.config, "config", "", "JSON `FILE` of settings, keyed by flag name (flags given on the command line win)")
	fs.Var(&o.patterns, "patterns", "pattern `FILE` to apply at start-up (repeatable)")
	fs.StringVar(&o.restore, "restore", "", "start from the savepoint or checkpoint `NAME` (a savepoint name, a checkpoint id, or latest)")
	fs.StringVar(&o.token, "token", os.Getenv("MOTIF_TOKEN"), "bearer `TOKEN` clients must present (default $MOTIF_TOKEN; none: open)")
	fs.Var(&o.outOfOrderness, "out-of-orderness", "watermark = max event time - `D`")
	fs.Var(&o.defaultWithin, "default-within", "window of patterns that give none")
	fs.Var(&o.checkpointInterval, "checkpoint-interval", "take a checkpoint every `D`")
	fs.Var(&o.dedupeWindow, "dedupe-window", "event time during which a published event id is remembered")
	fs.Var(&o.alertRetention, "alert-retention", "keep alerts `D` of event time (default: all)")
	fs.Var(&o.logRetention, "log-retention", "keep matched events of the embedded log `D` (default: all)")
	fs.Int64Var(&o.cacheBytes, "cache-bytes", 256<<20, "bytes of key state cached in memory")
	fs.IntVar(&o.maxPartials, "max-partial-matches", nfa.DefaultMaxRuns, "partial matches one key may hold per pattern; beyond `N` the newest are dropped, counted and warned about")
	fs.StringVar(&o.typeField, "type-field", "type", "field `NAME` of the event type")
	fs.StringVar(&o.timeField, "time-field", "time", "field `NAME` of the event time")
	fs.StringVar(&o.idField, "id-field", "id", "field `NAME` of the event id")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.Var(&o.kafkaBrokers, "kafka-brokers", "read events from Kafka: seed brokers `LIST` (host:port,...)")
	fs.Var(&o.kafkaTopics, "kafka-topics", "with --kafka-brokers: the event topics `T[,T...]` (every partition)")
	fs.StringVar(&o.alertsTopic, "alerts-topic", "", "with --kafka-brokers: write alerts to topic `T`, exactly once")
	fs.StringVar(&o.deadLetterTopic, "dead-letter-topic", "", "with --kafka-brokers: write invalid and late records to topic `T`")
	fs.StringVar(&o.kafkaKeyField, "kafka-key-field", "", "give events without attribute `NAME` their record's key as its value")
	fs.StringVar(&o.sinkID, "sink-id", "", "`ID` of this node's alert sink: its Kafka transactional id and position (default: made once per data directory)")
	fs.BoolVar(&o.atLeastOnce, "alerts-at-least-once", false, "write alerts without transactions (duplicates possible after a crash; consumers dedupe by the motif-alert-id header)")
	fs.Uint64Var(&o.alertsMaxLag, "alerts-max-lag", defaultAlertsMaxLag, "with --alerts-topic: hold matching back while `N` alerts wait for the alert topic (0: never)")
	fs.StringVar(&o.nodeID, "node-id", "", "run as member `ID` of a cluster (needs --raft-addr, --kafka-brokers, --kafka-topics and --alerts-topic)")
	fs.StringVar(&o.raftAddr, "raft-addr", "", "with --node-id: `HOST:PORT` of the cluster transport")
	fs.BoolVar(&o.bootstrap, "bootstrap", false, "with --node-id: form a new cluster if the data directory holds none")
	fs.StringVar(&o.join, "join", "", "with --node-id: join the cluster of the member whose API is at `HOST:PORT`")
	o.failAfter.d = 2 * time.Second
	fs.Var(&o.failAfter, "fail-after", "with --node-id: a member unreachable this long loses its partitions")
	o.idleTimeout.d = 30 * time.Second
	fs.Var(&o.idleTimeout, "idle-timeout", "a Kafka partition without records for `D` stops holding the watermark back")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: motif serve [--data DIR] [--listen ADDR] [--config FILE] [--patterns FILE]... [flags]")
		fs.PrintDefaults()
	}
	return fs, o
}

// applyConfig sets the flags a config file names and the command line
// does not.
func applyConfig(fs *flag.FlagSet, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var settings map[string]any
	if err := json.Unmarshal(b, &settings); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, v := range settings {
		if fs.Lookup(name) == nil || name == "config" {
			return fmt.Errorf("%s: unknown setting %q", path, name)
		}
		if given[name] {
			continue
		}
		vals := []any{v}
		if list, ok := v.([]any); ok {
			vals = list
		}
		for _, v := range vals {
			s := fmt.Sprint(v)
			if f, ok := v.(float64); ok {
				s = strconv.FormatFloat(f, 'f', -1, 64)
			}
			if err := fs.Set(name, s); err != nil {
				return fmt.Errorf("%s: setting %q: %w", path, name, err)
			}
		}
	}
	return nil
}

func serve(args []string, stderr io.Writer) int {
	fs, o := serveFlags(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.config != "" {
		if err := applyConfig(fs, o.config); err != nil {
			fmt.Fprintf(stderr, "motif serve: %v\n", err)
			return 2
		}
	}
	if o.maxPartials < 1 {
		fmt.Fprintf(stderr, "motif serve: --max-partial-matches must be at least 1, not %d\n", o.maxPartials)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		fmt.Fprintf(stderr, "motif serve: --log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runServer(ctx, o, log); err != nil {
		log.Error("motif serve stopped", "err", err)
		return 1
	}
	return 0
}

func runServer(ctx context.Context, o *serveOptions, log *slog.Logger) error {
	if o.nodeID != "" || o.raftAddr != "" || o.bootstrap || o.join != "" {
		return runCluster(ctx, o, log)
	}
	if o.restore != "" {
		from, err := checkpoint.Locate(o.data, o.restore)
		if err != nil {
			return err
		}
		if err := checkpoint.Restore(o.data, from); err != nil {
			return err
		}
		log.Info("restored", "from", from)
	}
	dedupe := o.dedupeWindow.d
	if dedupe == 0 {
		dedupe = checkpoint.NoDedupe
	}
	if err := o.checkKafka(); err != nil {
		return err
	}
	kf, err := openKafka(ctx, o, log)
	if err != nil {
		return err
	}
	defer kf.close()
	cfg := node.Config{
		Dir: o.data,
		Store: checkpoint.Options{
			Logger:         log,
			DedupeWindow:   dedupe,
			AlertRetention: checkpoint.Retention{MaxAge: o.alertRetention.d},
			LogRetention:   checkpoint.Retention{MaxAge: o.logRetention.d},
		},
		CacheBytes:         o.cacheBytes,
		MaxPartialMatches:  o.maxPartials,
		OutOfOrderness:     o.outOfOrderness.d,
		DefaultWithin:      o.defaultWithin.d,
		Decoder:            event.DecoderOptions{TypeField: o.typeField, TimeField: o.timeField, IDField: o.idField},
		CheckpointInterval: o.checkpointInterval.d,
		Logger:             log,
	}
	kf.configure(&cfg, o)
	n, err := node.Open(cfg)
	if err != nil {
		return err
	}
	defer n.Close()
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	ran := make(chan error, 1)
	go func() { ran <- n.Run(runCtx) }()
	// The --patterns files are in force before the first call is served.
	if err := applyAtStart(ctx, n, o.patterns, log); err != nil {
		ln.Close()
		cancelRun()
		<-ran
		return err
	}
	sunk, err := kf.runSink(runCtx, o, n, log)
	if err != nil {
		ln.Close()
		cancelRun()
		<-ran
		return err
	}
	srv := api.New(n, api.Options{Token: o.token, Version: version, Logger: log, Collectors: kf.collectors()}).HTTPServer(o.listen)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving", "listen", ln.Addr().String(), "data", o.data)

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down: checkpoint, commit, close")
	case runErr = <-ran:
		ran <- runErr
	case err := <-served:
		cancelRun()
		<-ran
		return err
	case err := <-sunk:
		// Fenced by a newer sink with the same id, or a fatal Kafka error:
		// this node must not go on writing alerts.
		log.Error("alert sink stopped", "err", err)
		runErr = fmt.Errorf("alert sink: %w", err)
	}
	if runErr == nil {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if info, err := n.Checkpoint(cctx, ""); err != nil {
			log.Error("checkpoint at shutdown failed", "err", err)
		} else {
			log.Info("checkpoint at shutdown", "id", info.ID, "duration", info.Duration)
		}
		cancel()
	}
	cancelRun()
	if err := <-ran; err != nil && runErr == nil {
		runErr = err
	}
	// Open calls finish; streams that would wait for more (an idle
	// publish stream) are closed after a grace period.
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Info("closing streams still open at shutdown")
		srv.Close()
	}
	return runErr
}

// applyAtStart applies the --patterns files as one set.
func applyAtStart(ctx context.Context, n *node.Node, paths []string, log *slog.Logger) error {
	if len(paths) == 0 {
		return nil
	}
	var files []node.File
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, node.File{Name: p, Source: b})
	}
	changes, diags, err := n.Apply(ctx, files)
	if err != nil {
		return err
	}
	if diags.HasErrors() {
		return fmt.Errorf("--patterns rejected:\n%s", diags.Error())
	}
	for _, d := range diags {
		log.Warn(d.String())
	}
	for _, c := range changes {
		log.Info("pattern", "name", c.Name, "version", c.Version, "change", c.Kind.String())
	}
	return nil
}
