// Package client is the Go client library of the Motif server: the pattern
// catalog (ValidatePatterns, ApplyPatterns, ListPatterns, GetPattern,
// DeletePattern), event ingest (Publish, and Publisher for streams of
// batches), alert delivery (Subscribe) and operations (Status, Checkpoint,
// ListCheckpoints, DeleteSavepoint).
//
// It speaks the Connect protocol (gRPC with WithGRPC) over HTTP/2, without
// TLS to an http:// or host:port address. Every call takes a context
// first. Calls that are safe to repeat are retried with backoff when they
// fail in a way that may pass (see WithRetry); subscriptions reconnect and
// resume where they stopped. Errors from the server are *connect.Error
// values: use connect.CodeOf.
//
// It depends on nothing but the generated protobuf code and its runtimes;
// messages the server defines (the status, a checkpoint, a pattern's
// versions) are returned as the generated types. Its tests and examples run
// a real server in-process with internal/servertest.
package client
