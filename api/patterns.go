package api

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/motifcep/motif/node"
	"github.com/motifcep/motif/pattern"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

const defaultPageSize = 100

type patterns struct{ s *Server }

func files(in []*motifv1.SourceFile) ([]node.File, error) {
	if len(in) == 0 {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("no pattern files"))
	}
	out := make([]node.File, len(in))
	for i, f := range in {
		name := f.GetName()
		if name == "" {
			name = "file" + strconv.Itoa(i+1) + ".motif"
		}
		out[i] = node.File{Name: name, Source: []byte(f.GetContent())}
	}
	return out, nil
}

func diagnostics(ds pattern.Diagnostics) []*motifv1.Diagnostic {
	out := make([]*motifv1.Diagnostic, len(ds))
	for i, d := range ds {
		sev := motifv1.DiagnosticSeverity_DIAGNOSTIC_SEVERITY_ERROR
		if d.Severity == pattern.Warning {
			sev = motifv1.DiagnosticSeverity_DIAGNOSTIC_SEVERITY_WARNING
		}
		out[i] = &motifv1.Diagnostic{File: d.Pos.File, Line: uint32(d.Pos.Line), Column: uint32(d.Pos.Col), Severity: sev, Message: d.Msg}
	}
	return out
}

func (p *patterns) ValidatePatterns(_ context.Context, req *connect.Request[motifv1.ValidatePatternsRequest]) (*connect.Response[motifv1.ValidatePatternsResponse], error) {
	fs, err := files(req.Msg.GetFiles())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&motifv1.ValidatePatternsResponse{Diagnostics: diagnostics(p.s.node.Validate(fs))}), nil
}

var actions = map[node.ChangeKind]motifv1.ApplyAction{
	node.Created:   motifv1.ApplyAction_APPLY_ACTION_CREATED,
	node.Updated:   motifv1.ApplyAction_APPLY_ACTION_UPDATED,
	node.Unchanged: motifv1.ApplyAction_APPLY_ACTION_UNCHANGED,
}

func (p *patterns) ApplyPatterns(ctx context.Context, req *connect.Request[motifv1.ApplyPatternsRequest]) (*connect.Response[motifv1.ApplyPatternsResponse], error) {
	fs, err := files(req.Msg.GetFiles())
	if err != nil {
		return nil, err
	}
	var changes []node.Change
	var diags pattern.Diagnostics
	if req.Msg.GetDryRun() {
		changes, diags = p.s.node.Plan(fs)
	} else if changes, diags, err = p.s.node.Apply(ctx, fs); err != nil {
		return nil, rpcError(err)
	}
	res := &motifv1.ApplyPatternsResponse{Diagnostics: diagnostics(diags)}
	if !diags.HasErrors() {
		for _, c := range changes {
			res.Results = append(res.Results, &motifv1.ApplyPatternsResult{Name: c.Name, Version: uint32(c.Version), Action: actions[c.Kind]})
		}
	}
	return connect.NewResponse(res), nil
}

var states = map[string]motifv1.PatternState{
	node.StateActive:   motifv1.PatternState_PATTERN_STATE_ACTIVE,
	node.StateRetiring: motifv1.PatternState_PATTERN_STATE_RETIRING,
	node.StateRetired:  motifv1.PatternState_PATTERN_STATE_RETIRED,
}

func versionMsg(v *node.Version) *motifv1.PatternVersion {
	m := &motifv1.PatternVersion{Version: uint32(v.Version), State: states[v.State], CreatedAt: timestamppb.New(v.Applied)}
	if !v.Replaced.IsZero() {
		m.ReplacedAt = timestamppb.New(v.Replaced)
	}
	if !v.Retired.IsZero() {
		m.RetiredAt = timestamppb.New(v.Retired)
	}
	return m
}

// patternMsg converts a pattern; without all, retired versions are left out.
func patternMsg(p *node.Pattern, all bool) *motifv1.Pattern {
	m := &motifv1.Pattern{Name: p.Name}
	if live := p.Live(); live != nil {
		m.LiveVersion = uint32(live.Version)
	}
	if n := len(p.Versions); n > 0 {
		m.Description = p.Versions[n-1].Doc
	}
	for _, v := range p.Versions {
		if all || v.State != node.StateRetired {
			m.Versions = append(m.Versions, versionMsg(v))
		}
	}
	return m
}

func (p *patterns) ListPatterns(_ context.Context, req *connect.Request[motifv1.ListPatternsRequest]) (*connect.Response[motifv1.ListPatternsResponse], error) {
	all := req.Msg.GetIncludeRetired()
	size := int(req.Msg.GetPageSize())
	if size <= 0 || size > 1000 {
		size = defaultPageSize
	}
	after := req.Msg.GetPageToken() // the name of the last pattern of the previous page
	res := &motifv1.ListPatternsResponse{}
	for _, pt := range p.s.node.Patterns(true) {
		if pt.Name <= after {
			continue
		}
		live := !pt.Deleted || slices.ContainsFunc(pt.Versions, func(v *node.Version) bool { return v.State != node.StateRetired })
		if !all && !live {
			continue
		}
		if len(res.Patterns) == size {
			res.NextPageToken = res.Patterns[size-1].Name
			break
		}
		res.Patterns = append(res.Patterns, patternMsg(pt, all))
	}
	return connect.NewResponse(res), nil
}

func (p *patterns) GetPattern(_ context.Context, req *connect.Request[motifv1.GetPatternRequest]) (*connect.Response[motifv1.GetPatternResponse], error) {
	pt, err := p.s.node.Pattern(req.Msg.GetName())
	if err != nil {
		return nil, rpcError(err)
	}
	var v *node.Version
	if want := int(req.Msg.GetVersion()); want > 0 {
		i := slices.IndexFunc(pt.Versions, func(v *node.Version) bool { return v.Version == want })
		if i < 0 {
			return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("pattern %q has no version %d", pt.Name, want))
		}
		v = pt.Versions[i]
	} else if v = pt.Live(); v == nil && len(pt.Versions) > 0 {
		v = pt.Versions[len(pt.Versions)-1]
	}
	if v == nil {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("pattern %q has no version", pt.Name))
	}
	return connect.NewResponse(&motifv1.GetPatternResponse{Pattern: patternMsg(pt, true), Version: versionMsg(v), Source: v.Source()}), nil
}

func (p *patterns) DeletePattern(ctx context.Context, req *connect.Request[motifv1.DeletePatternRequest]) (*connect.Response[motifv1.DeletePatternResponse], error) {
	if err := p.s.node.Delete(ctx, req.Msg.GetName()); err != nil {
		return nil, rpcError(err)
	}
	pt, err := p.s.node.Pattern(req.Msg.GetName())
	if err != nil {
		return nil, rpcError(err)
	}
	return connect.NewResponse(&motifv1.DeletePatternResponse{Pattern: patternMsg(pt, true)}), nil
}
