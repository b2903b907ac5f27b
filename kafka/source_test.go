package kafka

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/kafka/kafkatest"
)

func startAt(offsets map[TopicPartition]int64) func(TopicPartition) (int64, bool) {
	return func(tp TopicPartition) (int64, bool) {
		o, ok := offsets[tp]
		return o, ok
	}
}

func TestSourceReadsFromStartOffsets(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"in": 3})
	kafkatest.Produce(t, addrs, "in", 0, values("a", 5)...)
	kafkatest.Produce(t, addrs, "in", 1, values("b", 3)...)
	kafkatest.Produce(t, addrs, "in", 2, values("c", 4)...)

	s := newTestSource(t, addrs, SourceConfig{
		Partitions: []TopicPartition{{"in", 2}, {"in", 0}, {"in", 1}},
		Start: startAt(map[TopicPartition]int64{
			{"in", 0}: 2, // resume mid-log
			{"in", 2}: 4, // at the end: nothing yet
		}), // in/1: not committed, from the earliest offset
	})
	want := []TopicPartition{{"in", 0}, {"in", 1}, {"in", 2}}
	if !slices.Equal(s.Partitions(), want) {
		t.Fatalf("Partitions() = %v, want %v", s.Partitions(), want)
	}
	g := got{}
	pollUntil(t, s, g, 6)
	// Sentinels written after everything else: once each has arrived, a
	// duplicate or a record from before a start offset would have too.
	kafkatest.Produce(t, addrs, "in", 0, []byte("end"))
	kafkatest.Produce(t, addrs, "in", 1, []byte("end"))
	kafkatest.Produce(t, addrs, "in", 2, []byte("end"))
	pollUntil(t, s, g, 9)
	const wantGot = "0:[2=a2 3=a3 4=a4 5=end] 1:[0=b0 1=b1 2=b2 3=end] 2:[4=end]"
	if g.String() != wantGot {
		t.Errorf("delivered %s\nwant      %s", g, wantGot)
	}
	for i, want := range []int64{6, 4, 5} {
		if n := s.Next(i); n != want {
			t.Errorf("Next(%d) = %d, want %d", i, n, want)
		}
	}
}

func TestSourceStopsEarlyAndResumes(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"in": 2})
	kafkatest.Produce(t, addrs, "in", 0, values("a", 10)...)
	kafkatest.Produce(t, addrs, "in", 1, values("b", 7)...)
	s := newTestSource(t, addrs, SourceConfig{Topics: []string{"in"}})

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	g := got{}
	n, err := s.Poll(ctx, func(i int, r *Record) bool { g.add(i, r); return false })
	if err != nil || n != 1 || g.count() != 1 {
		t.Fatalf("Poll stopping at the first record = %d, %v (delivered %s), want 1, nil", n, err, g)
	}
	// The rest, three at a time; TryPoll must deliver what is held at once.
	for g.count() < 17 {
		k := 0
		stopAt3 := func(i int, r *Record) bool { g.add(i, r); k++; return k < 3 }
		before := g.count()
		n, err := s.TryPoll(stopAt3)
		if err == nil && n == 0 {
			k = 0
			n, err = s.Poll(ctx, stopAt3)
		}
		if err != nil {
			t.Fatalf("poll after %s: %v", g, err)
		}
		if n != g.count()-before || n > 3 {
			t.Fatalf("poll returned %d, passed %d (at most 3 wanted)", n, g.count()-before)
		}
	}
	const want = "0:[0=a0 1=a1 2=a2 3=a3 4=a4 5=a5 6=a6 7=a7 8=a8 9=a9] 1:[0=b0 1=b1 2=b2 3=b3 4=b4 5=b5 6=b6]"
	if g.String() != want {
		t.Errorf("delivered %s\nwant      %s", g, want)
	}
	if n, err := s.TryPoll(func(int, *Record) bool { return true }); n != 0 || err != nil {
		t.Errorf("TryPoll after everything = %d, %v; want 0, nil", n, err)
	}
}

