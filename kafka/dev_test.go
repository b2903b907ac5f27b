package kafka

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/motifcep/motif/kafka/kafkatest"
)

func TestDevBrokerProduceConsume(t *testing.T) {
	port := freePort(t)
	// Cancelled after the clients below close (cleanups run last first).
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	addr := net.JoinHostPort("127.0.0.1", port)
	d, err := RunDev(ctx, DevConfig{Addr: addr, Topics: map[string]int32{"events": 2}})
	if err != nil {
		t.Fatalf("RunDev: %v", err)
	}
	if got := d.Addrs(); len(got) != 1 || got[0] != addr {
		t.Fatalf("Addrs() = %v, want [%s]", got, addr)
	}
	kafkatest.Produce(t, d.Addrs(), "events", 1, []byte("hello"))
	s := newTestSource(t, d.Addrs(), SourceConfig{Topics: []string{"events"}})
	g := got{}
	pollUntil(t, s, g, 1)
	if g.String() != "1:[0=hello]" {
		t.Errorf("read %s, want 1:[0=hello]", g)
	}
}

func TestDevBrokerClosesWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	d, err := RunDev(ctx, DevConfig{Brokers: 2})
	if err != nil {
		t.Fatalf("RunDev: %v", err)
	}
	if len(d.Addrs()) != 2 {
		t.Fatalf("Addrs() = %v, want 2", d.Addrs())
	}
	cancel()
	d.Close() // after the context closed it: no-op, no panic
	if c, err := net.Dial("tcp", d.Addrs()[0]); err == nil {
		c.Close()
		t.Errorf("dial %s after close succeeded", d.Addrs()[0])
	}
}

func TestRunDevRejectsBadConfig(t *testing.T) {
	_, err := RunDev(context.Background(), DevConfig{Addr: "localhost", Brokers: -1, Topics: map[string]int32{"t": 0}})
	for _, want := range []string{`addr "localhost"`, "brokers -1", `topic "t": 0 partitions`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("RunDev = %v, want it to report %q", err, want)
		}
	}
}

// freePort returns a port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}
