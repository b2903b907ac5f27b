package statebench

import "github.com/motifcep/motif/internal/golden"

var _ = golden.Update