func TestSourceDiscoversPartitions(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"b": 1, "a": 3, "other": 2})
	s := newTestSource(t, addrs, SourceConfig{Topics: []string{"b", "a"}})
	want := []TopicPartition{{"a", 0}, {"a", 1}, {"a", 2}, {"b", 0}}
	if !slices.Equal(s.Partitions(), want) {
		t.Fatalf("Partitions() = %v, want %v", s.Partitions(), want)
	}
	kafkatest.Produce(t, addrs, "a", 2, []byte("x"))
	kafkatest.Produce(t, addrs, "b", 0, []byte("y"))
	g := got{}
	pollUntil(t, s, g, 2)
	if g.String() != "2:[0=x] 3:[0=y]" {
		t.Errorf("delivered %s, want 2:[0=x] 3:[0=y]", g)
	}
}

func TestNewSourceRejectsUnknownTopicsAndPartitions(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"a": 2})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for _, tc := range []struct {
		cfg  SourceConfig
		want []string
	}{
		{SourceConfig{Topics: []string{"a", "nope"}}, []string{`topic "nope"`}},
		{SourceConfig{Partitions: []TopicPartition{{"a", 1}, {"a", 5}}}, []string{"partition a/5", "has 2 partitions"}},
	} {
		tc.cfg.Brokers = addrs
		s, err := NewSource(ctx, tc.cfg)
		if err == nil {
			s.Close()
			t.Errorf("NewSource(%+v) succeeded, want an error", tc.cfg)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("NewSource(%+v) = %v, want it to mention %q", tc.cfg, err, w)
			}
		}
	}
	start := SourceConfig{Brokers: addrs, Topics: []string{"a"}, Start: func(TopicPartition) (int64, bool) { return -3, true }}
	if _, err := NewSource(ctx, start); err == nil || !strings.Contains(err.Error(), "a/0: start offset -3") {
		t.Errorf("NewSource with a negative start offset = %v, want an error naming a/0 and -3", err)
	}
}

func TestSourceConfigValidate(t *testing.T) {
	cfg := SourceConfig{
		Partitions:             []TopicPartition{},
		Topics:                 []string{""},
		MaxPollRecords:         -1,
		FetchMaxBytes:          1 << 10,
		FetchMaxPartitionBytes: 1 << 20,
	}
	err := cfg.Validate()
	for _, want := range []string{"no brokers", "empty partition list", "topic 0: empty name", "MaxPollRecords -1", "exceeds FetchMaxBytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to report %q", err, want)
		}
	}
	dup := SourceConfig{Brokers: []string{"x:1"}, Partitions: []TopicPartition{{"a", 0}, {"a", 0}, {"a", -1}}}
	err = dup.Validate()
	for _, want := range []string{"a/0: listed twice", "a/-1: negative partition"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to report %q", err, want)
		}
	}
	ok := SourceConfig{Brokers: []string{"x:1"}, Topics: []string{"a"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate() of a good config = %v", err)
	}
}

func TestSourcePauseResume(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"in": 2})
	s := newTestSource(t, addrs, SourceConfig{Topics: []string{"in"}})
	s.Pause(0)
	s.Pause(0) // idempotent
	if !s.Paused(0) || s.Paused(1) {
		t.Fatalf("Paused = %v, %v; want true, false", s.Paused(0), s.Paused(1))
	}
	kafkatest.Produce(t, addrs, "in", 0, values("a", 3)...)
	kafkatest.Produce(t, addrs, "in", 1, values("b", 2)...)
	g := got{}
	pollUntil(t, s, g, 2)
	// in/1 carries on while in/0 is paused: a record written to in/1
	// after in/0's arrives, and in/0's still do not.
	kafkatest.Produce(t, addrs, "in", 1, []byte("b-late"))
	pollUntil(t, s, g, 3)
	if want := "1:[0=b0 1=b1 2=b-late]"; g.String() != want {
		t.Fatalf("while in/0 paused, delivered %s, want %s", g, want)
	}
	s.Resume(0)
	s.Resume(0) // idempotent
	pollUntil(t, s, g, 6)
	if want := "0:[0=a0 1=a1 2=a2] 1:[0=b0 1=b1 2=b-late]"; g.String() != want {
		t.Errorf("after Resume, delivered %s, want %s", g, want)
	}
}

