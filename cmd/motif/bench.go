package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/motifcep/motif/internal/workload"
)

// bench generates a workload, then times motif replay over it against a
// decode-only pass (encoding/json into maps) over the same file, in this
// process. For whole-process timings, keep the files with --out and time
// `motif replay` itself.
func bench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("workload", "fraud", "`NAME` of the workload: fraud or abc")
	events := fs.Int("events", 1_000_000, "number of events to generate")
	keys := fs.Int("keys", 0, "number of keys (cards, users); 0: the workload's default")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same events")
	out := fs.String("out", "", "keep the generated events.ndjson and patterns.motif in `DIR`")
	runs := fs.Int("runs", 3, "timed runs of each pass; the median is reported")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: motif bench [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *runs < 1 {
		return 2
	}
	dir := *out
	if dir == "" {
		d, err := os.MkdirTemp("", "motif-bench-")
		if err != nil {
			fmt.Fprintf(stderr, "motif bench: %v\n", err)
			return 1
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "motif bench: %v\n", err)
		return 1
	}
	evPath, patPath := filepath.Join(dir, "events.ndjson"), filepath.Join(dir, "patterns.motif")
	spec := workload.Spec{Name: *name, Events: *events, Keys: *keys, Seed: *seed}
	if err := generate(spec, evPath, patPath); err != nil {
		fmt.Fprintf(stderr, "motif bench: %v\n", err)
		return 1
	}
	data, err := os.ReadFile(evPath)
	if err != nil {
		fmt.Fprintf(stderr, "motif bench: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "workload %s: %d events, %d bytes, seed %d (files in %s)\n", *name, *events, len(data), *seed, dir)

	var alerts int
	replayTimes := make([]time.Duration, 0, *runs)
	for i := 0; i < *runs; i++ {
		var sink countingWriter
		var errb bytes.Buffer
		start := time.Now()
		if code := replay([]string{"-p", patPath}, bytes.NewReader(data), &sink, &errb); code != 0 {
			fmt.Fprintf(stderr, "motif bench: replay exited %d:\n%s", code, errb.String())
			return 1
		}
		replayTimes = append(replayTimes, time.Since(start))
		alerts = sink.lines
	}
	decodeTimes := make([]time.Duration, 0, *runs)
	for i := 0; i < *runs; i++ {
		start := time.Now()
		if err := decodeOnly(data); err != nil {
			fmt.Fprintf(stderr, "motif bench: %v\n", err)
			return 1
		}
		decodeTimes = append(decodeTimes, time.Since(start))
	}
	r, d := median(replayTimes), median(decodeTimes)
	fmt.Fprintf(stdout, "replay:      %8s  %10.0f events/s  %d alerts\n", r.Round(time.Millisecond), float64(*events)/r.Seconds(), alerts)
	fmt.Fprintf(stdout, "decode-only: %8s  %10.0f events/s  (encoding/json into maps)\n", d.Round(time.Millisecond), float64(*events)/d.Seconds())
	fmt.Fprintf(stdout, "ratio replay/decode-only: %.2f (median of %d runs each)\n", r.Seconds()/d.Seconds(), *runs)
	if *name == "abc" {
		want, err := workload.CountABC(bytes.NewReader(data))
		if err != nil {
			fmt.Fprintf(stderr, "motif bench: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "abc matches: replay %d, brute-force count %d\n", alerts, want)
		if int64(alerts) != want {
			fmt.Fprintln(stderr, "motif bench: replay and the brute-force count disagree")
			return 1
		}
	}
	return 0
}

func generate(spec workload.Spec, evPath, patPath string) error {
	var gen func(io.Writer, workload.Spec) error
	var pats string
	switch spec.Name {
	case "fraud":
		gen, pats = workload.Fraud, workload.FraudPatterns
	case "abc":
		gen, pats = workload.ABC, workload.ABCPattern
	default:
		return fmt.Errorf("unknown workload %q (want fraud or abc)", spec.Name)
	}
	if err := os.WriteFile(patPath, []byte(pats), 0o644); err != nil {
		return err
	}
	f, err := os.Create(evPath)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := gen(w, spec); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// decodeOnly is the floor a matcher is compared against: every line decoded
// with encoding/json into a map, nothing else.
func decodeOnly(data []byte) error {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line := data
		if i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			return err
		}
	}
	return nil
}

type countingWriter struct{ lines int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
