package raftstate

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/motifcep/motif/internal/wait"
)

// openAlone opens a cluster of one node, with test timeouts, and waits
// until it leads and owns the partitions of topic tx.
func openAlone(t *testing.T, partitions int) *Cluster {
	t.Helper()
	c, err := Open(Config{
		NodeID: "solo", Dir: t.TempDir(), RaftAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:7000", Bootstrap: true,
		HeartbeatTimeout: 250 * time.Millisecond, ElectionTimeout: 250 * time.Millisecond,
		LeaderLeaseTimeout: 125 * time.Millisecond, CommitTimeout: 10 * time.Millisecond,
		FailAfter: 750 * time.Millisecond, WALSegmentSize: 1 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), wait.DefaultTimeout)
	defer cancel()
	if _, _, err := c.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	var parts []Partition
	for i := range partitions {
		parts = append(parts, part("tx", int32(i)))
	}
	if err := c.SetPartitions(ctx, parts); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the partitions assigned", func() bool { return len(c.State().Owned("solo")) == partitions })
	return c
}

// A follower of an older version forwards checkpoints in the first
// encoding: the leader applies them, with the lag unknown, as it does the
// current one's.
func TestApplyForwardedCheckpoints(t *testing.T) {
	c := openAlone(t, 1)
	ctx := t.Context()
	p := part("tx", 0)
	ps, _ := c.State().Partition(p)
	for _, cmd := range []struct {
		enc  []byte
		want CheckpointMeta
	}{
		{checkpoint(p, ps.Epoch, 10), CheckpointMeta{Offset: 10, Watermark: 10000, AlertPosition: 5, Lag: 13}},
		{checkpointV1(p, ps.Epoch, 20), CheckpointMeta{Offset: 20, Watermark: 20000, AlertPosition: 10, Lag: LagUnknown}},
	} {
		index, err := c.ApplyForwarded(ctx, cmd.enc)
		if err != nil {
			t.Fatalf("forwarded %s: %v", kind(cmd.enc[0]), err)
		}
		got, _ := c.State().Partition(p)
		if c.State().Index() < index || got.Checkpoint != cmd.want {
			t.Errorf("after the forwarded %s: checkpoint %+v at index %d, want %+v at %d",
				kind(cmd.enc[0]), got.Checkpoint, c.State().Index(), cmd.want, index)
		}
	}
	if _, err := c.ApplyForwarded(ctx, checkpoint(p, ps.Epoch+1, 30)); !errors.Is(err, ErrStaleEpoch) {
		t.Errorf("forwarded checkpoint under another epoch: %v, want ErrStaleEpoch", err)
	}
}
