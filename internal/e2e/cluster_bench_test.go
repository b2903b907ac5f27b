package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/internal/workload"
	"github.com/motifcep/motif/kafka/kafkatest"
)

// The cluster's figures, measured with real `motif serve` processes on
// 127.0.0.1-3 against an in-process kfake broker, all on this machine:
//
//	MOTIF_BENCH_CLUSTER=1 go test ./internal/e2e -run '^$' \
//	    -bench 'BenchmarkCluster(Failover|Scaling)' -benchtime 1x -count 3 -timeout 30m
//
// Each run of either takes one to two minutes; the figures of
// docs/cluster.md are medians of three. Every node and the broker share
// the machine's cores: the figures are for comparing builds of Motif on
// one machine, not for sizing a deployment.

// The failover workload: ocRate events a second over ocParts partitions,
// round robin, their event times following the wall clock. On the chosen
// partition ocOpen keys have an open and no close yet, on the others
// ocOthers; once there, each event of a partition is a close of a random
// open key with probability ocCloseFrac (an alert; the next event of the
// partition opens a new key, so the count stays), else a close of a key
// never opened (seen by the pattern, matching nothing).
const (
	ocParts     = 3
	ocRate      = 10_000
	ocOpen      = 100_000
	ocOthers    = 1_000
	ocCloseFrac = 0.03
	ocPatterns  = `event open  { k: string }
event close { k: string }

## A key opened, then closed within ten minutes.
pattern open_close {
    key    k
    within 10m
    begin       o: open
    followed_by c: close
    emit low "{k} closed"
}
`
)

// openClose makes the events of one partition of the failover workload;
// its keys are prefix + a number.
type openClose struct {
	prefix string
	target int
	open   []int
	next   int
	rng    *rand.Rand
}

// appendEvent appends the partition's next event, with id and time at.
func (g *openClose) appendEvent(b []byte, id uint64, at time.Time) []byte {
	typ, key := "close", ""
	switch {
	case len(g.open) < g.target:
		typ, key = "open", g.prefix+strconv.Itoa(g.next)
		g.open = append(g.open, g.next)
		g.next++
	case g.rng.Float64() < ocCloseFrac:
		i := g.rng.IntN(len(g.open))
		key = g.prefix + strconv.Itoa(g.open[i])
		g.open[i] = g.open[len(g.open)-1]
		g.open = g.open[:len(g.open)-1]
	default:
		key = g.prefix + "x" + strconv.Itoa(g.rng.IntN(1_000_000))
	}
	return fmt.Appendf(b, `{"type":%q,"time":%q,"id":"e%d","k":%q}`, typ, at.UTC().Format(time.RFC3339Nano), id, key)
}

// steadyProducer produces the failover workload at ocRate, keeping every
// event in an NDJSON file for `motif replay`.
type steadyProducer struct {
	gens     []*openClose
	chosen   int
	cl       *kgo.Client
	file     *os.File
	path     string // the events file
	produced [ocParts]atomic.Uint64

	mu  sync.Mutex
	err error

	cancel context.CancelFunc
	done   chan struct{}
}

func startSteadyProducer(tb testing.TB, brokers []string, eventsFile string, chosen int) *steadyProducer {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(2*time.Millisecond))
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(eventsFile)
	if err != nil {
		tb.Fatal(err)
	}
	p := &steadyProducer{chosen: chosen, cl: cl, file: f, path: eventsFile, done: make(chan struct{})}
	for i := range ocParts {
		target := ocOthers
		if i == chosen {
			target = ocOpen
		}
		p.gens = append(p.gens, &openClose{prefix: fmt.Sprintf("p%d-", i), target: target, rng: rand.New(rand.NewPCG(uint64(i), 11))})
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go p.run(ctx)
	tb.Cleanup(func() { p.stop(tb) })
	return p
}

// run produces ticks of ocRate/100 events every 10ms of wall time, their
// event times spread over the tick, until ctx ends.
func (p *steadyProducer) run(ctx context.Context) {
	defer close(p.done)
	const tick = 10 * time.Millisecond
	const perTick = ocRate / 100
	w := bufio.NewWriterSize(p.file, 1<<20)
	defer w.Flush()
	start := time.Now()
	var seq uint64
	var line []byte
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * tick)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(at)):
		}
		for j := range perTick {
			part := int(seq % ocParts)
			seq++
			g := p.gens[part]
			line = g.appendEvent(line[:0], seq, at.Add(time.Duration(j)*tick/perTick))
			w.Write(line)
			w.WriteByte('\n')
			p.produced[part].Add(1)
			// Not ctx: a record cancelled in the client's buffer would be
			// in the events file and not in Kafka.
			p.cl.Produce(context.Background(), &kgo.Record{Topic: "events", Partition: int32(part), Value: slices.Clone(line)}, p.failed)
		}
	}
}

