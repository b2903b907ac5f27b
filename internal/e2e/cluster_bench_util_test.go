package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/motifcep/motif/client"
	"github.com/motifcep/motif/kafka/kafkatest"
)

// The cluster benchmarks run real `motif serve` processes for minutes, so
// they run only when asked. The helpers of cluster_test.go take a
// *testing.T; those below are their testing.TB forms, for benchmarks.

// clusterBenchEnv must be "1" for the cluster benchmarks to run.
const clusterBenchEnv = "MOTIF_BENCH_CLUSTER"

// clusterBench skips b unless the cluster benchmarks are asked for, and
// builds the motif binary (without the race detector) into a temporary
// directory of b's.
func clusterBench(b *testing.B) (bin string) {
	b.Helper()
	if os.Getenv(clusterBenchEnv) != "1" {
		b.Skipf("runs minutes of real `motif serve` processes: set %s=1", clusterBenchEnv)
	}
	if raceEnabled {
		b.Skip("figures measured under the race detector mean nothing")
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		b.Fatal(err)
	}
	bin = filepath.Join(b.TempDir(), "motif")
	if out, err := exec.Command(gotool, "build", "-o", bin, "github.com/motifcep/motif/cmd/motif").CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/motif: %v\n%s", err, out)
	}
	return bin
}

// patternsServed is ready when the server serves with n patterns.
func patternsServed(n int) func(context.Context, *client.Client) error {
	return func(ctx context.Context, c *client.Client) error {
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		if len(st.GetPatterns()) != n {
			return fmt.Errorf("%d patterns, want %d", len(st.GetPatterns()), n)
		}
		return nil
	}
}

// reached reports whether every partition in want has its committed offset
// at or past want's.
func reached(got map[int32]uint64, want map[int32]uint64) bool {
	if got == nil {
		return false
	}
	for p, n := range want {
		if got[p] < n {
			return false
		}
	}
	return true
}

// throttled returns cond called at most once every d; in between it
// answers false. It keeps a waiting benchmark from spending the cores it
// measures on status calls.
func throttled(d time.Duration, cond func() bool) func() bool {
	var last time.Time
	return func() bool {
		if time.Since(last) < d {
			return false
		}
		last = time.Now()
		return cond()
	}
}

// seenAlert is an alert record as the watcher read it.
type seenAlert struct {
	offset int64
	key    string
	at     time.Time // when the watcher read it
}

// alertWatch reads the alert topic with read_committed from its start as
// alerts are committed, noting when it reads each.
type alertWatch struct {
	mu   sync.Mutex
	seen []seenAlert
	err  error
}

// watchAlerts starts an alertWatch on topic's partition 0; the test's
// cleanup stops it.
func watchAlerts(tb testing.TB, addrs []string, topic string) *alertWatch {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		tb.Fatal(err)
	}
	w := &alertWatch{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			now := time.Now()
			w.mu.Lock()
			fs.EachError(func(_ string, _ int32, err error) {
				if ctx.Err() == nil && w.err == nil {
					w.err = err
				}
			})
			fs.EachRecord(func(r *kgo.Record) {
				w.seen = append(w.seen, seenAlert{offset: r.Offset, key: string(r.Key), at: now})
			})
			w.mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
		cl.Close()
	})
	return w
}

// first returns the first alert read that is at or past offset and whose
// key has prefix.
func (w *alertWatch) first(prefix string, offset int64) (seenAlert, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, a := range w.seen {
		if a.offset >= offset && strings.HasPrefix(a.key, prefix) {
			return a, true
		}
	}
	return seenAlert{}, false
}

// count returns how many alerts whose key has prefix were read.
func (w *alertWatch) count(prefix string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, a := range w.seen {
		if strings.HasPrefix(a.key, prefix) {
			n++
		}
	}
	return n
}

// total returns how many alerts were read.
func (w *alertWatch) total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.seen)
}

func (w *alertWatch) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// endOffset is the high watermark of partition 0 of topic: every record
// written so far, committed or not, is below it.
func endOffset(tb testing.TB, addrs []string, topic string) int64 {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	l, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err == nil {
		err = l.Error()
	}
	if err != nil {
		tb.Fatal(err)
	}
	o, ok := l.Lookup(topic, 0)
	if !ok {
		tb.Fatalf("no partition 0 of %s", topic)
	}
	return o.Offset
}

