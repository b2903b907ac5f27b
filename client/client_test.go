package client_test

import (
	"crypto/tls"
	"errors"
	"testing"

	"github.com/motifcep/motif/client"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

func TestNewAddress(t *testing.T) {
	for _, tc := range []struct {
		addr string
		tls  bool
		want string // "" for ErrInvalidAddress
	}{
		{"127.0.0.1:7070", false, "http://127.0.0.1:7070"},
		{"127.0.0.1:7070", true, "https://127.0.0.1:7070"},
		{"motif.example:443", true, "https://motif.example:443"},
		{"http://localhost:7070", true, "http://localhost:7070"},
		{"https://motif.example/", false, "https://motif.example"},
		{"https://motif.example/prefix/", false, "https://motif.example/prefix"},
		{"", false, ""},
		{"ftp://x:1", false, ""},
		{"http://", false, ""},
		{"http://u:p@host:1", false, ""},
		{"http://host:1/?q=1", false, ""},
	} {
		var opts []client.Option
		if tc.tls {
			opts = append(opts, client.WithTLSConfig(&tls.Config{}))
		}
		c, err := client.New(tc.addr, opts...)
		switch {
		case tc.want == "" && !errors.Is(err, client.ErrInvalidAddress):
			t.Errorf("New(%q): %v, want ErrInvalidAddress", tc.addr, err)
		case tc.want != "" && err != nil:
			t.Errorf("New(%q): %v", tc.addr, err)
		case tc.want != "" && c.URL() != tc.want:
			t.Errorf("New(%q).URL() = %q, want %q", tc.addr, c.URL(), tc.want)
		}
	}
}

func TestAlertJSON(t *testing.T) {
	for _, tc := range []struct {
		js   string
		seq  uint64
		want string
	}{
		{`{"id":"a","pattern":"p"}`, 7, `{"seq":7,"id":"a","pattern":"p"}`},
		{`{}`, 1, `{"seq":1}`},
		{``, 2, `{"seq":2}`},
	} {
		a := client.Alert{Seq: tc.seq, Alert: &motifv1.Alert{Json: []byte(tc.js)}}
		if got := string(a.JSON()); got != tc.want {
			t.Errorf("%s with seq %d: %s, want %s", tc.js, tc.seq, got, tc.want)
		}
	}
}

func TestParseCursor(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"now", "now"}, {"start", "start"}, {"0", "start"}, {"42", "42"},
		{"", ""}, {"-1", ""}, {"Now", ""}, {"4x", ""},
	} {
		c, err := client.ParseCursor(tc.in)
		if (tc.want == "") != (err != nil) || (err == nil && c.String() != tc.want) {
			t.Errorf("ParseCursor(%q) = %v, %v; want %q", tc.in, c, err, tc.want)
		}
	}
	if client.After(3) != client.After(3) || client.After(0) != client.FromStart() || (client.Cursor{}) != client.FromNow() {
		t.Error("cursors do not compare as they should")
	}
}

func TestParseSeverity(t *testing.T) {
	for in, want := range map[string]motifv1.Severity{
		"info":     motifv1.Severity_SEVERITY_INFO,
		"low":      motifv1.Severity_SEVERITY_LOW,
		"medium":   motifv1.Severity_SEVERITY_MEDIUM,
		"high":     motifv1.Severity_SEVERITY_HIGH,
		"critical": motifv1.Severity_SEVERITY_CRITICAL,
		// Not severities: the error's zero value.
		"": 0, "unspecified": 0, "HIGH": 0, "severe": 0,
	} {
		got, err := client.ParseSeverity(in)
		if got != want || (want == 0) != (err != nil) {
			t.Errorf("ParseSeverity(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}
