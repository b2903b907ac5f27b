package pattern

import (
	"math"
	"regexp"
	"strconv"

	"github.com/alecthomas/participle/v2/lexer"
)

// This file is the expression parser: precedence climbing over participle's
// PeekingLexer, wired into the grammar as the Parseable gExpr. Precedence,
// loosest first (language.md §3.4):
//
//	or
//	and
//	not X                    (prefix)
//	== != < <= > >= in, not in   (non-associative: a < b < c is an error)
//	+ -
//	* / %
//	-X                       (prefix)
//	X.f  X[i]  f(a, b)       (postfix)
//
// Binary operators associate to the left.

// maxExprDepth bounds the recursion of one expression (prefix operators and
// nesting), so that no input can exhaust the stack.
const maxExprDepth = 400

// numberRE is the form of a number literal; any other Number token is a
// duration or a mistake.
var numberRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// stmtWords start or continue a line of a pattern. In an expression they are
// ordinary names (a field may be called next), except where a name cannot
// be: see primary.
var stmtWords = append(append(append([]string{"where", "until"}, operatorWords...), clauseWords...), declWords...)

type exprParser struct {
	lex   *lexer.PeekingLexer
	depth int
}

// gExpr is an expression in the grammar.
type gExpr struct{ X Expr }

func (g *gExpr) Parse(lex *lexer.PeekingLexer) error {
	p := &exprParser{lex: lex}
	x, err := p.parse()
	if err != nil {
		return err
	}
	g.X = x
	return nil
}

func (p *exprParser) parse() (Expr, error) { return p.or() }

// enter counts one level of recursion.
func (p *exprParser) enter(t *lexer.Token) error {
	p.depth++
	if p.depth > maxExprDepth {
		return errorf(posOf(t.Pos), "expression nested too deeply")
	}
	return nil
}

func (p *exprParser) leave() { p.depth-- }

// prevToken returns the token before the next one, or nil at the start.
func prevToken(lex *lexer.PeekingLexer) *lexer.Token {
	c := lex.RawCursor()
	if c == 0 {
		return nil
	}
	return &lex.Range(c-1, c)[0]
}

// after returns " after 'x'" naming the previous token, or "".
func after(lex *lexer.PeekingLexer) string {
	t := prevToken(lex)
	if t == nil {
		return ""
	}
	switch t.Type {
	case tokIdent, tokOp:
		return " after '" + t.Value + "'"
	}
	return " after " + describe(t)
}

// peek2 returns the token after the next one.
func peek2(lex *lexer.PeekingLexer) *lexer.Token {
	cp := lex.MakeCheckpoint()
	lex.Next()
	t := lex.Peek()
	lex.LoadCheckpoint(cp)
	return t
}

func (p *exprParser) binary(l Expr, op *lexer.Token, kind BinOp, r Expr) Expr {
	return &BinaryExpr{Pos: l.Position(), OpPos: posOf(op.Pos), Op: kind, L: l, R: r}
}

func (p *exprParser) or() (Expr, error) {
	l, err := p.and()
	for err == nil && isWord(p.lex.Peek(), "or") {
		op := p.lex.Next()
		var r Expr
		if r, err = p.and(); err == nil {
			l = p.binary(l, op, BinOr, r)
		}
	}
	if err != nil {
		return nil, err
	}
	switch t := p.lex.Peek(); {
	case isOp(t, "&&"):
		return nil, errorf(posOf(t.Pos), "unexpected '&&': write 'and'")
	case isOp(t, "||"):
		return nil, errorf(posOf(t.Pos), "unexpected '||': write 'or'")
	}
	return l, nil
}

