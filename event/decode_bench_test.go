package event

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/motifcep/motif/internal/workload"
)

const benchLine = `{"type":"auth","time":"2026-01-01T00:00:01.123Z","id":"e1","card_id":"4111-0000-0000-1234","amount":12.5,"merchant":"m-42","country":"US","lat":40.7,"lon":-74.0}`

func benchDecode(b *testing.B, paths ...string) {
	s := NewSchema()
	for _, p := range paths {
		s.Slot(p)
	}
	d := NewDecoder(s, DecoderOptions{RequireTime: true})
	line := []byte(benchLine)
	var ev Event
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(line, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode reads 5 slots of a realistic auth event.
func BenchmarkDecode(b *testing.B) {
	b.Run("numbers", func(b *testing.B) { benchDecode(b, "amount", "lat", "lon", "geo.country", "score") })
	b.Run("strings", func(b *testing.B) { benchDecode(b, "card_id", "amount", "merchant", "country", "lat") })
}

// BenchmarkDecodeStdlib is encoding/json into a map, for the ratio.
func BenchmarkDecodeStdlib(b *testing.B) {
	line := []byte(benchLine)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// fraudPaths are the slots of the fraud patterns' schema.
var fraudPaths = []string{"card_id", "user_id", "amount", "merchant", "country", "lat", "lon", "device", "new_device", "ok", "change", "reason"}

// fraudLines returns n lines of the fraud workload.
func fraudLines(tb testing.TB, n int) [][]byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := workload.Fraud(&buf, workload.Spec{Name: "fraud", Events: n, Seed: 1}); err != nil {
		tb.Fatal(err)
	}
	var lines [][]byte
	for l := range bytes.Lines(buf.Bytes()) {
		lines = append(lines, bytes.TrimSuffix(l, []byte("\n")))
	}
	return lines
}

// BenchmarkDecodeFraud decodes varied lines of the fraud workload into the
// slots of its patterns; ns/line is the cost of one line.
func BenchmarkDecodeFraud(b *testing.B) {
	lines := fraudLines(b, 2000)
	s := NewSchema()
	for _, p := range fraudPaths {
		s.Slot(p)
	}
	d := NewDecoder(s, DecoderOptions{RequireTime: true})
	var ev Event
	var size int
	for _, l := range lines {
		size += len(l)
	}
	b.SetBytes(int64(size / len(lines)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := d.Decode(lines[n%len(lines)], &ev); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/line")
}
