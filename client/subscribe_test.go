package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/motifcep/motif/client"
	"github.com/motifcep/motif/internal/servertest"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"

	"github.com/motifcep/motif/internal/wait"
)

// The cursor says where a subscription starts; the filter what it
// delivers.
func TestSubscribeCursorAndFilter(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := newClient(t, s)
	applyProbe(t, c)
	low := "pattern tiny {\n  begin a: auth where amount < 5\n  emit low \"tiny\"\n}\n"
	if _, err := c.ApplyPatterns(t.Context(), client.File{Name: "tiny.motif", Content: []byte(low)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(t.Context(), probes(0, 2)...); err != nil { // 4 alerts: tiny, probe, tiny, probe
		t.Fatal(err)
	}
	wait.For(t, "4 alerts in the log", func() bool {
		st, err := c.Status(t.Context())
		return err == nil && st.GetLastAlertSeq() == 4
	})
	seqs := func(as []client.Alert) string {
		var out []string
		for _, a := range as {
			out = append(out, fmt.Sprintf("%d:%s", a.Seq, a.Alert.GetPattern()))
		}
		return fmt.Sprint(out)
	}
	if got := seqs(subscribe(t, c, client.FromStart(), client.Filter{}).next(t, 4)); got != "[1:tiny 2:probe 3:tiny 4:probe]" {
		t.Errorf("from start: %s", got)
	}
	if got := seqs(subscribe(t, c, client.After(2), client.Filter{}).next(t, 2)); got != "[3:tiny 4:probe]" {
		t.Errorf("after 2: %s", got)
	}
	if got := seqs(subscribe(t, c, client.FromStart(), client.Filter{MinSeverity: motifv1.Severity_SEVERITY_HIGH}).next(t, 2)); got != "[2:probe 4:probe]" {
		t.Errorf("high and above: %s", got)
	}
	now := subscribe(t, c, client.FromNow(), client.Filter{Patterns: []string{"tiny"}})
	wait.For(t, "the subscription from now", func() bool { return subscribers(s) == "4" })
	if _, err := c.Publish(t.Context(), probes(2, 3)...); err != nil {
		t.Fatal(err)
	}
	if got := seqs(now.next(t, 1)); got != "[5:tiny]" {
		t.Errorf("from now, tiny only: %s", got)
	}
}

// A subscription survives a restart of the server: it reconnects, resumes
// after the last alert it delivered, and delivers every alert once.
func TestSubscribeSurvivesRestart(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	log := &syncWriter{}
	c := newClient(t, s, client.WithLogger(slog.New(slog.NewTextHandler(log, nil))))
	applyProbe(t, c)
	// Unbuffered: the restart cuts the stream with alerts in flight.
	sub := subscribeBuffered(t, c, client.FromStart(), client.Filter{}, 0)
	if _, err := c.Publish(t.Context(), probes(0, 50)...); err != nil {
		t.Fatal(err)
	}
	got := sub.next(t, 10)
	if err := s.Restart(); err != nil { // with alerts still to deliver
		t.Fatal(err)
	}
	if _, err := c.Publish(t.Context(), probes(50, 80)...); err != nil {
		t.Fatal(err)
	}
	got = append(got, sub.next(t, 35)...)
	if err := s.Restart(); err != nil { // with the subscriber idle or behind
		t.Fatal(err)
	}
	if _, err := c.Publish(t.Context(), probes(80, 100)...); err != nil {
		t.Fatal(err)
	}
	got = append(got, sub.next(t, 55)...)
	seen := map[string]bool{}
	for i, a := range got {
		card := fmt.Sprintf("c%03d", i)
		if a.Seq != uint64(i+1) || a.Alert.GetKey().GetStringValue() != card || seen[a.Alert.GetId()] {
			t.Fatalf("alert %d: %s", i, a.JSON())
		}
		seen[a.Alert.GetId()] = true
	}
	// Nothing more: the next alert is that of a new card.
	if _, err := c.Publish(t.Context(), probes(100, 101)...); err != nil {
		t.Fatal(err)
	}
	if a := sub.next(t, 1)[0]; a.Seq != 101 || a.Alert.GetKey().GetStringValue() != "c100" {
		t.Errorf("after the restarts: %s", a.JSON())
	}
	if n := strings.Count(log.String(), "subscription failed; reconnecting"); n < 1 {
		t.Errorf("no reconnection logged:\n%s", log.String())
	}
}

// A subscription from now resumes exactly too: "now" is the log's end when
// the range begins, not whenever it reconnects.
func TestSubscribeFromNowResumesAfterRestart(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := newClient(t, s)
	applyProbe(t, c)
	if _, err := c.Publish(t.Context(), probes(0, 3)...); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "3 alerts", func() bool { st, err := c.Status(t.Context()); return err == nil && st.GetLastAlertSeq() == 3 })
	sub := subscribe(t, c, client.FromNow(), client.Filter{})
	wait.For(t, "the subscription", func() bool { return subscribers(s) == "1" })
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(t.Context(), probes(3, 5)...); err != nil { // maybe before it reconnects
		t.Fatal(err)
	}
	got := sub.next(t, 2)
	if got[0].Seq != 4 || got[1].Seq != 5 {
		t.Errorf("got %s %s", got[0].JSON(), got[1].JSON())
	}
}

// With a token required, calls without it fail with Unauthenticated, at
// once and without retries or reconnections; with it they work.
func TestToken(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Token: "s3cret"})
	for _, opts := range [][]client.Option{nil, {client.WithToken("wrong")}} {
		c := newClient(t, s, opts...)
		if _, err := c.Status(t.Context()); connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("status: %v", err)
		}
		for _, err := range c.Subscribe(t.Context(), client.FromStart(), client.Filter{}) {
			if connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Errorf("subscribe: %v", err)
			}
		}
		p := c.NewPublisher(t.Context(), nil)
		if _, err := p.Send(t.Context(), probes(0, 1)...); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(t.Context()); connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("publisher: %v", err)
		}
	}
	c := newClient(t, s, client.WithToken("s3cret"))
	applyProbe(t, c)
	sub := subscribe(t, c, client.FromStart(), client.Filter{})
	var got acks
	p := c.NewPublisher(t.Context(), got.add)
	if _, err := p.Send(t.Context(), probes(0, 1)...); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(t.Context()); err != nil || got.String() != "1:2/0/0" {
		t.Errorf("publisher with the token: %v %s", err, got.String())
	}
	if a := sub.next(t, 1)[0]; a.Seq != 1 {
		t.Errorf("alert %s", a.JSON())
	}
}

