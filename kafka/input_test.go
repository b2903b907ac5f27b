package kafka

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/engine"
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/internal/workload"
	"github.com/motifcep/motif/kafka/kafkatest"
	"github.com/motifcep/motif/pattern"
	"github.com/motifcep/motif/pipeline"
)

// kafkaFixture is the fraud workload spread over the partitions of a
// topic but the last (which stays idle), each partition slightly out of
// order within ooo, then a tick far in the future on each, which moves the
// watermark past every window.
type kafkaFixture struct {
	set      *pattern.Set
	ordered  [][]byte   // every event in time order: the replay input
	parts    [][][]byte // per partition, as produced
	tickTime int64
}

func newKafkaFixture(t *testing.T, events, partitions int, ooo time.Duration) kafkaFixture {
	t.Helper()
	var buf bytes.Buffer
	if err := workload.Fraud(&buf, workload.Spec{Name: "fraud", Events: events, Keys: events / 10, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	set, err := workload.FraudSet()
	if err != nil {
		t.Fatal(err)
	}
	fx := kafkaFixture{set: set, parts: make([][][]byte, partitions)}
	fx.ordered = bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	rng := rand.New(rand.NewPCG(3, 4))
	type timed struct {
		t    int64
		line []byte
	}
	per := make([][]timed, partitions)
	var last int64
	for _, l := range fx.ordered {
		var e struct {
			Time time.Time `json:"time"`
		}
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatal(err)
		}
		// By key, as a keyed producer does (card cN belongs to user uN);
		// the last partition stays idle.
		m := keyNum.FindSubmatch(l)
		if m == nil {
			t.Fatalf("no card or user in %s", l)
		}
		n, _ := strconv.Atoi(string(m[1]))
		p := n % (partitions - 1)
		per[p] = append(per[p], timed{e.Time.UnixNano(), l})
		last = e.Time.UnixNano()
	}
	for p, evs := range per {
		// Out of order within the bound: swap neighbours close in time.
		for i := 0; i+1 < len(evs); i += 2 {
			if evs[i+1].t-evs[i].t < int64(ooo)/2 && rng.IntN(2) == 0 {
				evs[i], evs[i+1] = evs[i+1], evs[i]
			}
		}
		for _, e := range evs {
			fx.parts[p] = append(fx.parts[p], e.line)
		}
	}
	fx.tickTime = last + int64(24*time.Hour)
	tick := fmt.Appendf(nil, `{"type":"tick","time":%q}`, time.Unix(0, fx.tickTime).UTC().Format(time.RFC3339Nano))
	for p := range partitions - 1 {
		fx.parts[p] = append(fx.parts[p], tick)
	}
	return fx
}

var keyNum = regexp.MustCompile(`"(?:card_id|user_id)":"[cu](\d+)"`)

// onKafka puts the fixture's partitions in topic "events" of a new cluster
// and opens an empty store, closed when the test ends.
func (fx kafkaFixture) onKafka(t *testing.T) ([]string, *checkpoint.Store) {
	t.Helper()
	addrs := kafkatest.Cluster(t, map[string]int32{"events": int32(len(fx.parts))})
	for p, lines := range fx.parts {
		if len(lines) > 0 {
			kafkatest.Produce(t, addrs, "events", int32(p), lines...)
		}
	}
	s, err := checkpoint.Open(t.TempDir(), checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return addrs, s
}

// replay runs the in-memory engine over the events in time order, as
// motif replay does, and returns the alerts' JSON without detected_at.
func (fx kafkaFixture) replay(t *testing.T, ooo time.Duration) []string {
	t.Helper()
	rec := &collected{}
	eng, err := engine.New(fx.set, engine.Config{OutOfOrderness: ooo}, rec)
	if err != nil {
		t.Fatal(err)
	}
	dec := event.NewDecoder(eng.Schema(), event.DecoderOptions{RequireTime: true})
	for off, l := range fx.ordered {
		ev := eng.NewEvent()
		if err := dec.Decode(l, ev); err != nil {
			t.Fatal(err)
		}
		ev.Seq = uint64(off)
		if err := eng.Push(ev); err != nil {
			t.Fatal(err)
		}
	}
	eng.Close()
	slices.Sort(rec.alerts)
	return rec.alerts
}

type collected struct{ alerts []string }

func (c *collected) Alert(a *alert.Alert) {
	a.DetectedAt = 0
	c.alerts = append(c.alerts, string(a.AppendJSON(nil)))
}
func (c *collected) Late(e *event.Event, _ int64) {}

// logged returns the store's alerts without detected_at and seq, sorted.
func logged(t *testing.T, s *checkpoint.Store) []string {
	t.Helper()
	var out []string
	if err := s.Alerts(1, func(_ uint64, js []byte) bool {
		var a alert.Alert
		if err := a.UnmarshalJSON(js); err != nil {
			t.Fatal(err)
		}
		a.DetectedAt, a.Seq = 0, 0
		out = append(out, string(a.AppendJSON(nil)))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func sameAlerts(t *testing.T, got, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("the fixture has no alerts")
	}
	if !slices.Equal(got, want) {
		t.Errorf("%d alerts, replay has %d", len(got), len(want))
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Fatalf("missing: %s", w)
			}
		}
		for _, g := range got {
			if !slices.Contains(want, g) {
				t.Fatalf("extra: %s", g)
			}
		}
	}
}

// runKafka runs a pipeline over the topic until every partition is read
// and the watermark has passed the fixture's tick, or stops it after
// stopAfter commits (0: never) and reports whether it finished.
func runKafka(t *testing.T, addrs []string, s *checkpoint.Store, fx kafkaFixture, ooo time.Duration, stopAfter uint64) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait.DefaultTimeout)
	defer cancel()
	in, err := NewInput(ctx, SourceConfig{Brokers: addrs, Topics: []string{"events"}, FetchMaxWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Config{Set: fx.set, Store: s, Input: in, Name: "kafka",
		OutOfOrderness: ooo, IdleTimeout: time.Second, CommitEvents: 150})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(rctx) }()
	finished := func() bool {
		st := p.Stats()
		for i, ps := range st.Partitions {
			if ps.Offset != uint64(len(fx.parts[i])) {
				return false
			}
		}
		return st.Watermark >= fx.tickTime-int64(ooo)
	}
	if stopAfter > 0 {
		wait.Within(t, wait.DefaultTimeout, strconv.FormatUint(stopAfter, 10)+" commits", func() bool {
			return p.Stats().Commits >= stopAfter || finished()
		})
	} else {
		wait.Within(t, wait.DefaultTimeout, "every partition read and the watermark past the tick", finished)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return finished()
}

// Several partitions, each out of order within the bound, one idle: the
// alerts equal replay's of the same events with the same out-of-orderness.
// Without idleness the idle partition would hold the watermark forever.
func TestKafkaPipelineEqualsReplay(t *testing.T) {
	const ooo = 2 * time.Second
	fx := newKafkaFixture(t, 6000, 6, ooo)
	addrs, s := fx.onKafka(t)
	runKafka(t, addrs, s, fx, ooo, 0)
	sameAlerts(t, logged(t, s), fx.replay(t, ooo))
	offs, err := s.Offsets()
	if err != nil {
		t.Fatal(err)
	}
	if got := offs["kafka/events"][2]; got != uint64(len(fx.parts[2])) {
		t.Errorf("committed offset of events/2 is %d, want %d", got, len(fx.parts[2]))
	}
}

// Stopped and restarted many times mid-stream, the pipeline resumes at its
// committed offsets and state: the same alerts, each once.
func TestKafkaPipelineRestarts(t *testing.T) {
	const ooo = time.Second
	fx := newKafkaFixture(t, 4000, 4, ooo)
	addrs, s := fx.onKafka(t)
	runs := 0
	for !runKafka(t, addrs, s, fx, ooo, 2) {
		if runs++; runs > 100 {
			t.Fatal("no end after 100 restarts")
		}
	}
	if runs < 3 {
		t.Errorf("only %d restarts: the test does not cover resuming", runs)
	}
	sameAlerts(t, logged(t, s), fx.replay(t, ooo))
}
