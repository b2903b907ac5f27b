package pattern

// This file types the operators of expressions (language.md §3.4).

// binary checks L op R.
func (x *exprChecker) binary(e *BinaryExpr) typ {
	if e.Op == BinIn || e.Op == BinNotIn {
		return x.in(e)
	}
	l, r := x.expr(e.L), x.expr(e.R)
	switch e.Op {
	case BinOr, BinAnd:
		x.wantBool(e.Op.String()+" needs bool operands", e.L, l)
		x.wantBool(e.Op.String()+" needs bool operands", e.R, r)
		return tBool
	case BinEq, BinNe:
		if !equatable(l, r) {
			x.typeErrorf(e.OpPos, "cannot compare %s with %s (%s)", l, r, formatExpr(e))
		}
		return tBool
	case BinLt, BinLe, BinGt, BinGe:
		if !orderable(l, r) {
			if l.kind != r.kind && l.kind != kindNull && r.kind != kindNull {
				x.typeErrorf(e.OpPos, "cannot compare %s with %s (%s)", l, r, formatExpr(e))
			} else {
				x.typeErrorf(e.OpPos, "cannot compare %s with %s using %s (%s)", l, r, e.Op, formatExpr(e))
			}
		}
		return tBool
	}
	t, ok := arith(e.Op, l, r)
	if !ok {
		x.typeErrorf(e.OpPos, "cannot apply %s to %s and %s (%s)", e.Op, l, r, formatExpr(e))
	}
	return t
}

// in checks `L in [..]` and `L not in [..]`: the right side must be a list,
// and the elements of a list literal must compare with the left side.
func (x *exprChecker) in(e *BinaryExpr) typ {
	l := x.expr(e.L)
	if list, ok := e.R.(*ListLit); ok && list != nil {
		for _, el := range list.Elems {
			if isNilExpr(el) {
				continue
			}
			if t := x.expr(el); !equatable(l, t) {
				x.typeErrorf(el.Position(), "cannot compare %s with %s (%s)", l, t, formatExpr(e))
			}
		}
		return tBool
	}
	if isNilExpr(e.R) {
		return tBool
	}
	if r := x.expr(e.R); r.kind != kindList && !r.loose() {
		x.typeErrorf(e.R.Position(), "%s needs a list on its right, not %s (%s), as in country in [\"US\", \"CA\"]", e.Op, r, formatExpr(e.R))
	}
	return tBool
}

// unary checks `not X` and `-X`.
func (x *exprChecker) unary(e *UnaryExpr) typ {
	t := x.expr(e.X)
	if e.Op == UnaryNot {
		x.wantBool("not needs a bool operand", e.X, t)
		return tBool
	}
	switch t.kind {
	case kindNumber, kindDuration:
		return t
	case kindAny, kindNull:
		return tAny
	}
	x.typeErrorf(e.Pos, "cannot negate %s (%s)", t, formatExpr(e.X))
	return tAny
}

// wantBool reports an operand of and, or, not that is not bool. null and
// untyped operands are accepted: null reads as false.
func (x *exprChecker) wantBool(what string, e Expr, t typ) {
	if isNilExpr(e) || t.kind == kindBool || t.loose() {
		return
	}
	x.typeErrorf(e.Position(), "%s, not %s (%s)", what, t, formatExpr(e))
}
