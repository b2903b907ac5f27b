package raftstate_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/motifcep/motif/raftstate"
	"github.com/motifcep/motif/raftstate/rafttest"
)

// testContext is a context that ends with the test or after
// rafttest.Timeout.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), rafttest.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// counts is how many partitions each member owns ("" for unassigned).
func counts(s *raftstate.State) map[string]int {
	out := map[string]int{}
	for _, ps := range s.Partitions() {
		out[ps.Owner]++
	}
	return out
}

// agreed reports whether every running node has applied the same state as
// the first (by index) and returns it.
func agreed(c *rafttest.Cluster) (*raftstate.State, bool) {
	nodes := c.Running()
	s := nodes[0].Cluster().State()
	for _, n := range nodes[1:] {
		if n.Cluster().State().Index() != s.Index() {
			return nil, false
		}
	}
	return s, true
}

// applyCatalog changes the catalog to doc on the leader, computed from the
// leader's revision, and returns the new catalog.
func applyCatalog(t *testing.T, ctx context.Context, c *rafttest.Cluster, doc []byte) raftstate.Catalog {
	t.Helper()
	var cat raftstate.Catalog
	err := c.OnLeader(func(l *raftstate.Cluster) (err error) {
		cat, err = l.ApplyCatalog(ctx, l.State().Catalog().Revision, doc)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func TestCatalogReplicated(t *testing.T) {
	c := rafttest.Start(t, 3)
	ctx := testContext(t)

	cat := applyCatalog(t, ctx, c, []byte(`{"patterns":["a"]}`))
	if cat.Revision == 0 || cat.Index == 0 || string(cat.Doc) != `{"patterns":["a"]}` {
		t.Fatalf("catalog = %q revision %d at index %d", cat.Doc, cat.Revision, cat.Index)
	}
	c.WaitFor("the catalog on every node, at the same index", func() bool {
		for _, n := range c.Nodes {
			got := n.Cluster().State().Catalog()
			if got.Revision != cat.Revision || got.Index != cat.Index || !bytes.Equal(got.Doc, cat.Doc) {
				return false
			}
		}
		return true
	})

	err := c.OnLeader(func(l *raftstate.Cluster) error {
		_, err := l.ApplyCatalog(ctx, cat.Revision-1, []byte(`{}`))
		return err
	})
	if !errors.Is(err, raftstate.ErrStaleRevision) {
		t.Errorf("change from revision %d after revision %d: %v, want ErrStaleRevision", cat.Revision-1, cat.Revision, err)
	}

	leader := c.Leader()
	for _, f := range c.Followers() {
		fc := f.Cluster()
		p := raftstate.Partition{Topic: "tx", Partition: 0}
		for name, err := range map[string]error{
			"ApplyCatalog":  func() error { _, err := fc.ApplyCatalog(ctx, cat.Revision, []byte(`{}`)); return err }(),
			"Checkpoint":    fc.Checkpoint(ctx, p, 1, raftstate.CheckpointMeta{}),
			"SetPartitions": fc.SetPartitions(ctx, []raftstate.Partition{p}),
			"AddMember":     fc.AddMember(ctx, "node-9", "127.0.0.9:1", "127.0.0.9:7000"),
			"RemoveMember":  fc.RemoveMember(ctx, "node-1"),
		} {
			var nl *raftstate.NotLeaderError
			if !errors.As(err, &nl) || !errors.Is(err, raftstate.ErrNotLeader) {
				t.Errorf("%s on follower %s: %v, want a NotLeaderError", name, f.ID(), err)
				continue
			}
			if nl.LeaderID != leader.ID() && nl.LeaderID == c.Leader().ID() {
				continue // the leader changed meanwhile
			}
			if nl.LeaderID != leader.ID() || nl.LeaderAPIAddr != leader.APIAddr() {
				t.Errorf("%s on follower %s: leader %s at %s, want %s at %s",
					name, f.ID(), nl.LeaderID, nl.LeaderAPIAddr, leader.ID(), leader.APIAddr())
			}
		}
	}
	c.WaitFor("every node to agree", func() bool { _, ok := agreed(c); return ok })
	s, _ := agreed(c)
	if got := s.Catalog(); got.Revision != cat.Revision {
		t.Errorf("after refused writes: catalog revision %d, want %d", got.Revision, cat.Revision)
	}
	if _, ok := s.Member("node-9"); ok || len(s.Partitions()) != 0 {
		t.Errorf("after refused writes: members %v, partitions %v", s.Members(), s.Partitions())
	}
}

// TestCatalogConcurrentChanges has two writers change the catalog at the
// same time, each reading it on a different node and computing its change
// from what it read: no change is lost.
func TestCatalogConcurrentChanges(t *testing.T) {
	c := rafttest.Start(t, 3)
	ctx := testContext(t)
	const perWriter = 10
	readers := []*raftstate.Cluster{c.Leader().Cluster(), c.Followers()[0].Cluster()}
	nodes := map[string]*raftstate.Cluster{}
	for _, n := range c.Nodes {
		nodes[n.ID()] = n.Cluster()
	}

	var wg sync.WaitGroup
	errs := make(chan error, len(readers))
	for w, reader := range readers {
		wg.Go(func() {
			for i := range perWriter {
				token := fmt.Sprintf("w%d.%d", w, i)
				if err := appendToken(ctx, nodes, reader, token); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	got := c.Leader().Cluster().State().Catalog()
	tokens := strings.Fields(string(got.Doc))
	slices.Sort(tokens)
	var want []string
	for w := range readers {
		for i := range perWriter {
			want = append(want, fmt.Sprintf("w%d.%d", w, i))
		}
	}
	slices.Sort(want)
	if !slices.Equal(tokens, want) || got.Revision != uint64(len(want)) {
		t.Errorf("catalog revision %d holds %q\nwant revision %d holding %q", got.Revision, tokens, len(want), want)
	}
}

// appendToken adds token to the catalog as a node would: it reads the
// catalog on reader, proposes the change to the leader (as reader knows
// it), and on ErrStaleRevision waits for reader to see a newer revision
// and tries again, unless that revision holds the token already (a change
// whose leader was lost before it knew the outcome).
func appendToken(ctx context.Context, nodes map[string]*raftstate.Cluster, reader *raftstate.Cluster, token string) error {
	for {
		changed := reader.Changed()
		cat := reader.State().Catalog()
		if slices.Contains(strings.Fields(string(cat.Doc)), token) {
			return nil
		}
		leader, _, err := reader.WaitLeader(ctx)
		if err != nil {
			return err
		}
		doc := strings.TrimSpace(string(cat.Doc) + " " + token)
		_, err = nodes[leader].ApplyCatalog(ctx, cat.Revision, []byte(doc))
		switch {
		case err == nil:
			return nil
		case errors.Is(err, raftstate.ErrNotLeader), errors.Is(err, raftstate.ErrLeadershipLost):
			select { // let an election finish
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
			continue
		case !errors.Is(err, raftstate.ErrStaleRevision):
			return err
		}
		for reader.State().Catalog().Revision == cat.Revision {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-changed:
				changed = reader.Changed()
			}
		}
	}
}

// TestLeaderFailover kills the leader: a new one is elected with the state
// intact; the old one, restarted on its directory after the log it lacks
// was compacted away, catches up through a snapshot.
func TestLeaderFailover(t *testing.T) {
	const trailing = 4
	c := rafttest.Start(t, 3, func(_ int, cfg *raftstate.Config) {
		cfg.SnapshotThreshold = 8
		cfg.TrailingLogs = trailing
		cfg.SnapshotInterval = 50 * time.Millisecond
		// raft-wal deletes log segments whole, and serves entries from a
		// segment it still has even below the log's first index: with
		// segments smaller than one catalog change (see pad below), the
		// compacted entries really go.
		cfg.WALSegmentSize = 1024
	})
	ctx := testContext(t)
	cat := applyCatalog(t, ctx, c, []byte("first"))
	parts := []raftstate.Partition{{Topic: "tx", Partition: 0}, {Topic: "tx", Partition: 1}}
	if err := c.OnLeader(func(l *raftstate.Cluster) error { return l.SetPartitions(ctx, parts) }); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("every node to have the catalog and the partitions", func() bool {
		s, ok := agreed(c)
		return ok && s.Catalog().Index == cat.Index && len(s.Partitions()) == len(parts)
	})
	old := c.Leader()
	oldCluster := old.Cluster()
	old.Kill()
	oldStatus := oldCluster.Status() // final: raft is shut down
	oldLast := oldStatus.LastIndex

	leader := c.Leader()
	if term := leader.Cluster().Status().Term; term <= oldStatus.Term {
		t.Errorf("new leader %s in term %d, the killed one led in term %d", leader.ID(), term, oldStatus.Term)
	}
	s := leader.Cluster().State()
	if got := s.Catalog(); got.Revision != cat.Revision || got.Index != cat.Index || !bytes.Equal(got.Doc, cat.Doc) {
		t.Errorf("catalog on the new leader = %q revision %d index %d, want %q revision %d index %d",
			got.Doc, got.Revision, got.Index, cat.Doc, cat.Revision, cat.Index)
	}
	if got := len(s.Partitions()); got != len(parts) {
		t.Errorf("the new leader knows %d partitions, want %d", got, len(parts))
	}

	// Write until a snapshot lets the leader drop the log after oldLast.
	// The log kept after a snapshot at S starts at S-trailing at the
	// latest; the segment holding oldLast+1 may also hold a few entries
	// the new leader wrote before the first catalog change (each change
	// fills a segment by itself), hence the margin.
	const margin = 16
	pad := strings.Repeat(".", 2048)
	deadline := time.Now().Add(rafttest.Timeout)
	for c.Leader().Cluster().Status().LastSnapshotIndex <= oldLast+trailing+margin {
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot past index %d", oldLast+trailing+margin)
		}
		cat = applyCatalog(t, ctx, c, fmt.Appendf(nil, "%d%s", cat.Revision+1, pad))
	}

	old.Restart()
	c.WaitFor("the restarted node to catch up", func() bool {
		got := old.Cluster().State().Catalog()
		return got.Index == cat.Index && bytes.Equal(got.Doc, cat.Doc)
	})
	if snap := old.Cluster().Status().LastSnapshotIndex; snap <= oldLast {
		t.Errorf("restarted node: last snapshot at index %d, want past %d (installed from the leader)", snap, oldLast)
	}
	if got := c.Leader(); got == old {
		t.Log("the restarted node became the leader again")
	}
}

// TestRebalance assigns 6 partitions over 3 nodes, kills one and restarts
// it: its partitions move to the others under new epochs, its stale epoch
// is fenced, and it gets two partitions back, the least that must move.
func TestRebalance(t *testing.T) {
	c := rafttest.Start(t, 3)
	ctx := testContext(t)
	var parts []raftstate.Partition
	for i := range int32(6) {
		parts = append(parts, raftstate.Partition{Topic: "tx", Partition: i})
	}
	if err := c.OnLeader(func(l *raftstate.Cluster) error { return l.SetPartitions(ctx, parts) }); err != nil {
		t.Fatal(err)
	}
	balanced := func(s *raftstate.State, want map[string]int) bool {
		return maps.Equal(counts(s), want)
	}
	all := map[string]int{"node-1": 2, "node-2": 2, "node-3": 2}
	var before *raftstate.State
	c.WaitFor("2 partitions on each node, on every node", func() bool {
		s, ok := agreed(c)
		before = s
		return ok && balanced(s, all)
	})

	victim := c.Followers()[0]
	victimParts := before.Owned(victim.ID())
	victim.Kill()
	killed := time.Now()
	others := map[string]int{}
	for _, n := range c.Running() {
		others[n.ID()] = 3
	}
	var after *raftstate.State
	c.WaitWithin(10*time.Second, "the killed node's partitions to move", func() bool {
		after = c.Leader().Cluster().State()
		m, _ := after.Member(victim.ID())
		return balanced(after, others) && m.State == raftstate.MemberLost
	})
	t.Logf("partitions moved %v after the kill", time.Since(killed).Round(time.Millisecond))
	for _, ps := range after.Partitions() {
		old, _ := before.Partition(ps.Partition)
		switch {
		case old.Owner == victim.ID() && ps.Epoch <= old.Epoch:
			t.Errorf("%s moved from %s to %s without a new epoch (%d, then %d)",
				ps.Partition, old.Owner, ps.Owner, old.Epoch, ps.Epoch)
		case old.Owner != victim.ID() && (ps.Owner != old.Owner || ps.Epoch != old.Epoch):
			t.Errorf("%s moved from %s@%d to %s@%d, but its owner is alive",
				ps.Partition, old.Owner, old.Epoch, ps.Owner, ps.Epoch)
		}
	}

	// The killed node's epoch is fenced; the new owner's is not.
	stale := victimParts[0]
	meta := raftstate.CheckpointMeta{Offset: 42, Watermark: 1e9, AlertPosition: 7, Lag: 1234}
	err := c.OnLeader(func(l *raftstate.Cluster) error {
		return l.Checkpoint(ctx, stale.Partition, stale.Epoch, meta)
	})
	if !errors.Is(err, raftstate.ErrStaleEpoch) {
		t.Errorf("checkpoint by the superseded owner: %v, want ErrStaleEpoch", err)
	}
	current, _ := after.Partition(stale.Partition)
	err = c.OnLeader(func(l *raftstate.Cluster) error {
		return l.Checkpoint(ctx, stale.Partition, current.Epoch, meta)
	})
	if err != nil {
		t.Errorf("checkpoint by the new owner: %v", err)
	}
	c.WaitFor("the checkpoint on every node", func() bool {
		s, ok := agreed(c)
		if !ok {
			return false
		}
		ps, _ := s.Partition(stale.Partition)
		return ps.Checkpoint == meta && ps.CheckpointEpoch == current.Epoch
	})
	after = c.Leader().Cluster().State()

	victim.Restart()
	var final *raftstate.State
	c.WaitWithin(10*time.Second, "2 partitions on each node again", func() bool {
		s, ok := agreed(c)
		if !ok {
			return false
		}
		final = s
		m, _ := s.Member(victim.ID())
		return balanced(s, all) && m.State == raftstate.MemberAlive
	})
	var moved []string
	for _, ps := range final.Partitions() {
		if old, _ := after.Partition(ps.Partition); old.Epoch != ps.Epoch {
			moved = append(moved, fmt.Sprintf("%s→%s", ps.Partition, ps.Owner))
			if ps.Owner != victim.ID() {
				t.Errorf("%s moved to %s, not to the restarted node", ps.Partition, ps.Owner)
			}
		}
	}
	if len(moved) != 2 {
		t.Errorf("moved %v, want exactly 2 partitions", moved)
	}
}

// TestMembership restarts the bootstrapping node (Bootstrap still set),
// adds a member twice, and removes one.
func TestMembership(t *testing.T) {
	c := rafttest.Start(t, 3)
	ctx := testContext(t)

	first := c.Nodes[0]
	if !first.Config().Bootstrap {
		t.Fatal("node-1 does not bootstrap")
	}
	first.Kill()
	first.Restart()
	c.Leader() // one leader, known to all three
	cat := applyCatalog(t, ctx, c, []byte("after restart"))
	c.WaitFor("every node, node-1 included, to apply a change made after the restart", func() bool {
		s, ok := agreed(c)
		return ok && s.Catalog().Index == cat.Index && len(s.Members()) == 3
	})

	second := c.Node("node-2")
	before := c.Leader().Cluster().State()
	err := c.OnLeader(func(l *raftstate.Cluster) error {
		return l.AddMember(ctx, second.ID(), second.RaftAddr(), second.APIAddr())
	})
	if err != nil {
		t.Fatalf("adding a member again: %v", err)
	}
	if after := c.Leader().Cluster().State(); !reflect.DeepEqual(after.Members(), before.Members()) {
		t.Errorf("adding a member again changed the members:\n%+v\nwas\n%+v", after.Members(), before.Members())
	}
	if err := c.Leader().Cluster().AddMember(ctx, "node-9", "not an address", "127.0.0.9:7000"); err == nil {
		t.Error("AddMember accepted a raft address without a port")
	}

	parts := []raftstate.Partition{{Topic: "tx", Partition: 0}, {Topic: "tx", Partition: 1}, {Topic: "tx", Partition: 2}}
	if err := c.OnLeader(func(l *raftstate.Cluster) error { return l.SetPartitions(ctx, parts) }); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("one partition on each node", func() bool {
		s, ok := agreed(c)
		return ok && maps.Equal(counts(s), map[string]int{"node-1": 1, "node-2": 1, "node-3": 1})
	})

	removed := c.Followers()[0]
	owned := c.Leader().Cluster().State().Owned(removed.ID())
	if err := c.OnLeader(func(l *raftstate.Cluster) error { return l.RemoveMember(ctx, removed.ID()) }); err != nil {
		t.Fatal(err)
	}
	removed.Kill()
	c.WaitFor("the removed node to leave the raft configuration", func() bool {
		for _, n := range c.Running() {
			if slices.Contains(n.Cluster().Status().Voters, removed.ID()) {
				return false
			}
		}
		return true
	})
	c.WaitFor("the others to forget the removed node and take its partition", func() bool {
		s, ok := agreed(c)
		if !ok {
			return false
		}
		if _, ok := s.Member(removed.ID()); ok || len(s.Members()) != 2 {
			return false
		}
		ps, _ := s.Partition(owned[0].Partition)
		return ps.Owner != "" && ps.Owner != removed.ID() && ps.Epoch > owned[0].Epoch && counts(s)[""] == 0
	})
	if err := c.OnLeader(func(l *raftstate.Cluster) error { return l.RemoveMember(ctx, removed.ID()) }); err != nil {
		t.Errorf("removing a removed member: %v", err)
	}
}
