package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/motifcep/motif/internal/golden"
)

var detectedAt = regexp.MustCompile(`,"detected_at":"[^"]*"`)

// TestGolden runs every case under testdata/golden: replay of the case's
// patterns over its events must print exactly its alerts.ndjson (with
// detected_at left out). -update rewrites alerts.ndjson.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("../../testdata/golden/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "patterns.motif")); err != nil {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			runGolden(t, dir)
		})
	}
	if n == 0 {
		t.Fatal("no golden cases found")
	}
}

func runGolden(t *testing.T, dir string) {
	args := []string{"-p", filepath.Join(dir, "patterns.motif"), "-e", filepath.Join(dir, "events.ndjson")}
	if b, err := os.ReadFile(filepath.Join(dir, "args")); err == nil {
		args = append(args, strings.Fields(string(b))...)
	}
	var stdout, stderr bytes.Buffer
	if code := replay(args, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("replay exited %d:\n%s", code, stderr.String())
	}
	got := detectedAt.ReplaceAllString(stdout.String(), "")
	path := filepath.Join(dir, "alerts.ndjson")
	if *golden.Update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := golden.Diff(string(want), got); d != "" {
		t.Errorf("alerts differ from %s:\n%s\nstderr:\n%s", path, d, stderr.String())
	}
}
