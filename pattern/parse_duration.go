package pattern

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidDuration is wrapped by every error of ParseDuration.
var ErrInvalidDuration = errors.New("invalid duration")

// durationUnits are the units of the language, longest first where one is a
// prefix of another ("ms" before "m").
var durationUnits = []struct {
	name string
	d    time.Duration
}{
	{"d", 24 * time.Hour},
	{"h", time.Hour},
	{"ms", time.Millisecond},
	{"m", time.Minute},
	{"s", time.Second},
}

// ParseDuration parses a duration of the pattern language: one or more
// integer counts each followed by a unit ms, s, m, h or d (24h), as in 250ms,
// 30s, 10m, 2h, 7d or 1h30m. The parts add up; there is no sign, fraction or
// space. Errors wrap ErrInvalidDuration and say what was expected.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty, expected a count and a unit such as 10m", ErrInvalidDuration)
	}
	var total time.Duration
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i {
			return 0, fmt.Errorf("%w %q: expected a digit at %q", ErrInvalidDuration, s, s[i:])
		}
		if j < len(s) && s[j] == '.' {
			return 0, fmt.Errorf("%w %q: a count cannot have a fraction, use a smaller unit as in 1h30m or 1500ms", ErrInvalidDuration, s)
		}
		n, err := strconv.ParseInt(s[i:j], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w %q: too large", ErrInvalidDuration, s)
		}
		k := j
		for k < len(s) && (s[k] < '0' || s[k] > '9') {
			k++
		}
		unit := s[j:k]
		if unit == "" {
			return 0, fmt.Errorf("%w %q: expected a unit (ms, s, m, h or d) after %s", ErrInvalidDuration, s, s[i:j])
		}
		d, ok := durationUnit(unit)
		if !ok {
			return 0, fmt.Errorf("%w %q: unknown unit %q, expected ms, s, m, h or d", ErrInvalidDuration, s, unit)
		}
		if n > int64(math.MaxInt64/d) || total > math.MaxInt64-time.Duration(n)*d {
			return 0, fmt.Errorf("%w %q: too large", ErrInvalidDuration, s)
		}
		total += time.Duration(n) * d
		i = k
	}
	return total, nil
}

func durationUnit(name string) (time.Duration, bool) {
	for _, u := range durationUnits {
		if u.name == name {
			return u.d, true
		}
	}
	return 0, false
}

// formatDuration writes d in the language's syntax, largest units first, as
// in 1h30m. Parts below a millisecond cannot be written and are dropped.
func formatDuration(d time.Duration) string {
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := d / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.name)
			d -= n * u.d
		}
	}
	if b.Len() == 0 || b.String() == "-" {
		return "0s"
	}
	return b.String()
}
