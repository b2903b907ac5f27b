package event

import "fmt"

// DecodeErrorKind classifies why an input line is not a valid event. A kind
// is itself an error, so that errors.Is(err, ErrNoType) finds a *DecodeError
// of that kind.
type DecodeErrorKind uint8

const (
	ErrBadJSON DecodeErrorKind = iota + 1 // not one well-formed JSON object
	ErrNoType                             // the type field is missing, not a string, or empty
	ErrBadTime                            // the time field is missing (when required) or unparsable
	ErrBadID                              // the id field is neither a string nor an integer
)

var decodeErrorKindNames = [...]string{"", "bad JSON", "no type", "bad time", "bad id"}

func (k DecodeErrorKind) String() string {
	if int(k) < len(decodeErrorKindNames) && k != 0 {
		return decodeErrorKindNames[k]
	}
	return fmt.Sprintf("DecodeErrorKind(%d)", uint8(k))
}

// Error makes a kind usable as a sentinel with errors.Is.
func (k DecodeErrorKind) Error() string { return "invalid event: " + k.String() }

// DecodeError says why a line is not a valid event. Msg is complete and
// meant for a user, for instance
//
//	invalid JSON at byte 17: expected ',' or '}' after object field
//	missing "type" field
//	"time": cannot parse "2026-13-01" as RFC 3339 or epoch milliseconds
//
// Offset is the index (from 0) of the byte at fault in the line: for syntax
// errors the byte that could not be read, for the fixed fields the start of
// the offending value, 0 when the field is missing.
type DecodeError struct {
	Kind   DecodeErrorKind
	Msg    string
	Offset int
}

func (e *DecodeError) Error() string { return e.Msg }

// Is reports whether target is the kind of e.
func (e *DecodeError) Is(target error) bool {
	k, ok := target.(DecodeErrorKind)
	return ok && k == e.Kind
}

func syntaxError(off int, msg string) *DecodeError {
	return &DecodeError{Kind: ErrBadJSON, Offset: off, Msg: fmt.Sprintf("invalid JSON at byte %d: %s", off, msg)}
}

// errAt reports a syntax error at b[i], or the end of the input when i is past it.
func errAt(b []byte, i int, expected string) *DecodeError {
	if i >= len(b) {
		return syntaxError(len(b), "unexpected end of input, "+expected)
	}
	return syntaxError(i, expected)
}
