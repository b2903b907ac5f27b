package main

import (
	"strings"
	"testing"
)

// When the cap on partial matches bites, replay says so twice on stderr: a
// warning the first time, and the total per pattern at the end, just
// before the summary, which stays the last line.
func TestReplayReportsCapDrops(t *testing.T) {
	dir := "../../testdata/golden/input_partial_match_cap/"
	args := []string{"-p", dir + "patterns.motif", "-e", dir + "events.ndjson"}
	_, stderr := runReplay(t, append(args, "--max-partial-matches", "3"))
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if n := len(lines); n < 3 ||
		!strings.Contains(lines[0], "a key reached the cap on partial matches") ||
		lines[n-2] != "motif replay: pattern fan: 2 partial matches dropped by the cap (--max-partial-matches 3)" ||
		!strings.HasPrefix(lines[n-1], "replay: 8 events read") {
		t.Errorf("stderr:\n%s", stderr)
	}
	_, stderr = runReplay(t, args)
	if strings.Contains(stderr, "cap") {
		t.Errorf("under the default cap, stderr mentions it:\n%s", stderr)
	}
}
