package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/motifcep/motif/api"
	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/cluster"
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/node"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
	"github.com/motifcep/motif/raftstate"
)

// checkCluster reports what a cluster member's flags lack.
func (o *serveOptions) checkCluster() error {
	var errs []error
	if o.nodeID == "" {
		errs = append(errs, errors.New("--raft-addr, --bootstrap and --join need --node-id"))
	}
	if o.raftAddr == "" {
		errs = append(errs, errors.New("--node-id needs --raft-addr"))
	}
	if len(o.kafkaBrokers) == 0 || len(o.kafkaTopics) == 0 || o.alertsTopic == "" {
		errs = append(errs, errors.New("a cluster member reads Kafka and writes alerts to it: --kafka-brokers, --kafka-topics and --alerts-topic are required"))
	}
	if o.restore != "" {
		errs = append(errs, errors.New("--restore is for a single node: a cluster member rebuilds its partitions from Kafka"))
	}
	if o.atLeastOnce {
		errs = append(errs, errors.New("--alerts-at-least-once is for a single node: a cluster's alerts are delivered exactly once"))
	}
	return errors.Join(errs...)
}

// runCluster serves as a member of a cluster until ctx is done.
func runCluster(ctx context.Context, o *serveOptions, log *slog.Logger) error {
	if err := o.checkCluster(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	apiAddr := ln.Addr().String()
	dedupe := o.dedupeWindow.d
	if dedupe == 0 {
		dedupe = checkpoint.NoDedupe
	}
	ckpt := o.checkpointInterval.d
	cl, err := cluster.Open(ctx, cluster.Config{
		NodeID: o.nodeID,
		Dir:    o.data,
		Raft:   raftstate.Config{RaftAddr: o.raftAddr, APIAddr: apiAddr, Bootstrap: o.bootstrap, FailAfter: o.failAfter.d},
		Kafka: cluster.Kafka{Brokers: o.kafkaBrokers, Topics: o.kafkaTopics, AlertsTopic: o.alertsTopic,
			DeadLetterTopic: o.deadLetterTopic},
		Node: node.Config{
			Store: checkpoint.Options{Logger: log, DedupeWindow: dedupe,
				AlertRetention: checkpoint.Retention{MaxAge: o.alertRetention.d}},
			CacheBytes:         o.cacheBytes,
			MaxPartialMatches:  o.maxPartials,
			OutOfOrderness:     o.outOfOrderness.d,
			DefaultWithin:      o.defaultWithin.d,
			Decoder:            event.DecoderOptions{TypeField: o.typeField, TimeField: o.timeField, IDField: o.idField},
			CheckpointInterval: ckpt,
			IdleTimeout:        o.idleTimeout.d,
			KeyField:           o.kafkaKeyField,
			Logger:             log,
		},
		SinkPrefix:   o.sinkID,
		AlertsMaxLag: o.alertsMaxLag,
		Forward:      cluster.Forwarder(o.token),
		Token:        o.token,
		Logger:       log,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer cl.Close()
	srv := api.New(cl.Front(), api.Options{Token: o.token, Version: version, Logger: log, Cluster: cl,
		Collectors: []prometheus.Collector{cl.Collector()}}).HTTPServer(o.listen)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	ran := make(chan error, 1)
	go func() { ran <- cl.Run(runCtx) }()
	log.Info("serving as a cluster member", "node", o.nodeID, "listen", apiAddr, "raft", o.raftAddr, "data", o.data)

	setup := make(chan error, 1)
	go func() { setup <- joinAndApply(ctx, o, cl, apiAddr, log) }()
	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-ran:
	case err := <-served:
		runErr = err
	case err := <-setup:
		if err != nil {
			runErr = err
			break
		}
		select {
		case <-ctx.Done():
			log.Info("shutting down")
		case runErr = <-ran:
		case runErr = <-served:
		}
	}
	cancelRun()
	select {
	case err := <-ran:
		if runErr == nil {
			runErr = err
		}
	case <-time.After(30 * time.Second):
		log.Error("partitions did not stop within 30s")
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		srv.Close()
	}
	return runErr
}

// joinAndApply joins the cluster of --join, then applies --patterns,
// retrying while no leader is known (both are idempotent).
func joinAndApply(ctx context.Context, o *serveOptions, cl *cluster.Node, apiAddr string, log *slog.Logger) error {
	retry := func(what string, fn func(context.Context) error) error {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := fn(cctx)
			cancel()
			if err == nil || ctx.Err() != nil {
				return ctx.Err()
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: %w", what, err)
			}
			log.Info(what+": trying again", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	if o.join != "" {
		if err := retry("joining the cluster at "+o.join, func(ctx context.Context) error {
			res, err := cluster.AdminClient(o.join, o.token).JoinCluster(ctx, connect.NewRequest(&motifv1.JoinClusterRequest{
				NodeId: o.nodeID, RaftAddr: o.raftAddr, ApiAddr: apiAddr}))
			if err == nil {
				log.Info("joined the cluster", "leader", res.Msg.GetLeaderId())
			}
			return err
		}); err != nil {
			return err
		}
	}
	if len(o.patterns) == 0 {
		return nil
	}
	return retry("applying --patterns", func(ctx context.Context) error {
		if _, _, err := cl.Raft().WaitLeader(ctx); err != nil {
			return err
		}
		return applyAtStart(ctx, cl.Front(), o.patterns, log)
	})
}
