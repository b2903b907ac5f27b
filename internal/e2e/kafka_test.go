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
	"testing"
	"time"

	"github.com/motifcep/motif/client"
	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/internal/workload"
	"github.com/motifcep/motif/kafka/kafkatest"
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
	bin := buildMotif(t)
	work := t.TempDir()
	patternsFile := filepath.Join(work, "fraud.motif")
	if err := os.WriteFile(patternsFile, []byte(workload.FraudPatterns), 0o644); err != nil {
		t.Fatal(err)
	}
	lines, tick := fraudInput(t, fraudEvents, fraudKeys, fraudSeed)
	eventsFile := filepath.Join(work, "events.ndjson")
	if err := os.WriteFile(eventsFile, joinLines(append(lines[:len(lines):len(lines)], tick)...), 0o644); err != nil {
		t.Fatal(err)
	}
	want := motifReplay(t, bin, patternsFile, eventsFile)

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
	recs := kafkatest.ReadAll(t, addrs, "alerts")
	var got []string
	ids := map[string]int{}
	for _, r := range recs {
		got = append(got, stripDetected(r.Value))
		for _, h := range r.Headers {
			if h.Key == "motif-alert-id" {
				ids[string(h.Value)]++
			}
		}
	}
	slices.Sort(got)
	sorted := slices.Sorted(slices.Values(want))
	if !slices.Equal(got, sorted) {
		t.Errorf("the alert topic holds %d alerts, replay has %d", len(got), len(want))
		for _, w := range sorted {
			if _, ok := slices.BinarySearch(got, w); !ok {
				t.Errorf("missing: %s", w)
			}
		}
		for _, g := range got {
			if _, ok := slices.BinarySearch(sorted, g); !ok {
				t.Errorf("extra: %s", g)
			}
		}
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("alert %s in the topic %d times", id, n)
		}
	}

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
