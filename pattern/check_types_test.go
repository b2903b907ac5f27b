package pattern

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckTypes(t *testing.T) {
	runCheckCases(t, []checkCase{
		{"comparisons", checkEvents + `pattern p {
    within 1m
    begin a: auth where merchant != 5 and amount < "x" and lat == null and country < null and (amount > 1) == true
    next b: login where at < 5m and at - a.time < 30s and took > 1 and new_device != 1 and tags == [1] and n >= 2.5
}
`, []string{
			"t.motif:5:34: cannot compare string with number (merchant != 5)",
			`t.motif:5:50: cannot compare number with string (amount < "x")`,
			"t.motif:5:84: cannot compare string with null using < (country < null)",
			"t.motif:6:28: cannot compare time with duration (at < 5m)",
			"t.motif:6:64: cannot compare duration with number (took > 1)",
			"t.motif:6:83: cannot compare bool with number (new_device != 1)",
		}},
		{"arithmetic", checkEvents + `pattern p {
    within 1m
    begin a: login where at - at > 1s and at + took < at and took * 2 < took and 2 * took > took / 2 and took / took > 1 and n % 2 == 0
    next b: login where device + 1 == 1 and at + at == at and took - at == at and -device == 1 and -took < 0s and at * 2 == at
}
`, []string{
			"t.motif:6:32: cannot apply + to string and number (device + 1)",
			"t.motif:6:48: cannot apply + to time and time (at + at)",
			"t.motif:6:68: cannot apply - to duration and time (took - at)",
			"t.motif:6:83: cannot negate string (device)",
			"t.motif:6:118: cannot apply * to time and number (at * 2)",
		}},
		{"bool operands", checkEvents + `pattern p {
    within 1m
    begin a: login where new_device and (device or null) and not n and not new_device
    next b: login where device
    next c: login where null
    next d+: login until n + 1
}
`, []string{
			"t.motif:5:42: or needs bool operands, not string (device)",
			"t.motif:5:66: not needs a bool operand, not number (n)",
			"t.motif:6:25: where needs a bool condition, not string (device)",
			"t.motif:8:26: until needs a bool condition, not number (n + 1)",
		}},
		{"function arguments", checkEvents + `pattern p {
    within 1m
    begin a: auth where abs(merchant) > 1 and lower(amount) == "x" and len(amount) > 1 and len(merchant) > 1
    next b: auth where contains(merchant, 1) and starts_with(merchant, "a") and matches(merchant, "(a") and matches(merchant, country)
    next c: login where geo_km(1, 2, device, 4) > 1 and seconds(took) > 1 and minutes(n) > 1 and millis(at) > 1 and millis(n) > 1
    next d: login where timestamp("2026-01-01T00:00:00Z") < at and timestamp("2026-13-01") < at and timestamp(device) < at and exists(geo.x) and exists(1)
    next e: auth where coalesce(lat, 0) > 1 and coalesce(null, merchant) > 1 and round(amount) == floor(ceil(amount))
    next f: auth where min(amount, merchant) == 1 and max(amount, 2) > 1 and trim(upper(merchant)) == "X"
}
`, []string{
			"t.motif:5:29: abs takes a number, not string (merchant)",
			"t.motif:5:53: lower takes a string, not number (amount)",
			"t.motif:5:76: len takes a string or a list, not number (amount)",
			"t.motif:6:43: contains takes a string, not number (1)",
			"t.motif:6:99: invalid regex in matches: error parsing regexp: missing closing ): `(a`",
			`t.motif:6:127: matches takes its regex as a string literal, as in matches(merchant, "^acme")`,
			"t.motif:7:38: geo_km takes a number, not string (device)",
			"t.motif:7:87: minutes takes a duration, not number (n)",
			"t.motif:7:124: millis takes a time, not number (n)",
			`t.motif:8:78: invalid RFC 3339 time "2026-13-01": expected a time such as "2026-01-01T00:00:00Z"`,
			`t.motif:8:111: timestamp takes a string literal, as in timestamp("2026-01-01T00:00:00Z")`,
			"t.motif:8:153: exists takes a field path, as in exists(lat)",
			"t.motif:9:74: cannot compare string with number (coalesce(null, merchant) > 1)",
			"t.motif:10:28: min needs two values of one kind (numbers, strings, times or durations), not number and string",
		}},
		{"aggregates", checkEvents + `pattern p {
    within 1m
    begin a+: auth
    next b: auth where sum(a.merchant) > 1 and avg(a.country) > 1 and min(a.merchant) > 1 and max(a.amount) > "x" and distinct(a.merchant) > 1
    next c: auth where first(a).merchant > 1 and a[0].amount == "x" and a["x"].amount > 1 and a[0].nope == 1
}
`, []string{
			"t.motif:6:28: sum needs a number field, not string (a.merchant)",
			"t.motif:6:52: avg needs a number field, not string (a.country)",
			"t.motif:6:87: cannot compare string with number (min(a.merchant) > 1)",
			`t.motif:6:109: cannot compare number with string (max(a.amount) > "x")`,
			"t.motif:7:42: cannot compare string with number (first(a).merchant > 1)",
			`t.motif:7:62: cannot compare number with string (a[0].amount == "x")`,
			`t.motif:7:75: an index must be a number, not string ("x")`,
			`t.motif:7:100: unknown field "nope" of event auth`,
		}},
		{"selectors and indexes", checkEvents + `pattern p {
    within 1m
    begin a: login where tags[0] == 1 and geo.x.y == 1 and geo["k"] == 1 and device.x == 1 and device[0] == 1 and tags["x"] == 1 and time.x == 1
}
`, []string{
			`t.motif:5:85: cannot select field "x" of string (device)`,
			"t.motif:5:96: cannot index string (device)",
			`t.motif:5:120: an index must be a number, not string ("x")`,
			`t.motif:5:139: cannot select field "x" of time (time)`,
		}},
		{"emit fields and on_timeout", checkEvents + `pattern p {
    within 1m
    begin a: auth
    next b?: auth
    emit { x: a.amount, y: b.amount, x: 1, w: bb.amount }
    on_timeout emit low "{b.merchant} {merchant}" { z: ammount }
}
`, []string{
			"t.motif:7:38: emit field x already given at t.motif:7:12",
			`t.motif:7:47: unknown stage "bb" (did you mean "b"?)`,
			"t.motif:8:40: no event is being tested in emit: use a stage name, as in b.merchant",
			"t.motif:8:56: no event is being tested in emit: use a stage name, as in b.ammount",
		}},
		{"untyped never a type error", `pattern p {
    within 1m
    begin a: auth where merchant != 5 and amount < "x" and (x + "s") * 2 > 1 and not y and abs(z) > 1
    next b: auth where a.q + 1 > a.r and contains(q, 1)
}
`, nil},
	})
}

