package pattern

import "testing"

func TestCheckDeadlines(t *testing.T) {
	runCheckCases(t, []checkCase{
		{"not_followed_by at the end", "pattern p {\n    begin a: x\n    not_followed_by m: x\n}\n", []string{
			"t.motif:3:5: not_followed_by m at the end of pattern p needs a deadline: expected within D on the pattern or on the stage, or a gap",
		}},
		// As in FlinkCEP, the match may end before the optional stages: no deadline needed.
		{"followed only by optional stages", "pattern p {\n    begin a: x\n    not_followed_by m: x\n    next b?: x\n    next c*: x\n}\n", nil},
		{"at the end of a group at the end", "pattern p {\n    begin a: x\n    next g: (\n        begin b: x\n        not_followed_by m: x\n    )\n}\n", []string{
			"t.motif:5:9: not_followed_by m at the end of pattern p needs a deadline: expected within D on the pattern or on the stage, or a gap",
		}},
		{"deadlines given", `pattern p {
    within 1m
    begin a: x
    not_followed_by m: x
}
pattern q {
    gap 30s
    begin a: x
    not_followed_by m: x
}
pattern r {
    begin a: x
    not_followed_by m: x within 5m
}
pattern s {
    begin a: x
    not_followed_by m: x
    next b: x
    not_next n: x
}
`, nil},
		{"within none", "pattern p {\n    within none\n    begin a: x\n    not_followed_by m: x\n}\n", []string{
			"t.motif:2:5: warning: within none: the state of pattern p is bounded only by its skip strategy",
			"t.motif:4:5: not_followed_by m at the end of pattern p needs a deadline: expected within D on the pattern or on the stage, or a gap",
		}},
		{"within none alone is a warning", "pattern p {\n    within none\n    begin a: x\n}\n", []string{
			"t.motif:2:5: warning: within none: the state of pattern p is bounded only by its skip strategy",
		}},
		{"durations", "pattern p {\n    within 0s\n    gap 0m\n    suppress 0h\n    begin a: x\n    next b: x within 0ms\n}\n", []string{
			"t.motif:2:12: within needs a duration greater than 0, not 0s",
			"t.motif:3:9: gap needs a duration greater than 0, not 0m",
			"t.motif:4:14: suppress needs a duration greater than 0, not 0h",
			"t.motif:6:22: within needs a duration greater than 0, not 0ms",
		}},
	})
}

func TestCheckKeys(t *testing.T) {
	runCheckCases(t, []checkCase{
		{"key in every type", checkEvents + `pattern p {
    key card_id, crd_id
    within 1m
    begin a: auth
    next b: login
    next c: any
}
`, []string{
			`t.motif:4:9: key field "card_id" is not a field of event login`,
			`t.motif:4:18: key field "crd_id" is not a field of event auth (did you mean "card_id"?)`,
			`t.motif:4:18: key field "crd_id" is not a field of event login`,
		}},
		{"nested key and duplicate", checkEvents + `pattern p {
    key geo.country, device.x, geo.country, type
    begin a: login
}
`, []string{
			`t.motif:4:29: key device.x: field device of event login is string, not an object`,
			`t.motif:4:32: key geo.country given twice`,
		}},
		{"untyped keys", "pattern p {\n    key whatever.x\n    begin a: x\n}\n", nil},
	})
}

