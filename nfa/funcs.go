package nfa

import (
	"math"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/pattern"
)

func (ec *exprCompiler) call(x *pattern.CallExpr) exprFn {
	name := x.Fun.Name
	b, ok := pattern.LookupBuiltin(name)
	if !ok {
		return ec.fail(x, "unknown function %s", name)
	}
	if len(x.Args) < b.MinArgs || (b.MaxArgs >= 0 && len(x.Args) > b.MaxArgs) {
		return ec.fail(x, "wrong number of arguments to %s", name)
	}
	switch name {
	case "first", "last":
		if evf, ok := ec.event(x); ok {
			return eventValue(evf)
		}
		return ec.fail(x, "%s takes a stage name", name)
	case "count":
		s, ok := ec.stageArg(x.Args[0])
		if !ok {
			return ec.fail(x, "count takes a stage name")
		}
		stages := ec.stageSet(s)
		return func(c *evalCtx) event.Value {
			n := 0
			each(c, stages, func(*event.Event) bool { n++; return true })
			return event.NumberValue(float64(n))
		}
	case "sum", "avg", "distinct":
		return ec.aggregate(x, name)
	case "min", "max":
		if len(x.Args) == 1 {
			return ec.aggregate(x, name)
		}
		return ec.minmax2(x, name == "min")
	case "exists":
		if s, ok := ec.stageArg(x.Args[0]); ok {
			evf := ec.stageLast(s)
			return func(c *evalCtx) event.Value { return boolV(evf(c) != nil) }
		}
		f := ec.value(x.Args[0])
		return func(c *evalCtx) event.Value { return boolV(!f(c).IsNull()) }
	case "coalesce":
		fs := ec.values(x.Args)
		return func(c *evalCtx) event.Value {
			for _, f := range fs {
				if v := f(c); !v.IsNull() {
					return v
				}
			}
			return nullV
		}
	case "matches":
		return ec.matches(x)
	case "timestamp":
		lit, ok := x.Args[0].(*pattern.StringLit)
		if !ok {
			return ec.fail(x, "timestamp takes a string literal")
		}
		t, err := time.Parse(time.RFC3339Nano, lit.Value)
		if err != nil {
			return ec.fail(x, "timestamp: %v", err)
		}
		return constFn(event.TimeValue(t.UnixNano()))
	case "geo_km":
		fs := ec.values(x.Args)
		return func(c *evalCtx) event.Value {
			var v [4]float64
			for i, f := range fs {
				a := f(c)
				if a.Kind() != event.Number {
					if !a.IsNull() {
						c.typeError()
					}
					return nullV
				}
				v[i] = a.Num()
			}
			return event.NumberValue(geoKm(v[0], v[1], v[2], v[3]))
		}
	}
	fs := ec.values(x.Args)
	if len(fs) == 1 {
		if f := unaryFunc(name); f != nil {
			a := fs[0]
			return func(c *evalCtx) event.Value { return f(c, a(c)) }
		}
	}
	if f := stringPredicate(name); f != nil {
		a, b := fs[0], fs[1]
		return func(c *evalCtx) event.Value {
			s, sub := a(c), b(c)
			if s.Kind() != event.String || sub.Kind() != event.String {
				if !s.IsNull() && !sub.IsNull() {
					c.typeError()
				}
				return falseV
			}
			return boolV(f(s.Str(), sub.Str()))
		}
	}
	return ec.fail(x, "unsupported function %s", name)
}

func (ec *exprCompiler) values(args []pattern.Expr) []exprFn {
	fs := make([]exprFn, len(args))
	for i, a := range args {
		fs[i] = ec.value(a)
	}
	return fs
}

func stringPredicate(name string) func(s, sub string) bool {
	switch name {
	case "contains":
		return strings.Contains
	case "starts_with":
		return strings.HasPrefix
	case "ends_with":
		return strings.HasSuffix
	}
	return nil
}

