package client_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/motifcep/motif/client"
	"github.com/motifcep/motif/internal/golden"
	"github.com/motifcep/motif/internal/servertest"
	"github.com/motifcep/motif/internal/workload"
)

// Every test binary accepts -update, so that
// 'go test ./... -run Golden -update' works across the module.
var _ = golden.Update

const probeSrc = workload.ProbePattern

// auth is an auth event; with id "", it has none.
func auth(id, card string, amount float64, sec int) []byte {
	idField := ""
	if id != "" {
		idField = fmt.Sprintf(`"id":%q,`, id)
	}
	return fmt.Appendf(nil, `{"type":"auth",%s"card":%q,"amount":%g,"time":"2026-01-01T00:%02d:%02dZ"}`, idField, card, amount, sec/60, sec%60)
}

// probes returns, for cards from..to-1, a small and a big event each: one
// alert per card.
func probes(from, to int) [][]byte {
	var out [][]byte
	for i := from; i < to; i++ {
		card := fmt.Sprintf("c%03d", i)
		out = append(out, auth(card+"-s", card, 1, i), auth(card+"-b", card, 900, i+1))
	}
	return out
}

// fast makes retries and reconnections quick, for tests.
var fast = client.WithBackoff(5*time.Millisecond, 50*time.Millisecond)

func newClient(t *testing.T, s *servertest.Server, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(s.Addr(), append([]client.Option{fast}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func applyProbe(t *testing.T, c *client.Client) {
	t.Helper()
	if _, err := c.ApplyPatterns(t.Context(), client.File{Name: "probe.motif", Content: []byte(probeSrc)}); err != nil {
		t.Fatal(err)
	}
}

// subscribers is the server's count of open subscriptions, from /metrics.
func subscribers(s *servertest.Server) string {
	res, err := http.Get(s.URL() + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "motif_subscribers "); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// subscription collects what a subscription delivers.
type subscription struct {
	alerts chan client.Alert
	err    chan error
	cancel context.CancelFunc
}

func subscribe(t *testing.T, c *client.Client, from client.Cursor, f client.Filter) *subscription {
	t.Helper()
	return subscribeBuffered(t, c, from, f, 1000)
}

// subscribeBuffered subscribes with a buffer of n alerts: with 0 the
// subscription is read only as fast as the test takes alerts.
func subscribeBuffered(t *testing.T, c *client.Client, from client.Cursor, f client.Filter, n int) *subscription {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &subscription{alerts: make(chan client.Alert, n), err: make(chan error, 1), cancel: cancel}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for a, err := range c.Subscribe(ctx, from, f) {
			if err != nil {
				s.err <- err
				return
			}
			s.alerts <- a
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// next returns the next n alerts, failing the test after a timeout.
func (s *subscription) next(t *testing.T, n int) []client.Alert {
	t.Helper()
	var out []client.Alert
	timeout := time.After(30 * time.Second)
	for len(out) < n {
		select {
		case a := <-s.alerts:
			out = append(out, a)
		case err := <-s.err:
			t.Fatalf("subscription ended after %d of %d alerts: %v", len(out), n, err)
		case <-timeout:
			t.Fatalf("timed out after %d of %d alerts", len(out), n)
		}
	}
	return out
}
