package raftstate

import (
	"io"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// FSM is the replicated state machine of a Motif cluster: the raft.FSM
// that applies committed commands to a State.
//
// Raft calls Apply, Snapshot and Restore from one goroutine. Any goroutine
// may call State and Changed at any time; they take no lock.
//
// Apply must be deterministic: every node applies the same log, so every
// node must reach the same State at every index. Apply therefore reads no
// clock (a time in a command is the proposer's), never lets the iteration
// order of a map decide anything, and rejects a command (with an error as
// its response, leaving the state as it was) only on grounds that every
// node sees the same way: the state at that index and the command's bytes.
//
// Snapshot is fast: States are immutable and every change makes a new one
// that shares what did not change (copy-on-write), so a snapshot is the
// current State's pointer. Persist encodes it while Apply goes on.
type FSM struct {
	cur atomic.Pointer[version]
}

var _ raft.FSM = (*FSM)(nil)

// version is one State and the channel that is closed when it is replaced.
type version struct {
	state   *State
	changed chan struct{}
}

// NewFSM returns an FSM holding the empty state.
func NewFSM() *FSM {
	f := &FSM{}
	f.cur.Store(&version{state: emptyState(), changed: make(chan struct{})})
	return f
}

// State returns the current state. It is immutable, and stays valid (and
// unchanged) after later commands.
func (f *FSM) State() *State { return f.cur.Load().state }

// Changed returns a channel that is closed when the state is next replaced:
// by an applied command that changed something, or by a restored snapshot.
// Take the channel before reading State, so that no change falls between
// the two:
//
//	for {
//		ch := f.Changed()
//		react(f.State())
//		<-ch
//	}
func (f *FSM) Changed() <-chan struct{} { return f.cur.Load().changed }

// Apply applies a committed log entry. Its response is the new *State when
// the command was accepted (the same State if it changed nothing), or an
// error when it was rejected: ErrStaleRevision, ErrStaleEpoch,
// ErrUnknownPartition, ErrUnknownMember, or one wrapping ErrCorrupt.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	old := f.cur.Load()
	s, err := apply(old.state, l.Index, l.Data)
	if err != nil {
		return err
	}
	if s != old.state {
		f.publish(s)
	}
	return s
}

// Snapshot returns the current state, to be persisted while Apply goes on.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{state: f.State()}, nil
}

// Restore replaces the state with the one a snapshot holds.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	s, err := readSnapshot(rc)
	if err != nil {
		return err
	}
	f.publish(s)
	return nil
}

// publish makes s the current state and wakes whoever waits on Changed.
func (f *FSM) publish(s *State) {
	old := f.cur.Swap(&version{state: s, changed: make(chan struct{})})
	close(old.changed)
}

// fsmSnapshot is a State waiting to be persisted.
type fsmSnapshot struct {
	state *State
}

var _ raft.FSMSnapshot = (*fsmSnapshot)(nil)

// Persist writes the state to sink and closes it, or cancels it on error.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := writeSnapshot(sink, s.state); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

// Release does nothing: the state is garbage once nobody holds it.
func (s *fsmSnapshot) Release() {}
