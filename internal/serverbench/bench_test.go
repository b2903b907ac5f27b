package serverbench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/motifcep/motif/client"
	"github.com/motifcep/motif/node"
)

// open starts a node, running, with files applied.
func open(b *testing.B, adjust func(*node.Config), files []client.File) *Server {
	b.Helper()
	s, err := Open(adjust)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := s.Close(); err != nil {
			b.Errorf("close: %v", err)
		}
	})
	if err := s.Run(); err != nil {
		b.Fatal(err)
	}
	if files != nil {
		if err := s.Apply(context.Background(), files...); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkPublish publishes b.N fraud events (with ids) over loopback,
// with the fraud patterns applied and the node matching meanwhile: unary
// Publish from several concurrent callers, and streaming Publishers. One
// op is one event.
func BenchmarkPublish(b *testing.B) {
	for _, mode := range []string{"unary", "stream"} {
		for _, batch := range []int{500, 1000, 5000} {
			for _, pubs := range []int{1, 2, 4, 8} {
				b.Run(fmt.Sprintf("%s/batch=%d/pubs=%d", mode, batch, pubs), func(b *testing.B) {
					benchPublish(b, mode, batch, pubs)
				})
			}
		}
	}
}

func benchPublish(b *testing.B, mode string, batch, pubs int) {
	s := open(b, nil, FraudFiles())
	evs, err := FraudEvents(b.N, 1)
	if err != nil {
		b.Fatal(err)
	}
	batches := Batches(evs, batch)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var accepted int
	if mode == "unary" {
		accepted, err = s.PublishUnary(ctx, batches, pubs)
	} else {
		accepted, err = s.PublishStream(ctx, batches, pubs)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if accepted != b.N {
		b.Fatalf("accepted %d of %d events", accepted, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

// BenchmarkAlertLatency publishes x events at a paced rate (a batch every
// millisecond, on a streaming Publisher), one in ten with its flag set so
// that LatencyPattern alerts on it, to a node with out-of-orderness 0, and
// measures, for each alert a subscriber receives, the time since the
// acknowledgement of its event's batch (ack-p50, ack-p99) and since the
// batch was sent (send-p50, send-p99). The first 10% of the events are a
// warm-up and not measured. One op is one event.
func BenchmarkAlertLatency(b *testing.B) {
	for _, commit := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond} {
		name := "commit=default"
		if commit > 0 {
			name = "commit=" + commit.String()
		}
		for _, rate := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/rate=%dk", name, rate/1000), func(b *testing.B) {
				benchLatency(b, commit, rate)
			})
		}
	}
}

const flagEvery = 10

func benchLatency(b *testing.B, commit time.Duration, rate int) {
	s := open(b, func(c *node.Config) {
		c.CommitInterval = commit
		c.OutOfOrderness = 0
	}, []client.File{{Name: "latency.motif", Content: []byte(LatencyPattern)}})
	const tick = time.Millisecond
	per := max(1, rate/int(time.Second/tick)) // events per batch
	nb := (b.N + per - 1) / per
	sent := make([]int64, nb)
	acked := make([]int64, nb)
	flagged := 0
	for i := range b.N {
		if i%flagEvery == 0 {
			flagged++
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub, err := s.Client()
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	type recv struct {
		event int
		at    int64
	}
	got := make([]recv, 0, flagged)
	subDone := make(chan error, 1)
	go func() {
		// FromNow is resolved when the range begins: before any publish.
		for a, err := range sub.Subscribe(ctx, client.FromNow(), client.Filter{}) {
			if err != nil {
				subDone <- err
				return
			}
			now := time.Now().UnixNano()
			id := a.Alert.GetEvents()[0].GetEventIds()[0]
			n, _ := strconv.Atoi(strings.TrimPrefix(id, "x"))
			got = append(got, recv{n, now})
			if len(got) == flagged {
				subDone <- nil
				return
			}
		}
	}()
	// Wait until the subscription is open on the server.
	waitSubscribers(b, s, 1)

	pc, err := s.Client()
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	var ackErr atomic.Pointer[error]
	pub := pc.NewPublisher(ctx, func(a client.Ack) {
		acked[a.BatchID-1] = time.Now().UnixNano()
		if a.Err != nil {
			ackErr.Store(&a.Err)
		}
	})
	buf := make([][]byte, per)
	b.ResetTimer()
	start := time.Now()
	for k := range nb {
		due := start.Add(time.Duration(k) * tick)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		ms := time.Now().UnixMilli()
		evs := buf[:0]
		for i := k * per; i < min((k+1)*per, b.N); i++ {
			evs = append(evs, fmt.Appendf(nil, `{"type":"x","time":%d,"id":"x%d","k":"k%d","flag":%t}`, ms, i, i%1000, i%flagEvery == 0))
		}
		sent[k] = time.Now().UnixNano()
		if _, err := pub.Send(ctx, evs...); err != nil {
			b.Fatal(err)
		}
	}
	if err := pub.Close(ctx); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	select {
	case err := <-subDone:
		if err != nil {
			b.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		b.Fatalf("received %d of %d alerts", len(got), flagged)
	}
	b.StopTimer()
	if p := ackErr.Load(); p != nil {
		b.Fatal(*p)
	}
	var fromAck, fromSend []time.Duration
	for _, r := range got {
		k := r.event / per
		if k < nb/10 {
			continue // warm-up
		}
		fromAck = append(fromAck, time.Duration(r.at-acked[k]))
		fromSend = append(fromSend, time.Duration(r.at-sent[k]))
	}
	slices.Sort(fromAck)
	slices.Sort(fromSend)
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(ms(Percentile(fromAck, 50)), "ack-p50-ms")
	b.ReportMetric(ms(Percentile(fromAck, 99)), "ack-p99-ms")
	b.ReportMetric(ms(Percentile(fromSend, 50)), "send-p50-ms")
	b.ReportMetric(ms(Percentile(fromSend, 99)), "send-p99-ms")
}

// waitSubscribers waits until the server counts n open subscriptions
// (motif_subscribers at /metrics).
func waitSubscribers(b *testing.B, s *Server, n int) {
	b.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		res, err := http.Get("http://" + s.Addr + "/metrics")
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "motif_subscribers "); ok {
				if f, _ := strconv.ParseFloat(v, 64); int(f) >= n {
					res.Body.Close()
					return
				}
			}
		}
		res.Body.Close()
	}
	b.Fatalf("fewer than %d subscribers connected", n)
}

// BenchmarkSubscribers measures matching throughput (events matched per
// second, from the node's counters) while the node drains a backlog of
// b.N fraud events, one in a hundred replaced by a flagged x event that
// raises an alert, with 0 or 100 subscribers (each on its own connection)
// receiving every alert. events/s is matching alone (until the node has
// matched the backlog); delivered-events/s is until every subscriber also
// has every alert.
func BenchmarkSubscribers(b *testing.B) {
	for _, subs := range []int{0, 100} {
		for _, kind := range []string{"raw", "go"} {
			if subs == 0 && kind == "go" {
				continue
			}
			b.Run(fmt.Sprintf("subs=%d/client=%s", subs, kind), func(b *testing.B) { benchSubscribers(b, subs, kind == "raw") })
		}
	}
}

// In benchSubscribers, raw subscribers (RawSubscriber) count the alerts
// without decoding them: the drop then is the server's cost. Go
// subscribers (client.Subscribe) decode every alert, as a real one would,
// on the same two cores as the server.
func benchSubscribers(b *testing.B, subs int, raw bool) {
	s := open(b, nil, FraudAndLatencyFiles())
	if err := s.Reopen(); err != nil { // not running: the backlog waits
		b.Fatal(err)
	}
	evs, err := FraudEvents(b.N, 2)
	if err != nil {
		b.Fatal(err)
	}
	evs = WithFlagged(evs, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, batch := range Batches(evs, 5000) {
		if res, err := s.Node.Publish(ctx, batch); err != nil || len(res.Rejections) > 0 {
			b.Fatalf("publish: %v %v", err, res.Rejections)
		}
	}
	counts := make([]atomic.Int64, subs)
	var wg sync.WaitGroup
	var raws []*RawSubscriber
	for range subs {
		if !raw {
			break
		}
		hc := H2CClient()
		defer hc.CloseIdleConnections()
		raws = append(raws, s.RawSubscribe(ctx, hc))
	}
	for i := range subs {
		if raw {
			break
		}
		c, err := s.Client()
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		wg.Go(func() {
			for _, err := range c.Subscribe(ctx, client.FromNow(), client.Filter{}) {
				if err != nil {
					return
				}
				counts[i].Add(1)
			}
		})
	}
	defer wg.Wait()
	defer cancel()
	waitSubscribers(b, s, subs)

	b.ResetTimer()
	start := time.Now()
	if err := s.Run(); err != nil {
		b.Fatal(err)
	}
	if err := s.WaitMatched(ctx, uint64(b.N)); err != nil {
		b.Fatal(err)
	}
	matched := time.Since(start)
	st, err := s.Node.Status()
	if err != nil {
		b.Fatal(err)
	}
	alerts := int64(st.Counters.LastAlertSeq)
	count := func(i int) int64 {
		if raw {
			return raws[i].Count()
		}
		return counts[i].Load()
	}
	for i := range subs {
		for count(i) < alerts {
			if time.Since(start) > time.Minute {
				b.Fatalf("subscriber %d has %d of %d alerts", i, count(i), alerts)
			}
			time.Sleep(time.Millisecond)
		}
	}
	delivered := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(st.Counters.Events)/matched.Seconds(), "events/s")
	b.ReportMetric(float64(st.Counters.Events)/delivered.Seconds(), "delivered-events/s")
	b.ReportMetric(float64(alerts), "alerts")
}
