package event

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
)

// ParseTime parses an RFC 3339 timestamp with any number of fractional
// digits (beyond nanoseconds they are truncated) and a "Z" or ±hh:mm offset,
// and returns it as Unix nanoseconds. 'T' and 'Z' may be lower case, as RFC
// 3339 allows. Leap seconds (":60") and instants outside the int64
// nanosecond range (years 1678 to 2261) are rejected. It does not allocate
// unless it fails.
func ParseTime(s string) (int64, error) {
	if ns, ok := parseRFC3339(s); ok {
		return ns, nil
	}
	return 0, errors.New("cannot parse " + strconv.Quote(s) + " as an RFC 3339 time")
}

// digits reads n decimal digits of s at i; ok is false if any is not a digit.
func digits(s string, i, n int) (v int, ok bool) {
	if i+n > len(s) {
		return 0, false
	}
	for _, c := range []byte(s[i : i+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func parseRFC3339(s string) (int64, bool) {
	// 2006-01-02T15:04:05 is 19 bytes; the zone takes at least one more.
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	year, ok1 := digits(s, 0, 4)
	month, ok2 := digits(s, 5, 2)
	day, ok3 := digits(s, 8, 2)
	hour, ok4 := digits(s, 11, 2)
	minute, ok5 := digits(s, 14, 2)
	sec, ok6 := digits(s, 17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
		hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	i := 19
	var frac int64
	if s[i] == '.' {
		i++
		start := i
		scale := int64(1e9)
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			if scale > 1 {
				scale /= 10
				frac += int64(s[i]-'0') * scale
			}
			i++
		}
		if i == start {
			return 0, false
		}
	}
	if i >= len(s) {
		return 0, false
	}
	var offset int64
	switch s[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		oh, okh := digits(s, i+1, 2)
		om, okm := digits(s, i+4, 2)
		if !okh || !okm || s[i+3] != ':' || oh > 23 || om > 59 {
			return 0, false
		}
		offset = int64(oh*3600 + om*60)
		if s[i] == '-' {
			offset = -offset
		}
		i += 6
	default:
		return 0, false
	}
	if i != len(s) {
		return 0, false
	}
	secs := daysFromCivil(int64(year), month, day)*86400 + int64(hour*3600+minute*60+sec) - offset
	return secsToNanos(secs, frac)
}

// secsToNanos returns secs*1e9 + frac (0 <= frac < 1e9), or false when it
// does not fit an int64.
func secsToNanos(secs, frac int64) (int64, bool) {
	const maxSecs = math.MaxInt64 / 1_000_000_000 // 9223372036
	if secs < 0 && frac > 0 {
		secs, frac = secs+1, frac-1e9
	}
	if secs < -maxSecs || secs > maxSecs {
		return 0, false
	}
	ns := secs * 1e9
	if frac > 0 && ns > math.MaxInt64-frac || frac < 0 && ns < math.MinInt64-frac {
		return 0, false
	}
	return ns + frac, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm).
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// epochMillisToNanos converts epoch milliseconds to nanoseconds, or false on
// overflow.
func epochMillisToNanos(ms int64) (int64, bool) {
	const maxMs = math.MaxInt64 / 1_000_000
	if ms < -maxMs || ms > maxMs {
		return 0, false
	}
	return ms * 1e6, true
}

// millisZ is the common shape of event times, RFC 3339 in UTC with
// milliseconds, as three little-endian words; '0' marks a digit.
var millisZ = [3]uint64{
	binary.LittleEndian.Uint64([]byte("0000-00-")),
	binary.LittleEndian.Uint64([]byte("00T00:00")),
	binary.LittleEndian.Uint64([]byte(":00.000Z")),
}

// millisZAdd has, for each byte of millisZ, 0x76 for a digit and 0x7f for
// the others. Added to a byte of the input XOR millisZ, it leaves the high
// bit clear only for a digit (0 to 9 after the XOR) or the very separator (0).
var millisZAdd = func() (add [3]uint64) {
	for i, w := range millisZ {
		for k := range 8 {
			c := uint64(0x7f)
			if byte(w>>(8*k)) == '0' {
				c = 0x76
			}
			add[i] |= c << (8 * k)
		}
	}
	return add
}()

// timeCache remembers the minute of the time that parseMillisZ read last:
// event times go forward, and the date, hour and minute of one line are most
// often those of the line before.
type timeCache struct {
	date, clock uint64 // the first 16 bytes of the time ("2026-01-02T15:04"); date 0: empty
	secs        int64  // that minute in seconds since 1970-01-01
}

// parseMillisZ parses s when it has the shape 2006-01-02T15:04:05.000Z, as
// parseRFC3339 would; ok is false for any other shape, valid or not.
func (c *timeCache) parseMillisZ(s []byte) (ns int64, ok bool) {
	if len(s) != 24 {
		return 0, false
	}
	w0, w1, w2 := binary.LittleEndian.Uint64(s), binary.LittleEndian.Uint64(s[8:]), binary.LittleEndian.Uint64(s[16:])
	if w0 != c.date || w1 != c.clock {
		v0, v1 := w0^millisZ[0], w1^millisZ[1]
		if ((v0+millisZAdd[0])|v0|(v1+millisZAdd[1])|v1)&msbs != 0 {
			return 0, false
		}
		// Now every byte of v0, v1 is the value of its digit, or 0.
		year := digitAt(v0, 0)*1000 + digitAt(v0, 1)*100 + digitAt(v0, 2)*10 + digitAt(v0, 3)
		month := digitAt(v0, 5)*10 + digitAt(v0, 6)
		day := digitAt(v1, 0)*10 + digitAt(v1, 1)
		hour := digitAt(v1, 3)*10 + digitAt(v1, 4)
		minute := digitAt(v1, 6)*10 + digitAt(v1, 7)
		if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 {
			return 0, false
		}
		c.date, c.clock = w0, w1
		c.secs = daysFromCivil(int64(year), month, day)*86400 + int64(hour*3600+minute*60)
	}
	v2 := w2 ^ millisZ[2]
	if ((v2+millisZAdd[2])|v2)&msbs != 0 {
		return 0, false
	}
	sec := digitAt(v2, 1)*10 + digitAt(v2, 2)
	if sec > 59 {
		return 0, false
	}
	ms := digitAt(v2, 4)*100 + digitAt(v2, 5)*10 + digitAt(v2, 6)
	return secsToNanos(c.secs+int64(sec), int64(ms)*1e6)
}

// digitAt returns byte k of the little-endian word v.
func digitAt(v uint64, k int) int { return int(byte(v >> (8 * k))) }
