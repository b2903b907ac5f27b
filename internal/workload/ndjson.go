package workload

import (
	"strconv"
	"time"
)

// baseMillis is the time of the start of every workload, 2026-01-01T00:00:00Z,
// in Unix milliseconds.
var baseMillis = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

const dayMillis = 24 * 60 * 60 * 1000

// line builds one NDJSON event line at a time, without fmt and without
// allocating once its buffer has grown. The date part of the time is cached
// per day.
type line struct {
	b      []byte
	day    int64
	prefix []byte // "2026-01-01T" for day
}

func newLine() *line {
	return &line{b: make([]byte, 0, 512), day: -1 << 62}
}

// begin starts a line with the fixed attributes: type, time (Unix ms) and the
// id "e<n>".
func (l *line) begin(typ string, ms int64, n int) {
	b := append(l.b[:0], `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","time":"`...)
	b = l.appendTime(b, ms)
	b = append(b, `","id":"e`...)
	b = strconv.AppendInt(b, int64(n), 10)
	l.b = append(b, '"')
}

// end closes the line and returns it, newline included; it is valid until the
// next begin.
func (l *line) end() []byte {
	l.b = append(l.b, '}', '\n')
	return l.b
}

// appendTime appends ms as RFC 3339 UTC with millisecond precision.
func (l *line) appendTime(b []byte, ms int64) []byte {
	day := ms / dayMillis
	rem := ms % dayMillis
	if rem < 0 {
		day--
		rem += dayMillis
	}
	if day != l.day {
		l.day = day
		l.prefix = time.UnixMilli(day*dayMillis).UTC().AppendFormat(l.prefix[:0], "2006-01-02T")
	}
	b = append(b, l.prefix...)
	b = append2(b, rem/3_600_000)
	b = append(b, ':')
	b = append2(b, rem/60_000%60)
	b = append(b, ':')
	b = append2(b, rem/1000%60)
	b = append(b, '.')
	ms3 := rem % 1000
	return append(b, byte('0'+ms3/100), byte('0'+ms3/10%10), byte('0'+ms3%10), 'Z')
}

func append2(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

// key appends `,"name":`.
func (l *line) key(name string) {
	b := append(l.b, ',', '"')
	b = append(b, name...)
	l.b = append(b, '"', ':')
}

// str appends a string field; v must need no JSON escaping.
func (l *line) str(name, v string) {
	l.key(name)
	b := append(l.b, '"')
	b = append(b, v...)
	l.b = append(b, '"')
}

// ident appends a string field "<prefix><n>", with n in the given base.
func (l *line) ident(name string, prefix byte, n uint64, base int) {
	l.key(name)
	b := append(l.b, '"', prefix)
	b = strconv.AppendUint(b, n, base)
	l.b = append(b, '"')
}

// int appends an integer field.
func (l *line) int(name string, v int64) {
	l.key(name)
	l.b = strconv.AppendInt(l.b, v, 10)
}

// fixed appends the number v / 10^decimals, written with exactly that many
// decimals (cents as 12.34, 1e-4 degrees as -33.8688).
func (l *line) fixed(name string, v int64, decimals int) {
	l.key(name)
	b := l.b
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	scale := int64(1)
	for range decimals {
		scale *= 10
	}
	b = strconv.AppendInt(b, v/scale, 10)
	b = append(b, '.')
	frac := v % scale
	for scale /= 10; scale > 0; scale /= 10 {
		b = append(b, byte('0'+frac/scale%10))
	}
	l.b = b
}

// bool appends a boolean field.
func (l *line) bool(name string, v bool) {
	l.key(name)
	l.b = strconv.AppendBool(l.b, v)
}
