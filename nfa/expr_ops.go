package nfa

import (
	"math"

	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/pattern"
)

var (
	trueV  = event.BoolValue(true)
	falseV = event.BoolValue(false)
	nullV  = event.NullValue()
)

func boolV(b bool) event.Value {
	if b {
		return trueV
	}
	return falseV
}

func (ec *exprCompiler) unary(x *pattern.UnaryExpr) exprFn {
	f := ec.value(x.X)
	if x.Op == pattern.UnaryNot {
		return func(c *evalCtx) event.Value { return boolV(!f(c).Truthy()) }
	}
	return func(c *evalCtx) event.Value {
		v := f(c)
		switch v.Kind() {
		case event.Number:
			return event.NumberValue(-v.Num())
		case event.Duration:
			return event.DurationValue(-v.DurNs())
		case event.Null:
			return nullV
		}
		c.typeError()
		return nullV
	}
}

func (ec *exprCompiler) binary(x *pattern.BinaryExpr) exprFn {
	l, r := ec.value(x.L), ec.value(x.R)
	switch x.Op {
	case pattern.BinOr:
		return func(c *evalCtx) event.Value { return boolV(l(c).Truthy() || r(c).Truthy()) }
	case pattern.BinAnd:
		return func(c *evalCtx) event.Value { return boolV(l(c).Truthy() && r(c).Truthy()) }
	case pattern.BinEq, pattern.BinNe:
		ne := x.Op == pattern.BinNe
		return func(c *evalCtx) event.Value { return equality(c, l(c), r(c), ne) }
	case pattern.BinLt, pattern.BinLe, pattern.BinGt, pattern.BinGe:
		if lit, ok := numberLit(x.R); ok {
			return numCompareConst(l, x.Op, lit)
		}
		op := x.Op
		return func(c *evalCtx) event.Value { return order(c, l(c), r(c), op) }
	case pattern.BinIn, pattern.BinNotIn:
		not := x.Op == pattern.BinNotIn
		return func(c *evalCtx) event.Value { return in(c, l(c), r(c), not) }
	}
	op := x.Op
	return func(c *evalCtx) event.Value { return arith(c, l(c), r(c), op) }
}

func numberLit(e pattern.Expr) (float64, bool) {
	switch x := e.(type) {
	case *pattern.NumberLit:
		return x.Value, true
	case *pattern.ParenExpr:
		return numberLit(x.X)
	case *pattern.UnaryExpr:
		if x.Op == pattern.UnaryNeg {
			if v, ok := numberLit(x.X); ok {
				return -v, true
			}
		}
	}
	return 0, false
}

// numCompareConst is the common `field < 2.00` with a number on the right.
func numCompareConst(l exprFn, op pattern.BinOp, k float64) exprFn {
	kv := event.NumberValue(k)
	return func(c *evalCtx) event.Value {
		v := l(c)
		if v.Kind() != event.Number {
			return order(c, v, kv, op)
		}
		n := v.Num()
		switch op {
		case pattern.BinLt:
			return boolV(n < k)
		case pattern.BinLe:
			return boolV(n <= k)
		case pattern.BinGt:
			return boolV(n > k)
		}
		return boolV(n >= k)
	}
}

// equality implements == and !=: null is a value (null == null), and values
// of different kinds are not comparable (false, counted).
func equality(c *evalCtx, a, b event.Value, ne bool) event.Value {
	if a.IsNull() || b.IsNull() {
		both := a.IsNull() && b.IsNull()
		return boolV(both != ne)
	}
	if a.Kind() != b.Kind() {
		c.typeError()
		return falseV
	}
	return boolV(event.Equal(a, b) != ne)
}

func order(c *evalCtx, a, b event.Value, op pattern.BinOp) event.Value {
	if a.IsNull() || b.IsNull() {
		return falseV
	}
	k, ok := event.Compare(a, b)
	if !ok {
		if a.Kind() != b.Kind() || a.Kind() != event.Number {
			c.typeError()
		}
		return falseV
	}
	switch op {
	case pattern.BinLt:
		return boolV(k < 0)
	case pattern.BinLe:
		return boolV(k <= 0)
	case pattern.BinGt:
		return boolV(k > 0)
	}
	return boolV(k >= 0)
}

func in(c *evalCtx, a, b event.Value, not bool) event.Value {
	if a.IsNull() {
		return falseV
	}
	if b.Kind() != event.List {
		if !b.IsNull() {
			c.typeError()
		}
		return falseV
	}
	for _, x := range b.List() {
		if event.Equal(a, x) {
			return boolV(!not)
		}
	}
	return boolV(not)
}

// arith implements + - * / % with the time rules of the language: time -
// time is a duration, time ± duration a time, durations add and scale.
// Null gives null; anything else that does not fit is null and counted.
func arith(c *evalCtx, a, b event.Value, op pattern.BinOp) event.Value {
	if a.IsNull() || b.IsNull() {
		return nullV
	}
	ak, bk := a.Kind(), b.Kind()
	switch {
	case ak == event.Number && bk == event.Number:
		return numArith(a.Num(), b.Num(), op)
	case ak == event.String && bk == event.String && op == pattern.BinAdd:
		return event.StringValue(a.Str() + b.Str())
	case ak == event.Time && bk == event.Time && op == pattern.BinSub:
		return event.DurationValue(a.TimeNs() - b.TimeNs())
	case ak == event.Time && bk == event.Duration && (op == pattern.BinAdd || op == pattern.BinSub):
		if op == pattern.BinAdd {
			return event.TimeValue(a.TimeNs() + b.DurNs())
		}
		return event.TimeValue(a.TimeNs() - b.DurNs())
	case ak == event.Duration && bk == event.Time && op == pattern.BinAdd:
		return event.TimeValue(b.TimeNs() + a.DurNs())
	case ak == event.Duration && bk == event.Duration:
		switch op {
		case pattern.BinAdd:
			return event.DurationValue(a.DurNs() + b.DurNs())
		case pattern.BinSub:
			return event.DurationValue(a.DurNs() - b.DurNs())
		case pattern.BinDiv:
			if b.DurNs() == 0 {
				return nullV
			}
			return event.NumberValue(float64(a.DurNs()) / float64(b.DurNs()))
		}
	case ak == event.Duration && bk == event.Number && (op == pattern.BinMul || op == pattern.BinDiv):
		if op == pattern.BinDiv {
			if b.Num() == 0 {
				return nullV
			}
			return event.DurationValue(int64(float64(a.DurNs()) / b.Num()))
		}
		return event.DurationValue(int64(float64(a.DurNs()) * b.Num()))
	case ak == event.Number && bk == event.Duration && op == pattern.BinMul:
		return event.DurationValue(int64(a.Num() * float64(b.DurNs())))
	}
	c.typeError()
	return nullV
}

func numArith(x, y float64, op pattern.BinOp) event.Value {
	switch op {
	case pattern.BinAdd:
		return event.NumberValue(x + y)
	case pattern.BinSub:
		return event.NumberValue(x - y)
	case pattern.BinMul:
		return event.NumberValue(x * y)
	case pattern.BinDiv:
		if y == 0 {
			return nullV
		}
		return event.NumberValue(x / y)
	case pattern.BinMod:
		if y == 0 {
			return nullV
		}
		return event.NumberValue(math.Mod(x, y))
	}
	return nullV
}
