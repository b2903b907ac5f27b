package checkpoint

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkAppend measures the embedded log: records of 200 bytes, one or
// sixteen per call, from one caller or many. records/s is the throughput;
// calls/group and records/group show how many calls one synced commit
// carried.
func BenchmarkAppend(b *testing.B) {
	for _, tc := range []struct {
		callers, perCall int
	}{{1, 1}, {1, 16}, {8, 1}, {64, 1}, {64, 16}} {
		b.Run(fmt.Sprintf("callers=%d/records=%d", tc.callers, tc.perCall), func(b *testing.B) {
			benchAppend(b, tc.callers, tc.perCall)
		})
	}
}

func benchAppend(b *testing.B, callers, perCall int) {
	s := open(b, b.TempDir(), Options{})
	recs := make([][]byte, perCall)
	for i := range recs {
		recs[i] = make([]byte, 200)
	}
	b.SetBytes(int64(200 * perCall))
	b.ReportAllocs()
	if callers == 1 {
		for b.Loop() {
			if _, err := s.Append(0, recs); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		// RunParallel starts parallelism*GOMAXPROCS goroutines.
		b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Append(0, recs); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	st := s.Stats()
	b.ReportMetric(float64(st.LogRecords)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(st.LogAppends)/float64(max(st.LogGroupCommits, 1)), "calls/group")
	b.ReportMetric(float64(st.LogRecords)/float64(max(st.LogGroupCommits, 1)), "records/group")
}

// BenchmarkStateRoundTrip puts a 256-byte state in a batch, commits it
// without sync (as the engine does between synced commits) and reads it
// back, over 10,000 keys.
func BenchmarkStateRoundTrip(b *testing.B) {
	s := open(b, b.TempDir(), Options{})
	state := make([]byte, 256)
	key := make([]byte, 8)
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		binary.BigEndian.PutUint64(key, i%10_000)
		i++
		batch := s.NewBatch()
		batch.PutState("fraud", 1, key, state)
		if err := batch.Commit(false); err != nil {
			b.Fatal(err)
		}
		got, ok, err := s.GetState("fraud", 1, key)
		if err != nil || !ok || len(got) != len(state) {
			b.Fatalf("GetState = %d bytes, %v, %v", len(got), ok, err)
		}
	}
}

// BenchmarkTimers measures the timer index as a watermark moves: each op
// registers 100 timers ahead and fires (visits and deletes) the 100 that
// the watermark passes, over a standing population of 10,000.
func BenchmarkTimers(b *testing.B) {
	const perOp, standing = 100, 10_000
	s := open(b, b.TempDir(), Options{})
	key := make([]byte, 8)
	put := func(batch *Batch, at int64) {
		binary.BigEndian.PutUint64(key, uint64(at))
		batch.PutTimer(at, "fraud", 1, key)
	}
	batch := s.NewBatch()
	for at := range int64(standing) {
		put(batch, at)
	}
	commit(b, batch)
	next, wm := int64(standing), int64(-1)
	b.ReportAllocs()
	for b.Loop() {
		batch := s.NewBatch()
		for range perOp {
			put(batch, next)
			next++
		}
		wm += perOp
		fired := 0
		err := s.Timers(wm, func(at int64, p string, v uint32, k []byte) bool {
			batch.DeleteTimer(at, p, v, k)
			fired++
			return true
		})
		if err != nil || fired != perOp {
			b.Fatalf("fired %d timers, %v", fired, err)
		}
		if err := batch.Commit(false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "timers/s")
}