func (p *steadyProducer) failed(_ *kgo.Record, err error) {
	if err == nil {
		return
	}
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

// stop ends the production, waits until every record produced is
// acknowledged, and closes the events file; then produced is final.
func (p *steadyProducer) stop(tb testing.TB) {
	tb.Helper()
	p.cancel()
	<-p.done
	if p.file == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	if err := p.cl.Flush(ctx); err != nil {
		tb.Errorf("flushing the events: %v", err)
	}
	p.cl.Close()
	if err := p.file.Close(); err != nil {
		tb.Error(err)
	}
	p.file = nil
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		tb.Errorf("producing the events: %v", p.err)
	}
}

// counts returns how many events each partition was given.
func (p *steadyProducer) counts() map[int32]uint64 {
	out := map[int32]uint64{}
	for i := range p.produced {
		out[int32(i)] = p.produced[i].Load()
	}
	return out
}

// failoverRun is what one failover measured.
type failoverRun struct {
	killed                         time.Time
	owner                          string        // the partition's new owner
	reassign, firstAlert, caughtUp time.Duration // from the kill
	prep, replay                   time.Duration // in the new owner's log: from assignment to replay, the replay
	replayed                       uint64        // records the new owner replayed with alerts dropped, by its log
	replayedMetric                 float64       // the same, by its /metrics
	openBefore, openAfter          float64       // open partial matches of the partition before the kill, and on the new owner at the end
	alerts                         int
}

// A three-node cluster over ocParts partitions, ocRate events a second,
// ocOpen open partial matches on one partition owned by a node that is not
// the leader: that node is killed with SIGKILL. Measured from the kill:
// until the partition has a new owner in the cluster's status, until the
// alert topic (read_committed) has the first alert of that partition that
// the new owner wrote, and until the new owner is within a second of the
// live end of the partition. Then the alert topic must hold exactly
// `motif replay`'s alerts over every event produced, each once.
func BenchmarkClusterFailover(b *testing.B) {
	bin := clusterBench(b)
	var runs []failoverRun
	for range b.N {
		runs = append(runs, runFailover(b, bin))
	}
	figure := func(unit string, f func(failoverRun) float64) {
		var xs []float64
		for _, r := range runs {
			xs = append(xs, f(r))
		}
		b.ReportMetric(median(xs), unit)
	}
	b.ReportMetric(0, "ns/op")
	figure("kill-to-reassign-s", func(r failoverRun) float64 { return r.reassign.Seconds() })
	figure("kill-to-first-alert-s", func(r failoverRun) float64 { return r.firstAlert.Seconds() })
	figure("kill-to-caught-up-s", func(r failoverRun) float64 { return r.caughtUp.Seconds() })
	figure("takeover-prep-s", func(r failoverRun) float64 { return r.prep.Seconds() })
	figure("replay-s", func(r failoverRun) float64 { return r.replay.Seconds() })
	figure("replayed-records", func(r failoverRun) float64 { return float64(r.replayed) })
	figure("open-matches-before", func(r failoverRun) float64 { return r.openBefore })
	figure("open-matches-after", func(r failoverRun) float64 { return r.openAfter })
	figure("alerts", func(r failoverRun) float64 { return float64(r.alerts) })
}

// runFailover runs one failover and returns what it measured.
func runFailover(b *testing.B, bin string) failoverRun {
	f := startFailover(b, bin)
	f.build(b)
	run := f.kill(b)
	f.check(b, &run)
	b.Logf("%s killed: partition %d on %s after %v, assigned to replay %v, replay of %d records (%.0f by its metrics) %v, "+
		"first alert after %v, within a second of live after %v; %.0f open matches on it at the end",
		f.victim.id, f.chosen, run.owner, run.reassign.Round(time.Millisecond), run.prep.Round(time.Millisecond), run.replayed, run.replayedMetric,
		run.replay.Round(time.Millisecond), run.firstAlert.Round(time.Millisecond), run.caughtUp.Round(time.Millisecond), run.openAfter)
	return run
}

// failover is a running failover benchmark.
type failover struct {
	bin, patternsFile, eventsFile string
	brokers                       []string
	ms                            []*member
	watch                         *alertWatch
	leader                        string
	chosen                        int     // the partition whose owner is killed
	victim                        *member // its owner
	prod                          *steadyProducer
	open                          float64 // the chosen partition's open partial matches, as its owner last exported them
}

