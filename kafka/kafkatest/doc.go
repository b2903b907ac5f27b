// Package kafkatest starts an in-process Kafka cluster (franz-go's kfake) for
// tests and offers helpers to produce records to it and read topics back.
//
// Every helper takes a testing.TB, fails the test on error and cleans up what
// it starts with t.Cleanup. Nothing here is meant for production: the cluster
// keeps its log in memory and listens on 127.0.0.1 only.
package kafkatest
