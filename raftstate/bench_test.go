package raftstate

import (
	"bytes"
	"fmt"
	"testing"
)

// benchFSM is an FSM with three members and n partitions of topic "t",
// all owned by member a at epochs 1..n, and a catalog of docBytes.
func benchFSM(b *testing.B, n, docBytes int) *logFSM {
	b.Helper()
	f := newLogFSM()
	for _, id := range []string{"a", "b", "c"} {
		f.mustApply(b, addMember(id))
	}
	f.mustApply(b, setPartitions("t", n))
	var all assignCmd
	for i := range n {
		all.Assign = append(all.Assign, assignment{Topic: "t", Partition: int32(i), Owner: "a"})
	}
	f.mustApply(b, encodeJSON(kindAssign, all))
	f.mustApply(b, catalog(0, string(bytes.Repeat([]byte("x"), docBytes))))
	return f
}

// BenchmarkApply applies checkpoint commands, one partition after another,
// as the owners of n partitions checkpoint them. The state is copied on
// write, so an apply copies the slice of n partition pointers: its cost
// grows with n, slowly.
func BenchmarkApply(b *testing.B) {
	for _, n := range []int{16, 256, 4096} {
		b.Run(fmt.Sprintf("partitions=%d", n), func(b *testing.B) {
			f := benchFSM(b, n, 0)
			cmds := make([][]byte, n)
			for i := range cmds {
				cmds[i] = checkpoint(part("t", int32(i)), uint64(i+1), 1000)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err, ok := f.apply(cmds[i%n]).(error); ok {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSnapshot takes a snapshot of a state with n partitions and a
// 64 KiB catalog (what blocks Apply), and persists it (what runs beside
// Apply).
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{256, 4096} {
		f := benchFSM(b, n, 64<<10)
		b.Run(fmt.Sprintf("take/partitions=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				snap, err := f.Snapshot()
				if err != nil {
					b.Fatal(err)
				}
				snap.Release()
			}
		})
		b.Run(fmt.Sprintf("persist/partitions=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var sink memSink
			for b.Loop() {
				sink.Reset()
				snap, _ := f.Snapshot()
				if err := snap.Persist(&sink); err != nil {
					b.Fatal(err)
				}
				snap.Release()
			}
			b.SetBytes(int64(sink.Len()))
		})
	}
}
