package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/motifcep/motif/internal/workload"
	"github.com/motifcep/motif/pattern"
)

// The child half of TestKill9: runs the pipeline over the store in
// MOTIF_CRASH_DIR, printing a line after every commit, until the log ends.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("MOTIF_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestKill9")
	}
	set, diags := pattern.Load(filepath.Join(dir, "patterns.motif"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	s := openStore(t, filepath.Join(dir, "data"))
	defer s.Close()
	p, err := New(Config{Set: set, Store: s, CommitEvents: 200, StateEvents: 1000, CacheBytes: 64 << 10, StopAtEnd: true,
		OnCommit: func(st Stats) { fmt.Printf("commit %d\n", st.Offset) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	fmt.Println("done")
}

// A pipeline killed with SIGKILL at random points and restarted each time
// ends with exactly the alerts of an uninterrupted in-memory run: none
// missing, none twice.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	n := 30000
	if raceEnabled {
		n = 10000 // the children run with the race detector too
	}
	set, lines := fraudInput(t, n, n/10)
	want := reference(t, set, lines)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "patterns.motif"), []byte(workload.FraudPatterns), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, filepath.Join(dir, "data"))
	appendLog(t, s, lines)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 1))
	kills := 0
	for round := 0; ; round++ {
		if round > 50 {
			t.Fatal("no run finished in 50 rounds")
		}
		killAfter := -1 // commits before the kill; -1: let it finish
		if kills < 6 {
			killAfter = rng.IntN(3)
		}
		finished := runChild(t, dir, killAfter, rng)
		if finished {
			break
		}
		kills++
	}
	if kills < 5 {
		t.Fatalf("only %d kills", kills)
	}
	s = openStore(t, filepath.Join(dir, "data"))
	defer s.Close()
	diffAlerts(t, logged(t, s), want)
}

// runChild starts the child and kills it after killAfter commits (and a
// random number of further lines of work); it reports whether the child
// finished on its own.
func runChild(t *testing.T, dir string, killAfter int, rng *rand.Rand) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), "MOTIF_CRASH_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	commits, finished, killed := 0, false, false
	for sc.Scan() {
		line := sc.Text()
		if line == "done" {
			finished = true
		}
		if strings.HasPrefix(line, "commit ") {
			commits++
			if killAfter >= 0 && commits > killAfter && !killed {
				// Land the kill anywhere in the next commit interval.
				for range rng.IntN(3) {
					_ = sc.Scan()
				}
				_ = cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
	}
	err = cmd.Wait()
	if killed && !finished {
		return false
	}
	if err != nil && !finished {
		t.Fatalf("child failed: %v\n%s", err, stderr.String())
	}
	return finished
}