func TestCheckReportsEveryError(t *testing.T) {
	src := checkEvents + `pattern card_testing {
    key    card_idd
    within 0s
    skip   to_first prbe
    followed_by probe{3,}: auht where ammount < 2.00
    followed_by big:       auth where amount > 500 and merchant != probe.merchant
    not_followed_by m:     auth
    emit high "card {key} {amount}" { n: cnt(probe) }
}
pattern card_testing {
    begin a: auth
}
`
	runCheckCases(t, []checkCase{{"all errors", src, []string{
		`t.motif:4:12: key field "card_idd" is not a field of event auth (did you mean "card_id"?)`,
		"t.motif:5:12: within needs a duration greater than 0, not 0s",
		`t.motif:6:21: skip to_first: unknown stage "prbe" (did you mean "probe"?)`,
		"t.motif:7:5: the first stage of pattern card_testing must use begin, not followed_by",
		`t.motif:7:28: unknown event type "auht" (did you mean "auth"?)`,
		"t.motif:8:68: stage probe may take several events: use first(probe).merchant, last(probe).merchant, probe[i].merchant or an aggregate",
		"t.motif:10:28: no event is being tested in emit: use a stage name, as in big.amount",
		`t.motif:10:42: unknown function "cnt"`,
		"t.motif:12:9: pattern card_testing already declared at t.motif:3:9",
	}}})
}

