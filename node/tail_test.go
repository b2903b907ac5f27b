package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/pattern"
)

func openStore(t *testing.T) *checkpoint.Store {
	t.Helper()
	s, err := checkpoint.Open(t.TempDir(), checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var alertIDs atomic.Int64

// logAlerts commits payloads to the alert log in one batch.
func logAlerts(t *testing.T, s *checkpoint.Store, payloads ...string) {
	t.Helper()
	b := s.NewBatch()
	for _, p := range payloads {
		b.AppendAlert(fmt.Sprint("a", alertIDs.Add(1)), 0, []byte(p))
	}
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
}

// tailRead reads the tail after a cursor, at most max alerts, with f.
func tailRead(tl *alertTail, after uint64, f Filter, max int) (seqs []uint64, last uint64, n int, ok bool) {
	got, last, n, ok := tl.read(after, &f, max, max, nil)
	for _, a := range got {
		seqs = append(seqs, a.Seq)
	}
	return seqs, last, n, ok
}

// The tail holds the newest alerts of the log, in order; a cursor before
// them is sent to the store; a fill that cannot read the store leaves
// nothing in the tail that a reader could take for all there is.
func TestTailHoldsTheNewestAlerts(t *testing.T) {
	s := openStore(t)
	tl := alertTail{maxAlerts: 4}
	tl.reset(s.LastAlertSeq())
	fill := func() {
		t.Helper()
		if err := tl.fill(s, s.LastAlertSeq()); err != nil {
			t.Fatal(err)
		}
	}
	check := func(after uint64, max int, want []uint64, wantLast uint64, wantOK bool) {
		t.Helper()
		seqs, last, n, ok := tailRead(&tl, after, Filter{}, max)
		if ok != wantOK || !slices.Equal(seqs, want) || last != wantLast || (ok && n != len(want)) {
			t.Errorf("after %d: %v, last %d, looked at %d, ok %v; want %v, last %d, ok %v", after, seqs, last, n, ok, want, wantLast, wantOK)
		}
	}

	logAlerts(t, s, "{}", "{}", "{}") // 1-3
	fill()
	check(0, 10, []uint64{1, 2, 3}, 3, true)
	logAlerts(t, s, "{}", "{}", "{}") // 4-6: 1 and 2 leave
	fill()
	check(1, 10, nil, 1, false)
	check(2, 10, []uint64{3, 4, 5, 6}, 6, true)
	check(4, 1, []uint64{5}, 5, true)
	check(6, 10, nil, 6, true)
	check(1000, 10, nil, 1000, true)

	logAlerts(t, s, "{}", "{}", "{}", "{}", "{}", "{}", "{}", "{}", "{}", "{}") // 7-16 at once
	fill()
	check(11, 10, nil, 11, false)
	check(12, 10, []uint64{13, 14, 15, 16}, 16, true)

	// A number handed out but never committed is a gap the tail spans.
	b1, b2 := s.NewBatch(), s.NewBatch()
	b1.AppendAlert("gone", 0, []byte("{}")) // 17
	b2.AppendAlert("kept", 0, []byte("{}")) // 18
	if err := b2.Commit(true); err != nil {
		t.Fatal(err)
	}
	b1.Close()
	fill()
	check(14, 10, []uint64{15, 16, 18}, 18, true)

	logAlerts(t, s, "{}", "{}") // 19, 20
	s.Close()
	if err := tl.fill(s, s.LastAlertSeq()); !errors.Is(err, checkpoint.ErrClosed) {
		t.Fatalf("fill from a closed store: %v", err)
	}
	check(18, 10, nil, 18, false)
	check(20, 10, nil, 20, true)
}

// The tail keeps within its bytes too, and always holds the newest alert.
func TestTailBytes(t *testing.T) {
	s := openStore(t)
	tl := alertTail{maxBytes: 250}
	tl.reset(0)
	big := `{"pad":"` + strings.Repeat("x", 100) + `"}`
	logAlerts(t, s, big, big, big, big) // 4 of 111 bytes: 2 fit
	if err := tl.fill(s, s.LastAlertSeq()); err != nil {
		t.Fatal(err)
	}
	if seqs, _, _, ok := tailRead(&tl, 2, Filter{}, 10); !ok || !slices.Equal(seqs, []uint64{3, 4}) {
		t.Errorf("after 2: %v %v", seqs, ok)
	}
	if _, _, _, ok := tailRead(&tl, 1, Filter{}, 10); ok {
		t.Error("the tail claims alert 2, over its bytes")
	}
	huge := `{"pad":"` + strings.Repeat("x", 1000) + `"}`
	logAlerts(t, s, huge)
	if err := tl.fill(s, s.LastAlertSeq()); err != nil {
		t.Fatal(err)
	}
	if seqs, _, _, ok := tailRead(&tl, 4, Filter{}, 10); !ok || !slices.Equal(seqs, []uint64{5}) {
		t.Errorf("after 4: %v %v", seqs, ok)
	}
}

// A filter passes the same alerts whether they come from the tail or the
// store.
func TestTailFilters(t *testing.T) {
	payloads := []string{
		`{"pattern":"a","severity":"low"}`,
		`{"pattern":"b","severity":"critical"}`,
		`{"pattern":"a","severity":"high"}`,
		`{"pattern":"a","severity":"bogus"}`,
		`{"pattern":"a"}`,
		`{"severity":"critical"}`,
		`not json`,
		`{"pattern":"c","severity":"medium","fields":{"pattern":"a"}}`,
	}
	cases := []struct {
		f    Filter
		want []uint64
	}{
		{Filter{}, []uint64{1, 2, 3, 4, 5, 6, 7, 8}},
		{Filter{Patterns: []string{"a"}}, []uint64{1, 3, 4, 5}},
		{Filter{Patterns: []string{"b", "c"}}, []uint64{2, 8}},
		{Filter{MinSeverity: pattern.SeverityHigh}, []uint64{2, 3, 6}},
		{Filter{MinSeverity: pattern.SeverityInfo}, []uint64{1, 2, 3, 6, 8}},
		{Filter{Patterns: []string{"a"}, MinSeverity: pattern.SeverityMedium}, []uint64{3}},
		{Filter{Patterns: []string{"nope"}}, nil},
	}
	s := openStore(t)
	logAlerts(t, s, payloads...)
	var tl alertTail
	tl.reset(0)
	if err := tl.fill(s, s.LastAlertSeq()); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		var fromStore []uint64
		for i, p := range payloads {
			if c.f.match([]byte(p)) {
				fromStore = append(fromStore, uint64(i+1))
			}
		}
		fromTail, _, n, ok := tailRead(&tl, 0, c.f, 100)
		if !slices.Equal(fromStore, c.want) || !slices.Equal(fromTail, c.want) || !ok || n != len(payloads) {
			t.Errorf("%+v: store %v, tail %v (ok %v, looked at %d); want %v", c.f, fromStore, fromTail, ok, n, c.want)
		}
	}
	// A read stops at want alerts passed, and says where.
	f := Filter{Patterns: []string{"a"}}
	got, last, n, _ := tl.read(0, &f, 100, 2, nil)
	if len(got) != 2 || got[1].Seq != 3 || last != 3 || n != 3 {
		t.Errorf("two of pattern a: %v, last %d, looked at %d", got, last, n)
	}
}

// Alerts committed but not yet in the tail (its fill comes after the
// commit) are read from the store: a reader never stops short of the log.
func TestReadPastTheTail(t *testing.T) {
	s := openStore(t)
	n := &Node{store: s}
	n.tail.reset(0)
	logAlerts(t, s, "{}", "{}", "{}")
	if err := n.tail.fill(s, s.LastAlertSeq()); err != nil {
		t.Fatal(err)
	}
	logAlerts(t, s, "{}", "{}") // 4 and 5: settled, not in the tail
	for _, c := range []struct {
		after, max uint64
		want       []uint64
	}{{0, 10, []uint64{1, 2, 3, 4, 5}}, {2, 2, []uint64{3, 4}}, {3, 10, []uint64{4, 5}}, {5, 10, nil}} {
		got, last, read, err := n.read(c.after, &Filter{}, int(c.max), int(c.max), nil)
		var seqs []uint64
		for _, a := range got {
			seqs = append(seqs, a.Seq)
		}
		wantLast := c.after
		if len(c.want) > 0 {
			wantLast = c.want[len(c.want)-1]
		}
		if err != nil || !slices.Equal(seqs, c.want) || last != wantLast || read != len(c.want) {
			t.Errorf("after %d: %v, last %d, read %d, %v; want %v", c.after, seqs, last, read, err, c.want)
		}
	}
	if list, next, err := n.Alerts(Cursor{After: 1}, Filter{}, 100); err != nil || len(list) != 4 || next != 5 {
		t.Errorf("listed %v, next %d, %v", list, next, err)
	}
}

// What retention removes from the store leaves the tail too: it is no
// longer listed or sent.
func TestTailFollowsRetention(t *testing.T) {
	s, err := checkpoint.Open(t.TempDir(), checkpoint.Options{AlertRetention: checkpoint.Retention{MaxAge: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := &Node{store: s, cfg: Config{Logger: slog.New(slog.DiscardHandler)}}
	n.tail.reset(0)
	b := s.NewBatch()
	for i, at := range []time.Duration{0, 0, 0, 2 * time.Hour, 3 * time.Hour} {
		b.AppendAlert(fmt.Sprint("r", i), int64(at), []byte("{}"))
	}
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	if err := n.tail.fill(s, s.LastAlertSeq()); err != nil {
		t.Fatal(err)
	}
	if err := s.EnforceRetention(int64(2*time.Hour + time.Minute)); err != nil {
		t.Fatal(err)
	}
	n.trimTail()
	list, _, err := n.Alerts(Cursor{}, Filter{}, 10)
	if err != nil || len(list) != 2 || list[0].Seq != 4 {
		t.Errorf("listed after retention: %v %v", list, err)
	}
	if seqs, _, _, ok := tailRead(&n.tail, 3, Filter{}, 10); !ok || !slices.Equal(seqs, []uint64{4, 5}) {
		t.Errorf("the tail after 3: %v %v", seqs, ok)
	}
	if _, _, _, ok := tailRead(&n.tail, 2, Filter{}, 10); ok {
		t.Error("the tail claims alert 3, removed by retention")
	}
	// Retention of all: the tail is empty, and the next alert goes in.
	if err := s.EnforceRetention(int64(5 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	n.trimTail()
	logAlerts(t, s, "{}")
	if err := n.tail.fill(s, s.LastAlertSeq()); err != nil {
		t.Fatal(err)
	}
	if list, _, err := n.Alerts(Cursor{}, Filter{}, 10); err != nil || len(list) != 1 || list[0].Seq != 6 {
		t.Errorf("listed after retention of all: %v %v", list, err)
	}
}

// startedWithTail is started with a tail of maxAlerts alerts.
func startedWithTail(t *testing.T, maxAlerts int) *Node {
	t.Helper()
	n, err := Open(Config{Dir: t.TempDir(), CommitInterval: time.Millisecond, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	n.tail.maxAlerts = maxAlerts
	running(t, n)
	return n
}

const bigAndHuge = `event auth { card: string, amount: number }

pattern big {
    key card
    begin b: auth where amount > 500
    emit low "big {card}"
}

pattern huge {
    key card
    begin b: auth where amount > 5000
    emit critical "huge {card}"
}
`

// publishAuths publishes count auth events from the first-th, every other
// one huge (two alerts), the others big (one).
func publishAuths(t *testing.T, n *Node, first, count int) {
	t.Helper()
	var batch [][]byte
	for i := first; i < first+count; i++ {
		amount := 900.0
		if i%2 == 1 {
			amount = 9000
		}
		batch = append(batch, auth(fmt.Sprint("e", i), fmt.Sprint("c", i%7), amount, i%3600))
	}
	res, err := n.Publish(context.Background(), batch)
	if err != nil || res.Accepted != count {
		t.Fatalf("publish: %+v %v", res, err)
	}
}

type loggedAlert struct {
	seq      uint64
	pattern  string
	severity pattern.Severity
}

// alertLog is the whole alert log, read from the store.
func alertLog(t *testing.T, n *Node) []loggedAlert {
	t.Helper()
	var out []loggedAlert
	err := n.store.Alerts(0, func(seq uint64, js []byte) bool {
		var a struct{ Pattern, Severity string }
		if err := json.Unmarshal(js, &a); err != nil {
			t.Errorf("alert %d: %v", seq, err)
		}
		sev, _ := pattern.ParseSeverity(a.Severity)
		out = append(out, loggedAlert{seq, a.Pattern, sev})
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// want is what a subscriber after the cursor with f must receive.
func want(log []loggedAlert, after uint64, f Filter) []uint64 {
	var out []uint64
	for _, a := range log {
		if a.seq <= after || len(f.Patterns) > 0 && !slices.Contains(f.Patterns, a.pattern) || a.severity < f.MinSeverity {
			continue
		}
		out = append(out, a.seq)
	}
	return out
}

func seqsOf(got []alertView) []uint64 {
	var out []uint64
	for _, a := range got {
		out = append(out, a.Seq)
	}
	return out
}

// Subscribers that start in the store and reach the tail, start in the
// tail, filter, resume from a cursor, or fall behind the tail while stuck,
// each get every alert after their cursor that passes their filter, once,
// in order, while alerts are committed; listing pages across the boundary
// too.
func TestSubscribersAcrossTheTail(t *testing.T) {
	const tailSize, before, batches, perBatch = 8, 40, 12, 30
	n := startedWithTail(t, tailSize)
	ctx := context.Background()
	if _, diags, err := n.Apply(ctx, []File{{"p.motif", []byte(bigAndHuge)}}); err != nil || diags.HasErrors() {
		t.Fatal(err, diags)
	}
	publishAuths(t, n, 0, before)
	const alertsBefore = before / 2 * 3
	wait.For(t, "the alerts before", func() bool { return n.store.LastAlertSeq() == alertsBefore })
	wait.For(t, "the tail to hold them", func() bool {
		n.tail.mu.RLock()
		defer n.tail.mu.RUnlock()
		return n.tail.upTo == alertsBefore
	})
	if n.tail.from == 0 {
		t.Fatalf("the tail holds all %d alerts: nothing is read from the store", alertsBefore)
	}

	type sub struct {
		name string
		c    Cursor
		f    Filter
		col  *collector
	}
	subs := []*sub{
		{name: "from the start", c: Cursor{}},
		{name: "now", c: Cursor{Now: true}},
		{name: "resumed in the store", c: Cursor{After: 10}},
		{name: "resumed in the tail", c: Cursor{After: alertsBefore - 2}},
		{name: "pattern huge", f: Filter{Patterns: []string{"huge"}}},
		{name: "critical", c: Cursor{After: 5}, f: Filter{MinSeverity: pattern.SeverityCritical}},
		{name: "big or huge, low", f: Filter{Patterns: []string{"big", "huge"}, MinSeverity: pattern.SeverityLow}},
	}
	for i := range 8 { // more of them, for the race detector
		subs = append(subs, &sub{name: fmt.Sprint("many ", i)})
	}
	for _, s := range subs {
		s.col = subscribe(t, n, s.c, s.f)
	}

	// One is stuck on its first batch until every other has everything: by
	// then it is far behind the tail.
	release := make(chan struct{})
	var stuckGot []uint64
	stuckDone := make(chan error, 1)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	total := alertsBefore + batches*perBatch/2*3
	go func() {
		first := true
		stuckDone <- n.Subscribe(sctx, Cursor{After: alertsBefore}, Filter{}, func(batch []Alert) error {
			if first {
				first = false
				<-release
			}
			for _, a := range batch {
				stuckGot = append(stuckGot, a.Seq)
			}
			if stuckGot[len(stuckGot)-1] == uint64(total) {
				return errors.New("done")
			}
			return nil
		})
	}()

	for b := range batches {
		publishAuths(t, n, before+b*perBatch, perBatch)
	}
	wait.For(t, "every alert", func() bool { return n.store.LastAlertSeq() == uint64(total) })
	log := alertLog(t, n)
	if len(log) != total {
		t.Fatalf("the log has %d alerts, want %d", len(log), total)
	}
	for _, s := range subs {
		after := s.c.After
		if s.c.Now {
			after = alertsBefore
		}
		w := want(log, after, s.f)
		wait.For(t, s.name+" to get its alerts", func() bool { return len(s.col.alerts()) >= len(w) })
		if got := seqsOf(s.col.alerts()); !slices.Equal(got, w) {
			t.Errorf("%s: got %v\nwant %v", s.name, got, w)
		}
	}
	close(release)
	if err := <-stuckDone; err == nil || err.Error() != "done" {
		t.Fatal(err)
	}
	if w := want(log, alertsBefore, Filter{}); !slices.Equal(stuckGot, w) {
		t.Errorf("the stuck subscriber got %v\nwant %v", stuckGot, w)
	}

	// Listing, a page at a time, from the store into the tail.
	f := Filter{Patterns: []string{"huge"}}
	var listed []uint64
	for after := uint64(0); ; {
		page, next, err := n.Alerts(Cursor{After: after}, f, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page {
			listed = append(listed, a.Seq)
		}
		if len(page) == 0 {
			break
		}
		after = next
	}
	if w := want(log, 0, f); !slices.Equal(listed, w) {
		t.Errorf("listed %v\nwant %v", listed, w)
	}
}

// Readers and the filler of the tail run concurrently (for -race): each
// reader sees the log in order, without a gap or a repeat, from the tail
// or, having fallen behind it, from the store.
func TestTailConcurrentReaders(t *testing.T) {
	s := openStore(t)
	n := &Node{store: s}
	n.tail.maxAlerts = 16
	n.tail.reset(0)
	const total = 2000
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := range 8 {
		wg.Go(func() {
			var buf []Alert
			f := Filter{}
			if r%2 == 1 {
				f.Patterns = []string{"p"} // parses the tail's alerts concurrently
			}
			for after := uint64(0); after < total; {
				prev := after
				var err error
				buf, after, _, err = n.read(after, &f, 7, 7, buf[:0])
				if err != nil {
					errs <- err
					return
				}
				for i, a := range buf {
					if a.Seq != prev+1+uint64(i) {
						errs <- fmt.Errorf("reader %d: after %d, read %d at %d", r, prev, a.Seq, i)
						return
					}
				}
				if len(buf) == 0 {
					runtime.Gosched() // nothing new yet
				}
			}
		})
	}
	for i := 0; i < total; i += 10 {
		var p []string
		for range 10 {
			p = append(p, `{"pattern":"p"}`)
		}
		logAlerts(t, s, p...)
		if err := n.tail.fill(s, s.LastAlertSeq()); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
