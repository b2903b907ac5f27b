package kafka

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/motifcep/motif/internal/wait"
)

// testTimeout bounds every wait on the cluster in these tests.
const testTimeout = wait.DefaultTimeout

// newTestSource starts a Source on addrs with short fetch waits, closed
// when the test ends.
func newTestSource(t testing.TB, addrs []string, cfg SourceConfig) *Source {
	t.Helper()
	cfg.Brokers = addrs
	if cfg.FetchMaxWait == 0 {
		cfg.FetchMaxWait = 50 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s, err := NewSource(ctx, cfg)
	if err != nil {
		t.Fatalf("NewSource: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// got is what a test saw delivered, per partition index, as "offset=value".
type got map[int][]string

func (g got) add(index int, r *Record) {
	g[index] = append(g[index], fmt.Sprintf("%d=%s", r.Offset, r.Value))
}

func (g got) count() int {
	n := 0
	for _, rs := range g {
		n += len(rs)
	}
	return n
}

func (g got) String() string {
	var b strings.Builder
	for i := range 16 {
		if rs, ok := g[i]; ok {
			fmt.Fprintf(&b, "%d:[%s] ", i, strings.Join(rs, " "))
		}
	}
	return strings.TrimSpace(b.String())
}

// pollUntil polls s, recording every record, until g holds n records.
func pollUntil(t testing.TB, s *Source, g got, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for g.count() < n {
		if _, err := s.Poll(ctx, func(i int, r *Record) bool { g.add(i, r); return true }); err != nil {
			t.Fatalf("Poll after %d of %d records (%s): %v", g.count(), n, g, err)
		}
	}
	if g.count() != n {
		t.Fatalf("got %d records, want %d: %s", g.count(), n, g)
	}
}

func values(prefix string, n int) [][]byte {
	vs := make([][]byte, n)
	for i := range vs {
		vs[i] = fmt.Appendf(nil, "%s%d", prefix, i)
	}
	return vs
}