// Pausing from within the callback holds back the partition's records
// already fetched, in order, until Resume.
func TestSourcePauseFromCallbackHoldsFetchedRecords(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"in": 2})
	kafkatest.Produce(t, addrs, "in", 0, values("a", 6)...)
	kafkatest.Produce(t, addrs, "in", 1, values("b", 3)...)
	s := newTestSource(t, addrs, SourceConfig{Topics: []string{"in"}})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	g := got{}
	for len(g[1]) < 3 {
		_, err := s.Poll(ctx, func(i int, r *Record) bool {
			g.add(i, r)
			if i == 0 && r.Offset == 1 {
				s.Pause(0)
			}
			return true
		})
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
	}
	if want := []string{"0=a0", "1=a1"}; len(g[0]) > 2 {
		t.Fatalf("in/0 delivered %v after being paused at offset 1, want %v", g[0], want)
	}
	if n, err := s.TryPoll(func(i int, r *Record) bool { g.add(i, r); return true }); n != 0 || err != nil {
		t.Fatalf("TryPoll while in/0 is paused = %d, %v (delivered %s); want 0, nil", n, err, g)
	}
	s.Resume(0)
	pollUntil(t, s, g, 9)
	if want := "0:[0=a0 1=a1 2=a2 3=a3 4=a4 5=a5] 1:[0=b0 1=b1 2=b2]"; g.String() != want {
		t.Errorf("delivered %s, want %s", g, want)
	}
}

func TestSourceLag(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"in": 2})
	kafkatest.Produce(t, addrs, "in", 0, values("a", 5)...)
	kafkatest.Produce(t, addrs, "in", 1, values("b", 3)...)
	s := newTestSource(t, addrs, SourceConfig{
		Topics: []string{"in"},
		Start:  startAt(map[TopicPartition]int64{{"in", 0}: 0, {"in", 1}: 1}),
	})
	if lag := s.Lag(); !slices.Equal(lag, []int64{-1, -1}) {
		t.Fatalf("Lag() before any fetch = %v, want [-1 -1]", lag)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	// Read in/0 one record at a time: its fetch reported the high
	// watermark 5, so its lag is 5 minus the next offset.
	s.Pause(1)
	for want := int64(4); want >= 0; want-- {
		if _, err := s.Poll(ctx, func(int, *Record) bool { return false }); err != nil {
			t.Fatalf("Poll: %v", err)
		}
		if lag := s.Lag()[0]; lag != want {
			t.Fatalf("Lag()[0] after reading to %d = %d, want %d", s.Next(0), lag, want)
		}
	}
	s.Resume(1)
	g := got{}
	pollUntil(t, s, g, 2)
	if lag := s.Lag(); !slices.Equal(lag, []int64{0, 0}) {
		t.Errorf("Lag() after reading everything = %v, want [0 0]", lag)
	}
}

