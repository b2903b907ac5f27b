package sink

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	err := Config{
		SinkID:             "a b",
		MaxBatch:           -1,
		RetryBackoff:       time.Second,
		MaxRetryBackoff:    time.Millisecond,
		TransactionTimeout: time.Millisecond,
	}.Validate()
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Validate: %v, want ErrInvalidConfig", err)
	}
	for _, want := range []string{
		"Brokers is empty", "Topic is empty", "white space", "MaxBatch is negative",
		"MaxRetryBackoff 1ms is below RetryBackoff 1s", "TransactionTimeout 1ms is below 100ms",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v\nwant it to say %q", err, want)
		}
	}
	ok := Config{Brokers: []string{"b:9092"}, Topic: "t", SinkID: "node-1"}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(%+v): %v", ok, err)
	}
	if err := (Config{Brokers: ok.Brokers, Topic: "t", SinkID: strings.Repeat("x", 201)}).Validate(); err == nil {
		t.Error("Validate accepted a 201-byte SinkID")
	}
}