func (p *exprParser) and() (Expr, error) {
	l, err := p.not()
	for err == nil && isWord(p.lex.Peek(), "and") {
		op := p.lex.Next()
		var r Expr
		if r, err = p.not(); err == nil {
			l = p.binary(l, op, BinAnd, r)
		}
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (p *exprParser) not() (Expr, error) {
	t := p.lex.Peek()
	if !isWord(t, "not") {
		return p.cmp()
	}
	if err := p.enter(t); err != nil {
		return nil, err
	}
	defer p.leave()
	p.lex.Next()
	x, err := p.not()
	if err != nil {
		return nil, err
	}
	return &UnaryExpr{Pos: posOf(t.Pos), Op: UnaryNot, X: x}, nil
}

// cmpOp reports whether a comparison operator comes next, and consumes it.
func (p *exprParser) cmpOp() (op *lexer.Token, kind BinOp, ok bool, err error) {
	t := p.lex.Peek()
	switch {
	case t.Type == tokOp:
		switch t.Value {
		case "==":
			kind = BinEq
		case "!=":
			kind = BinNe
		case "<":
			kind = BinLt
		case "<=":
			kind = BinLe
		case ">":
			kind = BinGt
		case ">=":
			kind = BinGe
		case "=":
			return nil, 0, false, errorf(posOf(t.Pos), "unexpected '=': write '==' to compare")
		default:
			return nil, 0, false, nil
		}
	case isWord(t, "in"):
		kind = BinIn
	case isWord(t, "not"):
		if n := peek2(p.lex); !isWord(n, "in") {
			return nil, 0, false, unexpected(n, "expected 'in' after 'not'")
		}
		op = p.lex.Next()
		p.lex.Next()
		return op, BinNotIn, true, nil
	default:
		return nil, 0, false, nil
	}
	return p.lex.Next(), kind, true, nil
}

func (p *exprParser) cmp() (Expr, error) {
	l, err := p.add()
	if err != nil {
		return nil, err
	}
	op, kind, ok, err := p.cmpOp()
	if err != nil || !ok {
		return l, err
	}
	r, err := p.add()
	if err != nil {
		return nil, err
	}
	next := p.lex.Peek()
	if _, _, again, err := p.peekCmp(); err != nil {
		return nil, err
	} else if again {
		return nil, errorf(posOf(next.Pos), "comparisons do not chain: combine them with 'and', as in a < b and b < c")
	}
	return p.binary(l, op, kind, r), nil
}

// peekCmp is cmpOp without consuming anything.
func (p *exprParser) peekCmp() (*lexer.Token, BinOp, bool, error) {
	cp := p.lex.MakeCheckpoint()
	defer p.lex.LoadCheckpoint(cp)
	return p.cmpOp()
}

func (p *exprParser) add() (Expr, error) {
	l, err := p.mul()
	for err == nil {
		t := p.lex.Peek()
		var kind BinOp
		switch {
		case isOp(t, "+"):
			kind = BinAdd
		case isOp(t, "-"):
			kind = BinSub
		default:
			return l, nil
		}
		p.lex.Next()
		var r Expr
		if r, err = p.mul(); err == nil {
			l = p.binary(l, t, kind, r)
		}
	}
	return nil, err
}

func (p *exprParser) mul() (Expr, error) {
	l, err := p.unary()
	for err == nil {
		t := p.lex.Peek()
		var kind BinOp
		switch {
		case isOp(t, "*"):
			kind = BinMul
		case isOp(t, "/"):
			kind = BinDiv
		case isOp(t, "%"):
			kind = BinMod
		default:
			return l, nil
		}
		p.lex.Next()
		var r Expr
		if r, err = p.unary(); err == nil {
			l = p.binary(l, t, kind, r)
		}
	}
	return nil, err
}

func (p *exprParser) unary() (Expr, error) {
	t := p.lex.Peek()
	if err := p.enter(t); err != nil {
		return nil, err
	}
	defer p.leave()
	if !isOp(t, "-") {
		return p.postfix()
	}
	p.lex.Next()
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	return &UnaryExpr{Pos: posOf(t.Pos), Op: UnaryNeg, X: x}, nil
}

func (p *exprParser) postfix() (Expr, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.lex.Peek()
		switch {
		case isOp(t, "."):
			p.lex.Next()
			n := p.lex.Peek()
			if n.Type != tokIdent {
				return nil, unexpected(n, "expected a field name after '.'")
			}
			p.lex.Next()
			x = &SelectorExpr{Pos: x.Position(), X: x, Sel: Ident{Pos: posOf(n.Pos), Name: n.Value}}
		case isOp(t, "["):
			p.lex.Next()
			i, err := p.or()
			if err != nil {
				return nil, err
			}
			if err := p.expect("]", "expected ']' after the index"); err != nil {
				return nil, err
			}
			x = &IndexExpr{Pos: x.Position(), X: x, Index: i}
		case isOp(t, "("):
			return nil, errorf(posOf(t.Pos), "unexpected '(': only a function name can be called, as in count(s)")
		default:
			return x, nil
		}
	}
}

// expect consumes the punctuation s or fails with msg.
func (p *exprParser) expect(s, msg string) error {
	if t := p.lex.Peek(); !isOp(t, s) {
		return unexpected(t, msg)
	}
	p.lex.Next()
	return nil
}

func (p *exprParser) primary() (Expr, error) {
	t := p.lex.Peek()
	pos := posOf(t.Pos)
	switch t.Type {
	case tokNumber:
		p.lex.Next()
		return numberLit(t)
	case tokString:
		p.lex.Next()
		v, err := unquote(t)
		if err != nil {
			return nil, err
		}
		return &StringLit{Pos: pos, Raw: t.Value, Value: v}, nil
	case tokIdent:
		switch t.Value {
		case "true", "false":
			p.lex.Next()
			return &BoolLit{Pos: pos, Value: t.Value == "true"}, nil
		case "null":
			p.lex.Next()
			return &NullLit{Pos: pos}, nil
		case "and", "or", "in", "not":
			return nil, unexpected(t, "expected an expression"+after(p.lex))
		}
		if startsLine(p.lex) {
			// `amount >` ending a line, with the next stage below: the
			// keyword cannot be a field here since what follows it could not
			// follow a name.
			return nil, unexpected(t, "expected an expression"+after(p.lex))
		}
		p.lex.Next()
		if isOp(p.lex.Peek(), "(") {
			return p.call(t)
		}
		return &NameExpr{Pos: pos, Name: t.Value}, nil
	case tokOp:
		switch t.Value {
		case "(":
			p.lex.Next()
			x, err := p.or()
			if err != nil {
				return nil, err
			}
			if err := p.expect(")", "expected ')' to close '(' at "+pos.String()); err != nil {
				return nil, err
			}
			return &ParenExpr{Pos: pos, X: x}, nil
		case "[":
			p.lex.Next()
			elems, err := p.list("]", "expected ',' or ']' in the list")
			if err != nil {
				return nil, err
			}
			return &ListLit{Pos: pos, Elems: elems}, nil
		case "!":
			return nil, errorf(pos, "unexpected '!': write 'not'")
		}
	}
	return nil, unexpected(t, "expected an expression"+after(p.lex))
}

// startsLine reports whether the next tokens look like the start of a clause
// or stage line, as when `where amount >` ends a line: a keyword followed by
// what could not follow a name. Where a name is expected, taking the keyword
// as the name could only lead to an error further on.
func startsLine(lex *lexer.PeekingLexer) bool {
	return isOneOf(lex.Peek().Value, stmtWords) && lex.Peek().Type == tokIdent && !canFollowOperand(peek2(lex))
}

// canFollowOperand reports whether t may come right after a complete
// operand in a valid file: an operator or punctuation, a keyword, or the end.
func canFollowOperand(t *lexer.Token) bool {
	switch t.Type {
	case tokOp, lexer.EOF:
		return true
	case tokIdent:
		return isOneOf(t.Value, []string{"and", "or", "in", "not"}) || isOneOf(t.Value, stmtWords)
	}
	return false
}

func (p *exprParser) call(name *lexer.Token) (Expr, error) {
	p.lex.Next() // (
	args, err := p.list(")", "expected ',' or ')' after the argument")
	if err != nil {
		return nil, err
	}
	return &CallExpr{Pos: posOf(name.Pos), Fun: Ident{Pos: posOf(name.Pos), Name: name.Value}, Args: args}, nil
}

// list parses `e, e, ...` up to the closing token, a trailing comma allowed;
// the opening token is consumed.
func (p *exprParser) list(closing, msg string) ([]Expr, error) {
	var out []Expr
	for {
		if isOp(p.lex.Peek(), closing) {
			p.lex.Next()
			return out, nil
		}
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		switch t := p.lex.Peek(); {
		case isOp(t, ","):
			p.lex.Next()
		case isOp(t, closing):
		default:
			return nil, unexpected(t, msg)
		}
	}
}

// numberLit turns a Number token into a number or duration literal.
func numberLit(t *lexer.Token) (Expr, error) {
	pos := posOf(t.Pos)
	if numberRE.MatchString(t.Value) {
		v, err := strconv.ParseFloat(t.Value, 64)
		if err != nil || math.IsInf(v, 0) {
			return nil, errorf(pos, "number %s is out of range", t.Value)
		}
		return &NumberLit{Pos: pos, Text: t.Value, Value: v}, nil
	}
	d, err := ParseDuration(t.Value)
	if err != nil {
		return nil, errorf(pos, "%s", err.Error())
	}
	return &DurationLit{Pos: pos, Text: t.Value, Value: d}, nil
}

// unquote returns the value of a String token.
func unquote(t *lexer.Token) (string, error) {
	body := t.Value[1 : len(t.Value)-1]
	v, bad, msg := unescape(body, nil)
	if bad >= 0 {
		return "", errorf(advance(posOf(t.Pos), t.Value[:1+bad]), "%s", msg)
	}
	return v, nil
}

// advance returns p moved past s, which holds no newline.
func advance(p Pos, s string) Pos {
	p.Offset += len(s)
	for range s {
		p.Col++
	}
	return p
}