func TestSourceOffsetBelowLogStart(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"in": 2})
	kafkatest.Produce(t, addrs, "in", 0, values("a", 10)...)
	kafkatest.Produce(t, addrs, "in", 1, values("b", 2)...)
	deleteRecordsBefore(t, addrs, "in", 0, 6)

	s := newTestSource(t, addrs, SourceConfig{
		Topics: []string{"in"},
		Start:  startAt(map[TopicPartition]int64{{"in", 0}: 2}),
	})
	g := got{}
	perr := pollForError(t, s, g)
	if !errors.Is(perr, ErrOffsetOutOfRange) || perr.Index != 0 || perr.Next != 2 || perr.LogStart != 6 {
		t.Fatalf("error = %#v, want ErrOffsetOutOfRange for index 0 at 2 with log start 6", perr)
	}
	for _, w := range []string{"in/0", "next offset 2", "log start 6"} {
		if !strings.Contains(perr.Error(), w) {
			t.Errorf("error %q does not mention %q", perr, w)
		}
	}
	if !s.Failed(0) || s.Failed(1) {
		t.Errorf("Failed = %v, %v; want true, false", s.Failed(0), s.Failed(1))
	}
	// The other partition carries on.
	pollUntil(t, s, g, 2)
	if want := "1:[0=b0 1=b1]"; g.String() != want {
		t.Fatalf("delivered %s, want %s", g, want)
	}
	// The caller decides to skip what was removed.
	if err := s.Seek(0, perr.LogStart); err != nil {
		t.Fatalf("Seek: %v", err)
	}
	pollUntil(t, s, g, 6)
	if want := "0:[6=a6 7=a7 8=a8 9=a9] 1:[0=b0 1=b1]"; g.String() != want {
		t.Errorf("after Seek, delivered %s, want %s", g, want)
	}
	if s.Failed(0) {
		t.Error("Failed(0) after Seek")
	}
}

func TestSourceOffsetPastLogEnd(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"in": 1})
	kafkatest.Produce(t, addrs, "in", 0, values("a", 3)...)
	s := newTestSource(t, addrs, SourceConfig{
		Topics: []string{"in"},
		Start:  startAt(map[TopicPartition]int64{{"in", 0}: 9}),
	})
	perr := pollForError(t, s, got{})
	if !errors.Is(perr, ErrOffsetOutOfRange) || perr.Next != 9 || perr.HighWatermark != 3 {
		t.Fatalf("error = %#v, want ErrOffsetOutOfRange at 9 with high watermark 3", perr)
	}
	if !strings.Contains(perr.Error(), "in/0: next offset 9 is past the log end 3") {
		t.Errorf("error = %q", perr)
	}
}

func TestSourceTopicDeleted(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"in": 1, "keep": 1})
	s := newTestSource(t, addrs, SourceConfig{Topics: []string{"in", "keep"}, MissingAfter: 100 * time.Millisecond})
	kafkatest.Produce(t, addrs, "in", 0, []byte("x"))
	g := got{}
	pollUntil(t, s, g, 1)
	adm := kadm.NewClient(kafkatest.Client(t, addrs))
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := adm.DeleteTopics(ctx, "in"); err != nil {
		t.Fatalf("DeleteTopics: %v", err)
	}
	perr := pollForError(t, s, g)
	if !errors.Is(perr, ErrPartitionMissing) || perr.TopicPartition != (TopicPartition{"in", 0}) || perr.Next != 1 {
		t.Fatalf("error = %v, want ErrPartitionMissing for in/0 at 1", perr)
	}
}

func TestSourceReadCommitted(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"in": 1})
	kafkatest.Produce(t, addrs, "in", 0, []byte("a"))                        // 0
	kafkatest.ProduceTxn(t, addrs, "in", 0, false, []byte("x"), []byte("y")) // 1, 2, abort marker 3
	kafkatest.ProduceTxn(t, addrs, "in", 0, true, []byte("b"), []byte("c"))  // 4, 5, commit marker 6
	kafkatest.Produce(t, addrs, "in", 0, []byte("d"))                        // 7
	kafkatest.ProduceTxn(t, addrs, "in", 0, false, []byte("z"))              // 8, abort marker 9
	s := newTestSource(t, addrs, SourceConfig{Topics: []string{"in"}})
	g := got{}
	pollUntil(t, s, g, 4)
	if want := "0:[0=a 4=b 5=c 7=d]"; g.String() != want {
		t.Errorf("delivered %s, want %s", g, want)
	}
	// The trailing aborted transaction and its marker are skipped too.
	wait.For(t, "lag to reach 0 past the last marker", func() bool {
		if _, err := s.TryPoll(func(i int, r *Record) bool { g.add(i, r); return true }); err != nil {
			t.Fatalf("TryPoll: %v", err)
		}
		return s.Lag()[0] == 0
	})
	if s.Next(0) != 10 || g.count() != 4 {
		t.Errorf("Next(0) = %d with %s delivered; want 10 and nothing more", s.Next(0), g)
	}
}

