package pattern

// Builtin describes a function of the expression language (language.md §3.4).
type Builtin struct {
	Name    string
	MinArgs int
	MaxArgs int // -1: any number
	// Stage is true for the functions whose first argument names a looping
	// stage's events (first, last, count) or a field over them (sum(s.f) ...).
	Stage bool
}

// Builtins lists every function of the language.
var Builtins = []Builtin{
	{Name: "first", MinArgs: 1, MaxArgs: 1, Stage: true},
	{Name: "last", MinArgs: 1, MaxArgs: 1, Stage: true},
	{Name: "count", MinArgs: 1, MaxArgs: 1, Stage: true},
	{Name: "sum", MinArgs: 1, MaxArgs: 1, Stage: true},
	{Name: "avg", MinArgs: 1, MaxArgs: 1, Stage: true},
	{Name: "distinct", MinArgs: 1, MaxArgs: 1, Stage: true},
	// min and max take one argument (an aggregate over a stage's field) or two
	// (the smaller or larger of two values).
	{Name: "min", MinArgs: 1, MaxArgs: 2, Stage: true},
	{Name: "max", MinArgs: 1, MaxArgs: 2, Stage: true},
	{Name: "abs", MinArgs: 1, MaxArgs: 1},
	{Name: "round", MinArgs: 1, MaxArgs: 1},
	{Name: "floor", MinArgs: 1, MaxArgs: 1},
	{Name: "ceil", MinArgs: 1, MaxArgs: 1},
	{Name: "lower", MinArgs: 1, MaxArgs: 1},
	{Name: "upper", MinArgs: 1, MaxArgs: 1},
	{Name: "len", MinArgs: 1, MaxArgs: 1},
	{Name: "trim", MinArgs: 1, MaxArgs: 1},
	{Name: "contains", MinArgs: 2, MaxArgs: 2},
	{Name: "starts_with", MinArgs: 2, MaxArgs: 2},
	{Name: "ends_with", MinArgs: 2, MaxArgs: 2},
	{Name: "matches", MinArgs: 2, MaxArgs: 2},
	{Name: "exists", MinArgs: 1, MaxArgs: 1},
	{Name: "coalesce", MinArgs: 1, MaxArgs: -1},
	{Name: "geo_km", MinArgs: 4, MaxArgs: 4},
	{Name: "seconds", MinArgs: 1, MaxArgs: 1},
	{Name: "minutes", MinArgs: 1, MaxArgs: 1},
	{Name: "hours", MinArgs: 1, MaxArgs: 1},
	{Name: "millis", MinArgs: 1, MaxArgs: 1},
	{Name: "timestamp", MinArgs: 1, MaxArgs: 1},
}

// LookupBuiltin returns the builtin called name.
func LookupBuiltin(name string) (Builtin, bool) {
	for _, b := range Builtins {
		if b.Name == name {
			return b, true
		}
	}
	return Builtin{}, false
}