// prefix is the prefix of the chosen partition's keys.
func (f *failover) prefix() string { return fmt.Sprintf("p%d-", f.chosen) }

// startFailover starts three nodes and chooses the partition of a node
// that is not the leader.
func startFailover(b *testing.B, bin string) *failover {
	work := b.TempDir()
	f := &failover{bin: bin, patternsFile: filepath.Join(work, "open_close.motif"), eventsFile: filepath.Join(work, "events.ndjson")}
	if err := os.WriteFile(f.patternsFile, []byte(ocPatterns), 0o644); err != nil {
		b.Fatal(err)
	}
	f.brokers = kafkatest.Cluster(b, map[string]int32{"events": ocParts, "alerts": 1})
	f.watch = watchAlerts(b, f.brokers, "alerts")
	f.ms = startCluster(b, bin, work, f.patternsFile, f.brokers, 3, patternsServed(1))
	wait.Within(b, 30*time.Second, "partitions spread over three nodes", func() bool {
		return balancedOver(clusterStatus(f.ms), ocParts, "n1", "n2", "n3")
	})
	cs := clusterStatus(f.ms)
	f.leader = cs.GetLeaderId()
	for _, p := range cs.GetPartitions() {
		for _, m := range f.ms {
			if f.victim == nil && m.id == p.GetOwner() && m.id != f.leader {
				f.chosen, f.victim = int(p.GetPartition()), m
			}
		}
	}
	if f.victim == nil {
		b.Fatalf("no partition owned by a follower: %v", cs)
	}
	return f
}

// build produces until the chosen partition's owner has matched ocOpen
// open keys and alerts of the partition keep coming.
func (f *failover) build(b *testing.B) {
	f.prod = startSteadyProducer(b, f.brokers, f.eventsFile, f.chosen)
	start := time.Now()
	what := fmt.Sprintf("%d open matches on partition %d, and its alerts", ocOpen, f.chosen)
	wait.Within(b, 3*time.Minute, what, throttled(100*time.Millisecond, func() bool {
		n, _ := partitionMetric(b, f.victim, "partial_matches", f.chosen)
		f.open = n
		return n >= 0.99*ocOpen && f.watch.count(f.prefix()) >= 200
	}))
	b.Logf("partition %d: %.0f open matches on %s (the leader is %s) after %v; %d of its alerts so far",
		f.chosen, f.open, f.victim.id, f.leader, time.Since(start).Round(time.Millisecond), f.watch.count(f.prefix()))
}

// kill kills the chosen partition's owner and measures the takeover.
func (f *failover) kill(b *testing.B) failoverRun {
	killed := time.Now()
	f.victim.proc.kill()
	// Every alert the killed node wrote is below the end of the alert
	// topic now: the first of the partition at or past it is the new
	// owner's.
	end := endOffset(b, f.brokers, "alerts")
	run := failoverRun{killed: killed}
	wait.Within(b, time.Minute, "a new owner of partition "+strconv.Itoa(f.chosen), func() bool {
		for _, p := range clusterStatus(f.ms, f.victim).GetPartitions() {
			if int(p.GetPartition()) == f.chosen && p.GetOwner() != f.victim.id && p.GetOwner() != "" {
				run.owner = p.GetOwner()
				return true
			}
		}
		return false
	})
	run.reassign = time.Since(killed)
	var first seenAlert
	wait.Within(b, 2*time.Minute, "the new owner's first alert", throttled(10*time.Millisecond, func() bool {
		var ok bool
		first, ok = f.watch.first(f.prefix(), end)
		return ok
	}))
	run.firstAlert = first.at.Sub(killed)
	wait.Within(b, 2*time.Minute, "the new owner within a second of the live end", throttled(50*time.Millisecond, func() bool {
		return liveOffsets(b, f.ms, f.victim)[int32(f.chosen)]+ocRate/ocParts >= f.prod.produced[f.chosen].Load()
	}))
	run.caughtUp = time.Since(killed)
	run.openBefore = f.open
	return run
}

