package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/internal/workload"
)

// started opens a node in dir and runs it; the cleanup stops and closes it.
func started(t *testing.T, dir string) (*Node, func()) {
	t.Helper()
	n, err := Open(Config{Dir: dir, CommitInterval: time.Millisecond, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return n, running(t, n)
}

// running runs an opened node until the test ends or the returned stop is
// called, then closes it.
func running(t *testing.T, n *Node) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	wait.For(t, "the node to run", func() bool { return n.running.Load() })
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
			if err := n.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

const cardTesting = workload.ProbePattern

func auth(id, card string, amount float64, sec int) []byte {
	return fmt.Appendf(nil, `{"type":"auth","id":%q,"card":%q,"amount":%g,"time":"2026-01-01T00:%02d:%02dZ"}`, id, card, amount, sec/60, sec%60)
}

type alertView struct {
	Seq     uint64 `json:"seq"`
	ID      string `json:"id"`
	Pattern string `json:"pattern"`
	Version int    `json:"version"`
	Key     string `json:"key"`
}

// collector subscribes and keeps what it receives.
type collector struct {
	mu  sync.Mutex
	got []alertView
	err error
}

func subscribe(t *testing.T, n *Node, c Cursor, f Filter) *collector {
	col := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := n.Subscribe(ctx, c, f, func(batch []Alert) error {
			for _, a := range batch {
				var v alertView
				if err := json.Unmarshal(a.WithSeq(), &v); err != nil {
					return err
				}
				col.mu.Lock()
				col.got = append(col.got, v)
				col.mu.Unlock()
			}
			return nil
		})
		col.mu.Lock()
		col.err = err
		col.mu.Unlock()
	}()
	t.Cleanup(func() { cancel(); <-done })
	return col
}

func (c *collector) alerts() []alertView {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]alertView(nil), c.got...)
}

