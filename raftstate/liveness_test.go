package raftstate

import (
	"testing"
	"time"
)

func TestLiveness(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	const failAfter, confirmAfter = 2 * time.Second, 5 * time.Second
	l := newLiveness("self", failAfter, confirmAfter, t0)

	check := func(when time.Duration, id string, wasLost, want bool) {
		t.Helper()
		if got := l.live(id, wasLost, at(when)); got != want {
			t.Errorf("at %v: live(%s, wasLost %v) = %v, want %v", when, id, wasLost, got, want)
		}
	}
	check(0, "self", true, true)
	check(0, "a", false, true)
	// A member the previous leader declared lost is believed back only
	// after confirmAfter without a failed heartbeat.
	check(confirmAfter-time.Millisecond, "b", true, false)
	check(confirmAfter, "b", true, true)
	if d, ok := l.next(at(time.Second)); !ok || d != confirmAfter-time.Second {
		t.Errorf("next = %v, %v; want %v", d, ok, confirmAfter-time.Second)
	}

	// A follower failing since its last contact at 1s is lost at 3s.
	ch := l.wait()
	l.failed("a", at(time.Second))
	select {
	case <-ch:
	default:
		t.Error("a failure did not close wait")
	}
	check(3*time.Second-time.Millisecond, "a", false, true)
	check(3*time.Second, "a", false, false)
	check(10*time.Second, "a", true, false) // lost, and still failing
	if d, ok := l.next(at(6 * time.Second)); ok {
		t.Errorf("next at 6s = %v, want none", d)
	}
	l.resumed("a")
	check(10*time.Second, "a", true, true)

	// A new view forgets failures and starts a new confirmation window.
	l.failed("a", at(10*time.Second))
	l.reset(at(20 * time.Second))
	check(20*time.Second, "a", false, true)
	check(21*time.Second, "b", true, false)
	check(25*time.Second, "b", true, true)
}
