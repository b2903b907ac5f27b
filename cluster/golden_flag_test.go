package cluster

import "github.com/motifcep/motif/internal/golden"

// Every test binary of the repository accepts -update (CI runs them all
// with it); this package has no golden files.
var _ = golden.Update
