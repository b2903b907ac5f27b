package event

import (
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
