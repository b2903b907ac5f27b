package statebench

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"
)

// Memory is the process's memory at one moment.
type Memory struct {
	HeapObjects uint64 // Go heap occupied by objects, live or not yet swept
	HeapLive    uint64 // Go heap marked live by the last GC
	GoTotal     uint64 // all memory the Go runtime mapped
	RSS         uint64 // resident set size (VmRSS), including memory Go does not manage
}

// Max is the larger of each figure of m and o.
func (m Memory) Max(o Memory) Memory {
	return Memory{max(m.HeapObjects, o.HeapObjects), max(m.HeapLive, o.HeapLive),
		max(m.GoTotal, o.GoTotal), max(m.RSS, o.RSS)}
}

var memoryMetrics = []string{
	"/memory/classes/heap/objects:bytes",
	"/gc/heap/live:bytes",
	"/memory/classes/total:bytes",
}

// ReadMemory reads the process's memory now.
func ReadMemory() Memory {
	s := make([]metrics.Sample, len(memoryMetrics))
	for i, name := range memoryMetrics {
		s[i].Name = name
	}
	metrics.Read(s)
	u := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return Memory{HeapObjects: u(0), HeapLive: u(1), GoTotal: u(2), RSS: RSS()}
}

// RSS returns the process's resident set size (VmRSS in
// /proc/self/status), or 0 where there is none.
func RSS() uint64 { return procField("/proc/self/status", "VmRSS:") << 10 }

// Written returns the bytes the process has passed to write calls so far
// (wchar in /proc/self/io), or 0 where there is none.
func Written() uint64 { return procField("/proc/self/io", "wchar:") }

// procField reads the number after name in a /proc file of "name value
// [unit]" lines, or 0.
func procField(path, name string) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte(name)); ok {
			num, _, _ := bytes.Cut(bytes.TrimSpace(v), []byte(" "))
			n, err := strconv.ParseUint(string(num), 10, 64)
			if err != nil {
				return 0
			}
			return n
		}
	}
	return 0
}

// Sampler reads the process's memory periodically and keeps the peaks.
type Sampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	peak Memory
}

// StartSampler samples every interval until Stop.
func StartSampler(every time.Duration) *Sampler {
	s := &Sampler{stop: make(chan struct{}), peak: ReadMemory()}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			m := ReadMemory()
			s.mu.Lock()
			s.peak = s.peak.Max(m)
			s.mu.Unlock()
		}
	}()
	return s
}

// Peak returns the peaks so far, and resets them to now's figures.
func (s *Sampler) Peak() Memory {
	m := ReadMemory()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.peak.Max(m)
	s.peak = m
	return p
}

// Stop stops sampling and returns the peaks since the last Peak.
func (s *Sampler) Stop() Memory {
	close(s.stop)
	s.wg.Wait()
	return s.Peak()
}

// GCPauses is the histogram of the process's GC stop-the-world pauses so
// far (/sched/pauses/total/gc:seconds).
type GCPauses struct {
	counts  []uint64
	buckets []float64
}

// ReadGCPauses reads the pauses so far.
func ReadGCPauses() GCPauses { return readPauses("/sched/pauses/total/gc:seconds") }

// ReadGCStopping reads the part of the pauses so far spent stopping the
// world (/sched/pauses/stopping/gc:seconds): waiting for every goroutine to
// stop, which a busy machine, or a goroutine slow to preempt, draws out.
func ReadGCStopping() GCPauses { return readPauses("/sched/pauses/stopping/gc:seconds") }

func readPauses(name string) GCPauses {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return GCPauses{}
	}
	h := s[0].Value.Float64Histogram()
	return GCPauses{counts: append([]uint64(nil), h.Counts...), buckets: h.Buckets}
}

// Since returns the pauses after earlier (a reading of the same process).
func (p GCPauses) Since(earlier GCPauses) GCPauses {
	out := GCPauses{counts: append([]uint64(nil), p.counts...), buckets: p.buckets}
	for i := range out.counts {
		if i < len(earlier.counts) {
			out.counts[i] -= earlier.counts[i]
		}
	}
	return out
}

// Plus returns the pauses of p and o (readings of the same process).
func (p GCPauses) Plus(o GCPauses) GCPauses {
	if p.counts == nil {
		return o
	}
	out := GCPauses{counts: append([]uint64(nil), p.counts...), buckets: p.buckets}
	for i := range out.counts {
		if i < len(o.counts) {
			out.counts[i] += o.counts[i]
		}
	}
	return out
}

// Count returns the number of pauses.
func (p GCPauses) Count() uint64 {
	var n uint64
	for _, c := range p.counts {
		n += c
	}
	return n
}

// Quantile returns an upper bound of the q-quantile of the pauses (the
// upper edge of its histogram bucket); 0 without pauses.
func (p GCPauses) Quantile(q float64) time.Duration {
	total := p.Count()
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, c := range p.counts {
		seen += c
		if seen >= rank && c > 0 {
			hi := p.buckets[i+1]
			if math.IsInf(hi, 1) {
				hi = p.buckets[i]
			}
			return time.Duration(hi * float64(time.Second))
		}
	}
	return 0
}

// Max returns an upper bound of the longest pause.
func (p GCPauses) Max() time.Duration { return p.Quantile(1) }