// Over TLS the client trusts the CA it is given, and fails at once
// (without retries) when it does not trust the server.
func TestTLS(t *testing.T) {
	s := servertest.Start(t, servertest.Options{TLS: true})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CAPEM())
	c := newClient(t, s, client.WithTLSConfig(&tls.Config{RootCAs: pool}))
	if c.URL() != s.URL() {
		t.Errorf("URL %s, want %s", c.URL(), s.URL())
	}
	applyProbe(t, c)
	sub := subscribe(t, c, client.FromStart(), client.Filter{})
	if _, err := c.Publish(t.Context(), probes(0, 1)...); err != nil {
		t.Fatal(err)
	}
	if a := sub.next(t, 1)[0]; a.Seq != 1 {
		t.Errorf("alert %s", a.JSON())
	}
	untrusting, err := client.New(s.URL(), client.WithRetry(1000), client.WithBackoff(10e9, 10e9))
	if err != nil {
		t.Fatal(err)
	}
	defer untrusting.Close()
	var verr *tls.CertificateVerificationError
	if _, err := untrusting.Status(t.Context()); !errors.As(err, &verr) {
		t.Errorf("status without the CA: %v", err)
	}
}

// A subscription ends when its context does, with the context's error.
func TestSubscribeEndsWithContext(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := newClient(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		defer cancel()
		for deadline := time.Now().Add(20 * time.Second); subscribers(s) != "1" && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}()
	var errs []error
	for _, err := range c.Subscribe(ctx, client.FromStart(), client.Filter{}) {
		errs = append(errs, err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Errorf("errors %v", errs)
	}
}

// syncWriter is a log destination safe for concurrent use.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(b)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// WithGRPC speaks gRPC instead of Connect, streams included.
func TestGRPCProtocol(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := newClient(t, s, client.WithGRPC())
	applyProbe(t, c)
	sub := subscribe(t, c, client.FromStart(), client.Filter{})
	var got acks
	p := c.NewPublisher(t.Context(), got.add)
	if _, err := p.Send(t.Context(), probes(0, 1)...); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(t.Context()); err != nil || got.String() != "1:2/0/0" {
		t.Fatalf("publisher: %v %s", err, got.String())
	}
	if res, err := c.Publish(t.Context(), probes(1, 2)...); err != nil || res.Accepted != 2 {
		t.Fatalf("publish: %+v %v", res, err)
	}
	if as := sub.next(t, 2); as[0].Seq != 1 || as[1].Seq != 2 {
		t.Errorf("alerts %s %s", as[0].JSON(), as[1].JSON())
	}
}