// logLine is a line of a server's log (slog text) with its time.
type logLine struct {
	at   time.Time
	text string
}

var logTime = regexp.MustCompile(`^time=(\S+) `)

// logLines returns the lines of a server's log holding every one of subs,
// with their times.
func logLines(tb testing.TB, log string, subs ...string) []logLine {
	tb.Helper()
	var out []logLine
	for line := range strings.Lines(log) {
		if !contains(line, subs...) {
			continue
		}
		m := logTime.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			tb.Fatalf("log time %q: %v", m[1], err)
		}
		out = append(out, logLine{at: at, text: strings.TrimSpace(line)})
	}
	return out
}

// logAttr returns the value of attribute name in a slog text line.
func logAttr(line, name string) (uint64, bool) {
	m := regexp.MustCompile(` ` + regexp.QuoteMeta(name) + `=(\d+)`).FindStringSubmatch(line)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	return n, err == nil
}

// median returns the median of xs (the mean of the middle two for an
// even count).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cpuSeconds returns the CPU time (user and system) the running server
// used so far, from /proc; ok is false where there is none.
func (p *serveProc) cpuSeconds() (secs float64, ok bool) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil {
		return 0, false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err != nil {
		return 0, false
	}
	// The fields after the command name, which ends with the last ')':
	// state is field 3, utime 14 and stime 15, in clock ticks (100 a
	// second on Linux).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return (ut + st) / 100, true
}

// membersCPU is the CPU time all members used so far.
func membersCPU(ms []*member) float64 {
	total := 0.0
	for _, m := range ms {
		s, _ := m.proc.cpuSeconds()
		total += s
	}
	return total
}

// selfCPU is the CPU time this process (the benchmark and its in-process
// broker) used so far.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// machineCPU is the CPU time every process of the machine used so far,
// and the time the hypervisor gave to others (steal), from /proc/stat (0
// where there is none): less what this process and the members used, it
// is what other work took from the cores measured.
func machineCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	busy := 0.0
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || i >= 8 { // guest times are in user already
			break
		}
		busy += x
	}
	return busy / 100
}

// partitionMetric returns the value of member m's per-partition metric
// motif_cluster_partition_<name> for partition part of "events"; ok is
// false when m does not export it (it does not own the partition).
func partitionMetric(tb testing.TB, m *member, name string, part int) (v float64, ok bool) {
	tb.Helper()
	v, ok = partitionMetrics(tb, m, name)[int32(part)]
	return v, ok
}

// partitionMetrics returns member m's per-partition metric
// motif_cluster_partition_<name> of every partition of "events" it owns.
func partitionMetrics(tb testing.TB, m *member, name string) map[int32]float64 {
	tb.Helper()
	res, err := http.Get("http://" + m.proc.addr + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[int32]float64{}
	prefix := "motif_cluster_partition_" + name + `{partition="`
	for line := range strings.Lines(string(body)) {
		rest, found := strings.CutPrefix(line, prefix)
		if !found {
			continue
		}
		part, rest, _ := strings.Cut(rest, `"`)
		value, found := strings.CutPrefix(rest, `,topic="events"} `)
		if !found {
			continue
		}
		p, err1 := strconv.Atoi(part)
		v, err2 := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err1 != nil || err2 != nil {
			tb.Fatalf("%s: not a partition's value", strings.TrimSpace(line))
		}
		out[int32(p)] = v
	}
	return out
}

// liveOffsets returns the next offset to match of every partition as of
// its last commit, from the /metrics of the members (but skip) that own
// them.
func liveOffsets(tb testing.TB, ms []*member, skip ...*member) map[int32]uint64 {
	tb.Helper()
	out := map[int32]uint64{}
	for _, m := range ms {
		if slices.Contains(skip, m) {
			continue
		}
		for p, v := range partitionMetrics(tb, m, "committed_offset") {
			out[p] = max(out[p], uint64(v))
		}
	}
	return out
}
