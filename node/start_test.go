package node

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/motifcep/motif/internal/wait"
)

// A pattern change made before Run has started waits for it (motif serve
// applies --patterns while Run starts) instead of failing; once Run has
// ended, one fails at once with ErrNotRunning rather than waiting.
func TestApplyAroundRun(t *testing.T) {
	n, err := Open(Config{Dir: t.TempDir(), CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	files := []File{{Name: "p.motif", Source: []byte(cardTesting)}}

	early, cancelEarly := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelEarly()
	if _, _, err := n.Apply(early, files); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Apply before Run, with a deadline: %v; want it to wait for Run until the deadline", err)
	}

	applied := make(chan error, 1)
	go func() {
		_, _, err := n.Apply(context.Background(), files)
		applied <- err
	}()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- n.Run(ctx) }()
	if err := <-applied; err != nil {
		t.Fatalf("Apply while Run starts: %v", err)
	}
	if p, err := n.Pattern("probe"); err != nil || p.Live() == nil {
		t.Fatalf("pattern after Apply: %v, %v", p, err)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if err := n.Delete(context.Background(), "probe"); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Delete after Run ended: %v; want ErrNotRunning", err)
	}
}

// AlertSignals signals after a commit that adds alerts, and a reader that
// reads the log after each signal finds every alert.
func TestAlertSignals(t *testing.T) {
	n, _ := started(t, t.TempDir())
	ctx := t.Context()
	if _, _, err := n.Apply(ctx, []File{{"cards.motif", []byte(cardTesting)}}); err != nil {
		t.Fatal(err)
	}
	sig := n.AlertSignals(ctx)
	for i := range 3 {
		card := fmt.Sprintf("c%d", i)
		if _, err := n.Publish(ctx, [][]byte{auth(card+"a", card, 1, 10*i), auth(card+"b", card, 900, 10*i+1)}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-sig:
		case <-time.After(10 * time.Second):
			t.Fatalf("no signal after alert %d", i+1)
		}
		wait.For(t, "the alert in the log", func() bool { return n.Store().LastAlertSeq() >= uint64(i+1) })
	}
}
