package event

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Kind is the dynamic type of a Value.
type Kind uint8

const (
	Null Kind = iota
	Bool
	Number
	String
	Time     // an instant, as Unix nanoseconds
	Duration // nanoseconds
	List
	Object
)

var kindNames = [...]string{"null", "bool", "number", "string", "time", "duration", "list", "object"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one dynamically typed value of an event field or an expression.
// The zero Value is null. Values are immutable and cheap to copy: two
// words, so that an event's fields take few cache lines.
//
// The kind lives in whichever word has room for it. A bool, number, time or
// duration fills bits, so p points at its kind's byte in kindTags. A string,
// list or object needs p for its data, and its length is far below 2^56, so
// its kind is the top byte of bits. Null is the zero Value (p nil, bits 0).
type Value struct {
	p    unsafe.Pointer // String: its bytes; List: its first element; Object: the *Obj; else &kindTags[kind]
	bits uint64         // Number: float64 bits; Time, Duration: int64; Bool: 0 or 1; String, List: length | kind<<56
}

// kindTags gives the scalar kinds an address to be told apart by.
var kindTags [8]byte

const kindShift = 56

func tag(k Kind) unsafe.Pointer { return unsafe.Pointer(&kindTags[k]) }

// Kind returns the dynamic type of the value.
func (v Value) Kind() Kind {
	if d := uintptr(v.p) - uintptr(unsafe.Pointer(&kindTags)); d < uintptr(len(kindTags)) {
		return Kind(d)
	}
	return Kind(v.bits >> kindShift)
}

// n is the length of a string or list.
func (v Value) n() int { return int(v.bits & (1<<kindShift - 1)) }

// Obj is a JSON object with its keys in input order.
type Obj struct {
	Keys []string
	Vals []Value
}

// Get returns the value of key, or null.
func (o *Obj) Get(key string) Value {
	for i, k := range o.Keys {
		if k == key {
			return o.Vals[i]
		}
	}
	return Value{}
}

// Constructors.
func NullValue() Value            { return Value{} }
func NumberValue(f float64) Value { return Value{p: tag(Number), bits: math.Float64bits(f)} }
func StringValue(s string) Value {
	return Value{p: unsafe.Pointer(unsafe.StringData(s)), bits: uint64(len(s)) | uint64(String)<<kindShift}
}
func TimeValue(ns int64) Value    { return Value{p: tag(Time), bits: uint64(ns)} }
func DurationValue(d int64) Value { return Value{p: tag(Duration), bits: uint64(d)} }
func ListValue(l []Value) Value {
	return Value{p: unsafe.Pointer(unsafe.SliceData(l)), bits: uint64(len(l)) | uint64(List)<<kindShift}
}
func ObjectValue(o *Obj) Value { return Value{p: unsafe.Pointer(o), bits: uint64(Object) << kindShift} }
func BoolValue(b bool) Value {
	if b {
		return Value{p: tag(Bool), bits: 1}
	}
	return Value{p: tag(Bool)}
}

// Accessors. Each returns the zero value of its result for a Value of another kind.
func (v Value) IsNull() bool { return v.p == nil && v.bits == 0 }
func (v Value) Bool() bool   { return v.p == tag(Bool) && v.bits == 1 }
func (v Value) TimeNs() int64 {
	if v.p != tag(Time) {
		return 0
	}
	return int64(v.bits)
}
func (v Value) DurNs() int64 {
	if v.p != tag(Duration) {
		return 0
	}
	return int64(v.bits)
}
func (v Value) Str() string {
	if v.Kind() != String {
		return ""
	}
	return unsafe.String((*byte)(v.p), v.n())
}
func (v Value) Num() float64 {
	if v.p != tag(Number) {
		return 0
	}
	return math.Float64frombits(v.bits)
}
func (v Value) List() []Value {
	if v.Kind() != List {
		return nil
	}
	return unsafe.Slice((*Value)(v.p), v.n())
}
func (v Value) Obj() *Obj {
	if v.Kind() != Object {
		return nil
	}
	return (*Obj)(v.p)
}

// Truthy is how and, or, not and conditions read a value: only true is true.
func (v Value) Truthy() bool { return v.p == tag(Bool) && v.bits == 1 }

// Equal reports whether a and b are the same value. Values of different kinds
// are never equal (null equals only null).
func Equal(a, b Value) bool {
	k := a.Kind()
	if k != b.Kind() {
		return false
	}
	switch k {
	case Null:
		return true
	case Number:
		return a.Num() == b.Num()
	case String:
		return a.Str() == b.Str()
	case List:
		al, bl := a.List(), b.List()
		if len(al) != len(bl) {
			return false
		}
		for i := range al {
			if !Equal(al[i], bl[i]) {
				return false
			}
		}
		return true
	case Object:
		ao, bo := a.Obj(), b.Obj()
		if len(ao.Keys) != len(bo.Keys) {
			return false
		}
		for i, k := range ao.Keys {
			if !Equal(ao.Vals[i], bo.Get(k)) {
				return false
			}
		}
		return true
	default:
		return a.bits == b.bits
	}
}

// Compare orders two values of the same ordered kind (number, string, time,
// duration, bool). ok is false when they cannot be ordered.
func Compare(a, b Value) (c int, ok bool) {
	k := a.Kind()
	if k != b.Kind() {
		return 0, false
	}
	switch k {
	case Number:
		x, y := a.Num(), b.Num()
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		case x == y:
			return 0, true
		}
		return 0, false // NaN
	case String:
		return strings.Compare(a.Str(), b.Str()), true
	case Time, Duration:
		x, y := int64(a.bits), int64(b.bits)
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case Bool:
		return int(a.bits) - int(b.bits), true
	}
	return 0, false
}

