package pattern

import (
	"strings"
	"testing"
)

// checkEvents is a prelude of two declared event types (lines 1-2) for typed tests.
const checkEvents = `event auth { card_id: string, amount: number, merchant: string, country: string, lat: number?, lon: number? }
event login { user_id: string, device: string, new_device: bool, at: time, took: duration, tags: list, geo: object, n: int }
`

// checkCase is one source snippet and every diagnostic Check must give for it.
type checkCase struct {
	name string
	src  string
	want []string
}

func runCheckCases(t *testing.T, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, pd := Parse("t.motif", []byte(tc.src))
			if pd.HasErrors() {
				t.Fatalf("parse errors:\n%v", pd)
			}
			set, diags := Check(f)
			var got []string
			for _, d := range diags {
				got = append(got, d.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("diagnostics:\ngot:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if (set == nil) != diags.HasErrors() {
				t.Errorf("set is nil: %v, diagnostics have errors: %v", set == nil, diags.HasErrors())
			}
		})
	}
}

func TestCheckNames(t *testing.T) {
	runCheckCases(t, []checkCase{
		{"duplicate event", "event a { x: string }\nevent a { y: string }\n", []string{
			"t.motif:2:7: event a already declared at t.motif:1:7",
		}},
		{"duplicate pattern", "pattern p { begin a: x }\n\npattern p { begin a: x }\n", []string{
			"t.motif:3:9: pattern p already declared at t.motif:1:9",
		}},
		{"duplicate field", "event a { x: string, y: number, x: bool }\n", []string{
			"t.motif:1:33: field x of event a already declared at t.motif:1:11",
		}},
		{"field types", "event a { x: strng, y: float, z: int, w: any? }\n", []string{
			`t.motif:1:14: unknown field type "strng" (did you mean "string"?)`,
			`t.motif:1:24: unknown field type "float": expected one of string, number, int, bool, time, duration, list, object, any`,
		}},
		{"reserved event name", "event any { x: string }\n", []string{
			"t.motif:1:7: event type name any is reserved: a stage of type any reads every event",
		}},
		{"duplicate stages", `pattern p {
    within 1m
    begin a: x
    followed_by g{2}: (
        begin b: x
        next a: x
    )
    next g: x
    next b: x
}
`, []string{
			"t.motif:6:14: stage a already declared at t.motif:3:11",
			"t.motif:8:10: stage g already declared at t.motif:4:17",
			"t.motif:9:10: stage b already declared at t.motif:5:15",
		}},
		{"untyped set accepts any type name", "pattern p { begin a: whatever where x > 1 and y == \"s\" }\n", nil},
		{"unknown event type", checkEvents + `pattern p {
    begin a: auht
    next b: lgin
    next c: nothing_close
    next d: any
}
`, []string{
			`t.motif:4:14: unknown event type "auht" (did you mean "auth"?)`,
			`t.motif:5:13: unknown event type "lgin" (did you mean "login"?)`,
			`t.motif:6:13: unknown event type "nothing_close"`,
		}},
		{"stage named like a field", checkEvents + `pattern p {
    begin amount: auth
    next device: any
    next time: auth
}
`, []string{
			"t.motif:4:11: stage amount has the name of a field of event auth, which the pattern reads: rename the stage",
			"t.motif:6:10: stage name time is reserved: rename the stage",
		}},
	})
}

