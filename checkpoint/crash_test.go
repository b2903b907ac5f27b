package checkpoint

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashEnv makes the test binary the child of TestAppendSurvivesKill: it
// appends to the store in the named directory and prints an ack per call.
const crashEnv = "MOTIF_CHECKPOINT_CRASH_DIR"

type crashAck struct {
	partition uint32
	first     uint64
	worker, i int
}

func (a crashAck) records() []string {
	return []string{fmt.Sprintf("w%d-%d-a", a.worker, a.i), fmt.Sprintf("w%d-%d-b", a.worker, a.i)}
}

// TestAppendSurvivesKill runs appenders in a child process, SIGKILLs it
// mid-stream and checks that every acknowledged record is in the store.
func TestAppendSurvivesKill(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAppendSurvivesKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	var acks []crashAck
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var a crashAck
		if _, err := fmt.Sscanf(sc.Text(), "ack %d %d %d %d", &a.partition, &a.first, &a.worker, &a.i); err != nil {
			continue // the test framework's own lines
		}
		acks = append(acks, a)
		if len(acks) == 300 && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
		}
	}
	// Lines read after the kill were acknowledged before it.
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended by itself after %d acks: %v\n%s", len(acks), err, stderr.String())
	}

	s := open(t, dir, Options{})
	for _, a := range acks {
		var got []string
		if err := s.ReadLog(a.partition, a.first, 2, func(_ uint64, rec []byte) bool {
			got = append(got, string(rec))
			return true
		}); err != nil {
			t.Fatalf("ReadLog(%d, %d): %v", a.partition, a.first, err)
		}
		if want := a.records(); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("acked %v at %d/%d, found %v", want, a.partition, a.first, got)
		}
	}
	t.Logf("%d acks survived SIGKILL; log ends %d, %d", len(acks), s.LogEnd(0), s.LogEnd(1))
}

// crashChild appends from 4 goroutines until killed, or for a minute at
// most should the parent have gone.
func crashChild(dir string) {
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(time.Minute)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				a := crashAck{partition: uint32(w % 2), worker: w, i: i}
				recs := a.records()
				first, err := s.Append(a.partition, [][]byte{[]byte(recs[0]), []byte(recs[1])})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %d %d %d %d\n", a.partition, first, w, i)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	os.Exit(0)
}
