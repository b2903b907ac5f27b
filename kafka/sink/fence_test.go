package sink

import (
	"errors"
	"testing"

	"github.com/motifcep/motif/internal/wait"
)

// TestFencing starts a second sink with the SinkID of a running one: the
// first must stop with ErrFenced without committing again, and the topic
// must hold every alert once.
func TestFencing(t *testing.T) {
	_, addrs := newCluster(t, 3)
	st := newStore(t)
	want := appendAlerts(t, st, 0, 100)
	cfg := testConfig(addrs, "fence")
	cfg.MaxBatch = 10

	old := newSink(t, cfg, st)
	wakeOld := make(chan struct{}, 1)
	rOld := run(t, old, wakeOld)
	wait.For(t, "the first sink relaying", func() bool { return old.Position() > 1 })

	young := newSink(t, cfg, st) // fences old
	at := young.Position()
	if at < old.Position() {
		t.Errorf("the new sink starts at %d, below the old one's committed %d", at, old.Position())
	}
	wakeYoung := make(chan struct{}, 1)
	rYoung := run(t, young, wakeYoung)

	want = append(want, appendAlerts(t, st, 100, 150)...)
	wakeOld <- struct{}{}
	wakeYoung <- struct{}{}
	wait.For(t, "the old sink to stop", rOld.returned)
	if !errors.Is(rOld.err, ErrFenced) {
		t.Fatalf("old sink's Run: %v, want ErrFenced", rOld.err)
	}
	t.Logf("old sink stopped: %v", rOld.err)
	if st := old.Stats(); !errors.Is(st.LastError, ErrFenced) {
		t.Errorf("old sink's Stats.LastError = %v, want ErrFenced", st.LastError)
	}
	wait.For(t, "the new sink relayed everything", caughtUp(young, st))
	if err := rYoung.stop(); err != nil {
		t.Fatalf("new sink's Run: %v", err)
	}
	checkExactlyOnce(t, readAll(t, addrs), want)
}
