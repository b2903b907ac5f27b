package pipeline

import (
	"context"
	"fmt"
	"slices"

	"github.com/motifcep/motif/engine"
	"github.com/motifcep/motif/pattern"
)

// Patterns is what a pipeline matches: the live set, the version of each of
// its patterns, and the replaced versions still finishing their partial
// matches.
type Patterns struct {
	Set      *pattern.Set
	Version  func(name string) int // nil means 1 for all
	Retiring []engine.Retiring
}

type swapReq struct {
	pats  Patterns
	reply chan error
}

// SetPatterns changes what the pipeline matches, without a restart: it
// commits, deletes the stored state of every pattern version in neither
// the live set nor the retiring list, and rebuilds the engine from the
// commit. Key states of versions that stay are kept (in the store; the
// cache refills as keys are seen). Run must be running.
func (p *Pipeline) SetPatterns(ctx context.Context, pats Patterns) error {
	if pats.Set == nil {
		return fmt.Errorf("pipeline: SetPatterns needs a pattern set")
	}
	req := swapReq{pats: pats, reply: make(chan error, 1)}
	select {
	case p.swap <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// swapPatterns runs on Run's goroutine. An error from it is a store error:
// Run ends with it.
func (p *Pipeline) swapPatterns(req swapReq) error {
	err := p.commitStates() // a replay after a restart never crosses the change
	if err == nil {
		err = p.dropVersions(versionsOf(p.cfg.Set, p.cfg.Version, p.cfg.Retiring), versionsOf(req.pats.Set, req.pats.Version, req.pats.Retiring))
	}
	if err == nil {
		old := p.cfg
		p.cfg.Set, p.cfg.Version, p.cfg.Retiring = req.pats.Set, req.pats.Version, req.pats.Retiring
		if err = p.build(); err != nil {
			p.cfg = old
			if berr := p.build(); berr != nil {
				err = fmt.Errorf("%w (and the previous patterns failed to rebuild: %v)", err, berr)
			}
		}
	}
	req.reply <- err
	return err
}

// dropVersions deletes, in one batch, the key states of the versions in
// before that are not in after.
func (p *Pipeline) dropVersions(before, after []patternVersion) error {
	b := p.store.NewBatch()
	defer b.Close()
	n := 0
	for _, v := range before {
		if !slices.Contains(after, v) {
			b.DeleteStates(v.name, uint32(v.version))
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return b.Commit(true)
}

type patternVersion struct {
	name    string
	version int
}

func versionsOf(set *pattern.Set, version func(string) int, retiring []engine.Retiring) []patternVersion {
	var out []patternVersion
	for _, pt := range set.Patterns {
		v := 1
		if version != nil {
			v = version(pt.Name.Name)
		}
		out = append(out, patternVersion{pt.Name.Name, v})
	}
	for _, r := range retiring {
		out = append(out, patternVersion{r.Decl.Name.Name, r.Version})
	}
	return out
}

// retire drops the retiring versions that hold no state any more, right
// after a commit (when the store holds every state), and rebuilds the
// engine without them.
func (p *Pipeline) retire() error {
	if len(p.cfg.Retiring) == 0 || p.closed {
		return nil
	}
	var keep []engine.Retiring
	var gone []patternVersion
	for _, r := range p.cfg.Retiring {
		held := false
		if err := p.store.States(r.Decl.Name.Name, uint32(r.Version), func(_, _ []byte) bool {
			held = true
			return false
		}); err != nil {
			return err
		}
		if held {
			keep = append(keep, r)
		} else {
			gone = append(gone, patternVersion{r.Decl.Name.Name, r.Version})
		}
	}
	if len(gone) == 0 {
		return nil
	}
	p.cfg.Retiring = keep
	if err := p.build(); err != nil {
		return err
	}
	for _, g := range gone {
		p.cfg.Logger.Info("pattern version retired", "pattern", g.name, "version", g.version)
		if p.cfg.OnRetired != nil {
			p.cfg.OnRetired(g.name, g.version)
		}
	}
	return nil
}
