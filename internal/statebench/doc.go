// Package statebench holds the benchmarks of Motif's durable key state at
// scale, and what they need: a generated input of open partial matches
// (Input, Events), a sampler of the process's memory and GC pauses
// (Sampler), and a runner of the motif binary as a child process (Serve).
//
// The benchmarks, in the package's tests, measure the targets of durable
// state: memory and GC pauses with ten million open partial matches and
// throughput over keys not in the cache (BenchmarkOpenMatches), a
// checkpoint of a gigabyte of state while the pipeline keeps processing
// (BenchmarkCheckpointWhileProcessing), and the restart of `motif serve`
// after kill -9 with a gigabyte of state (BenchmarkRestartAfterKill). They
// write gigabytes, so they run only when MOTIF_BENCH_BIG is set (full size)
// or MOTIF_BENCH_KEYS is (a size of one's choice); each one's doc comment
// gives the command.
//
// Nothing here is used by Motif itself.
package statebench