// Pause, Resume and Lag from another goroutine while polling (for -race).
func TestSourceConcurrentControl(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"in": 2})
	kafkatest.Produce(t, addrs, "in", 0, values("a", 50)...)
	kafkatest.Produce(t, addrs, "in", 1, values("b", 50)...)
	s := newTestSource(t, addrs, SourceConfig{Topics: []string{"in"}, MaxPollRecords: 7})
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			s.Pause(i % 2)
			_ = s.Lag()
			s.Resume(i % 2)
		}
	}()
	g := got{}
	pollUntil(t, s, g, 100)
	close(done)
	<-stopped
	for i, p := range []string{"a", "b"} {
		for off, v := range g[i] {
			if want := strings.Join([]string{itoa(off), "=", p, itoa(off)}, ""); v != want {
				t.Fatalf("partition %d record %d = %s, want %s", i, off, v, want)
			}
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestSourceClosed(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"in": 1})
	s := newTestSource(t, addrs, SourceConfig{Topics: []string{"in"}})
	s.Close()
	s.Close()
	if _, err := s.Poll(context.Background(), func(int, *Record) bool { return true }); !errors.Is(err, ErrClosed) {
		t.Errorf("Poll after Close = %v, want ErrClosed", err)
	}
	if err := s.Seek(0, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Seek after Close = %v, want ErrClosed", err)
	}
}

func TestSourcePollHonoursContext(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"in": 1})
	s := newTestSource(t, addrs, SourceConfig{Topics: []string{"in"}})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	n, err := s.Poll(ctx, func(int, *Record) bool { return true })
	if n != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Poll on an empty topic = %d, %v; want 0, DeadlineExceeded", n, err)
	}
}

// pollForError polls, recording records, until Poll returns a
// *PartitionError.
func pollForError(t *testing.T, s *Source, g got) *PartitionError {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for {
		_, err := s.Poll(ctx, func(i int, r *Record) bool { g.add(i, r); return true })
		if err == nil {
			continue
		}
		var perr *PartitionError
		if !errors.As(err, &perr) {
			t.Fatalf("Poll = %v, want a *PartitionError", err)
		}
		return perr
	}
}

func deleteRecordsBefore(t *testing.T, addrs []string, topic string, partition int32, offset int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var os kadm.Offsets
	os.AddOffset(topic, partition, offset, -1)
	resp, err := kadm.NewClient(kafkatest.Client(t, addrs)).DeleteRecords(ctx, os)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("DeleteRecords %s/%d before %d: %v", topic, partition, offset, err)
	}
}

func TestSourceSeekRereads(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"in": 1})
	kafkatest.Produce(t, addrs, "in", 0, values("a", 5)...)
	s := newTestSource(t, addrs, SourceConfig{Topics: []string{"in"}})
	g := got{}
	pollUntil(t, s, g, 5)
	if err := s.Seek(0, 2); err != nil {
		t.Fatalf("Seek: %v", err)
	}
	if s.Next(0) != 2 || s.Lag()[0] != -1 {
		t.Errorf("after Seek, Next = %d and Lag = %d; want 2 and -1 until the next fetch", s.Next(0), s.Lag()[0])
	}
	pollUntil(t, s, g, 8)
	if want := "0:[0=a0 1=a1 2=a2 3=a3 4=a4 2=a2 3=a3 4=a4]"; g.String() != want {
		t.Errorf("delivered %s, want %s", g, want)
	}
	for _, bad := range []struct {
		index int
		next  int64
	}{{1, 0}, {-1, 0}, {0, -5}} {
		if err := s.Seek(bad.index, bad.next); err == nil {
			t.Errorf("Seek(%d, %d) succeeded, want an error", bad.index, bad.next)
		}
	}
}
