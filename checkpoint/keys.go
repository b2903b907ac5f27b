package checkpoint

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
)

// Key prefixes: the first byte of every key names its kind. doc.go gives the
// whole layout.
const (
	prefixAlert      byte = 'a'
	prefixCounter    byte = 'c'
	prefixDeadLetter byte = 'd'
	prefixEventID    byte = 'e'
	prefixSegment    byte = 'g'
	prefixAlertID    byte = 'i'
	prefixLog        byte = 'l'
	prefixMeta       byte = 'm'
	prefixNamed      byte = 'n'
	prefixOffset     byte = 'o'
	prefixState      byte = 's'
	prefixTimer      byte = 't'
	prefixWatermark  byte = 'w'
	prefixEventTime  byte = 'x'
)

// Counter kinds: the second byte of a counter key. Kinds below counterAdd
// merge by maximum, the others by (wrapping) addition.
const (
	ctrAlertNext  byte = 0x01 // next alert sequence number (max)
	ctrLogEnd     byte = 0x02 // per partition: next log offset (max)
	ctrLogStart   byte = 0x03 // per partition: first untrimmed offset (max)
	counterAdd    byte = 0x80
	ctrAlertBytes byte = 0x81 // bytes of alert records (add)
	ctrAlertCount byte = 0x82 // number of alert records (add)
	ctrLogBytes   byte = 0x83 // per partition: bytes of log records (add)
)

// metaFormatKey holds the layout version, formatVersion, as 4 bytes.
var metaFormatKey = []byte{prefixMeta, 'f', 'o', 'r', 'm', 'a', 't'}

const formatVersion uint32 = 1

// flipTime maps a signed event time to an unsigned one whose big-endian
// bytes sort like the signed value: the sign bit is flipped.
func flipTime(at int64) uint64 { return uint64(at) ^ 1<<63 }

func unflipTime(u uint64) int64 { return int64(u ^ 1<<63) }

// checkName reports whether s can be a pattern or source name in a key:
// not empty, no NUL byte (NUL ends the name).
func checkName(what, s string) error {
	if s == "" {
		return invalid("empty %s name", what)
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		return invalid("%s name %q holds a NUL byte at %d", what, s, i)
	}
	return nil
}

// appendName appends s and its NUL terminator.
func appendName(b []byte, s string) []byte {
	b = append(b, s...)
	return append(b, 0)
}

// stateKey: 's' pattern 0x00 version(4) key.
func stateKey(b []byte, pattern string, version uint32, key []byte) []byte {
	b = append(b, prefixState)
	b = appendName(b, pattern)
	b = binary.BigEndian.AppendUint32(b, version)
	return append(b, key...)
}

// timerKey: 't' flip(at)(8) pattern 0x00 version(4) key.
func timerKey(b []byte, at int64, pattern string, version uint32, key []byte) []byte {
	b = append(b, prefixTimer)
	b = binary.BigEndian.AppendUint64(b, flipTime(at))
	b = appendName(b, pattern)
	b = binary.BigEndian.AppendUint32(b, version)
	return append(b, key...)
}

// sourceKey: prefix source 0x00 partition(4); offsets and watermarks.
func sourceKey(b []byte, prefix byte, source string, partition uint32) []byte {
	b = append(b, prefix)
	b = appendName(b, source)
	return binary.BigEndian.AppendUint32(b, partition)
}

// alertKey: 'a' seq(8).
func alertKey(b []byte, seq uint64) []byte {
	b = append(b, prefixAlert)
	return binary.BigEndian.AppendUint64(b, seq)
}

// alertIDKey: 'i' id.
func alertIDKey(b []byte, id string) []byte {
	b = append(b, prefixAlertID)
	return append(b, id...)
}

// logKey: 'l' partition(4) offset(8).
func logKey(b []byte, partition uint32, off uint64) []byte {
	b = append(b, prefixLog)
	b = binary.BigEndian.AppendUint32(b, partition)
	return binary.BigEndian.AppendUint64(b, off)
}

// eventIDKey: 'e' id; the event id index of AppendRecords.
func eventIDKey(b []byte, id string) []byte {
	b = append(b, prefixEventID)
	return append(b, id...)
}

// eventTimeKey: 'x' flip(at)(8) id; the event id index by time.
func eventTimeKey(b []byte, at int64, id string) []byte {
	b = append(b, prefixEventTime)
	b = binary.BigEndian.AppendUint64(b, flipTime(at))
	return append(b, id...)
}

// decodeEventTimeKey splits an event time key. id aliases k.
func decodeEventTimeKey(k []byte) (at int64, id []byte, err error) {
	if len(k) < 1+8+1 || k[0] != prefixEventTime {
		return 0, nil, corrupt(k, "malformed event time key")
	}
	return unflipTime(binary.BigEndian.Uint64(k[1:])), k[9:], nil
}

// eventIDValue: at(8, two's complement) partition(4) offset(8).
func eventIDValue(b []byte, at int64, partition uint32, off uint64) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(at))
	b = binary.BigEndian.AppendUint32(b, partition)
	return binary.BigEndian.AppendUint64(b, off)
}