// TestCheckSpecDiagnostics checks the two diagnostics of language.md §5, at
// their positions there.
func TestCheckSpecDiagnostics(t *testing.T) {
	src, err := os.ReadFile("testdata/check/fraud.motif")
	if err != nil {
		t.Fatal(err)
	}
	f, pd := Parse("fraud.motif", src)
	if pd.HasErrors() {
		t.Fatal(pd)
	}
	set, diags := Check(f)
	want := `fraud.motif:14:39: unknown field "ammount" of event auth (did you mean "amount"?)
fraud.motif:15:52: stage probe may take several events: use first(probe).merchant, last(probe).merchant, probe[i].merchant or an aggregate`
	if set != nil || diags.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", diags, want)
	}
}

func TestCheckAcrossFiles(t *testing.T) {
	a, pa := Parse("a.motif", []byte("event auth { amount: number }\npattern p { within 1m begin x: auth }\n"))
	b, pb := Parse("b.motif", []byte("pattern q {\n    within 1m\n    begin y: auth where amout > 1\n}\npattern p { within 1m begin z: auth }\nevent auth { x: int }\n"))
	if pa.HasErrors() || pb.HasErrors() {
		t.Fatal(pa, pb)
	}
	_, diags := Check(a, b)
	want := `b.motif:3:25: unknown field "amout" of event auth (did you mean "amount"?)
b.motif:5:9: pattern p already declared at a.motif:2:9
b.motif:6:7: event auth already declared at a.motif:1:7`
	if diags.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", diags, want)
	}
}

// exampleFile returns the language.md §1 example: the parser's copy if there
// is one, else the checker's.
func exampleFile(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"testdata/example.motif", "testdata/check/example.motif"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("no example.motif in testdata")
	return ""
}

