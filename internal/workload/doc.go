// Package workload generates the deterministic event streams and matching
// pattern files that Motif's benchmarks and tests run on.
//
// Every generator takes a Spec and writes NDJSON events (one JSON object per
// line, with `type`, `time` as RFC 3339 UTC with millisecond precision, `id`
// and attributes) in event-time order. A generator draws from math/rand/v2
// seeded with Spec.Seed and does no floating-point arithmetic on its output,
// so the same Spec gives the same bytes on every run and every platform.
//
//   - Fraud and FraudPatterns: a card-fraud mix with injected fraud scenarios,
//     so that every pattern of FraudPatterns fires now and then.
//   - ABC and ABCPattern: the engine-comparison workload, with CountABC, an
//     engine-independent brute-force count of ABCPattern's matches.
//
// Nothing here is used by the engine itself; this package only feeds it.
package workload
