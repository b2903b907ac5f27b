package raftstate

import (
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// signal is a broadcast: wait returns a channel that notify closes.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// liveness is what the leader knows of its followers' heartbeats: for each
// follower whose heartbeats fail, the time it was last heard from. Raft
// reports a failing follower at every failed heartbeat (at least every
// HeartbeatTimeout/2 once the transport gives up on it) and once more when
// heartbeats resume; it reports nothing while they succeed.
//
// Only the leader sends heartbeats, so only the leader's liveness means
// anything; it starts afresh whenever the leader changes. The leader itself
// is always live.
type liveness struct {
	self      string
	failAfter time.Duration
	// confirmAfter is how long a new leader must go without a failed
	// heartbeat from a member its predecessor declared lost before it
	// believes the member is back: silence means success only once a
	// heartbeat to an unreachable host would have timed out.
	confirmAfter time.Duration

	mu      sync.Mutex
	since   time.Time            // when this view started
	failing map[string]time.Time // follower → last contact
	changed signal
}

func newLiveness(self string, failAfter, confirmAfter time.Duration, now time.Time) *liveness {
	return &liveness{
		self:         self,
		failAfter:    failAfter,
		confirmAfter: confirmAfter,
		since:        now,
		failing:      map[string]time.Time{},
	}
}

func (l *liveness) failed(id string, lastContact time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, ok := l.failing[id]; ok && last.Equal(lastContact) {
		return
	}
	l.failing[id] = lastContact
	l.changed.notify()
}

func (l *liveness) resumed(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.failing[id]; ok {
		delete(l.failing, id)
		l.changed.notify()
	}
}

// reset starts afresh at now: after a change of leader, or when raft
// dropped observations (a failing follower is reported again at its next
// failed heartbeat, with its true last contact).
func (l *liveness) reset(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.failing)
	l.since = now
	l.changed.notify()
}

// live reports whether member id is live at now. wasLost is whether the
// replicated state has it lost: such a member stays lost until it has gone
// confirmAfter without a failed heartbeat (or resumed heartbeats). Any
// other member is live until it has not been heard from for failAfter.
func (l *liveness) live(id string, wasLost bool, now time.Time) bool {
	if id == l.self {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	last, failing := l.failing[id]
	switch {
	case failing && wasLost:
		return false
	case failing:
		return now.Sub(last) < l.failAfter
	case wasLost:
		return now.Sub(l.since) >= l.confirmAfter
	}
	return true
}

// next returns how long after now the answer of live may next change
// without an observation: when a failing follower passes failAfter, or
// when the confirmation window ends. ok is false if neither is ahead.
func (l *liveness) next(now time.Time) (d time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	consider := func(left time.Duration) {
		if left > 0 && (!ok || left < d) {
			d, ok = left, true
		}
	}
	for _, last := range l.failing {
		consider(l.failAfter - now.Sub(last))
	}
	consider(l.confirmAfter - now.Sub(l.since))
	return d, ok
}

// wait returns a channel closed at the next change.
func (l *liveness) wait() <-chan struct{} { return l.changed.wait() }

// observe feeds raft's observations to the liveness and the leader signal
// until Close.
func (c *Cluster) observe(ch <-chan raft.Observation) {
	var dropped uint64
	for {
		select {
		case <-c.closing:
			return
		case o := <-ch:
			if d := c.observer.GetNumDropped(); d != dropped {
				dropped = d
				c.live.reset(time.Now())
				c.leaderCh.notify()
			}
			switch d := o.Data.(type) {
			case raft.FailedHeartbeatObservation:
				c.live.failed(string(d.PeerID), d.LastContact)
			case raft.ResumedHeartbeatObservation:
				c.live.resumed(string(d.PeerID))
			case raft.PeerObservation:
				if d.Removed {
					c.live.resumed(string(d.Peer.ID))
				}
			case raft.LeaderObservation:
				c.live.reset(time.Now())
				c.leaderCh.notify()
			}
		}
	}
}
