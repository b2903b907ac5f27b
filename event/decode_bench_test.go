package event

import (
	"encoding/json"
	"testing"
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
