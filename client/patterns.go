package client

import (
	"context"
	"fmt"
	"iter"
	"os"

	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

// File is a pattern file sent to the server.
type File struct {
	// Name names the file in diagnostics: usually the path it was read
	// from. Unique within a call.
	Name string
	// Content is the file's text (UTF-8).
	Content []byte
}

// ReadFiles reads pattern files, each named by its path.
func ReadFiles(paths ...string) ([]File, error) {
	files := make([]File, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: p, Content: b})
	}
	return files, nil
}

// Diagnostic is one positioned message about a pattern file.
type Diagnostic struct {
	File    string
	Line    int // from 1; 0 when about the whole file
	Column  int // from 1, in code points; 0 when Line is 0
	Warning bool
	Message string
}

// String formats d as `motif check` prints it: "FILE:LINE:COL: message",
// or "FILE:LINE:COL: warning: message".
func (d Diagnostic) String() string {
	if d.Warning {
		return fmt.Sprintf("%s:%d:%d: warning: %s", d.File, d.Line, d.Column, d.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s", d.File, d.Line, d.Column, d.Message)
}

// Diagnostics are the diagnostics of a set of files.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if !d.Warning {
			return true
		}
	}
	return false
}

// Warnings returns the warnings.
func (ds Diagnostics) Warnings() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Warning {
			out = append(out, d)
		}
	}
	return out
}

func diagnostics(in []*motifv1.Diagnostic) Diagnostics {
	var out Diagnostics
	for _, d := range in {
		out = append(out, Diagnostic{
			File: d.GetFile(), Line: int(d.GetLine()), Column: int(d.GetColumn()),
			Warning: d.GetSeverity() == motifv1.DiagnosticSeverity_DIAGNOSTIC_SEVERITY_WARNING,
			Message: d.GetMessage(),
		})
	}
	return out
}

func sourceFiles(files []File) []*motifv1.SourceFile {
	out := make([]*motifv1.SourceFile, len(files))
	for i, f := range files {
		out[i] = &motifv1.SourceFile{Name: f.Name, Content: string(f.Content)}
	}
	return out
}

// ValidatePatterns checks files as one set, exactly as ApplyPatterns
// would (with the event declarations in force on the server), and
// registers nothing. The set is valid when the diagnostics hold no error.
func (c *Client) ValidatePatterns(ctx context.Context, files ...File) (Diagnostics, error) {
	res, err := unary(ctx, c, true, "ValidatePatterns",
		&motifv1.ValidatePatternsRequest{Files: sourceFiles(files)}, c.patterns.ValidatePatterns)
	if err != nil {
		return nil, err
	}
	return diagnostics(res.GetDiagnostics()), nil
}

// Action is what applying a set of files did to one of its patterns.
type Action int

// Actions of ApplyPatterns.
const (
	Created   Action = iota + 1 // a new live version (1 for a new name)
	Updated                     // a changed definition: its next version, the previous one retiring
	Unchanged                   // the live version's definition: nothing registered
)