func TestCheckExample(t *testing.T) {
	set, diags := Load(exampleFile(t))
	if len(diags) != 0 {
		t.Fatalf("diagnostics:\n%v", diags)
	}
	if len(set.Events) != 4 || len(set.Patterns) != 2 || len(set.Files) != 1 {
		t.Fatalf("set has %d events, %d patterns, %d files", len(set.Events), len(set.Patterns), len(set.Files))
	}
	if e := set.Event("auth"); e == nil || len(e.Fields) != 6 {
		t.Errorf("Event(auth) = %v", e)
	}
	if e := set.Event("nope"); e != nil {
		t.Errorf("Event(nope) = %v, want nil", e)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.motif")
	events := filepath.Join(dir, "events.motif")
	patterns := filepath.Join(dir, "patterns.motif")
	bad := filepath.Join(dir, "bad.motif")
	write := func(path, src string) {
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(events, "event auth { amount: number }\n")
	write(patterns, "pattern p {\n    within 1m\n    begin a: auth where amount > 1\n}\n")
	write(bad, "pattern p {\n")

	set, diags := Load(missing)
	if set != nil || len(diags) != 1 || !strings.HasPrefix(diags[0].String(), missing+":1:1: cannot read pattern file: open "+missing+":") {
		t.Errorf("Load(missing) = %v, %v", set, diags)
	}

	// Files of one set share their event types.
	set, diags = Load(events, patterns)
	if set == nil || len(diags) != 0 || len(set.Files) != 2 || set.Event("auth") == nil {
		t.Errorf("Load(events, patterns) = %v, %v", set, diags)
	}

	// Errors of every file are reported.
	set, diags = Load(bad, missing, patterns)
	if set != nil || len(diags.Errors()) < 2 {
		t.Fatalf("Load(bad, missing, patterns) = %v, %v", set, diags)
	}
	var files []string
	for _, d := range diags {
		files = append(files, d.Pos.File)
	}
	if !strings.Contains(strings.Join(files, " "), bad) || !strings.Contains(strings.Join(files, " "), missing) {
		t.Errorf("diagnostics do not name both files:\n%v", diags)
	}
}

func TestStagesAndMayRepeat(t *testing.T) {
	f, pd := Parse("t.motif", []byte(`pattern p {
    within 1m
    begin a: x
    next b+: x
    next g{2}: (
        begin c: x
        next h: (
            begin d: x
        )
    )
    next e{1}: x
    next f{1,2}: x
}
`))
	if pd.HasErrors() {
		t.Fatal(pd)
	}
	p := f.Decls[0].(*PatternDecl)
	var names []string
	for _, s := range Stages(p) {
		names = append(names, s.Name.Name+"="+map[bool]string{true: "many", false: "one"}[MayRepeat(p, s)])
	}
	want := "a=one b=many g=many c=many h=many d=many e=one f=many"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("Stages/MayRepeat = %s, want %s", got, want)
	}
	if Stages(nil) != nil || MayRepeat(p, nil) || MayRepeat(nil, &Stage{}) {
		t.Error("nil handling")
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"amount", "merchant", "card_id", "country"}
	for _, tc := range []struct{ name, want string }{
		{"ammount", "amount"},
		{"amont", "amount"},
		{"merchnat", "merchant"},
		{"card", ""}, // 3 edits away, limit 1
		{"cardid", "card_id"},
		{"x", ""},
		{"amount", ""}, // an exact match is not a suggestion
		{"countyr", "country"},
	} {
		if got := suggest(tc.name, cands); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := didYouMean("ammount", cands); got != ` (did you mean "amount"?)` {
		t.Errorf("didYouMean = %q", got)
	}
}

// TestCheckNeverPanics checks hand-built trees with missing parts.
func TestCheckNeverPanics(t *testing.T) {
	var nilBin *BinaryExpr
	files := []*File{
		nil,
		{Name: "a"},
		{Name: "b", Decls: []Decl{&PatternDecl{}, &EventDecl{Fields: []*FieldDecl{nil}}}},
		{Name: "c", Decls: []Decl{&PatternDecl{
			Key:    &KeyClause{Paths: []Expr{nil, nilBin, &NumberLit{}}},
			Within: &WithinClause{},
			Gap:    &DurationClause{},
			Skip:   &SkipClause{Strategy: SkipToFirst},
			Stages: []*Stage{nil, {Op: OpNotFollowedBy, Group: []*Stage{}, Until: nilBin, Where: &BinaryExpr{}},
				{Quant: &Quantifier{Kind: QuantRange, Min: -1, Max: -5}, Where: &CallExpr{Fun: Ident{Name: "sum"}, Args: []Expr{nil}}}},
			Emit: &Emit{Message: &Template{Parts: []TemplatePart{{Expr: &SelectorExpr{}}}}, Fields: []*EmitField{nil, {Value: &IndexExpr{}}}},
		}}},
	}
	for _, f := range files {
		Check(f)
	}
	Check(files...)
}

// Compile checks a source that parses, and stops at the parse errors of
// one that does not.
func TestCompile(t *testing.T) {
	set, diags := Compile("ok.motif", []byte("event auth { amount: number }\npattern p {\n    within 1m\n    begin a: auth where amount > 1\n}\n"))
	if set == nil || diags.HasErrors() || len(set.Patterns) != 1 {
		t.Errorf("Compile(ok) = %v, %v", set, diags)
	}
	set, diags = Compile("bad.motif", []byte("pattern p {\n"))
	if set != nil || !diags.HasErrors() || !strings.HasPrefix(diags[0].String(), "bad.motif:") {
		t.Errorf("Compile(unparsable) = %v, %v", set, diags)
	}
	set, diags = Compile("unknown.motif", []byte("event auth { amount: number }\npattern p {\n    within 1m\n    begin a: auth where amout > 1\n}\n"))
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "amout") {
		t.Errorf("Compile(unknown field) = %v, %v", set, diags)
	}
}
