package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/motifcep/motif/client"
	"github.com/motifcep/motif/internal/servertest"

	"github.com/motifcep/motif/internal/wait"
)

func h2c() *http.Transport {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Transport{Protocols: &p}
}

// logEnd is how many events the server's embedded log holds.
func logEnd(t *testing.T, c *client.Client) uint64 {
	t.Helper()
	st, err := c.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st.GetPartitions()[0].GetEndOffset()
}

// A batch is acknowledged event by event: accepted, duplicates, rejections
// by index with their code and reason.
func TestPublish(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := newClient(t, s)
	applyProbe(t, c)
	res, err := c.Publish(t.Context(), auth("e1", "c1", 1, 1), []byte(`{"type":"auth"`), auth("e2", "c1", 900, 2), []byte(`{"card":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%d/%d %v", res.Accepted, res.Duplicates, res.Rejections)
	if !strings.HasPrefix(got, "2/0 [{1 EVENT_REJECTION_CODE_BAD_JSON ") || !strings.Contains(got, "{3 EVENT_REJECTION_CODE_NO_TYPE ") {
		t.Errorf("publish: %s", got)
	}
	if res, err = c.Publish(t.Context(), auth("e1", "c1", 1, 1)); err != nil || res.Accepted != 0 || res.Duplicates != 1 {
		t.Errorf("publish again: %+v %v", res, err)
	}
	if n := logEnd(t, c); n != 2 {
		t.Errorf("the log holds %d events, want 2", n)
	}
}

// loseResponse lets the server answer the first Publish, then drops the
// answer, as a connection that breaks at the wrong moment would.
type loseResponse struct {
	base http.RoundTripper
	lost atomic.Int32
}

func (l *loseResponse) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := l.base.RoundTrip(req)
	if err == nil && strings.HasSuffix(req.URL.Path, "/Publish") && l.lost.Add(1) == 1 {
		_, _ = io.Copy(io.Discard, res.Body) // the server has answered: the events are durable
		res.Body.Close()
		return nil, errors.New("connection reset (injected after the server answered)")
	}
	return res, err
}

// Publish retries after a lost response, and the retry appends nothing
// twice: the server acknowledges the events of the lost attempt as
// duplicates, and raises each alert once.
func TestPublishRetryDoesNotDuplicate(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	rt := &loseResponse{base: h2c()}
	c := newClient(t, s, client.WithHTTPClient(&http.Client{Transport: rt}))
	applyProbe(t, c)
	sub := subscribe(t, c, client.FromStart(), client.Filter{})

	res, err := c.Publish(t.Context(), probes(0, 2)...)
	if err != nil {
		t.Fatal(err)
	}
	if rt.lost.Load() != 2 || res.Accepted != 0 || res.Duplicates != 4 || len(res.Rejections) != 0 {
		t.Errorf("after a lost response: %d calls, %+v", rt.lost.Load(), res)
	}
	if n := logEnd(t, c); n != 4 {
		t.Errorf("the log holds %d events, want 4", n)
	}
	// One alert per card, then the alert of a later card: nothing twice.
	if _, err := c.Publish(t.Context(), probes(2, 3)...); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, a := range sub.next(t, 3) {
		keys = append(keys, fmt.Sprintf("%d:%s", a.Seq, a.Alert.GetKey().GetStringValue()))
	}
	if fmt.Sprint(keys) != "[1:c000 2:c001 3:c002]" {
		t.Errorf("alerts %v", keys)
	}
}

// countingDialer counts the connections it tried to make.
type countingDialer struct {
	net.Dialer
	dials atomic.Int32
}

func (d *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.dials.Add(1)
	return d.Dialer.DialContext(ctx, network, addr)
}

// Publish waits out a server that is down, retrying until it is back.
func TestPublishRetriesUntilServerIsBack(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	d := &countingDialer{}
	tr := h2c()
	tr.DialContext = d.DialContext
	c := newClient(t, s, client.WithHTTPClient(&http.Client{Transport: tr}), client.WithRetry(1000))
	applyProbe(t, c)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	dialsBefore := d.dials.Load()
	type result struct {
		res client.PublishResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := c.Publish(t.Context(), probes(0, 1)...)
		done <- result{res, err}
	}()
	wait.For(t, "publish to fail to connect twice", func() bool { return d.dials.Load() >= dialsBefore+2 })
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.res.Accepted != 2 {
		t.Fatalf("publish across a restart: %+v %v", r.res, r.err)
	}
}

type acks struct {
	mu   sync.Mutex
	list []client.Ack
}

func (a *acks) add(ack client.Ack) { a.mu.Lock(); a.list = append(a.list, ack); a.mu.Unlock() }

func (a *acks) len() int { a.mu.Lock(); defer a.mu.Unlock(); return len(a.list) }

func (a *acks) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, k := range a.list {
		s := fmt.Sprintf("%d:%d/%d/%d", k.BatchID, k.Accepted, k.Duplicates, len(k.Rejections))
		if k.Err != nil {
			s += "!" + k.Err.Error()
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// A Publisher sends batches without waiting; acknowledgements come in
// order; Close flushes; Send after Close fails.
func TestPublisher(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := newClient(t, s, client.WithMaxInFlight(2))
	applyProbe(t, c)
	var got acks
	p := c.NewPublisher(t.Context(), got.add)
	batches := [][][]byte{
		probes(0, 2),
		{auth("x1", "c9", 1, 1), []byte(`{"type":"auth"`)},
		probes(0, 1), // a resend
		probes(2, 4),
		{},
	}
	for i, b := range batches {
		id, err := p.Send(t.Context(), b...)
		if err != nil || id != uint64(i+1) {
			t.Fatalf("send %d: %d %v", i, id, err)
		}
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if want := "1:4/0/0 2:1/0/1 3:0/2/0 4:4/0/0 5:0/0/0"; got.String() != want {
		t.Errorf("acks %s, want %s", got.String(), want)
	}
	if _, err := p.Send(t.Context(), probes(5, 6)...); !errors.Is(err, client.ErrClosed) {
		t.Errorf("send after close: %v", err)
	}
	if n := logEnd(t, c); n != 9 {
		t.Errorf("the log holds %d events, want 9", n)
	}
}

// A Publisher reconnects when the server restarts and sends the
// unacknowledged batches again; every batch is acknowledged once and no
// event is appended twice.
func TestPublisherSurvivesRestart(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := newClient(t, s, client.WithRetry(1000))
	applyProbe(t, c)
	var got acks
	p := c.NewPublisher(t.Context(), got.add)
	if _, err := p.Send(t.Context(), probes(0, 2)...); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the first ack", func() bool { return got.len() == 1 })
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(t.Context(), probes(2, 4)...); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(t.Context(), probes(4, 6)...); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	got.mu.Lock()
	for i, a := range got.list {
		if a.BatchID != uint64(i+1) || a.Err != nil || a.Accepted+a.Duplicates != 4 {
			t.Errorf("ack %d: %+v", i, a)
		}
	}
	got.mu.Unlock()
	if got.len() != 3 {
		t.Errorf("acks %s", got.String())
	}
	if n := logEnd(t, c); n != 12 {
		t.Errorf("the log holds %d events, want 12", n)
	}
}

// A Publisher whose context ends acknowledges what is left with an error.
func TestPublisherContextEnds(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := newClient(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	var got acks
	p := c.NewPublisher(ctx, got.add)
	cancel()
	if _, err := p.Send(t.Context(), probes(0, 1)...); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("send: %v", err)
	}
	if err := p.Close(t.Context()); !errors.Is(err, context.Canceled) {
		t.Errorf("close: %v", err)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	for _, a := range got.list {
		if !errors.Is(a.Err, context.Canceled) {
			t.Errorf("ack %+v", a)
		}
	}

	// Idle, it notices too.
	ctx, cancel = context.WithCancel(t.Context())
	idle := c.NewPublisher(ctx, nil)
	cancel()
	if err := idle.Close(t.Context()); !errors.Is(err, context.Canceled) {
		t.Errorf("close of an idle publisher whose context ended: %v", err)
	}
}
