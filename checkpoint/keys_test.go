package checkpoint

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestFlipTimeSortsSigned(t *testing.T) {
	times := []int64{math.MinInt64, -1 << 40, -2, -1, 0, 1, 2, 1 << 40, math.MaxInt64}
	for i := 1; i < len(times); i++ {
		a := timerKey(nil, times[i-1], "p", 1, nil)
		b := timerKey(nil, times[i], "p", 1, nil)
		if bytes.Compare(a, b) >= 0 {
			t.Errorf("key(%d) >= key(%d)", times[i-1], times[i])
		}
	}
	for _, at := range times {
		if got := unflipTime(flipTime(at)); got != at {
			t.Errorf("unflipTime(flipTime(%d)) = %d", at, got)
		}
	}
}

func TestTimerKeyOrder(t *testing.T) {
	// (time, pattern, version, key): a longer pattern name that shares a
	// prefix must still sort after the shorter one at equal time.
	keys := [][]byte{
		timerKey(nil, -5, "b", 9, []byte("z")),
		timerKey(nil, 3, "a", 1, []byte("x")),
		timerKey(nil, 3, "a", 2, nil),
		timerKey(nil, 3, "ab", 0, nil),
		timerKey(nil, 3, "b", 0, nil),
		timerKey(nil, 4, "a", 0, nil),
	}
	if !slices.IsSortedFunc(keys, bytes.Compare) {
		t.Errorf("timer keys are not in (time, pattern, version, key) order")
	}
	at, p, v, k, err := decodeTimerKey(keys[0])
	if err != nil || at != -5 || string(p) != "b" || v != 9 || string(k) != "z" {
		t.Errorf("decodeTimerKey = %d %q %d %q %v", at, p, v, k, err)
	}
}

func TestStateKeyRoundTrip(t *testing.T) {
	k := stateKey(nil, "fraud", 7, []byte{0, 1, 0})
	p, v, key, err := decodeStateKey(k)
	if err != nil || string(p) != "fraud" || v != 7 || !bytes.Equal(key, []byte{0, 1, 0}) {
		t.Errorf("decodeStateKey = %q %d %v %v", p, v, key, err)
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct{ in, want []byte }{
		{[]byte("a"), []byte("b")},
		{[]byte{'a', 0xff}, []byte("b")},
		{[]byte{0xff, 0xff}, nil},
		{[]byte{'s', 'p', 0, 0, 0, 0, 1}, []byte{'s', 'p', 0, 0, 0, 0, 2}},
	} {
		if got := prefixEnd(tc.in); !bytes.Equal(got, tc.want) {
			t.Errorf("prefixEnd(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{{"fraud", true}, {"", false}, {"a\x00b", false}, {"ünïcode", true}} {
		err := checkName("pattern", tc.name)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("checkName(%q) = %v", tc.name, err)
		}
	}
}

func TestDecodersRejectMalformed(t *testing.T) {
	// Every decoder returns ErrCorrupt naming the key, never panics.
	bad := [][]byte{{prefixState}, {prefixTimer, 1, 2}, {prefixOffset, 'x'}, {prefixLog, 1}, {prefixAlert, 1, 2}}
	for _, k := range bad {
		errs := []error{}
		_, _, _, err := decodeStateKey(k)
		errs = append(errs, err)
		_, _, _, _, err = decodeTimerKey(k)
		errs = append(errs, err)
		_, _, err = decodeSourceKey(k)
		errs = append(errs, err)
		_, _, err = decodeLogKey(k)
		errs = append(errs, err)
		_, err = decodeAlertKey(k)
		errs = append(errs, err)
		for i, err := range errs {
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "key "+keyString(k)) {
				t.Errorf("decoder %d on %q: %v", i, k, err)
			}
		}
	}
	for _, v := range [][]byte{nil, make([]byte, 8), append(make([]byte, 8), 200)} {
		if _, _, _, err := decodeAlertValue([]byte{prefixAlert}, v); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decodeAlertValue(%v) = %v", v, err)
		}
	}
	if _, err := decodeSegment([]byte{prefixSegment}, []byte{1}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("decodeSegment: %v", err)
	}
}

func TestAlertValueRoundTrip(t *testing.T) {
	v := alertValue(nil, "01ABC", -42, []byte(`{"x":1}`))
	at, id, payload, err := decodeAlertValue([]byte{prefixAlert}, v)
	if err != nil || at != -42 || string(id) != "01ABC" || string(payload) != `{"x":1}` {
		t.Errorf("decodeAlertValue = %d %q %q %v", at, id, payload, err)
	}
}
