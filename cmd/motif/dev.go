package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/motifcep/motif/kafka"
)

// dev runs development helpers; today one: a Kafka-protocol broker in
// memory for local trials and multi-process tests. Not for production.
func dev(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "kafka" {
		fmt.Fprintln(stderr, "usage: motif dev kafka [--listen ADDR] [--topic NAME:PARTITIONS]...")
		return 2
	}
	fs := flag.NewFlagSet("dev kafka", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9092", "`ADDR` of the broker")
	brokers := fs.Int("brokers", 1, "how many brokers (ports from ADDR's on)")
	var topics stringsFlag
	fs.Var(&topics, "topic", "create topic `NAME:PARTITIONS` (repeatable, or comma-separated)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: motif dev kafka [flags]\n\nRuns an in-memory Kafka-protocol broker for trials and tests: it keeps\nrecords in memory only and is not for production.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg := kafka.DevConfig{Addr: *listen, Brokers: *brokers, Topics: map[string]int32{}}
	for _, t := range topics {
		name, parts, ok := strings.Cut(t, ":")
		n, err := strconv.ParseInt(parts, 10, 32)
		if !ok || err != nil || n <= 0 || name == "" {
			fmt.Fprintf(stderr, "motif dev kafka: --topic %q: want NAME:PARTITIONS\n", t)
			return 2
		}
		cfg.Topics[name] = int32(n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := kafka.RunDev(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "motif dev kafka: %v\n", err)
		return 1
	}
	defer d.Close()
	fmt.Fprintf(stdout, "kafka (in memory, not for production) on %s\n", strings.Join(d.Addrs(), ","))
	<-ctx.Done()
	return 0
}