func decodeEventIDValue(k, v []byte) (at int64, partition uint32, off uint64, err error) {
	if len(v) != 20 {
		return 0, 0, 0, corrupt(k, "event id value of %d bytes, want 20", len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), binary.BigEndian.Uint32(v[8:]), binary.BigEndian.Uint64(v[12:]), nil
}

// segmentKey: 'g' partition(4) first offset(8).
func segmentKey(b []byte, partition uint32, first uint64) []byte {
	b = append(b, prefixSegment)
	b = binary.BigEndian.AppendUint32(b, partition)
	return binary.BigEndian.AppendUint64(b, first)
}

// counterKey: 'c' kind, then partition(4) for the per-partition kinds.
func counterKey(kind byte) []byte { return []byte{prefixCounter, kind} }

func partitionCounterKey(kind byte, partition uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixCounter, kind}, partition)
}

// prefixEnd returns the smallest key greater than every key that starts
// with p, or nil when there is none (p is all 0xff).
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// u64 decodes an 8-byte big-endian value.
func u64(key, v []byte) (uint64, error) {
	if len(v) != 8 {
		return 0, corrupt(key, "value of %d bytes, want 8", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// decodeStateKey splits a state key. pattern aliases k.
func decodeStateKey(k []byte) (pattern []byte, version uint32, key []byte, err error) {
	rest := k[1:]
	i := bytes.IndexByte(rest, 0)
	if i < 1 || len(rest) < i+1+4 {
		return nil, 0, nil, corrupt(k, "malformed state key")
	}
	return rest[:i], binary.BigEndian.Uint32(rest[i+1:]), rest[i+5:], nil
}

// decodeTimerKey splits a timer key. pattern and key alias k.
func decodeTimerKey(k []byte) (at int64, pattern []byte, version uint32, key []byte, err error) {
	if len(k) < 1+8+2+4 {
		return 0, nil, 0, nil, corrupt(k, "malformed timer key")
	}
	at = unflipTime(binary.BigEndian.Uint64(k[1:]))
	pattern, version, key, err = decodeStateKey(k[8:])
	if err != nil {
		return 0, nil, 0, nil, corrupt(k, "malformed timer key")
	}
	return at, pattern, version, key, nil
}

// decodeSourceKey splits an offset or watermark key.
func decodeSourceKey(k []byte) (source string, partition uint32, err error) {
	rest := k[1:]
	i := bytes.IndexByte(rest, 0)
	if i < 1 || len(rest) != i+1+4 {
		return "", 0, corrupt(k, "malformed source key")
	}
	return string(rest[:i]), binary.BigEndian.Uint32(rest[i+1:]), nil
}

// decodeLogKey returns the partition and offset of a log record key.
func decodeLogKey(k []byte) (partition uint32, off uint64, err error) {
	if len(k) != 13 || (k[0] != prefixLog && k[0] != prefixSegment) {
		return 0, 0, corrupt(k, "malformed log key")
	}
	return binary.BigEndian.Uint32(k[1:]), binary.BigEndian.Uint64(k[5:]), nil
}

// decodeAlertKey returns the sequence number of an alert key.
func decodeAlertKey(k []byte) (uint64, error) {
	if len(k) != 9 {
		return 0, corrupt(k, "malformed alert key")
	}
	return binary.BigEndian.Uint64(k[1:]), nil
}

// alertValue: at(8, two's complement) uvarint(len id) id payload.
func alertValue(b []byte, id string, at int64, payload []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(at))
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	return append(b, payload...)
}

// decodeAlertValue splits an alert value. id and payload alias v.
func decodeAlertValue(k, v []byte) (at int64, id, payload []byte, err error) {
	if len(v) < 9 {
		return 0, nil, nil, corrupt(k, "alert value of %d bytes", len(v))
	}
	at = int64(binary.BigEndian.Uint64(v))
	n, w := binary.Uvarint(v[8:])
	if w <= 0 || uint64(len(v)-8-w) < n {
		return 0, nil, nil, corrupt(k, "alert id length out of range")
	}
	rest := v[8+w:]
	return at, rest[:n], rest[n:], nil
}

// segment is the value of a segment key: the records one group commit
// appended to one partition.
type segment struct {
	at    int64  // wall clock of the commit, Unix ns
	count uint64 // records
	bytes int64  // key and value bytes of those records
}

func (g segment) append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(g.at))
	b = binary.BigEndian.AppendUint64(b, g.count)
	return binary.BigEndian.AppendUint64(b, uint64(g.bytes))
}

func decodeSegment(k, v []byte) (segment, error) {
	if len(v) != 24 {
		return segment{}, corrupt(k, "segment value of %d bytes, want 24", len(v))
	}
	return segment{
		at:    int64(binary.BigEndian.Uint64(v)),
		count: binary.BigEndian.Uint64(v[8:]),
		bytes: int64(binary.BigEndian.Uint64(v[16:])),
	}, nil
}

// keyString renders a key for an error message: the kind letter, then the
// rest quoted.
func keyString(k []byte) string {
	if len(k) == 0 {
		return `""`
	}
	return string(k[0]) + ":" + strconv.Quote(string(k[1:]))
}
