package serverbench

import "github.com/motifcep/motif/internal/golden"

// Every test binary accepts -update, so that
// 'go test ./... -run Golden -update' works across the module.
var _ = golden.Update
