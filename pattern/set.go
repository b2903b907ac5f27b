package pattern

import "os"

// Set is a checked set of files registered together (one namespace).
type Set struct {
	Files    []*File
	Events   []*EventDecl   // all event declarations, in file order
	Patterns []*PatternDecl // all patterns, in file order
}

// Event returns the declaration of the event type called name, or nil if the
// set does not declare it.
func (s *Set) Event(name string) *EventDecl {
	if s == nil {
		return nil
	}
	for _, e := range s.Events {
		if e != nil && e.Name.Name == name {
			return e
		}
	}
	return nil
}

// Load reads, parses and checks the files as one set. The parse errors of
// every file are reported; the files are checked together only when all of
// them parse, so that a file that does not parse causes no errors elsewhere.
// A file that cannot be read gives an error at its line 1, column 1.
func Load(paths ...string) (*Set, Diagnostics) {
	var diags Diagnostics
	var files []*File
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			diags = append(diags, Diagnostic{
				Pos:      Pos{File: path, Line: 1, Col: 1},
				Severity: Error,
				Msg:      "cannot read pattern file: " + err.Error(),
			})
			continue
		}
		f, ds := Parse(path, src)
		diags = append(diags, ds...)
		if f != nil {
			files = append(files, f)
		}
	}
	if diags.HasErrors() {
		diags.Sort()
		return nil, diags
	}
	set, cds := Check(files...)
	diags = append(diags, cds...)
	diags.Sort()
	return set, diags
}

// Compile parses and checks one source as a set: the checker runs only
// when it parses.
func Compile(name string, src []byte) (*Set, Diagnostics) {
	f, diags := Parse(name, src)
	if diags.HasErrors() {
		return nil, diags
	}
	set, cds := Check(f)
	return set, append(diags, cds...)
}

// Stages returns every stage of p in pre-order: a group comes before its
// inner stages.
func Stages(p *PatternDecl) []*Stage {
	if p == nil {
		return nil
	}
	var out []*Stage
	var walk func([]*Stage)
	walk = func(list []*Stage) {
		for _, s := range list {
			if s == nil {
				continue
			}
			out = append(out, s)
			walk(s.Group)
		}
	}
	walk(p.Stages)
	return out
}

// MayRepeat reports whether stage s of p can take more than one event in one
// match: its own quantifier allows more than one, or it is inside a group whose
// quantifier does. A stage that is not in p is judged by its own quantifier.
func MayRepeat(p *PatternDecl, s *Stage) bool {
	if s == nil {
		return false
	}
	if canRepeat(s) {
		return true
	}
	if p == nil {
		return false
	}
	var find func(list []*Stage, outerRepeats bool) (found, repeats bool)
	find = func(list []*Stage, outerRepeats bool) (bool, bool) {
		for _, st := range list {
			if st == nil {
				continue
			}
			if st == s {
				return true, outerRepeats
			}
			if found, rep := find(st.Group, outerRepeats || canRepeat(st)); found {
				return true, rep
			}
		}
		return false, false
	}
	_, rep := find(p.Stages, false)
	return rep
}

// bounds returns the least and most events a quantifier lets a stage take;
// most is -1 when unbounded. A nil quantifier means exactly once.
func bounds(q *Quantifier) (least, most int) {
	if q == nil {
		return 1, 1
	}
	switch q.Kind {
	case QuantOptional:
		return 0, 1
	case QuantPlus:
		return 1, -1
	case QuantStar:
		return 0, -1
	case QuantAtLeast:
		return q.Min, -1
	case QuantExact:
		return q.Min, q.Min
	}
	return q.Min, q.Max
}

// canRepeat reports whether s's own quantifier allows more than one event.
func canRepeat(s *Stage) bool {
	_, most := bounds(s.Quant)
	return most < 0 || most > 1
}

// isLooping reports whether s's quantifier is unbounded (+, * or {n,}).
func isLooping(s *Stage) bool {
	_, most := bounds(s.Quant)
	return most < 0
}

// isOptional reports whether s may take no event: a quantifier that allows
// zero, or the optional modifier.
func isOptional(s *Stage) bool {
	least, _ := bounds(s.Quant)
	return least == 0 || s.Has(ModOptional)
}
