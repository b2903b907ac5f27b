package nfa

import "strconv"

type condOp uint8

const (
	condTrueOp condOp = iota
	condPredOp        // a stage's (or until's) predicate
	condNotOp
	condAndOp
	condBoundOp // event time - time of the previous taken event < bound
)

// cond is an edge condition, built by the compiler from predicates with not
// and and, as FlinkCEP builds its IterativeConditions.
type cond struct {
	op    condOp
	pred  int32
	bound int64
	a, b  *cond
}

var trueCond = &cond{op: condTrueOp}

func predCond(i int32) *cond { return &cond{op: condPredOp, pred: i} }
func notCond(a *cond) *cond  { return &cond{op: condNotOp, a: a} }
func andCond(a, b *cond) *cond {
	if a.op == condTrueOp {
		return b
	}
	if b.op == condTrueOp {
		return a
	}
	return &cond{op: condAndOp, a: a, b: b}
}

func (c *cond) String() string {
	if c == nil {
		return "<nil>"
	}
	switch c.op {
	case condTrueOp:
		return "true"
	case condPredOp:
		return "p" + strconv.Itoa(int(c.pred))
	case condNotOp:
		return "!" + c.a.String()
	case condAndOp:
		return "(" + c.a.String() + "&" + c.b.String() + ")"
	case condBoundOp:
		return "dt<" + strconv.FormatInt(c.bound, 10)
	}
	return "?"
}

// pred is one compiled predicate: the event's type must be typ (unless typ
// is empty) and where must hold (unless it is nil).
type pred struct {
	typ   string
	where exprFn
}