// check stops the events, waits until the live members have matched them
// all, and compares the alert topic with `motif replay`.
func (f *failover) check(b *testing.B, run *failoverRun) {
	f.prod.stop(b)
	var last map[int32]uint64
	b.Cleanup(func() {
		if b.Failed() {
			b.Logf("events produced per partition %v; committed %v", f.prod.counts(), last)
		}
	})
	wait.Within(b, time.Minute, "every event matched", throttled(100*time.Millisecond, func() bool {
		last = liveOffsets(b, f.ms, f.victim)
		return reached(last, f.prod.counts())
	}))
	want := motifReplay(b, f.bin, f.patternsFile, f.eventsFile)
	wait.Within(b, time.Minute, "every alert in the alert topic", throttled(100*time.Millisecond, func() bool {
		return f.watch.total() >= len(want)
	}))
	run.alerts = checkAlertTopic(b, f.brokers, "alerts", want)
	if err := f.watch.failure(); err != nil {
		b.Errorf("reading the alert topic: %v", err)
	}
	run.prep, run.replay, run.replayed = takeoverLog(b, f.ms, run.owner, f.chosen, run.killed)
	for _, m := range f.ms {
		if m.id != run.owner {
			continue
		}
		run.openAfter, _ = partitionMetric(b, m, "partial_matches", f.chosen)
		// The owner counts the replayed records once a second.
		wait.Within(b, 10*time.Second, "the records replayed in the new owner's metrics", throttled(100*time.Millisecond, func() bool {
			run.replayedMetric, _ = partitionMetric(b, m, "replayed_records_total", f.chosen)
			return run.replayedMetric == float64(run.replayed)
		}))
	}
	for _, m := range f.ms {
		if err := m.proc.died(); err != nil {
			b.Errorf("%s: %v", m.id, err)
		}
	}
}

// takeoverLog reads from the log of member id its takeover of partition
// part after since: how long from being assigned the partition to starting
// the replay (fencing the old owner's producer, reading the committed
// position, finding where the replay starts), how long the replay took,
// and how many records it replayed with alerts dropped.
func takeoverLog(tb testing.TB, ms []*member, id string, part int, since time.Time) (prep, replay time.Duration, replayed uint64) {
	tb.Helper()
	var log string
	for _, m := range ms {
		if m.id == id {
			log = m.proc.log()
		}
	}
	tag := fmt.Sprintf("partition=events/%d ", part)
	after := func(lines []logLine, t time.Time) (logLine, bool) {
		for _, l := range lines {
			if !l.at.Before(t) {
				return l, true
			}
		}
		return logLine{}, false
	}
	assigned, ok1 := after(logLines(tb, log, "partition assigned: starting it", tag), since)
	took, ok2 := after(logLines(tb, log, "taking the partition over", tag), since)
	done, ok3 := after(logLines(tb, log, "replay done"), took.at)
	if !ok1 || !ok2 || !ok3 {
		tb.Errorf("%s logged no whole takeover of partition %d (assigned %v, takeover %v, replay done %v)", id, part, ok1, ok2, ok3)
		return 0, 0, 0
	}
	from, _ := logAttr(took.text, "replay_from")
	to, _ := logAttr(took.text, "alerts_from")
	return took.at.Sub(assigned.at), done.at.Sub(took.at), to - from
}

// The scaling workload: scaleEvents events of workload.Fraud over its
// default 100k cards, in scaleParts partitions by card (and user) number.
const (
	scaleEvents = 2_000_000
	scaleParts  = 6
)

// The fraud workload, in Kafka before the cluster starts, matched by a
// cluster of one, two and three nodes: how many events a second the
// cluster matches, from the moment the events become readable until every
// partition's committed offset is at its end, and the efficiency of n
// nodes, throughput(n) / (n × throughput(1)). The events are written in
// one open transaction that is committed once the partitions are spread
// over the nodes, so that no node matches before the others have joined.
// Every node shares this machine's cores with the others and the broker.
func BenchmarkClusterScaling(b *testing.B) {
	bin := clusterBench(b)
	patternsFile, per, want := scalingInput(b, bin)
	// With -count, each size runs count times in a row: the efficiency of
	// n nodes is against the median of every run of one node so far.
	var single []float64
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			var rates, cores, others []float64
			for range b.N {
				r, c, o := runScaling(b, bin, patternsFile, per, want, n)
				rates, cores, others = append(rates, r), append(cores, c), append(others, o)
			}
			rate := median(rates)
			if n == 1 {
				single = append(single, rates...)
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(rate, "events/s")
			b.ReportMetric(median(cores), "node-cores")
			b.ReportMetric(median(others), "other-work-cores")
			if len(single) > 0 {
				b.ReportMetric(rate/(float64(n)*median(single)), "efficiency")
			}
		})
	}
}

