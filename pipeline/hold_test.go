package pipeline

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/motifcep/motif/internal/wait"
)

// pausing is an input of the embedded log that records which partitions
// the pipeline paused.
type pausing struct {
	Input
	mu     sync.Mutex
	paused map[int]bool
	pauses int
}

func (p *pausing) Pause(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused[i] = true
	p.pauses++
}

func (p *pausing) Resume(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.paused, i)
}

func (p *pausing) count() (paused, pauses int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.paused), p.pauses
}

// Config.Hold as the server uses it, with the alerts not yet delivered
// downstream: while too many wait, matching reads nothing and pauses its
// partitions; as they are delivered it goes on. The alerts waiting never
// exceed the bound by more than one commit's worth, and in the end they are
// exactly the in-memory engine's.
func TestHoldBoundsUndeliveredAlerts(t *testing.T) {
	set, lines := fraudInput(t, 20000, 2000)
	want := reference(t, set, lines)
	s := openStore(t, t.TempDir())
	defer s.Close()
	// Two partitions of the log, the lines dealt alternately (equal times
	// keep their order by offset, then partition).
	var parts [2][][]byte
	for i, l := range lines {
		parts[i%2] = append(parts[i%2], l)
	}
	for i, ls := range parts {
		if _, err := s.Append(uint32(i), ls); err != nil {
			t.Fatal(err)
		}
	}
	in := &pausing{Input: LogInput(s, 0, 1), paused: map[int]bool{}}
	var delivered atomic.Uint64
	const bound, commitEvents = 5, 100
	undelivered := func() uint64 { return s.LastAlertSeq() - delivered.Load() }
	p, err := New(Config{Set: set, Store: s, Input: in, CommitEvents: commitEvents, StopAtEnd: true,
		Hold: func() bool { return undelivered() >= bound }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(t.Context()) }()

	holds, most := 0, uint64(0)
	var last [2]uint64 // offsets at the last hold
	for finished := false; !finished; {
		var st Stats
		wait.Within(t, 20*time.Second, "a hold or the end", func() bool {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				finished = true
				return true
			default:
			}
			st = p.Stats()
			// A new hold: stats of the last one may still show until the
			// pipeline polls Hold again, and it reads before holding anew.
			return st.Held && [2]uint64{st.Partitions[0].Offset, st.Partitions[1].Offset} != last
		})
		if finished {
			break
		}
		holds++
		most = max(most, undelivered())
		if paused, _ := in.count(); paused != 2 {
			t.Fatalf("held with %d of 2 partitions paused", paused)
		}
		// Held a while longer: nothing more is read.
		wait.Within(t, 10*time.Second, "five more polls held", func() bool {
			return p.Stats().HeldTime >= st.HeldTime+5*holdPoll
		})
		if now := p.Stats(); now.Partitions[0].Offset != st.Partitions[0].Offset || now.Partitions[1].Offset != st.Partitions[1].Offset {
			t.Fatalf("read on while held: offsets %d,%d then %d,%d", st.Partitions[0].Offset, st.Partitions[1].Offset,
				now.Partitions[0].Offset, now.Partitions[1].Offset)
		}
		last = [2]uint64{st.Partitions[0].Offset, st.Partitions[1].Offset}
		delivered.Store(s.LastAlertSeq()) // the sink catches up
	}
	t.Logf("alerts %d, held %d times for %v", s.LastAlertSeq(), holds, p.Stats().HeldTime)
	if holds < 3 {
		t.Fatalf("held %d times: the fixture does not exercise the hold", holds)
	}
	// A hold starts after the commit that crossed the bound: at most that
	// commit's alerts beyond it (every event here completes at most two
	// matches).
	if most > bound+2*commitEvents {
		t.Errorf("%d alerts undelivered at a hold, bound %d + one commit", most, bound)
	}
	if st := p.Stats(); st.HeldTime <= 0 || st.Held {
		t.Errorf("stats after the run: held %v for %v", st.Held, st.HeldTime)
	}
	diffAlerts(t, logged(t, s), want)
}
