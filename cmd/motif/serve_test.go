package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// Kafka flags without --kafka-brokers, or brokers without topics, are
// refused before anything starts, each named.
func TestServeKafkaFlagsChecked(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--alerts-topic", "a", "--dead-letter-topic", "d"},
			[]string{"--alerts-topic needs --kafka-brokers", "--dead-letter-topic needs --kafka-brokers"}},
		{[]string{"--kafka-brokers", "127.0.0.1:1"}, []string{"--kafka-brokers needs --kafka-topics"}},
	} {
		var stderr bytes.Buffer
		args := append([]string{"serve", "--data", filepath.Join(t.TempDir(), "data"), "--listen", "127.0.0.1:0"}, tc.args...)
		if code := run(args, strings.NewReader(""), &bytes.Buffer{}, &stderr); code != 1 {
			t.Errorf("%v: exit %d, want 1; stderr %s", tc.args, code, stderr.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%v: stderr lacks %q: %s", tc.args, w, stderr.String())
			}
		}
	}
}

// A cap on partial matches below 1 is a usage error of serve and replay,
// named, before anything starts: 0 would mean no partial match at all, and
// no cap is what the setting exists to prevent.
func TestMaxPartialMatchesChecked(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"serve", "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0", "--max-partial-matches", "0"},
		{"replay", "-p", "../../examples/fraud.motif", "--max-partial-matches", "-1"},
	} {
		var stderr bytes.Buffer
		if code := run(args, strings.NewReader(""), &bytes.Buffer{}, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2; stderr %s", args, code, stderr.String())
		}
		if !strings.Contains(stderr.String(), "--max-partial-matches must be at least 1") {
			t.Errorf("%v: stderr %q", args, stderr.String())
		}
	}
}
