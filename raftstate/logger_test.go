package raftstate

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestHCLogger(t *testing.T) {
	var buf bytes.Buffer
	l := newHCLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), "raft")
	l.Debug("hidden")
	l.Named("wal").With("segment", 3).Warn("rotated", "index", 9)
	l.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Error}).Print("std line\n")
	got := buf.String()
	for _, want := range []string{
		`level=WARN msg=rotated segment=3 component=raft.wal index=9`,
		`level=ERROR msg="std line" component=raft`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log\n%s\ndoes not hold %q", got, want)
		}
	}
	if strings.Contains(got, "hidden") || strings.Count(got, "component=") != 2 {
		t.Errorf("log\n%s\nholds a debug line or a repeated component", got)
	}
	if l.IsDebug() || !l.IsInfo() || l.GetLevel() != hclog.Info {
		t.Errorf("IsDebug %v, IsInfo %v, GetLevel %v; want false, true, info", l.IsDebug(), l.IsInfo(), l.GetLevel())
	}
	if _, ok := newHCLogger(nil, "raft").(*slogLogger); ok {
		t.Error("a nil logger does not discard")
	}
}
