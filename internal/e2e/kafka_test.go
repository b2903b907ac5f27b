package e2e

import (
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/motifcep/motif/client"
	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/internal/workload"
	"github.com/motifcep/motif/kafka/kafkatest"
	kafkasink "github.com/motifcep/motif/kafka/sink"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// `motif serve` reading a Kafka topic of four partitions (one idle), with
// poison records among the events, killed with SIGKILL five times while it
// consumes: the alert topic, read with read_committed, holds exactly
// `motif replay`'s alerts, each once; every poison record is in the
// dead-letter topic with its reason and source position.
func TestKafkaKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the motif binary")
	}
	bin, work, patternsFile, lines, tick, want := fraudReplayed(t)

	const parts = 4
	addrs := kafkatest.Cluster(t, map[string]int32{"events": parts, "alerts": 3, "dead": 1})
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	// Partitioned by key, as a producer keyed by card or user does (the
	// workload's card cN belongs to user uN): events keep their order
	// within a partition. The last partition stays idle, so only idleness
	// lets the watermark move.
	per := make([][][]byte, parts)
	for _, l := range lines {
		p := keyNumber(t, l) % (parts - 1)
		per[p] = append(per[p], l)
	}
	poison := map[string]string{
		`not json`:                              "invalid JSON",
		`{"time":"2026-01-01T00:00:01Z"}`:       `missing "type" field`,
		`{"type":"auth","time":"yesterday"}`:    `"time"`,
		`{"type":"auth","time":"2026-01-01T0"}`: `"time"`,
	}
	poisonValues := slices.Sorted(maps.Keys(poison))
	poisonAt := make([]int, len(poisonValues)) // where each goes in partition 0
	for j := range poisonAt {
		poisonAt[j] = rng.IntN(len(per[0]))
	}

	srv := newServeProc(t, bin, filepath.Join(work, "data"), freeAddr(t),
		"--patterns", patternsFile, "--kafka-brokers", strings.Join(addrs, ","), "--kafka-topics", "events",
		"--alerts-topic", "alerts", "--dead-letter-topic", "dead", "--idle-timeout", "1s",
		"--checkpoint-interval", "1h", "--log-level", "info")
	ready := fraudPatternsServed
	if err := srv.start(t.Context(), ready); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	consumed := func() uint64 {
		st, err := c.Status(t.Context())
		if err != nil {
			return 0
		}
		var n uint64
		for _, p := range st.GetPartitions() {
			n += p.GetCommittedOffset()
		}
		return n
	}

	// The events go in six chunks; after each, the server is killed once
	// it has committed part of what is there, and started again.
	const chunks = 6
	produced := uint64(0)
	for k := range chunks {
		for p := range parts - 1 {
			from, to := len(per[p])*k/chunks, len(per[p])*(k+1)/chunks
			var vals [][]byte
			for i := from; i < to; i++ {
				if p == 0 {
					for j, at := range poisonAt {
						if at == i {
							vals = append(vals, []byte(poisonValues[j]))
						}
					}
				}
				vals = append(vals, per[p][i])
			}
			if k == chunks-1 {
				vals = append(vals, tick)
			}
			if len(vals) > 0 {
				kafkatest.Produce(t, addrs, "events", int32(p), vals...)
				produced += uint64(len(vals))
			}
		}
		if k == chunks-1 {
			break
		}
		target := produced - uint64(rng.IntN(300))
		wait.Within(t, 30*time.Second, "the server to consume part of the chunk", func() bool { return consumed() >= target })
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond) // a random point of its work
		srv.kill()
		if err := srv.start(t.Context(), ready); err != nil {
			t.Fatal(err)
		}
	}
	wait.Within(t, 60*time.Second, "every alert in the alert topic", func() bool {
		return len(kafkatest.ReadAll(t, addrs, "alerts")) >= len(want)
	})
	checkAlertTopic(t, addrs, "alerts", want)

	dead := kafkatest.ReadAll(t, addrs, "dead")
	for value, reason := range poison {
		found := false
		for _, r := range dead {
			if string(r.Value) != value {
				continue
			}
			h := map[string]string{}
			for _, kv := range r.Headers {
				h[kv.Key] = string(kv.Value)
			}
			found = strings.Contains(h["motif-reason"], reason) && h["motif-source-topic"] == "events" && h["motif-source-partition"] == "0"
		}
		if !found {
			t.Errorf("poison record %q not in the dead-letter topic with a reason about %s", value, reason)
		}
	}
}