func TestCheckStructure(t *testing.T) {
	runCheckCases(t, []checkCase{
		{"first stage must begin", "pattern p {\n    followed_by a: x\n}\n", []string{
			"t.motif:2:5: the first stage of pattern p must use begin, not followed_by",
		}},
		{"first stage negated", "pattern p {\n    not_next a: x\n    next b: x\n}\n", []string{
			"t.motif:2:5: pattern p may not begin with a negated stage: expected begin",
		}},
		{"begin later", "pattern p {\n    begin a: x\n    begin b: x\n}\n", []string{
			"t.motif:3:5: only the first stage of pattern p may use begin: expected next, followed_by, followed_by_any, not_next or not_followed_by",
		}},
		{"group stages", `pattern p {
    begin a: x
    next g+: (
        next b: x
        begin c: x
    )
    next h: (
        not_followed_by d: x
        next e: x
    )
}
`, []string{
			"t.motif:4:9: the first stage of group g must use begin, not next",
			"t.motif:5:9: only the first stage of group g may use begin: expected next, followed_by, followed_by_any, not_next or not_followed_by",
			"t.motif:8:9: group h may not begin with a negated stage: expected begin",
		}},
		{"negated stage forms", `pattern p {
    within 1m
    begin a: x
    not_next b+: x
    not_followed_by c greedy consecutive: x
    not_followed_by d: x until y
    next e: x
}
`, []string{
			"t.motif:4:15: negated stage b takes no quantifier",
			"t.motif:5:23: negated stage c takes no modifiers",
			"t.motif:6:32: negated stage d takes no until",
		}},
		{"negated group", "pattern p {\n    within 1m\n    begin a: x\n    not_next g: ( begin b: x )\n    next c: x\n}\n", []string{
			"t.motif:4:5: a negated stage cannot be a group: negate a single stage",
		}},
		{"negated after optional", `pattern p {
    within 1m
    begin a: x
    next b?: x
    not_next c: x
    next d*: x
    not_followed_by e: x
    next f optional: x
    not_next g: x
    next h{0,3}: x
    not_next i: x
    next j{2,3}: x
    not_next k: x
    next l: x
}
`, []string{
			"t.motif:5:5: not_next cannot directly follow optional stage b: an optional path to a negated stage is not supported",
			"t.motif:7:5: not_followed_by cannot directly follow optional stage d: an optional path to a negated stage is not supported",
			"t.motif:9:5: not_next cannot directly follow optional stage f: an optional path to a negated stage is not supported",
			"t.motif:11:5: not_next cannot directly follow optional stage h: an optional path to a negated stage is not supported",
		}},
		{"quantifier counts", `pattern p {
    begin a{0}: x
    next b{3,1}: x
    next c{0,0}: x
    next d{2,2}: x
    next e{0,}: x
}
`, []string{
			"t.motif:2:12: quantifier {0} takes no events: expected a count of at least 1",
			"t.motif:3:11: quantifier {3,1}: the maximum 1 is below the minimum 3",
			"t.motif:4:11: quantifier {0,0} takes no events: expected a count of at least 1",
		}},
		{"greedy", `pattern p {
    begin a greedy: x
    next b? greedy: x
    next c+ greedy combinations: x
    next d{2} greedy: x
    next g{2} greedy: (
        begin e: x
    )
    next f+ greedy: x
    next h?: x
    next i{1} greedy: x
}
`, []string{
			"t.motif:2:13: greedy needs a stage that can take several events: expected a quantifier such as +, * or {n,m} on a",
			"t.motif:3:13: greedy needs a stage that can take several events: expected a quantifier such as +, * or {n,m} on b",
			"t.motif:4:13: greedy cannot be combined with combinations",
			"t.motif:6:15: greedy does not apply to a group stage",
			"t.motif:10:11: optional stage h cannot directly follow greedy stage f",
			"t.motif:11:15: greedy needs a stage that can take several events: expected a quantifier such as +, * or {n,m} on i",
		}},
		{"optional after greedy modifier", "pattern p {\n    begin a{2,} greedy: x\n    next b optional: x\n}\n", []string{
			"t.motif:3:12: optional stage b cannot directly follow greedy stage a",
		}},
		{"consecutive and combinations", `pattern p {
    begin a consecutive: x
    next b combinations: x
    next c+ consecutive combinations: x
    next d* combinations consecutive: x
    next e{2,4} consecutive: x
    next f+ optional optional: x
    next g* optional: x
    next h greedy greedy: x
}
`, []string{
			"t.motif:2:13: consecutive needs a stage that can take several events: expected a quantifier such as +, * or {n,m} on a",
			"t.motif:3:12: combinations needs a stage that can take several events: expected a quantifier such as +, * or {n,m} on b",
			"t.motif:4:25: consecutive and combinations exclude each other: give one of them",
			"t.motif:5:26: consecutive and combinations exclude each other: give one of them",
			"t.motif:7:22: modifier optional given twice",
			"t.motif:8:13: stage g is already optional: its quantifier * allows no events",
			"t.motif:9:12: greedy needs a stage that can take several events: expected a quantifier such as +, * or {n,m} on h",
			"t.motif:9:19: modifier greedy given twice",
		}},
		{"until", `pattern p {
    begin a: x until y
    next b{2,3}: x until y
    next c+: x where y until z
    next d*: x until y
    next e{2,}: x until y
    next g{2,}: (
        begin f: x
    ) until y
    next h{2}: (
        begin i: x
    ) until y
}
`, []string{
			"t.motif:2:22: until needs a looping stage: expected a quantifier +, * or {n,} on a",
			"t.motif:3:26: until needs a looping stage: expected a quantifier +, * or {n,} on b",
			"t.motif:12:13: until needs a looping stage: expected a quantifier +, * or {n,} on h",
		}},
		{"skip targets", `pattern p {
    within 1m
    skip to_first prob
    begin probe+: x
    not_next m: x
    next g: (
        begin i: x
    )
}
pattern q {
    within 1m
    skip to_last m
    begin a: x
    not_followed_by m: x
    next b: x
}
pattern r {
    skip to_first g
    begin g: ( begin i: x )
}
pattern s {
    skip to_last i
    begin g: ( begin i: x )
}
`, []string{
			`t.motif:3:19: skip to_first: unknown stage "prob" (did you mean "probe"?)`,
			"t.motif:12:18: skip to_last cannot name negated stage m: it never takes events",
			"t.motif:18:19: skip to_first cannot name group g: name one of its inner stages",
		}},
	})
}
