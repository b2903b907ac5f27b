package raftstate

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	good := Config{NodeID: "n1", Dir: "/tmp/x", RaftAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:7000"}
	if err := good.withDefaults().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	bad := Config{
		RaftAddr:           "nowhere",
		APIAddr:            "127.0.0.1:7000",
		HeartbeatTimeout:   time.Second,
		ElectionTimeout:    time.Millisecond * 500,
		LeaderLeaseTimeout: 2 * time.Second,
		FailAfter:          time.Millisecond,
	}
	err := bad.withDefaults().Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	// Every problem at once.
	for _, want := range []string{
		"NodeID is empty",
		"Dir is empty",
		`RaftAddr "nowhere"`,
		"FailAfter 1ms",
		"ElectionTimeout 500ms is smaller than HeartbeatTimeout 1s",
		"LeaderLeaseTimeout 2s is larger than HeartbeatTimeout 1s",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{HeartbeatTimeout: 300 * time.Millisecond}.withDefaults()
	if c.ElectionTimeout != 300*time.Millisecond || c.LeaderLeaseTimeout != 150*time.Millisecond {
		t.Errorf("election %v, lease %v; want 300ms and 150ms, from the heartbeat timeout", c.ElectionTimeout, c.LeaderLeaseTimeout)
	}
	if c.FailAfter != defaultFailAfter || c.SnapshotRetain != 2 || c.WALSegmentSize == 0 {
		t.Errorf("defaults not applied: %+v", c)
	}
}
