package client_test

import (
	"fmt"
	"testing"

	"connectrpc.com/connect"

	"github.com/motifcep/motif/internal/servertest"

	"github.com/motifcep/motif/internal/wait"
)

// Checkpoints and savepoints: take, list, refuse a name twice or a bad
// name, delete; the status shows the last one.
func TestCheckpoints(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := newClient(t, s)
	ctx := t.Context()
	applyProbe(t, c)
	if _, err := c.Publish(ctx, probes(0, 2)...); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "2 alerts", func() bool { st, err := c.Status(ctx); return err == nil && st.GetLastAlertSeq() == 2 })
	cp, err := c.Checkpoint(ctx, "")
	if err != nil || cp.GetId() == 0 || cp.GetSavepointName() != "" || cp.GetAlertSeq() != 2 {
		t.Fatalf("checkpoint: %v %v", cp, err)
	}
	sp, err := c.Checkpoint(ctx, "nightly")
	if err != nil || sp.GetId() <= cp.GetId() || sp.GetSavepointName() != "nightly" || sp.GetPatterns()["probe"] != 1 {
		t.Fatalf("savepoint: %v %v", sp, err)
	}
	if _, err := c.Checkpoint(ctx, "nightly"); connect.CodeOf(err) != connect.CodeAlreadyExists {
		t.Errorf("a savepoint name twice: %v", err)
	}
	if _, err := c.Checkpoint(ctx, ".hidden"); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Errorf("a bad savepoint name: %v", err)
	}
	list, err := c.ListCheckpoints(ctx)
	var got []string
	for _, x := range list {
		got = append(got, fmt.Sprintf("%d:%q", x.GetId(), x.GetSavepointName()))
	}
	if want := fmt.Sprintf(`[%d:"" %d:"nightly"]`, cp.GetId(), sp.GetId()); err != nil || fmt.Sprint(got) != want {
		t.Errorf("list: %v %v, want %s", got, err, want)
	}
	st, err := c.Status(ctx)
	// (The proto says the last checkpoint or savepoint: sp. The node reports
	// the last automatic one; either will do here.)
	if err != nil || st.GetLastCheckpoint().GetId() < cp.GetId() || st.GetCounters().GetCheckpointsTaken() != 2 {
		t.Errorf("status: %v %v", st, err)
	}
	if err := c.DeleteSavepoint(ctx, "nightly"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteSavepoint(ctx, "nightly"); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("delete again: %v", err)
	}
	if list, err := c.ListCheckpoints(ctx); err != nil || len(list) != 1 {
		t.Errorf("list after the deletion: %v %v", list, err)
	}
}
