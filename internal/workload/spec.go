package workload

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// ErrInvalidSpec is returned (wrapped) by the generators for a Spec they
// cannot honour.
var ErrInvalidSpec = errors.New("workload: invalid spec")

// Spec says what a generator writes.
type Spec struct {
	Name   string // a label for reports; the generators do not read it
	Events int    // the number of lines to write, exactly
	Keys   int    // the number of partition keys (cards, users); 0: the generator's default
	Seed   uint64 // the seed of the random source: same Spec, same bytes
}

// keys validates s and returns its number of keys, def when s gives none.
func (s Spec) keys(def int) (int, error) {
	var errs []error
	if s.Events < 0 {
		errs = append(errs, fmt.Errorf("%w: Events %d is negative", ErrInvalidSpec, s.Events))
	}
	if s.Keys < 0 || s.Keys > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("%w: Keys %d is out of range [0, %d]", ErrInvalidSpec, s.Keys, math.MaxInt32))
	}
	if len(errs) > 0 {
		return 0, errors.Join(errs...)
	}
	if s.Keys == 0 {
		return def, nil
	}
	return s.Keys, nil
}

// newRand returns the random source of a generator for seed.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// mix64 is SplitMix64's finaliser: a fixed, well-spread hash of x, used to
// derive per-key attributes (home city, usual device) without storing them.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
