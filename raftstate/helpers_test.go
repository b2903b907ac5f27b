package raftstate

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// memSink is a raft.SnapshotSink that keeps what is written in memory.
type memSink struct {
	bytes.Buffer
	closed, cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Close() error  { s.closed = true; return nil }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }

// persist returns the snapshot of f's current state.
func persist(t testing.TB, f *FSM) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	if !sink.closed || sink.cancelled {
		t.Fatalf("sink closed %v, cancelled %v; want closed", sink.closed, sink.cancelled)
	}
	return sink.Bytes()
}

// logFSM is an FSM with the index of the next log entry it applies.
type logFSM struct {
	*FSM
	next uint64
}

func newLogFSM() *logFSM { return &logFSM{FSM: NewFSM(), next: 1} }

// apply applies cmd as the next log entry and returns the response.
func (f *logFSM) apply(cmd []byte) any {
	l := &raft.Log{Index: f.next, Term: 1, Type: raft.LogCommand, Data: cmd}
	f.next++
	return f.Apply(l)
}

// mustApply applies cmd and fails the test if it is rejected.
func (f *logFSM) mustApply(t testing.TB, cmd []byte) *State {
	t.Helper()
	switch r := f.apply(cmd).(type) {
	case *State:
		return r
	case error:
		t.Fatalf("applying %s: %v", kind(cmd[0]), r)
	default:
		t.Fatalf("applying %s: response %T", kind(cmd[0]), r)
	}
	return nil
}

// mustReject applies cmd and returns the error it is rejected with,
// failing the test if it is accepted or the state changes.
func (f *logFSM) mustReject(t testing.TB, cmd []byte) error {
	t.Helper()
	before := f.State()
	ch := f.Changed()
	r := f.apply(cmd)
	err, ok := r.(error)
	if !ok {
		t.Fatalf("applying %s: accepted (%T), want rejected", kind(cmd[0]), r)
	}
	if f.State() != before {
		t.Fatalf("applying %s: rejected, but the state changed", kind(cmd[0]))
	}
	select {
	case <-ch:
		t.Fatalf("applying %s: rejected, but Changed was closed", kind(cmd[0]))
	default:
	}
	return err
}

func addMember(id string) []byte {
	return encodeJSON(kindAddMember, addMemberCmd{
		ID: id, RaftAddr: id + ":7946", APIAddr: id + ":7000",
		Joined: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano(),
	})
}

func removeMember(id string) []byte {
	return encodeJSON(kindRemoveMember, removeMemberCmd{ID: id})
}

func setPartitions(topic string, n int) []byte {
	var c setPartitionsCmd
	for i := range n {
		c.Partitions = append(c.Partitions, partitionJSON{Topic: topic, Partition: int32(i)})
	}
	return encodeJSON(kindSetPartitions, c)
}

func part(topic string, i int32) Partition { return Partition{Topic: topic, Partition: i} }

// assign gives p to owner, computed from epoch from.
func assign(p Partition, from uint64, owner string) []byte {
	return encodeJSON(kindAssign, assignCmd{Assign: []assignment{{
		Topic: p.Topic, Partition: p.Partition, From: from, Owner: owner,
	}}})
}

func checkpoint(p Partition, epoch, offset uint64) []byte {
	return encodeCheckpoint(checkpointCmd{Partition: p, Epoch: epoch, Meta: CheckpointMeta{
		Offset: offset, Watermark: int64(offset) * 1000, AlertPosition: offset / 2, Lag: int64(offset) + 3,
	}})
}

// checkpointV1 is a checkpoint command as versions before the lag wrote
// it (kindCheckpointV1): the fields of checkpoint but the lag.
func checkpointV1(p Partition, epoch, offset uint64) []byte {
	b := []byte{byte(kindCheckpointV1)}
	b = be.AppendUint64(b, epoch)
	b = be.AppendUint64(b, offset)
	b = be.AppendUint64(b, offset*1000)
	b = be.AppendUint64(b, offset/2)
	b = be.AppendUint32(b, uint32(p.Partition))
	return append(b, p.Topic...)
}

func catalog(from uint64, doc string) []byte {
	return encodeCatalog(catalogCmd{From: from, Doc: []byte(doc)})
}

// owners describes who owns what in s, e.g. "t/0=a@1 t/1=b@2".
func owners(s *State) string {
	var b bytes.Buffer
	for i, ps := range s.Partitions() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s@%d", ps.Partition, ps.Owner, ps.Epoch)
	}
	return b.String()
}
