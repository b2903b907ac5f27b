package kafkatest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestProduceReadAll(t *testing.T) {
	addrs := Cluster(t, map[string]int32{"in": 3, "empty": 2})
	Produce(t, addrs, "in", 2, []byte("c0"), []byte("c1"))
	Produce(t, addrs, "in", 0, []byte("a0"))
	ProduceTxn(t, addrs, "in", 0, false, []byte("aborted"))
	ProduceTxn(t, addrs, "in", 0, true, []byte("a1"), []byte("a2"))

	got := describe(ReadAll(t, addrs, "in"))
	want := "0@0=a0 0@3=a1 0@4=a2 2@0=c0 2@1=c1"
	if got != want {
		t.Errorf("ReadAll(in) = %s, want %s", got, want)
	}
	if got := ReadAll(t, addrs, "empty"); len(got) != 0 {
		t.Errorf("ReadAll(empty) = %d records, want none", len(got))
	}
}

func TestClusterRejectsZeroPartitions(t *testing.T) {
	ft := &fatalRecorder{TB: t}
	func() {
		defer func() { _ = recover() }()
		Cluster(ft, map[string]int32{"bad": 0})
	}()
	if ft.msg == "" {
		t.Fatal("Cluster with a 0-partition topic did not fail the test")
	}
}

// fatalRecorder records Fatalf instead of stopping the test; Fatalf panics to
// stop the helper as runtime.Goexit would.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f.msg)
}

func describe(recs []*kgo.Record) string {
	parts := make([]string, len(recs))
	for i, r := range recs {
		parts[i] = fmt.Sprintf("%d@%d=%s", r.Partition, r.Offset, r.Value)
	}
	return strings.Join(parts, " ")
}
