package node

import (
	"context"
	"errors"
	"testing"
	"time"
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
