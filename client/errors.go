package client

import (
	"errors"
	"strings"
)

// Errors of the client itself. Errors of the server are *connect.Error
// values: connect.CodeOf(err) tells them apart (connect.CodeUnauthenticated
// for a missing or wrong token, connect.CodeNotFound for an unknown pattern
// or savepoint, connect.CodeOutOfRange for a subscription cursor whose
// alerts retention removed).
var (
	// ErrInvalidAddress is returned by New for an address it cannot use.
	ErrInvalidAddress = errors.New("invalid server address")
	// ErrClosed is returned by a Publisher's Send after Close.
	ErrClosed = errors.New("client: publisher closed")
	// ErrRejected is matched (errors.Is) by a *RejectedError.
	ErrRejected = errors.New("pattern files rejected")
)

// RejectedError is the error of ApplyPatterns and PlanPatterns when the
// files have errors: nothing was registered, and Diagnostics (errors and
// warnings, sorted by file, line and column) say why.
type RejectedError struct {
	Diagnostics Diagnostics
}

// Error lists the diagnostics, one per line, as `motif check` prints them.
func (e *RejectedError) Error() string {
	var b strings.Builder
	b.WriteString(ErrRejected.Error())
	b.WriteString(":")
	for _, d := range e.Diagnostics {
		b.WriteString("\n")
		b.WriteString(d.String())
	}
	return b.String()
}

// Is reports whether target is ErrRejected.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }
