package client_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/motifcep/motif/client"
	"github.com/motifcep/motif/internal/servertest"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

func changes(r *client.ApplyResult) string {
	var out []string
	for _, c := range r.Changes {
		out = append(out, c.String())
	}
	return strings.Join(out, ", ")
}

// The catalog through the client: apply (created, unchanged, updated,
// rejected with diagnostics), plan, validate, list in pages, get, delete.
func TestPatterns(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := newClient(t, s)
	ctx := t.Context()
	f := client.File{Name: "probe.motif", Content: []byte(probeSrc)}
	r, err := c.ApplyPatterns(ctx, f)
	if err != nil || changes(r) != "probe v1" || r.Changes[0].Action != client.Created {
		t.Fatalf("apply: %v %v", r, err)
	}
	if r, err = c.ApplyPatterns(ctx, f); err != nil || changes(r) != "probe unchanged" {
		t.Fatalf("apply again: %v %v", r, err)
	}
	changed := client.File{Name: "probe.motif", Content: []byte(strings.Replace(probeSrc, "within 10m", "within 20m", 1))}
	if r, err = c.PlanPatterns(ctx, changed); err != nil || changes(r) != "probe v2" || r.Changes[0].Action != client.Updated {
		t.Fatalf("plan: %v %v", r, err)
	}
	if r, err = c.ApplyPatterns(ctx, changed); err != nil || changes(r) != "probe v2" {
		t.Fatalf("apply changed: %v %v", r, err)
	}

	bad := client.File{Name: "bad.motif", Content: []byte("pattern p {\n  begin a: auth where amont > 1\n}\n")}
	_, err = c.ApplyPatterns(ctx, bad)
	var rej *client.RejectedError
	if !errors.As(err, &rej) || !errors.Is(err, client.ErrRejected) {
		t.Fatalf("apply of a bad file: %v", err)
	}
	want := `bad.motif:2:23: unknown field "amont" of event auth (did you mean "amount"?)`
	if len(rej.Diagnostics) != 1 || rej.Diagnostics[0].String() != want {
		t.Errorf("diagnostics:\n%s\nwant\n%s", rej.Diagnostics, want)
	}
	diags, err := c.ValidatePatterns(ctx, bad)
	if err != nil || !diags.HasErrors() || diags[0].String() != want {
		t.Errorf("validate: %v %v", diags, err)
	}

	for _, name := range []string{"alpha", "beta", "gamma"} {
		src := fmt.Sprintf("pattern %s {\n  begin a: auth where amount > 1\n}\n", name)
		if _, err := c.ApplyPatterns(ctx, client.File{Name: name + ".motif", Content: []byte(src)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeletePattern(ctx, "beta"); err != nil {
		t.Fatal(err)
	}
	list := func(opts client.ListOptions) string {
		var names []string
		for p, err := range c.ListPatterns(ctx, opts) {
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, fmt.Sprintf("%s@%d", p.GetName(), p.GetLiveVersion()))
		}
		return strings.Join(names, " ")
	}
	if got := list(client.ListOptions{PageSize: 1}); got != "alpha@1 gamma@1 probe@2" {
		t.Errorf("list in pages of 1: %s", got)
	}
	if got := list(client.ListOptions{PageSize: 2, IncludeRetired: true}); got != "alpha@1 beta@0 gamma@1 probe@2" {
		t.Errorf("list with retired: %s", got)
	}

	got, err := c.GetPattern(ctx, "probe", 0)
	if err != nil || got.GetVersion().GetVersion() != 2 || !strings.Contains(got.GetSource(), "within 20m") ||
		!strings.HasPrefix(got.GetSource(), "event auth") {
		t.Errorf("get: %v %v", got, err)
	}
	if got, err = c.GetPattern(ctx, "probe", 1); err != nil || !strings.Contains(got.GetSource(), "within 10m") {
		t.Errorf("get v1: %v %v", got, err)
	}
	if _, err := c.GetPattern(ctx, "nope", 0); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("get of an unknown pattern: %v", err)
	}
	p, err := c.DeletePattern(ctx, "probe")
	if err != nil || p.GetLiveVersion() != 0 || p.GetVersions()[len(p.GetVersions())-1].GetState() == motifv1.PatternState_PATTERN_STATE_ACTIVE {
		t.Errorf("delete: %v %v", p, err)
	}
	if p, err := c.DeletePattern(ctx, "probe"); err != nil || p.GetLiveVersion() != 0 {
		t.Errorf("delete again: %v %v", p, err)
	}
	if _, err := c.DeletePattern(ctx, "nope"); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("delete of an unknown pattern: %v", err)
	}
}
