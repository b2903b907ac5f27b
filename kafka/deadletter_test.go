package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/motifcep/motif/kafka/kafkatest"
)

func newTestDeadLetters(t *testing.T, addrs []string, topic string) *DeadLetters {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	d, err := NewDeadLetters(ctx, DeadLetterConfig{Brokers: addrs}, topic)
	if err != nil {
		t.Fatalf("NewDeadLetters: %v", err)
	}
	t.Cleanup(d.Close)
	return d
}

func TestDeadLettersLandWithHeaders(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"dlq": 2})
	d := newTestDeadLetters(t, addrs, "dlq")
	key, value := []byte("card-1"), []byte(`{"type":`)
	d.Add(TopicPartition{"in", 3}, 41, "bad JSON: unexpected end", key, value)
	key[0], value[0] = 'X', 'X' // Add copied them
	d.Add(TopicPartition{"in", 0}, 7, "no type", nil, []byte(`{}`))

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := d.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	// Flush returned: both are acknowledged, readable without waiting.
	if d.Produced() != 2 || d.Failed() != 0 {
		t.Errorf("Produced, Failed = %d, %d; want 2, 0", d.Produced(), d.Failed())
	}
	var got []string
	for _, r := range kafkatest.ReadAll(t, addrs, "dlq") {
		got = append(got, describeDeadLetter(r))
	}
	want := map[string]bool{
		`key="card-1" value="{\"type\":" motif-reason="bad JSON: unexpected end" motif-source-topic="in" motif-source-partition="3" motif-source-offset="41"`: true,
		`key="" value="{}" motif-reason="no type" motif-source-topic="in" motif-source-partition="0" motif-source-offset="7"`:                                 true,
	}
	if len(got) != len(want) {
		t.Fatalf("dead letters = %q, want %d", got, len(want))
	}
	for _, g := range got {
		if !want[g] {
			t.Errorf("unexpected dead letter %s", g)
		}
	}
}

func TestDeadLettersFlushReportsFailures(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"dlq": 1})
	d := newTestDeadLetters(t, addrs, "dlq")
	d.Add(TopicPartition{"in", 1}, 9, "too big", nil, make([]byte, 2<<20)) // over the producer's batch limit
	d.Add(TopicPartition{"in", 1}, 10, "fine", nil, []byte("v"))
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	err := d.Flush(ctx)
	if !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("Flush = %v, want a record-too-large error", err)
	}
	if !strings.Contains(err.Error(), "in/1 offset 9") {
		t.Errorf("Flush error %q does not name the source position", err)
	}
	if d.Produced() != 1 || d.Failed() != 1 {
		t.Errorf("Produced, Failed = %d, %d; want 1, 1", d.Produced(), d.Failed())
	}
	if err := d.Flush(ctx); err != nil {
		t.Errorf("second Flush = %v, want nil (failures are reported once)", err)
	}
}

func TestNewDeadLettersChecksTopic(t *testing.T) {
	addrs := kafkatest.Cluster(t, map[string]int32{"dlq": 1})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := NewDeadLetters(ctx, DeadLetterConfig{Brokers: addrs}, "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("NewDeadLetters(nope) = %v, want an error naming the topic", err)
	}
	if _, err := NewDeadLetters(ctx, DeadLetterConfig{}, ""); err == nil || !strings.Contains(err.Error(), "no brokers") || !strings.Contains(err.Error(), "no topic") {
		t.Errorf("NewDeadLetters with nothing = %v, want both problems", err)
	}
}

func describeDeadLetter(r *kgo.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "key=%q value=%q", r.Key, r.Value)
	for _, h := range r.Headers {
		fmt.Fprintf(&b, " %s=%q", h.Key, h.Value)
	}
	return b.String()
}