func TestCheckReferences(t *testing.T) {
	runCheckCases(t, []checkCase{
		{"language.md section 5", checkEvents + `pattern p {
    within 10m
    begin       probe{3,}: auth where ammount < 2.00
    followed_by big:       auth where amount > 500 and merchant != probe.merchant
}
`, []string{
			`t.motif:5:39: unknown field "ammount" of event auth (did you mean "amount"?)`,
			"t.motif:6:68: stage probe may take several events: use first(probe).merchant, last(probe).merchant, probe[i].merchant or an aggregate",
		}},
		{"stage forms", checkEvents + `pattern p {
    within 10m
    begin a: auth
    next probe+: auth where first(probe).merchant == a.merchant and count(probe) < 3 and last(probe).amount > avg(probe.amount)
    next big: auth where probe[0].amount < amount and probe[-1].amount < sum(probe.amount) and distinct(probe.merchant) > 1
    next c: auth where min(probe.amount) < max(probe.amount) and min(amount, 2) < 3 and max(probe.merchant) != "x"
    emit { a: count(probe), b: probe, c: first(probe).merchent }
}
`, []string{
			"t.motif:9:32: stage probe may take several events: use first(probe), last(probe), probe[i] or an aggregate",
			`t.motif:9:55: unknown field "merchent" of event auth (did you mean "merchant"?)`,
		}},
		{"group inner stages repeat", `pattern p {
    within 10m
    begin g{2}: (
        begin a: x
        next b: x where a.y > 1 and count(a) > 1
    )
    next c: x where last(b).y > 1 and a.y > 2
}
`, []string{
			"t.motif:5:25: stage a may take several events: use first(a).y, last(a).y, a[i].y or an aggregate",
			"t.motif:7:39: stage a may take several events: use first(a).y, last(a).y, a[i].y or an aggregate",
		}},
		{"order, self and negated", `pattern p {
    within 10m
    begin a: x where c.y > 1 and a.y > 1 and a == null
    not_next m: x where m.y > 1 and a.y > 1
    next c+: x where count(c) < 3 and last(c).y < y and first(m).y > 1
    next g+: ( begin d: x where g.y > 1 ) until count(d) > 2 and count(e) > 1
    next e: x
    emit { m: m.y, g: count(g) }
}
`, []string{
			"t.motif:3:22: stage c comes later in the pattern: it has no events when the condition of a is tested",
			"t.motif:3:34: stage a takes one event, the one being tested: in its own condition write y, not a.y",
			"t.motif:3:46: stage a takes one event, the one being tested: it cannot read itself in its own condition",
			"t.motif:4:25: stage m is negated: it never takes events",
			"t.motif:5:63: stage m is negated: it never takes events",
			"t.motif:6:33: g is a group stage: it takes no events itself; name one of its inner stages",
			"t.motif:6:72: stage e comes later in the pattern: it has no events when the condition of g is tested",
			"t.motif:8:15: stage m is negated: it never takes events",
			"t.motif:8:29: g is a group stage: it takes no events itself; name one of its inner stages",
		}},
		{"emit names", checkEvents + `pattern p {
    key card_id
    within 10m
    begin probe+: auth
    next big: auth
    emit high "card {key} {card_id} {amount}" { a: big.amount, b: merchant, c: time, d: key }
}
pattern q {
    key geo.country
    within 1m
    begin l: login
    emit { a: geo.country, b: geo.country.x, c: geo.city, d: key.x }
}
`, []string{
			"t.motif:8:38: no event is being tested in emit: use a stage name, as in big.amount",
			"t.motif:8:67: no event is being tested in emit: use a stage name, as in big.merchant",
			"t.motif:8:80: no event is being tested in emit: use a stage name, as in big.time",
			"t.motif:14:49: no event is being tested in emit: use a stage name, as in l.geo.city",
			`t.motif:14:66: cannot select field "x" of string (key)`,
		}},
		{"functions and arity", checkEvents + `pattern p {
    within 1m
    begin a: auth where lowerr(merchant) > 1 and len(merchant, 2) > 1 and coalesce() == 1 and min(1, 2, 3) > 0
    next b+: auth where count(b.amount) > 1 and sum(b) > 1 and sum(amount) > 1 and first(bb).amount > 1 and sum(bb.amount) > 0 and frobnicate(1)
}
`, []string{
			`t.motif:5:25: unknown function "lowerr" (did you mean "lower"?)`,
			"t.motif:5:50: len takes 1 argument, got 2",
			"t.motif:5:75: coalesce takes at least 1 argument, got 0",
			"t.motif:5:95: min takes 1 or 2 arguments, got 3",
			"t.motif:6:31: count takes a stage name, as in count(b)",
			"t.motif:6:53: sum takes a field of a stage's events, as in sum(b.amount)",
			"t.motif:6:68: sum takes a field of a stage's events, as in sum(b.amount)",
			`t.motif:6:90: first takes a stage name: unknown stage "bb" (did you mean "b"?)`,
			`t.motif:6:113: sum takes a field of a stage: unknown stage "bb" (did you mean "b"?)`,
			`t.motif:6:132: unknown function "frobnicate"`,
		}},
		{"in needs a list", checkEvents + `pattern p {
    within 1m
    begin a: auth where country in ["US", "CA"] and merchant not in country and amount in [1, "x"]
}
`, []string{
			`t.motif:5:69: not in needs a list on its right, not string (country), as in country in ["US", "CA"]`,
			`t.motif:5:95: cannot compare number with string (amount in [1, "x"])`,
		}},
	})
}

func TestCheckFixedAttributesNotDeclarable(t *testing.T) {
	runCheckCases(t, []checkCase{
		{"id time type", "event a { id: number, time: string, type: bool }\n", []string{
			"t.motif:1:11: field id of event a: id is a fixed attribute of every event and cannot be declared",
			"t.motif:1:23: field time of event a: time is a fixed attribute of every event and cannot be declared",
			"t.motif:1:37: field type of event a: type is a fixed attribute of every event and cannot be declared",
		}},
	})
}