// unaryFunc returns the one-argument scalar function called name.
func unaryFunc(name string) func(c *evalCtx, v event.Value) event.Value {
	num := func(f func(float64) float64) func(*evalCtx, event.Value) event.Value {
		return func(c *evalCtx, v event.Value) event.Value {
			if v.Kind() != event.Number {
				if !v.IsNull() {
					c.typeError()
				}
				return nullV
			}
			return event.NumberValue(f(v.Num()))
		}
	}
	str := func(f func(string) string) func(*evalCtx, event.Value) event.Value {
		return func(c *evalCtx, v event.Value) event.Value {
			if v.Kind() != event.String {
				if !v.IsNull() {
					c.typeError()
				}
				return nullV
			}
			return event.StringValue(f(v.Str()))
		}
	}
	dur := func(unit time.Duration) func(*evalCtx, event.Value) event.Value {
		return func(c *evalCtx, v event.Value) event.Value {
			if v.Kind() != event.Duration {
				if !v.IsNull() {
					c.typeError()
				}
				return nullV
			}
			return event.NumberValue(float64(v.DurNs()) / float64(unit))
		}
	}
	switch name {
	case "abs":
		return num(math.Abs)
	case "round":
		return num(math.Round)
	case "floor":
		return num(math.Floor)
	case "ceil":
		return num(math.Ceil)
	case "lower":
		return str(strings.ToLower)
	case "upper":
		return str(strings.ToUpper)
	case "trim":
		return str(strings.TrimSpace)
	case "seconds":
		return dur(time.Second)
	case "minutes":
		return dur(time.Minute)
	case "hours":
		return dur(time.Hour)
	case "len":
		return func(c *evalCtx, v event.Value) event.Value {
			switch v.Kind() {
			case event.String:
				return event.NumberValue(float64(utf8.RuneCountInString(v.Str())))
			case event.List:
				return event.NumberValue(float64(len(v.List())))
			case event.Null:
				return nullV
			}
			c.typeError()
			return nullV
		}
	case "millis":
		return func(c *evalCtx, v event.Value) event.Value {
			if v.Kind() != event.Time {
				if !v.IsNull() {
					c.typeError()
				}
				return nullV
			}
			return event.NumberValue(float64(v.TimeNs() / int64(time.Millisecond)))
		}
	}
	return nil
}

func (ec *exprCompiler) minmax2(x *pattern.CallExpr, isMin bool) exprFn {
	a, b := ec.value(x.Args[0]), ec.value(x.Args[1])
	return func(c *evalCtx) event.Value {
		u, v := a(c), b(c)
		if u.IsNull() || v.IsNull() {
			return nullV
		}
		k, ok := event.Compare(u, v)
		if !ok {
			c.typeError()
			return nullV
		}
		if (k <= 0) == isMin {
			return u
		}
		return v
	}
}

// aggregate compiles sum, avg, min, max and distinct over a stage's field:
// the argument is s.f (or first-class paths below it).
func (ec *exprCompiler) aggregate(x *pattern.CallExpr, name string) exprFn {
	base, sels := flatten(x.Args[0])
	s, ok := ec.stageArg(base)
	if !ok || len(sels) == 0 {
		return ec.fail(x, "%s takes a stage's field, as in %s(s.amount)", name, name)
	}
	field := fieldOf(ec.schema, func(c *evalCtx) *event.Event { return c.agg }, sels)
	stages := ec.stageSet(s)
	return func(c *evalCtx) event.Value {
		var (
			sum   float64
			n     int
			best  event.Value
			seen  []event.Value
			saved = c.agg
		)
		each(c, stages, func(e *event.Event) bool {
			c.agg = e
			v := field(c)
			switch name {
			case "sum", "avg":
				if v.Kind() == event.Number {
					sum += v.Num()
					n++
				} else if !v.IsNull() {
					c.typeError()
				}
			case "distinct":
				if v.IsNull() {
					return true
				}
				for _, w := range seen {
					if event.Equal(v, w) {
						return true
					}
				}
				seen = append(seen, v)
			default: // min, max
				if v.IsNull() {
					return true
				}
				if best.IsNull() {
					best = v
					return true
				}
				k, ok := event.Compare(v, best)
				if !ok {
					c.typeError()
					return true
				}
				if (name == "min" && k < 0) || (name == "max" && k > 0) {
					best = v
				}
			}
			return true
		})
		c.agg = saved
		switch name {
		case "sum":
			return event.NumberValue(sum)
		case "avg":
			if n == 0 {
				return nullV
			}
			return event.NumberValue(sum / float64(n))
		case "distinct":
			return event.NumberValue(float64(len(seen)))
		}
		return best
	}
}

func (ec *exprCompiler) matches(x *pattern.CallExpr) exprFn {
	a := ec.value(x.Args[0])
	lit, ok := x.Args[1].(*pattern.StringLit)
	if !ok {
		return ec.fail(x, "matches takes a regular expression as a string literal")
	}
	re, err := regexp.Compile(lit.Value)
	if err != nil {
		return ec.fail(x, "matches: %v", err)
	}
	return func(c *evalCtx) event.Value {
		v := a(c)
		if v.Kind() != event.String {
			if !v.IsNull() {
				c.typeError()
			}
			return falseV
		}
		return boolV(re.MatchString(v.Str()))
	}
}

// geoKm is the great-circle distance in kilometres between two points given
// in degrees (haversine, mean Earth radius).
func geoKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0088
	rad := math.Pi / 180
	dlat := (lat2 - lat1) * rad
	dlon := (lon2 - lon1) * rad
	s := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(s)))
}
