// Package wait is for tests: wait for a condition with a deadline, never a
// bare sleep.
package wait

import (
	"testing"
	"time"
)

// DefaultTimeout is how long For waits.
const DefaultTimeout = 20 * time.Second

// For polls cond until it holds, failing the test after DefaultTimeout.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Within(t, DefaultTimeout, what, cond)
}

// Within polls cond until it holds, failing the test after timeout.
func Within(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Until(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// Until polls cond until it holds or timeout passes, and reports which:
// for a test that has more to say than Within when the time is up.
func Until(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}