// keyNumber returns N of the event's card cN or user uN.
func keyNumber(t *testing.T, line []byte) int {
	t.Helper()
	m := keyNum.FindSubmatch(line)
	if m == nil {
		t.Fatalf("no card or user in %s", line)
	}
	n, err := strconv.Atoi(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var keyNum = regexp.MustCompile(`"(?:card_id|user_id)":"[cu](\d+)"`)

// checkAlertTopic compares the alert topic, read with read_committed, with
// replay's alerts: the same alerts, none missing, each id once. It reports
// at most ten differences of each kind and returns the number of alerts in
// the topic.
func checkAlertTopic(tb testing.TB, addrs []string, topic string, want []string) int {
	tb.Helper()
	recs := kafkatest.ReadAll(tb, addrs, topic)
	got := make([]string, 0, len(recs))
	ids := map[string]int{}
	for _, r := range recs {
		got = append(got, stripDetected(r.Value))
		for _, h := range r.Headers {
			if h.Key == kafkasink.HeaderID {
				ids[string(h.Value)]++
			}
		}
	}
	dups := 0
	for id, n := range ids {
		if n != 1 {
			if dups++; dups <= 10 {
				tb.Errorf("alert %s in the topic %d times", id, n)
			}
		}
	}
	slices.Sort(got)
	sorted := slices.Sorted(slices.Values(want))
	if !slices.Equal(got, sorted) {
		tb.Errorf("the alert topic holds %d alerts (%d ids more than once), replay has %d", len(got), dups, len(want))
		missing, extra := 0, 0
		for _, w := range sorted {
			if _, ok := slices.BinarySearch(got, w); !ok {
				if missing++; missing <= 10 {
					tb.Errorf("missing: %s", w)
				}
			}
		}
		for _, g := range got {
			if _, ok := slices.BinarySearch(sorted, g); !ok {
				if extra++; extra <= 10 {
					tb.Errorf("extra: %s", g)
				}
			}
		}
		tb.Errorf("%d missing, %d extra", missing, extra)
	}
	return len(recs)
}

// `motif serve` whose alert topic stalls (the broker holds the sink's
// produce requests): past --alerts-max-lag, matching stops reading and the
// events wait in Kafka, rather than alerts or events piling up in the
// server; once the broker answers again, the alert topic holds exactly
// replay's alerts, each once.
func TestKafkaSlowAlertTopic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the motif binary")
	}
	bin, work, patternsFile, lines, tick, want := fraudReplayed(t)
	const maxLag = 10
	if len(want) < 5*maxLag {
		t.Fatalf("replay finds %d alerts: too few to fill the bound several times", len(want))
	}

	const parts = 2
	cl, addrs := kafkatest.NewCluster(t, map[string]int32{"events": parts, "alerts": 1})
	// The broker holds every transactional produce (the sink's; the test's
	// own producer is not transactional) until released.
	var stalled atomic.Bool
	stalled.Store(true)
	release := make(chan struct{})
	t.Cleanup(func() {
		if stalled.Swap(false) {
			close(release)
		}
	})
	cl.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cl.KeepControl()
		if r, ok := req.(*kmsg.ProduceRequest); ok && r.TransactionID != nil && stalled.Load() {
			cl.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})

	srv := newServeProc(t, bin, filepath.Join(work, "data"), freeAddr(t),
		"--patterns", patternsFile, "--kafka-brokers", strings.Join(addrs, ","), "--kafka-topics", "events",
		"--alerts-topic", "alerts", "--alerts-max-lag", strconv.Itoa(maxLag), "--idle-timeout", "1s",
		"--checkpoint-interval", "1h")
	if err := srv.start(t.Context(), fraudPatternsServed); err != nil {
		t.Fatal(err)
	}
	per := make([][][]byte, parts)
	for _, l := range lines {
		p := keyNumber(t, l) % parts
		per[p] = append(per[p], l)
	}
	num := func(name string) float64 { return metricSum(t, "http://"+srv.addr, name) }
	// Events go in by chunks, each consumed before the next, until the
	// sink's lag holds matching back; then the rest.
	const chunks = 40
	k := 0
	for ; k < chunks && num("motif_input_held") == 0; k++ {
		for p := range parts {
			kafkatest.Produce(t, addrs, "events", int32(p), per[p][len(per[p])*k/chunks:len(per[p])*(k+1)/chunks]...)
		}
		wait.Within(t, 30*time.Second, "the chunk consumed, or matching held back", func() bool {
			return num("motif_source_lag_records") == 0 || num("motif_input_held") == 1
		})
	}
	if k == chunks {
		t.Fatal("matching was never held back")
	}
	for p := range parts {
		kafkatest.Produce(t, addrs, "events", int32(p), append(per[p][len(per[p])*k/chunks:], tick)...)
	}
	c, err := client.New(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	consumed := func() (n uint64) {
		st, err := c.Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range st.GetPartitions() {
			n += p.GetCommittedOffset()
		}
		return n
	}
	// Paused partitions are not fetched: their ends are listed instead.
	wait.Within(t, 30*time.Second, "the events behind the hold to show as lag", func() bool {
		return num("motif_source_lag_records") > 0
	})
	read, sinkLag, held := consumed(), num("motif_alert_sink_lag"), num("motif_input_held_seconds_total")
	wait.Within(t, 30*time.Second, "a second more held", func() bool { return num("motif_input_held_seconds_total") >= held+1 })
	if num("motif_input_held") != 1 {
		t.Fatal("matching resumed while the alert topic stalls")
	}
	if now := consumed(); now != read {
		t.Errorf("%d events consumed while held, want none", now-read)
	}
	if sinkLag < maxLag || num("motif_alert_sink_lag") != sinkLag {
		t.Errorf("alerts waiting for the topic: %v, then %v; want at least %d, and no more while held", sinkLag, num("motif_alert_sink_lag"), maxLag)
	}
	if sinkLag >= float64(len(want)) {
		t.Errorf("every alert (%v) made while the topic stalled: nothing held matching back", sinkLag)
	}

	stalled.Store(false)
	close(release)
	wait.Within(t, 60*time.Second, "every alert in the alert topic", func() bool {
		return len(kafkatest.ReadAll(t, addrs, "alerts")) >= len(want)
	})
	checkAlertTopic(t, addrs, "alerts", want)
	wait.Within(t, 10*time.Second, "matching no longer held", func() bool { return num("motif_input_held") == 0 })
}