// The life of a fraud team's node: patterns applied and changed live,
// events published (bad ones rejected with reasons, retried batches not
// duplicated), alerts streamed to subscribers, a restart that keeps it all.
func TestNodeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	n, stop := started(t, dir)
	ctx := context.Background()

	changes, diags, err := n.Apply(ctx, []File{{"cards.motif", []byte(cardTesting)}})
	if err != nil || diags.HasErrors() {
		t.Fatal(err, diags)
	}
	if fmt.Sprint(changes) != "[{probe 1 created}]" {
		t.Errorf("changes %v", changes)
	}
	changes, _, err = n.Apply(ctx, []File{{"cards.motif", []byte(cardTesting)}})
	if err != nil || fmt.Sprint(changes) != "[{probe 1 unchanged}]" {
		t.Errorf("applied again: %v %v", changes, err)
	}
	_, diags, err = n.Apply(ctx, []File{{"bad.motif", []byte("pattern x { begin a: auth where amont > 1 }")}})
	if err != nil || !diags.HasErrors() || !strings.Contains(diags.Error(), "bad.motif:1:") {
		t.Errorf("a bad file: %v %v", diags, err)
	}
	if ps := n.Patterns(false); len(ps) != 1 {
		t.Errorf("a rejected apply changed the catalog: %d patterns", len(ps))
	}

	all := subscribe(t, n, Cursor{}, Filter{})
	batch := [][]byte{
		auth("e1", "c1", 1, 0),
		[]byte(`{"type":"auth","id":"bad1","amount":3,"time":"2026-01-01T00:00:01Z"}`), // no card
		[]byte(`{"type":"auth","id":"bad2","card":"c2","amount":"lots","time":"2026-01-01T00:00:01Z"}`),
		[]byte(`{not json`),
		auth("e2", "c1", 900, 10),
	}
	res, err := n.Publish(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 2 || res.Duplicates != 0 || len(res.Rejections) != 3 {
		t.Fatalf("publish: %+v", res)
	}
	for i, want := range []string{`missing field "card"`, `field "amount" of event auth must be a number`, "JSON"} {
		if r := res.Rejections[i]; !strings.Contains(r.Reason, want) {
			t.Errorf("rejection %d: %q, want it to say %q", r.Index, r.Reason, want)
		}
	}
	// The client timed out and retries the whole batch.
	end := n.store.LogEnd(partition)
	res, err = n.Publish(ctx, batch)
	if err != nil || res.Accepted != 0 || res.Duplicates != 2 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	if n.store.LogEnd(partition) != end {
		t.Error("a retried batch was appended again")
	}
	wait.For(t, "the first alert", func() bool { return len(all.alerts()) == 1 })
	if a := all.alerts()[0]; a.Seq != 1 || a.Pattern != "probe" || a.Version != 1 || a.Key != "c1" {
		t.Errorf("alert %+v", a)
	}

	// A new version: probes now under 2. v1 keeps its open match on c3.
	if _, err := n.Publish(ctx, [][]byte{auth("e3", "c3", 4, 20)}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "e3 to be matched", func() bool { return n.pipe.Stats().Offset == end+1 })
	v2 := strings.Replace(cardTesting, "amount < 5", "amount < 2", 1)
	changes, _, err = n.Apply(ctx, []File{{"cards.motif", []byte(v2)}})
	if err != nil || fmt.Sprint(changes) != "[{probe 2 updated}]" {
		t.Fatalf("update: %v %v", changes, err)
	}
	if p, _ := n.Pattern("probe"); p.Versions[0].State != StateRetiring || p.Versions[1].State != StateActive {
		t.Errorf("after the update: v1 %s, v2 %s", p.Versions[0].State, p.Versions[1].State)
	}
	high := subscribe(t, n, Cursor{After: 1}, Filter{Patterns: []string{"probe"}})
	if _, err := n.Publish(ctx, [][]byte{
		auth("e4", "c4", 4, 30),   // a probe for v1 only, which starts nothing now
		auth("e5", "c3", 600, 40), // completes v1's match on c3
		auth("e6", "c4", 1, 50),   // a v2 probe
		auth("e7", "c4", 700, 60), // completes v2 on c4 (e4 counts for nothing)
	}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "two more alerts", func() bool { return len(all.alerts()) == 3 })
	got := fmt.Sprint(all.alerts()[1:])
	if !strings.Contains(got, "probe 1 c3") || !strings.Contains(got, "probe 2 c4") {
		t.Errorf("after the update: %v", got)
	}
	wait.For(t, "v1 to retire", func() bool {
		p, _ := n.Pattern("probe")
		return p.Versions[0].State == StateRetired
	})
	wait.For(t, "the second subscriber", func() bool { return len(high.alerts()) == 2 })

	// Restart: the catalog, the alert log and the dedupe index survive.
	stop()
	n, _ = started(t, dir)
	if p, err := n.Pattern("probe"); err != nil || p.Live().Version != 2 {
		t.Fatalf("after restart: %+v %v", p, err)
	}
	res, err = n.Publish(ctx, [][]byte{auth("e7", "c4", 700, 60), auth("e8", "c5", 1, 70), auth("e9", "c5", 800, 80)})
	if err != nil || res.Duplicates != 1 || res.Accepted != 2 {
		t.Fatalf("after restart: %+v %v", res, err)
	}
	again := subscribe(t, n, Cursor{After: 3}, Filter{})
	wait.For(t, "the alert after the restart", func() bool { return len(again.alerts()) == 1 })
	if a := again.alerts()[0]; a.Seq != 4 || a.Key != "c5" || a.Version != 2 {
		t.Errorf("after restart: %+v", a)
	}

	// Delete: nothing more from it.
	if err := n.Delete(ctx, "probe"); err != nil {
		t.Fatal(err)
	}
	if err := n.Delete(ctx, "probe"); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
	if err := n.Delete(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting an unknown pattern: %v", err)
	}
	if _, err := n.Publish(ctx, [][]byte{auth("e10", "c6", 1, 90), auth("e11", "c6", 900, 95)}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the events after the delete", func() bool { return n.pipe.Stats().Offset == n.store.LogEnd(partition) })
	st, err := n.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Counters.LastAlertSeq != 4 || len(st.Patterns) != 0 {
		t.Errorf("status after the delete: %+v", st)
	}
	// Applied again, it continues the version numbers.
	changes, _, err = n.Apply(ctx, []File{{"cards.motif", []byte(cardTesting)}})
	if err != nil || fmt.Sprint(changes) != "[{probe 3 created}]" {
		t.Errorf("re-created: %v %v", changes, err)
	}
}

// An event without a time takes the ingest time, written into the stored
// record, so that matching it again gives the same result. Rejections say
// what kind of fault they are.
func TestPublishStampsTimeAndClassifies(t *testing.T) {
	n, _ := started(t, t.TempDir())
	at := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	n.cfg.Now = func() time.Time { return at }
	res, err := n.Publish(context.Background(), [][]byte{
		[]byte(`{"type":"login","user":"u"}  `),
		[]byte(`{"user":"u"}`),
		[]byte(`{"type":"login","time":"yesterday"}`),
		[]byte(`{"type":"login","id":[1]}`),
		[]byte(`[1,2]`),
	})
	if err != nil {
		t.Fatal(err)
	}
	var codes []RejectionCode
	for _, r := range res.Rejections {
		codes = append(codes, r.Code)
	}
	if res.Accepted != 1 || fmt.Sprint(codes) != fmt.Sprint([]RejectionCode{NoType, BadTime, BadID, BadJSON}) {
		t.Fatalf("%+v", res)
	}
	var rec string
	if err := n.store.ReadLog(partition, 0, 1, func(_ uint64, b []byte) bool { rec = string(b); return false }); err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"login","user":"u","time":"2026-03-04T05:06:07.000000008Z"}  `; rec != want {
		t.Errorf("stored %s, want %s", rec, want)
	}
}

// A cursor past the end is no error (it waits for alerts that far), even at
// the top of the range; the newest of checkpoints and savepoints is the
// last checkpoint, and a refused savepoint is not a failure.
func TestCursorAtTheTopAndLastCheckpoint(t *testing.T) {
	n, _ := started(t, t.TempDir())
	for _, after := range []uint64{5, math.MaxUint64} {
		if list, _, err := n.Alerts(Cursor{After: after}, Filter{}, 10); err != nil || len(list) != 0 {
			t.Errorf("after %d: %v %v", after, list, err)
		}
	}
	ctx := context.Background()
	if _, err := n.Checkpoint(ctx, ""); err != nil {
		t.Fatal(err)
	}
	sp, err := n.Checkpoint(ctx, "before-rollout")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Checkpoint(ctx, "before-rollout"); err == nil {
		t.Error("a savepoint name taken twice")
	}
	st, err := n.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.LastCheckpoint == nil || st.LastCheckpoint.ID != sp.ID || st.LastCheckpoint.Name != "before-rollout" {
		t.Errorf("last checkpoint %+v, want the savepoint %d", st.LastCheckpoint, sp.ID)
	}
	if st.Counters.Checkpoints != 2 || st.Counters.CheckpointFailures != 0 {
		t.Errorf("checkpoints %d taken, %d failed; want 2 and 0", st.Counters.Checkpoints, st.Counters.CheckpointFailures)
	}
}

// A subscriber that stops reading holds back nobody: matching goes on and
// another subscriber receives every alert; the slow one, released, catches
// up from the alert log in order.
func TestSlowSubscriberHoldsBackNobody(t *testing.T) {
	n, _ := started(t, t.TempDir())
	ctx := context.Background()
	if _, _, err := n.Apply(ctx, []File{{"p.motif", []byte(`pattern big { key card  begin b: auth where amount > 500 }`)}}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var slowGot []uint64
	slowDone := make(chan error, 1)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		slowDone <- n.Subscribe(sctx, Cursor{}, Filter{}, func(batch []Alert) error {
			for _, a := range batch {
				if a.Seq == 1 {
					<-release // stuck on its first alert
				}
				slowGot = append(slowGot, a.Seq)
				if len(slowGot) == 300 {
					return errors.New("done")
				}
			}
			return nil
		})
	}()
	fast := subscribe(t, n, Cursor{}, Filter{})
	for i := range 3 {
		var batch [][]byte
		for j := range 100 {
			k := i*100 + j
			batch = append(batch, auth(fmt.Sprint("e", k), fmt.Sprint("c", k), 900, k/60))
		}
		if _, err := n.Publish(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	wait.For(t, "the fast subscriber to get every alert", func() bool { return len(fast.alerts()) == 300 })
	if st := n.pipe.Stats(); st.Alerts != 300 {
		t.Errorf("matching committed %d alerts while a subscriber was stuck, want 300", st.Alerts)
	}
	close(release)
	if err := <-slowDone; err == nil || err.Error() != "done" {
		t.Fatal(err)
	}
	for i, s := range slowGot {
		if s != uint64(i+1) {
			t.Fatalf("the slow subscriber got seq %d at %d", s, i)
		}
	}
}
