package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
)

// DevConfig configures a dev broker.
type DevConfig struct {
	// Addr is host:port the first broker listens on; broker i listens on
	// port+i. An empty host is 127.0.0.1; port 0 picks free ports.
	Addr string
	// Brokers is how many brokers to run; default 1.
	Brokers int
	// Topics to create: name → number of partitions.
	Topics map[string]int32
}

// Dev is an in-process Kafka-protocol cluster (franz-go's kfake) for local
// trials and tests. It keeps every record in memory and implements the
// protocol, not Kafka's durability: it is not for production.
type Dev struct {
	c     *kfake.Cluster
	stop  func() bool
	once  sync.Once
	addrs []string
}

// RunDev starts a dev cluster. It runs until Close or until ctx is done.
func RunDev(ctx context.Context, cfg DevConfig) (*Dev, error) {
	host, port, err := devAddr(cfg.Addr)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	brokers := cfg.Brokers
	switch {
	case brokers == 0:
		brokers = 1
	case brokers < 0:
		errs = append(errs, fmt.Errorf("brokers %d: negative", brokers))
	}
	if port > 0 && port+brokers-1 > 65535 {
		errs = append(errs, fmt.Errorf("ports %d..%d: beyond 65535", port, port+brokers-1))
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(brokers),
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			_, p, err := net.SplitHostPort(address)
			if err != nil {
				return nil, err
			}
			return net.Listen(network, net.JoinHostPort(host, p))
		}),
	}
	if port > 0 {
		ports := make([]int, brokers)
		for i := range ports {
			ports[i] = port + i
		}
		opts = append(opts, kfake.Ports(ports...))
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Topics)) {
		n := cfg.Topics[name]
		if name == "" || n <= 0 {
			errs = append(errs, fmt.Errorf("topic %q: %d partitions (want a name and at least 1)", name, n))
			continue
		}
		opts = append(opts, kfake.SeedTopics(n, name))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("kafka: dev broker: %w", err)
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: dev broker on %s: %w", cfg.Addr, err)
	}
	d := &Dev{c: c, addrs: c.ListenAddrs()}
	d.stop = context.AfterFunc(ctx, d.Close)
	return d, nil
}

// devAddr splits addr, defaulting the host.
func devAddr(addr string) (host string, port int, err error) {
	if addr == "" {
		return "127.0.0.1", 0, nil
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("addr %q: %w", addr, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("addr %q: bad port %q", addr, p)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return host, port, nil
}

// Addrs returns the brokers' addresses, host:port.
func (d *Dev) Addrs() []string { return slices.Clone(d.addrs) }

// Close stops the cluster and drops its data.
func (d *Dev) Close() {
	d.once.Do(func() {
		d.stop()
		d.c.Close()
	})
}
