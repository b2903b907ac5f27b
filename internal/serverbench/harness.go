package serverbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/motifcep/motif/api"
	"github.com/motifcep/motif/client"
	"github.com/motifcep/motif/internal/workload"
	"github.com/motifcep/motif/node"
)

// LatencyPattern alerts on every x event whose flag is set: one alert per
// flagged event, whose only stage names the event's id, so an alert maps
// back to the moment its event was published.
const LatencyPattern = `event x { k: string, flag: bool }

pattern flagged {
    key    k
    within 1m
    begin  a: x where flag
    emit info "flagged {key}" {}
}
`

// Server is a node and its API on 127.0.0.1, in this process. Unlike
// servertest.Server it can serve the API before the node runs, so that a
// backlog can be published and subscribers connected first.
type Server struct {
	Node *node.Node
	Addr string

	dir    string
	adjust func(*node.Config)
	srv    *http.Server
	served chan struct{}
	cancel context.CancelFunc
	ran    chan error
}

// Open opens a node in a new temporary directory (checkpoints off, the
// node's defaults otherwise, then adjust) and serves its API. Call Run to
// start matching.
func Open(adjust func(*node.Config)) (*Server, error) {
	dir, err := os.MkdirTemp("", "motif-serverbench-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, adjust: adjust}
	if err := s.open(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) open() error {
	cfg := node.Config{Dir: s.dir, ID: "bench", CheckpointInterval: -1}
	if s.adjust != nil {
		s.adjust(&cfg)
	}
	n, err := node.Open(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		n.Close()
		return err
	}
	s.Node, s.Addr, s.served, s.cancel = n, ln.Addr().String(), make(chan struct{}), nil
	s.srv = api.New(n, api.Options{Version: "bench"}).HTTPServer("")
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return nil
}

// Reopen stops the node and its API and opens them again on the same data
// directory (a new address), not running: to publish a backlog to a node
// whose patterns are applied (applying needs a running node).
func (s *Server) Reopen() error {
	if err := s.stop(); err != nil {
		return err
	}
	return s.open()
}

// Run starts matching and waits until the node runs.
func (s *Server) Run() error {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.ran = cancel, make(chan error, 1)
	go func() { s.ran <- s.Node.Run(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if st, _ := s.Node.Status(); st.Running {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("serverbench: the node did not start running")
		}
	}
}

// Close stops the node and the API and removes the data directory.
func (s *Server) Close() error {
	err := s.stop()
	os.RemoveAll(s.dir)
	return err
}

func (s *Server) stop() error {
	var err error
	if s.cancel != nil {
		s.cancel()
		err = <-s.ran
	}
	ctx, stop := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer stop()
	if s.srv.Shutdown(ctx) != nil {
		_ = s.srv.Close()
	}
	<-s.served
	return errors.Join(err, s.Node.Close())
}

// Client returns a new client of the server (its own HTTP/2 connection).
func (s *Server) Client(opts ...client.Option) (*client.Client, error) {
	return client.New(s.Addr, opts...)
}

// Apply registers pattern files (name, content pairs) as one set.
func (s *Server) Apply(ctx context.Context, files ...client.File) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.ApplyPatterns(ctx, files...)
	return err
}

// FraudFiles are workload.FraudPatterns as a pattern file.
func FraudFiles() []client.File {
	return []client.File{{Name: "fraud.motif", Content: []byte(workload.FraudPatterns)}}
}

// FraudAndLatencyFiles are FraudPatterns and LatencyPattern.
func FraudAndLatencyFiles() []client.File {
	return append(FraudFiles(), client.File{Name: "latency.motif", Content: []byte(LatencyPattern)})
}

// FraudEvents returns n events of workload.Fraud (ids e1, e2, ...), one
// JSON object each, without newlines.
func FraudEvents(n int, seed uint64) ([][]byte, error) {
	var buf bytes.Buffer
	buf.Grow(n * 200)
	if err := workload.Fraud(&buf, workload.Spec{Events: n, Seed: seed}); err != nil {
		return nil, err
	}
	out := make([][]byte, 0, n)
	data := buf.Bytes()
	off := 0
	for off < len(data) {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			i = len(data) - off
		}
		out = append(out, data[off:off+i:off+i])
		off += i + 1
	}
	return out, nil
}

// WithFlagged replaces every every-th event of evs by an x event with the
// flag set, id "x<i>", at the time of the event it replaces (so the
// stream stays in time order); LatencyPattern alerts on each.
func WithFlagged(evs [][]byte, every int) [][]byte {
	out := slices.Clone(evs)
	for i := every - 1; i < len(out); i += every {
		t := timeOf(out[i])
		out[i] = []byte(`{"type":"x","time":"` + t + `","id":"x` + strconv.Itoa(i) + `","k":"k` + strconv.Itoa(i%1000) + `","flag":true}`)
	}
	return out
}

// timeOf extracts the "time" string of a workload event.
func timeOf(ev []byte) string {
	const key = `"time":"`
	i := bytes.Index(ev, []byte(key))
	if i < 0 {
		return ""
	}
	rest := ev[i+len(key):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

// Batches cuts evs into batches of size.
func Batches(evs [][]byte, size int) [][][]byte {
	var out [][][]byte
	for i := 0; i < len(evs); i += size {
		out = append(out, evs[i:min(i+size, len(evs))])
	}
	return out
}

// PublishUnary publishes batches with callers goroutines, each with its own
// client, calling Publish once per batch; it returns the events accepted.
func (s *Server) PublishUnary(ctx context.Context, batches [][][]byte, callers int) (int, error) {
	var (
		mu       sync.Mutex
		next     int
		accepted int
		firstErr error
		wg       sync.WaitGroup
	)
	clients := make([]*client.Client, callers)
	for i := range clients {
		c, err := s.Client()
		if err != nil {
			return 0, err
		}
		defer c.Close()
		clients[i] = c
	}
	for _, c := range clients {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(batches) {
					return
				}
				res, err := c.Publish(ctx, batches[i]...)
				mu.Lock()
				accepted += res.Accepted
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return accepted, firstErr
}

// PublishStream publishes batches with publishers streaming Publishers
// (each on its own client), batch i going to publisher i%publishers; it
// returns the events accepted.
func (s *Server) PublishStream(ctx context.Context, batches [][][]byte, publishers int, opts ...client.Option) (int, error) {
	var (
		mu       sync.Mutex
		accepted int
		firstErr error
		wg       sync.WaitGroup
	)
	for p := range publishers {
		c, err := s.Client(opts...)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		wg.Go(func() {
			pub := c.NewPublisher(ctx, func(a client.Ack) {
				mu.Lock()
				accepted += a.Accepted
				if a.Err != nil && firstErr == nil {
					firstErr = a.Err
				}
				mu.Unlock()
			})
			for i := p; i < len(batches); i += publishers {
				if _, err := pub.Send(ctx, batches[i]...); err != nil {
					break
				}
			}
			if err := pub.Close(ctx); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return accepted, firstErr
}

// WaitMatched waits until the node has matched every event of its log (its
// read offset reaches the log's end, and that many events were counted).
func (s *Server) WaitMatched(ctx context.Context, events uint64) error {
	for {
		st, err := s.Node.Status()
		if err != nil {
			return err
		}
		if st.Counters.Events+st.Counters.Invalid+st.Counters.Late >= events && st.Partitions[0].Lag() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// Percentile returns the p-th percentile (0..100) of sorted durations.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(sorted)-1))
	return sorted[i]
}

// RawSubscriber is a subscription that reads the Connect stream of
// SubscribeAlerts without decoding its messages: it counts them. It asks
// for gzip as the Go client does, so the server does the same work for it,
// but it costs the benchmark's machine almost nothing, which matters when
// the subscribers share its cores with the server.
type RawSubscriber struct {
	n    atomic.Int64
	done chan error
}

// RawSubscribe opens a subscription from now to every alert.
func (s *Server) RawSubscribe(ctx context.Context, hc *http.Client) *RawSubscriber {
	r := &RawSubscriber{done: make(chan error, 1)}
	go func() { r.done <- r.run(ctx, hc, "http://"+s.Addr) }()
	return r
}

// Count is the number of alerts received.
func (r *RawSubscriber) Count() int64 { return r.n.Load() }

func (r *RawSubscriber) run(ctx context.Context, hc *http.Client, base string) error {
	// An empty SubscribeAlertsRequest (cursor: now) in one envelope.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		base+"/motif.v1.AlertService/SubscribeAlerts", bytes.NewReader([]byte{0, 0, 0, 0, 0}))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/connect+proto")
	req.Header.Set("Connect-Protocol-Version", "1")
	req.Header.Set("Connect-Accept-Encoding", "gzip")
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("serverbench: subscribe: %s", res.Status)
	}
	br := bufio.NewReaderSize(res.Body, 64<<10)
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return err
		}
		size := binary.BigEndian.Uint32(hdr[1:])
		if _, err := br.Discard(int(size)); err != nil {
			return err
		}
		if hdr[0]&2 != 0 {
			return nil // end of stream
		}
		r.n.Add(1)
	}
}

// H2CClient is an HTTP client that speaks HTTP/2 without TLS, each
// client on its own connection.
func H2CClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}