// metricSum returns the sum of a metric's samples over all labels in the
// server's /metrics (0 if none).
func metricSum(t *testing.T, url, name string) float64 {
	t.Helper()
	sum := 0.0
	for line := range strings.Lines(metricsText(t, url)) {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			t.Fatalf("%s: %v", strings.TrimSpace(line), err)
		}
		sum += v
	}
	return sum
}

// fraudReplayed builds the motif binary, writes the fraud patterns and the
// e2e fraud events (with a closing tick) into a work directory, and returns
// them with `motif replay`'s alerts over them.
func fraudReplayed(t *testing.T) (bin, work, patternsFile string, lines [][]byte, tick []byte, want []string) {
	t.Helper()
	bin = buildMotif(t)
	work = t.TempDir()
	patternsFile = filepath.Join(work, "fraud.motif")
	if err := os.WriteFile(patternsFile, []byte(workload.FraudPatterns), 0o644); err != nil {
		t.Fatal(err)
	}
	lines, tick = fraudInput(t, fraudEvents, fraudKeys, fraudSeed)
	eventsFile := filepath.Join(work, "events.ndjson")
	if err := os.WriteFile(eventsFile, joinLines(append(lines[:len(lines):len(lines)], tick)...), 0o644); err != nil {
		t.Fatal(err)
	}
	return bin, work, patternsFile, lines, tick, motifReplay(t, bin, patternsFile, eventsFile)
}