// scalingInput writes the fraud patterns and returns them with the
// scaling workload's events of each partition, each ending with a tick,
// and `motif replay`'s alerts over them.
func scalingInput(b *testing.B, bin string) (patternsFile string, per [][][]byte, want []string) {
	work := b.TempDir()
	patternsFile = filepath.Join(work, "fraud.motif")
	if err := os.WriteFile(patternsFile, []byte(workload.FraudPatterns), 0o644); err != nil {
		b.Fatal(err)
	}
	lines, tick := fraudInput(b, scaleEvents, 0, fraudSeed)
	per = make([][][]byte, scaleParts)
	for _, l := range lines {
		m := keyNum.FindSubmatch(l)
		if m == nil {
			b.Fatalf("no card or user in %s", l)
		}
		n, err := strconv.Atoi(string(m[1]))
		if err != nil {
			b.Fatal(err)
		}
		per[n%scaleParts] = append(per[n%scaleParts], l)
	}
	// Every partition ends with the tick: its watermark passes every
	// window, as replay's end of input does.
	for p := range per {
		per[p] = append(per[p], tick)
	}
	eventsFile := filepath.Join(work, "events.ndjson")
	if err := os.WriteFile(eventsFile, joinLines(append(lines[:len(lines):len(lines)], tick)...), 0o644); err != nil {
		b.Fatal(err)
	}
	return patternsFile, per, motifReplay(b, bin, patternsFile, eventsFile)
}

// runScaling matches the events of per (one slice a partition) with a
// cluster of n nodes. It returns the events matched a second, the cores
// the nodes used meanwhile, and the cores other work on the machine took
// (this process and its broker aside).
func runScaling(b *testing.B, bin, patternsFile string, per [][][]byte, want []string, n int) (rate, cores, others float64) {
	brokers := kafkatest.Cluster(b, map[string]int32{"events": scaleParts, "alerts": 1})
	commit := produceUncommitted(b, brokers, per)
	ms := startCluster(b, bin, b.TempDir(), patternsFile, brokers, n, fraudPatternsServed)
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.id)
	}
	wait.Within(b, time.Minute, "partitions spread over the nodes", func() bool {
		return balancedOver(clusterStatus(ms), scaleParts, ids...)
	})
	ends := map[int32]uint64{}
	total := 0
	for p, vals := range per {
		ends[int32(p)] = uint64(len(vals))
		total += len(vals)
	}
	start, cpu, self, all := time.Now(), membersCPU(ms), selfCPU(), machineCPU()
	commit()
	wait.Within(b, 5*time.Minute, "every partition matched to its end", throttled(100*time.Millisecond, func() bool {
		return reached(liveOffsets(b, ms), ends)
	}))
	elapsed := time.Since(start)
	secs := elapsed.Seconds()
	cores = (membersCPU(ms) - cpu) / secs
	bench := (selfCPU() - self) / secs
	others = (machineCPU()-all)/secs - cores - bench
	b.Logf("%d nodes: %d events in %v; cores used by the nodes %.2f, the broker and benchmark %.2f, other work %.2f",
		n, total, elapsed.Round(time.Millisecond), cores, bench, others)
	wait.Within(b, time.Minute, "every alert in the alert topic", throttled(500*time.Millisecond, func() bool {
		return len(kafkatest.ReadAll(b, brokers, "alerts")) >= len(want)
	}))
	checkAlertTopic(b, brokers, "alerts", want)
	for _, m := range ms {
		if err := m.proc.died(); err != nil {
			b.Errorf("%s: %v", m.id, err)
		}
	}
	return float64(total) / secs, cores, others
}

// produceUncommitted writes per[p] to partition p of "events" in one
// transaction, and returns the function that commits it: until then a
// read_committed consumer (a node) reads none of them.
func produceUncommitted(tb testing.TB, brokers []string, per [][][]byte) (commit func()) {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.TransactionalID(fmt.Sprintf("motif-bench-events-%d", time.Now().UnixNano())),
		kgo.TransactionTimeout(10*time.Minute))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(cl.Close)
	if err := cl.BeginTransaction(); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const chunk = 10_000
	for p, vals := range per {
		for from := 0; from < len(vals); from += chunk {
			recs := make([]*kgo.Record, 0, chunk)
			for _, v := range vals[from:min(from+chunk, len(vals))] {
				recs = append(recs, &kgo.Record{Topic: "events", Partition: int32(p), Value: v})
			}
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				tb.Fatalf("producing to events/%d: %v", p, err)
			}
		}
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
		defer cancel()
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			tb.Fatalf("committing the events: %v", err)
		}
	}
}
