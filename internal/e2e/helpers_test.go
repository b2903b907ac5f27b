package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/api"
	"github.com/motifcep/motif/engine"
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/internal/workload"
	"github.com/motifcep/motif/node"
	"github.com/motifcep/motif/pattern"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"

	"github.com/motifcep/motif/internal/servertest"
)

// inproc is a real node and its API served in-process on a loopback
// socket (internal/servertest): what `motif serve` runs, with settings the
// flags do not reach (MaxBatchEvents, MaxEventBytes, MaxRequestBytes, the
// retention interval).
type inproc struct {
	addr string
	dir  string
	node *node.Node
}

// startServer starts a node in a new temporary directory and serves its
// API on 127.0.0.1 and a free port; the test's cleanup stops both.
func startServer(t *testing.T, cfg func(*node.Config), opts api.Options) *inproc {
	t.Helper()
	s := servertest.Start(t, servertest.Options{
		NodeID: "e2e",
		Token:  opts.Token,
		Node:   cfg,
		API:    func(o *api.Options) { *o = opts },
	})
	return &inproc{addr: s.Addr(), dir: s.Dir(), node: s.Node()}
}

// url is the server's base URL for Connect clients.
func (s *inproc) url() string { return "http://" + s.addr }

// grpcConn dials addr with plain grpc-go: HTTP/2 without TLS.
func grpcConn(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// h2c is an HTTP client speaking HTTP/2 without TLS ("prior knowledge"),
// as Connect streaming calls to an http:// server need.
func h2c(t *testing.T) *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// fraudInput is a workload.Fraud input of n events over keys cards, and
// the event that ends it: a "tick" (a type no pattern uses) one day after
// the last event.
//
// Why the tick: replay closes every window when its input ends (the
// engine's Close), while a live server cannot know the input ended; its
// watermark stays at the last event's time, and the partial matches whose
// windows are still open (the timeouts of login_without_mfa, the matches
// held back by skip past_last_event) raise nothing yet. The tick moves the
// watermark a day on, past every window of the fraud patterns (the widest
// is 1h), so the server fires every timer that replay's Close fires. The
// reference pushes the same tick, and checks that its Close then adds
// nothing: the server and replay see the same input and the comparison is
// exact, with no alert left out on either side.
func fraudInput(t testing.TB, n, keys int, seed uint64) (lines [][]byte, tick []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := workload.Fraud(&buf, workload.Spec{Name: "e2e", Events: n, Keys: keys, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	lines = bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	var last time.Time
	for _, l := range lines {
		var ev struct {
			Time time.Time `json:"time"`
		}
		if err := json.Unmarshal(l, &ev); err != nil {
			t.Fatalf("workload line %s: %v", l, err)
		}
		if ev.Time.After(last) {
			last = ev.Time
		}
	}
	tick = fmt.Appendf(nil, `{"type":"tick","time":%q,"id":"end-of-input"}`, last.Add(24*time.Hour).Format(time.RFC3339Nano))
	return lines, tick
}

// fraudSet is the checked set of workload.FraudPatterns.
func fraudSet(t testing.TB) *pattern.Set {
	t.Helper()
	set, err := workload.FraudSet()
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// reference runs the in-memory engine over the events as `motif replay`
// does (the same decoder options, events numbered in input order, every
// window closed at the end) and returns its alerts, in order, as JSON
// without detected_at. It fails if closing the engine after the last event
// still raises alerts: the input must end with a tick (see fraudInput).
func reference(t testing.TB, set *pattern.Set, events [][]byte) []string {
	t.Helper()
	rec := &collect{}
	eng, err := engine.New(set, engine.Config{DefaultWithin: 24 * time.Hour}, rec)
	if err != nil {
		t.Fatal(err)
	}
	dec := event.NewDecoder(eng.Schema(), event.DecoderOptions{RequireTime: true})
	for i, l := range events {
		ev := eng.NewEvent()
		if err := dec.Decode(l, ev); err != nil {
			t.Fatalf("reference: event %d: %v", i, err)
		}
		ev.Seq = uint64(i + 1)
		if err := eng.Push(ev); err != nil {
			t.Fatalf("reference: event %d: %v", i, err)
		}
	}
	before := len(rec.alerts)
	eng.Close()
	if len(rec.alerts) != before {
		t.Fatalf("reference: closing the input raised %d more alerts: the tick does not close every window", len(rec.alerts)-before)
	}
	return rec.alerts
}

type collect struct{ alerts []string }

func (c *collect) Alert(a *alert.Alert) {
	c.alerts = append(c.alerts, stripDetected(a.AppendJSON(nil)))
}
func (c *collect) Late(*event.Event, int64) {}

// stripDetected returns an alert's JSON without detected_at (the only
// field that depends on the wall clock), keys sorted.
func stripDetected(js []byte) string {
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		return "unparsable alert: " + string(js)
	}
	delete(m, "detected_at")
	out, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(out)
}

func alertID(js string) string {
	var a struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal([]byte(js), &a)
	return a.ID
}

// delivered is an alert as a subscriber received it.
type delivered struct {
	Seq  uint64
	ID   string // the Alert message's id
	JSON string // its canonical JSON, without detected_at
}

func deliveredOf(seq uint64, a *motifv1.Alert) delivered {
	return delivered{Seq: seq, ID: a.GetId(), JSON: stripDetected(a.GetJson())}
}

// sink collects what a subscription delivers, from its goroutine.
type sink struct {
	mu  sync.Mutex
	got []delivered
	err error
}

func (s *sink) add(d delivered) {
	s.mu.Lock()
	s.got = append(s.got, d)
	s.mu.Unlock()
}

func (s *sink) end(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *sink) alerts() []delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

func (s *sink) lastSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) == 0 {
		return 0
	}
	return s.got[len(s.got)-1].Seq
}

func (s *sink) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// checkExactlyOnce asserts that got, in delivery order, is the reference
// want: sequence numbers strictly increasing, every id once, none missing
// and none extra, each alert's JSON (without detected_at) equal to the
// reference's for its id, and the order the same.
func checkExactlyOnce(t *testing.T, got []delivered, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("the reference has no alerts: the input proves nothing")
	}
	wantByID := map[string]string{}
	var wantIDs []string
	for _, w := range want {
		id := alertID(w)
		if _, dup := wantByID[id]; dup {
			t.Fatalf("the reference raised alert %s twice", id)
		}
		wantByID[id] = w
		wantIDs = append(wantIDs, id)
	}
	seen := map[string]uint64{}
	var gotIDs []string
	bad := 0
	for i, d := range got {
		if i > 0 && d.Seq <= got[i-1].Seq {
			t.Errorf("seq %d delivered after seq %d: not strictly increasing", d.Seq, got[i-1].Seq)
			bad++
		}
		if alertID(d.JSON) != d.ID {
			t.Errorf("seq %d: Alert.id %q but its JSON says %q", d.Seq, d.ID, alertID(d.JSON))
			bad++
		}
		if s, dup := seen[d.ID]; dup {
			t.Errorf("alert %s delivered twice: seq %d and seq %d", d.ID, s, d.Seq)
			bad++
		}
		seen[d.ID] = d.Seq
		gotIDs = append(gotIDs, d.ID)
		w, ok := wantByID[d.ID]
		switch {
		case !ok:
			t.Errorf("seq %d: alert not in the reference: %s", d.Seq, d.JSON)
			bad++
		case w != d.JSON:
			t.Errorf("seq %d: alert %s differs from the reference:\n got: %s\nwant: %s", d.Seq, d.ID, d.JSON, w)
			bad++
		}
		if bad > 10 {
			t.Fatal("too many differences")
		}
	}
	missing := 0
	for _, id := range wantIDs {
		if _, ok := seen[id]; !ok {
			missing++
			if missing <= 10 {
				t.Errorf("missing alert: %s", wantByID[id])
			}
		}
	}
	if missing > 0 || bad > 0 {
		t.Fatalf("%d alerts delivered, %d in the reference; %d missing", len(got), len(want), missing)
	}
	if !slices.Equal(gotIDs, wantIDs) {
		for i := range gotIDs {
			if gotIDs[i] != wantIDs[i] {
				t.Fatalf("the same alerts in another order: the first difference is at position %d: %s, want %s", i, gotIDs[i], wantIDs[i])
			}
		}
	}
}

// batches cuts events into batches of at most size.
func batches(events [][]byte, size int) [][][]byte {
	var out [][][]byte
	for len(events) > 0 {
		n := min(size, len(events))
		out = append(out, events[:n])
		events = events[n:]
	}
	return out
}

// eventMsgs wraps events for the generated stubs.
func eventMsgs(batch [][]byte) []*motifv1.Event {
	out := make([]*motifv1.Event, len(batch))
	for i, b := range batch {
		out[i] = &motifv1.Event{Json: b}
	}
	return out
}

// settledStatus is what a caught-up server reports: every published event
// matched and committed.
type settledStatus struct {
	committed, end, lastSeq uint64
}

func (s settledStatus) String() string {
	return fmt.Sprintf("committed offset %d, end offset %d, last alert seq %d", s.committed, s.end, s.lastSeq)
}

func statusOf(st *motifv1.GetStatusResponse) settledStatus {
	var s settledStatus
	for _, p := range st.GetPartitions() {
		s.committed, s.end = p.GetCommittedOffset(), p.GetEndOffset()
	}
	s.lastSeq = st.GetLastAlertSeq()
	return s
}

// joinLines is a file of NDJSON lines.
func joinLines(lines ...[]byte) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
