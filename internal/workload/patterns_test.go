package workload

import (
	"testing"

	"github.com/motifcep/motif/pattern"
)

// TestPatternsCheck checks that the pattern sources shipped with the
// workloads parse and check clean, warnings included.
func TestPatternsCheck(t *testing.T) {
	for _, tc := range []struct {
		file, src string
		patterns  int
	}{{"fraud.motif", FraudPatterns, 6}, {"abc.motif", ABCPattern, 1}} {
		f, diags := pattern.Parse(tc.file, []byte(tc.src))
		if len(diags) > 0 {
			t.Errorf("parse:\n%v", diags)
			continue
		}
		set, diags := pattern.Check(f)
		if len(diags) > 0 || set == nil {
			t.Errorf("check:\n%v", diags)
			continue
		}
		if len(set.Patterns) != tc.patterns {
			t.Errorf("%s: %d patterns, want %d", tc.file, len(set.Patterns), tc.patterns)
		}
	}
}