// AppendText appends the value as it reads in an alert message: strings
// without quotes, numbers in their shortest form, times in RFC 3339, null as
// "null", lists and objects as JSON.
func (v Value) AppendText(b []byte) []byte {
	switch v.Kind() {
	case String:
		return append(b, v.Str()...)
	case Number:
		return AppendNumber(b, v.Num())
	case Time:
		return time.Unix(0, v.TimeNs()).UTC().AppendFormat(b, time.RFC3339Nano)
	case Duration:
		return append(b, time.Duration(v.DurNs()).String()...)
	case Bool:
		return strconv.AppendBool(b, v.Bool())
	case Null:
		return append(b, "null"...)
	}
	return v.AppendJSON(b)
}

// AppendJSON appends the value as JSON. Times and durations become strings.
func (v Value) AppendJSON(b []byte) []byte {
	switch v.Kind() {
	case Null:
		return append(b, "null"...)
	case Bool:
		return strconv.AppendBool(b, v.Bool())
	case Number:
		f := v.Num()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...)
		}
		return AppendNumber(b, f)
	case String:
		return AppendJSONString(b, v.Str())
	case Time, Duration:
		b = append(b, '"')
		b = v.AppendText(b)
		return append(b, '"')
	case List:
		b = append(b, '[')
		for i, e := range v.List() {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.AppendJSON(b)
		}
		return append(b, ']')
	case Object:
		o := v.Obj()
		b = append(b, '{')
		for i, k := range o.Keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, k)
			b = append(b, ':')
			b = o.Vals[i].AppendJSON(b)
		}
		return append(b, '}')
	}
	return append(b, "null"...)
}

func (v Value) String() string { return string(v.AppendText(nil)) }

// AppendNumber appends f as encoding/json would: the shortest representation,
// without an exponent for ordinary magnitudes.
func AppendNumber(b []byte, f float64) []byte {
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		b = strconv.AppendFloat(b, f, 'e', -1, 64)
		// As encoding/json: 2e-07 is written 2e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
		return b
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a quoted JSON string. Invalid UTF-8 becomes U+FFFD.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