func (a Action) String() string {
	switch a {
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Unchanged:
		return "unchanged"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Change is what became of one pattern of an applied set.
type Change struct {
	Name string
	// The live version after the call: the new one for Created and
	// Updated, the existing one for Unchanged.
	Version int
	Action  Action
}

// String is how `motif patterns apply` prints the change: "NAME vN", or
// "NAME unchanged".
func (c Change) String() string {
	if c.Action == Unchanged {
		return c.Name + " unchanged"
	}
	return fmt.Sprintf("%s v%d", c.Name, c.Version)
}

// ApplyResult is the outcome of applying a set of files.
type ApplyResult struct {
	// One change per pattern of the set, sorted by name.
	Changes []Change
	// The warnings about the files; they did not stop the registration.
	Warnings Diagnostics
}

// ApplyPatterns checks files as one set and registers its patterns: a new
// name as version 1, a changed pattern as its next version, an unchanged one
// not at all. It is all or nothing: when the files have errors nothing is
// registered and the error is a *RejectedError carrying the diagnostics.
// Patterns of the catalog the files do not declare are left alone.
//
// ApplyPatterns is attempted again only when the server was not reached.
func (c *Client) ApplyPatterns(ctx context.Context, files ...File) (*ApplyResult, error) {
	return c.apply(ctx, files, false)
}

// PlanPatterns is ApplyPatterns without registering anything: it reports
// what ApplyPatterns would do, Version being the version it would create.
func (c *Client) PlanPatterns(ctx context.Context, files ...File) (*ApplyResult, error) {
	return c.apply(ctx, files, true)
}

var actions = map[motifv1.ApplyAction]Action{
	motifv1.ApplyAction_APPLY_ACTION_CREATED:   Created,
	motifv1.ApplyAction_APPLY_ACTION_UPDATED:   Updated,
	motifv1.ApplyAction_APPLY_ACTION_UNCHANGED: Unchanged,
}

func (c *Client) apply(ctx context.Context, files []File, dryRun bool) (*ApplyResult, error) {
	res, err := unary(ctx, c, dryRun, "ApplyPatterns",
		&motifv1.ApplyPatternsRequest{Files: sourceFiles(files), DryRun: dryRun}, c.patterns.ApplyPatterns)
	if err != nil {
		return nil, err
	}
	diags := diagnostics(res.GetDiagnostics())
	if diags.HasErrors() {
		return nil, &RejectedError{Diagnostics: diags}
	}
	out := &ApplyResult{Warnings: diags}
	for _, r := range res.GetResults() {
		out.Changes = append(out.Changes, Change{Name: r.GetName(), Version: int(r.GetVersion()), Action: actions[r.GetAction()]})
	}
	return out, nil
}

// ListOptions select what ListPatterns lists.
type ListOptions struct {
	// IncludeRetired lists patterns all of whose versions are retired
	// (deleted ones, for instance) and the retired versions of the others.
	IncludeRetired bool
	// PageSize is the patterns fetched per call; 0 lets the server choose.
	PageSize int
}

// ListPatterns iterates over the catalog, sorted by name, fetching it a
// page at a time. An error ends the iteration.
func (c *Client) ListPatterns(ctx context.Context, opts ListOptions) iter.Seq2[*motifv1.Pattern, error] {
	return func(yield func(*motifv1.Pattern, error) bool) {
		token := ""
		for {
			res, err := unary(ctx, c, true, "ListPatterns", &motifv1.ListPatternsRequest{
				PageSize: uint32(max(opts.PageSize, 0)), PageToken: token, IncludeRetired: opts.IncludeRetired,
			}, c.patterns.ListPatterns)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, p := range res.GetPatterns() {
				if !yield(p, nil) {
					return
				}
			}
			if token = res.GetNextPageToken(); token == "" {
				return
			}
		}
	}
}

// GetPattern returns a version of a pattern and its source (a file that
// `motif check` accepts on its own); version 0 means the live one, or the
// newest when the pattern was deleted. The error has code NotFound when the
// server knows no such pattern or version.
func (c *Client) GetPattern(ctx context.Context, name string, version int) (*motifv1.GetPatternResponse, error) {
	return unary(ctx, c, true, "GetPattern",
		&motifv1.GetPatternRequest{Name: name, Version: uint32(max(version, 0))}, c.patterns.GetPattern)
}

// DeletePattern stops a pattern: its live version takes no new matches.
// It returns the pattern as it is after the deletion. Deleting a pattern
// that has no live version changes nothing, so the call is retried like a
// read. The error has code NotFound when the server knows no such pattern.
func (c *Client) DeletePattern(ctx context.Context, name string) (*motifv1.Pattern, error) {
	res, err := unary(ctx, c, true, "DeletePattern", &motifv1.DeletePatternRequest{Name: name}, c.patterns.DeletePattern)
	if err != nil {
		return nil, err
	}
	return res.GetPattern(), nil
}
