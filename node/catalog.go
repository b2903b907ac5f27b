package node

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/motifcep/motif/engine"
	"github.com/motifcep/motif/pattern"
	"github.com/motifcep/motif/pipeline"
)

// catalogKey names the catalog's record in the store.
const catalogKey = "catalog"

// maxVersionsKept bounds the history of a pattern: older retired versions
// are forgotten (their number is never reused).
const maxVersionsKept = 16

// States of a pattern version.
const (
	StateActive   = "active"   // matching: new partial matches start
	StateRetiring = "retiring" // replaced: finishing its open partial matches
	StateRetired  = "retired"  // replaced and finished, or deleted
)

// Version is one version of a pattern.
type Version struct {
	Version int       `json:"version"`
	State   string    `json:"state"`
	Text    string    `json:"text"`          // the pattern alone, canonical, with its comments
	Events  string    `json:"events"`        // the event declarations it was checked with
	Doc     string    `json:"doc,omitempty"` // the pattern's ## comment
	File    string    `json:"file"`          // the file it was applied from
	Applied time.Time `json:"applied"`
	// When it stopped starting partial matches, and when it held none.
	Replaced time.Time `json:"replaced,omitzero"`
	Retired  time.Time `json:"retired,omitzero"`
}

// Source is the version as a file of its own: the event declarations and
// the pattern. `motif check` accepts it.
func (v *Version) Source() string {
	if v.Events == "" {
		return v.Text
	}
	return v.Events + "\n" + v.Text
}

// Pattern is a pattern of the catalog and its versions, oldest first.
type Pattern struct {
	Name     string     `json:"name"`
	Deleted  bool       `json:"deleted,omitempty"`
	Versions []*Version `json:"versions"`
}

// Live returns the active version, or nil if the pattern is deleted.
func (p *Pattern) Live() *Version {
	for _, v := range slices.Backward(p.Versions) {
		if v.State == StateActive {
			return v
		}
	}
	return nil
}

func (p *Pattern) last() int {
	if len(p.Versions) == 0 {
		return 0
	}
	return p.Versions[len(p.Versions)-1].Version
}

// catalog is every pattern ever applied (deleted ones keep their version
// numbers, so a pattern applied again never reuses an alert id), and the
// event declarations in force.
type catalog struct {
	Events   string              `json:"events"`
	Patterns map[string]*Pattern `json:"patterns"`
}

func (c *catalog) clone() *catalog {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // plain data
	}
	var out catalog
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	if out.Patterns == nil {
		out.Patterns = map[string]*Pattern{}
	}
	return &out
}

