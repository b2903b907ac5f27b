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
// detected_at left out), with one matching goroutine and with several, and
// the same reports on stderr either way. -update rewrites alerts.ndjson.
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

// summaryTimes matches what varies from run to run on stderr: the figures
// of replay's summary and the times of warnings.
var summaryTimes = regexp.MustCompile(`, [0-9.]+s, [0-9]+ events/s|(?m)^time=\S+ `)

func runGolden(t *testing.T, dir string) {
	args := []string{"-p", filepath.Join(dir, "patterns.motif"), "-e", filepath.Join(dir, "events.ndjson")}
	if b, err := os.ReadFile(filepath.Join(dir, "args")); err == nil {
		args = append(args, strings.Fields(string(b))...)
	}
	got, stderr := runReplay(t, append(args, "--workers", "1"))
	if *golden.Update {
		checkGolden(t, dir, got, stderr)
		return
	}
	for _, workers := range []string{"1", "2", "3"} {
		if workers != "1" {
			var errs string
			got, errs = runReplay(t, append(args, "--workers", workers))
			if errs != stderr {
				t.Errorf("--workers %s: stderr differs from --workers 1:\n%s", workers, golden.Diff(stderr, errs))
			}
		}
		if t.Failed() || !checkGolden(t, dir, got, stderr) {
			t.Fatalf("with --workers %s", workers)
		}
	}
}

// runReplay runs replay and returns its alerts (without detected_at) and
// its stderr (without the summary's timings).
func runReplay(t *testing.T, args []string) (alerts, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	if code := replay(args, nil, &out, &errs); code != 0 {
		t.Fatalf("replay exited %d:\n%s", code, errs.String())
	}
	return detectedAt.ReplaceAllString(out.String(), ""), summaryTimes.ReplaceAllString(errs.String(), "")
}

// checkGolden compares a replay's alerts with the case's (or, with -update,
// writes them); it reports whether they are equal.
func checkGolden(t *testing.T, dir, got, stderr string) bool {
	t.Helper()
	path := filepath.Join(dir, "alerts.ndjson")
	if *golden.Update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return true
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := golden.Diff(string(want), got); d != "" {
		t.Errorf("alerts differ from %s:\n%s\nstderr:\n%s", path, d, stderr)
		return false
	}
	return true
}
