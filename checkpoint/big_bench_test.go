package checkpoint

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// BenchmarkBigState measures, over 1 GiB of key states (a million 1 KiB
// states, written in commits of 10,000 as a saturated pipeline would), how
// long writing them takes and how often Pebble stalled the writes, how
// long a checkpoint takes and how long reopening the store takes, as
// after a kill. It writes a gigabyte, so it runs only when MOTIF_BENCH_BIG
// is set:
//
//	MOTIF_BENCH_BIG=1 go test ./checkpoint -run '^$' -bench BigState -benchtime 1x
func BenchmarkBigState(b *testing.B) {
	if os.Getenv("MOTIF_BENCH_BIG") == "" {
		b.Skip("set MOTIF_BENCH_BIG=1 to write 1 GiB")
	}
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	state := make([]byte, 1024)
	rng := rand.New(rand.NewPCG(1, 2))
	key := make([]byte, 8)
	const states, perBatch = 1 << 20, 10000
	fill := time.Now()
	for i := 0; i < states; i += perBatch {
		bt := s.NewBatch()
		for j := i; j < i+perBatch && j < states; j++ {
			binary.BigEndian.PutUint64(key, uint64(j))
			for k := 0; k < len(state); k += 8 {
				binary.LittleEndian.PutUint64(state[k:], rng.Uint64()) // incompressible
			}
			bt.PutState("p", 1, key, state)
		}
		if err := bt.Commit(false); err != nil {
			b.Fatal(err)
		}
	}
	fillTime := time.Since(fill)
	st := s.Stats()
	b.ResetTimer()
	var ck, reopen time.Duration
	for b.Loop() {
		start := time.Now()
		info, err := s.Checkpoint(context.Background(), Meta{})
		if err != nil {
			b.Fatal(err)
		}
		ck = time.Since(start)
		b.ReportMetric(float64(info.Size)/(1<<30), "GiB")
	}
	b.StopTimer()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	s, err = Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, ok, err := s.GetState("p", 1, key); err != nil || !ok {
		b.Fatalf("state after reopen: %v %v", ok, err)
	}
	reopen = time.Since(start)
	s.Close()
	b.ReportMetric(fillTime.Seconds(), "fill-s")
	b.ReportMetric(float64(st.WriteStalls), "stalls")
	b.ReportMetric(st.WriteStallTime.Seconds(), "stalled-s")
	b.ReportMetric(ck.Seconds(), "checkpoint-s")
	b.ReportMetric(reopen.Seconds(), "reopen-s")
}