func (c *catalog) sorted() []*Pattern {
	out := make([]*Pattern, 0, len(c.Patterns))
	for _, p := range c.Patterns {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Pattern) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// File is a pattern file given to Apply or Validate.
type File struct {
	Name   string
	Source []byte
}

// Change is what Apply did to one pattern of the applied files.
type Change struct {
	Name    string
	Version int
	Kind    ChangeKind
}

// ChangeKind says how Apply changed a pattern.
type ChangeKind int

const (
	Unchanged ChangeKind = iota // the live version has the same text
	Created                     // a new pattern (or one deleted before)
	Updated                     // a new version replaces the live one
)

func (k ChangeKind) String() string {
	return [...]string{"unchanged", "created", "updated"}[k]
}

// check parses and checks files as one set, with the catalog's event
// declarations in force unless the files declare the same types.
func (c *catalog) check(files []File) (*pattern.Set, []*pattern.File, pattern.Diagnostics) {
	var diags pattern.Diagnostics
	var parsed []*pattern.File
	declared := map[string]bool{}
	for _, f := range files {
		pf, ds := pattern.Parse(f.Name, f.Source)
		diags = append(diags, ds...)
		if pf == nil {
			continue
		}
		parsed = append(parsed, pf)
		for _, d := range pf.Decls {
			if e, ok := d.(*pattern.EventDecl); ok {
				declared[e.Name.Name] = true
			}
		}
	}
	if diags.HasErrors() {
		diags.Sort()
		return nil, nil, diags
	}
	all := parsed
	if c.Events != "" {
		ef, ds := pattern.Parse("(catalog events)", []byte(c.Events))
		if ds.HasErrors() {
			return nil, nil, ds // cannot happen: the catalog holds printed, checked text
		}
		ef.Decls = slices.DeleteFunc(ef.Decls, func(d pattern.Decl) bool {
			e, ok := d.(*pattern.EventDecl)
			return ok && declared[e.Name.Name]
		})
		ef.Comments = nil
		all = append([]*pattern.File{ef}, parsed...)
	}
	set, ds := pattern.Check(all...)
	diags = append(diags, ds...)
	diags.Sort()
	if diags.HasErrors() {
		return nil, nil, diags
	}
	return set, parsed, diags
}

// apply computes the catalog after applying files, and the changes.
func (c *catalog) apply(files []File, now time.Time) (*catalog, []Change, pattern.Diagnostics) {
	set, parsed, diags := c.check(files)
	if set == nil {
		return nil, nil, diags
	}
	next := c.clone()
	var evDecls []pattern.Decl
	events := slices.Clone(set.Events)
	slices.SortStableFunc(events, func(a, b *pattern.EventDecl) int { return cmp.Compare(a.Name.Name, b.Name.Name) })
	for _, e := range events {
		evDecls = append(evDecls, e)
	}
	next.Events = ""
	if len(evDecls) > 0 {
		next.Events = string(pattern.Format(&pattern.File{Name: "events", Decls: evDecls}))
	}
	var changes []Change
	for _, pf := range parsed {
		for _, d := range pf.Decls {
			pd, ok := d.(*pattern.PatternDecl)
			if !ok {
				continue
			}
			name := pd.Name.Name
			text := string(pattern.FormatDecls(pf, pd))
			p := next.Patterns[name]
			if p == nil {
				p = &Pattern{Name: name}
				next.Patterns[name] = p
			}
			if live := p.Live(); live != nil && live.Text == text && live.Events == next.Events {
				changes = append(changes, Change{name, live.Version, Unchanged})
				continue
			}
			kind := Created
			if live := p.Live(); live != nil {
				live.State, live.Replaced = StateRetiring, now.UTC()
				kind = Updated
			}
			p.Deleted = false
			v := &Version{Version: p.last() + 1, State: StateActive, Text: text, Events: next.Events,
				Doc: pd.Doc, File: pf.Name, Applied: now.UTC()}
			p.Versions = append(p.Versions, v)
			p.trim()
			changes = append(changes, Change{name, v.Version, kind})
		}
	}
	return next, changes, diags
}

// trim forgets the oldest retired versions beyond maxVersionsKept.
func (p *Pattern) trim() {
	for len(p.Versions) > maxVersionsKept {
		i := slices.IndexFunc(p.Versions, func(v *Version) bool { return v.State == StateRetired })
		if i < 0 {
			return
		}
		p.Versions = slices.Delete(p.Versions, i, i+1)
	}
}

// compiled is the catalog turned into what a pipeline matches.
func (c *catalog) patterns() (pipeline.Patterns, error) {
	set := &pattern.Set{}
	if c.Events != "" {
		es, diags := pattern.Compile("(catalog events)", []byte(c.Events))
		if diags.HasErrors() {
			return pipeline.Patterns{}, fmt.Errorf("node: catalog event declarations: %w", diags)
		}
		set.Events = es.Events
	}
	versions := map[string]int{}
	var retiring []engine.Retiring
	for _, p := range c.sorted() {
		for _, v := range p.Versions {
			if v.State == StateRetired {
				continue
			}
			vs, diags := pattern.Compile(p.Name, []byte(v.Source()))
			if diags.HasErrors() {
				return pipeline.Patterns{}, fmt.Errorf("node: pattern %s v%d: %w", p.Name, v.Version, diags)
			}
			decl := vs.Patterns[0]
			if v.State == StateActive {
				set.Patterns = append(set.Patterns, decl)
				versions[p.Name] = v.Version
			} else {
				retiring = append(retiring, engine.Retiring{Decl: decl, Version: v.Version})
			}
		}
	}
	return pipeline.Patterns{
		Set:      set,
		Version:  func(name string) int { return versions[name] },
		Retiring: retiring,
	}, nil
}
