package pattern

import (
	"strconv"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// This file holds the leaves of the grammar (grammar.go): Parseable nodes
// that each read a token or two and, when it is not what the language
// allows there, fail with a diagnostic in plain words.

// punctSpec names a required punctuation token and the diagnostic when it
// is missing, "expected ... after ...". A spec is a type so that gPunct can
// be a distinct grammar node for each place.
type punctSpec interface {
	punct() (tok, msg string)
}

// closer is a punctSpec for a closing '}' that says what it closes when the
// file ends, or the next declaration starts, before it.
type closer interface {
	closes() string
}

type (
	openEvent       struct{}
	closeFields     struct{}
	colonField      struct{}
	openPattern     struct{}
	closePattern    struct{}
	colonStage      struct{}
	closeGroup      struct{}
	closeEmitFields struct{}
	emitWord        struct{}
)

func (openEvent) punct() (string, string)   { return "{", "expected '{' after the event name" }
func (closeFields) punct() (string, string) { return "}", "expected a field name or '}'" }
func (closeFields) closes() string          { return "the event" }
func (colonField) punct() (string, string)  { return ":", "expected ':' after field name" }
func (openPattern) punct() (string, string) { return "{", "expected '{' after the pattern name" }
func (closePattern) punct() (string, string) {
	return "}", "expected a clause, a stage, 'emit' or '}'"
}
func (closePattern) closes() string             { return "the pattern" }
func (colonStage) punct() (string, string)      { return ":", "expected ':' after stage name" }
func (closeGroup) punct() (string, string)      { return ")", "expected a stage or ')' to close the group" }
func (closeEmitFields) punct() (string, string) { return "}", "expected a field name or '}'" }
func (closeEmitFields) closes() string          { return "the fields of emit" }
func (emitWord) punct() (string, string)        { return "emit", "expected 'emit' after 'on_timeout'" }

// gPunct is a required token.
type gPunct[S punctSpec] struct{ Pos lexer.Position }

func (g *gPunct[S]) Parse(lex *lexer.PeekingLexer) error {
	var s S
	want, msg := s.punct()
	t := lex.Peek()
	if t.Value != want || (t.Type != tokOp && t.Type != tokIdent) {
		if c, ok := any(s).(closer); ok && (t.EOF() || t.Pos.Column == 1 && (isWord(t, "event") || isWord(t, "pattern"))) {
			msg = "expected '" + want + "' to close " + c.closes()
		}
		return unexpected(t, msg)
	}
	g.Pos = t.Pos
	lex.Next()
	return nil
}

// gName is the name of an event, a pattern or a stage.
type gName struct {
	Pos  lexer.Position
	Name string
}

func (g *gName) Parse(lex *lexer.PeekingLexer) error {
	t := lex.Peek()
	what := "a name"
	stage := false
	if p := prevToken(lex); p != nil && p.Type == tokIdent && isOneOf(p.Value, operatorWords) {
		what, stage = "a stage name", true
	}
	// A stage line's keyword followed by a word that cannot follow a stage
	// name: the name is missing, as in `begin` alone on its line.
	missing := stage && isOneOf(t.Value, stmtWords) && peek2(lex).Type == tokIdent && !isOneOf(peek2(lex).Value, modifierWords)
	if t.Type != tokIdent || missing {
		return unexpected(t, "expected "+what+after(lex))
	}
	g.Pos, g.Name = t.Pos, t.Value
	lex.Next()
	return nil
}

// gFieldType is the type of an event field; the checker knows the type names.
type gFieldType struct {
	Pos  lexer.Position
	Name string
}

func (g *gFieldType) Parse(lex *lexer.PeekingLexer) error {
	return identLeaf(lex, "expected a field type such as string or number after ':'", &g.Pos, &g.Name)
}

// gTypeRef is the event type of a stage, or any.
type gTypeRef struct {
	Pos  lexer.Position
	Name string
}

func (g *gTypeRef) Parse(lex *lexer.PeekingLexer) error {
	return identLeaf(lex, "expected an event type or '(' after ':'", &g.Pos, &g.Name)
}

// identLeaf takes one identifier token into pos and name, or says what was
// expected.
func identLeaf(lex *lexer.PeekingLexer, expected string, pos *lexer.Position, name *string) error {
	t := lex.Peek()
	if t.Type != tokIdent {
		return unexpected(t, expected)
	}
	*pos, *name = t.Pos, t.Value
	lex.Next()
	return nil
}

// gPath is a field path of a key clause: a name and .names.
type gPath struct{ X Expr }

func (g *gPath) Parse(lex *lexer.PeekingLexer) error {
	t := lex.Peek()
	if t.Type != tokIdent || startsLine(lex) {
		return unexpected(t, "expected a field path"+after(lex))
	}
	lex.Next()
	g.X = &NameExpr{Pos: posOf(t.Pos), Name: t.Value}
	for isOp(lex.Peek(), ".") {
		lex.Next()
		n := lex.Peek()
		if n.Type != tokIdent {
			return unexpected(n, "expected a field name after '.'")
		}
		lex.Next()
		g.X = &SelectorExpr{Pos: g.X.Position(), X: g.X, Sel: Ident{Pos: posOf(n.Pos), Name: n.Value}}
	}
	return nil
}

// gDuration is a duration token; parse.go checks its text.
type gDuration struct{ Tok lexer.Token }

func (g *gDuration) Parse(lex *lexer.PeekingLexer) error {
	t := lex.Peek()
	if t.Type != tokNumber {
		return unexpected(t, "expected a duration such as 10m"+after(lex))
	}
	g.Tok = *lex.Next()
	return nil
}

// gDurationOrNone is the argument of a pattern's within.
type gDurationOrNone struct {
	None bool
	Tok  lexer.Token
}

func (g *gDurationOrNone) Parse(lex *lexer.PeekingLexer) error {
	t := lex.Peek()
	switch {
	case t.Type == tokNumber:
	case isWord(t, "none"):
		g.None = true
	default:
		return unexpected(t, "expected a duration such as 10m, or none,"+after(lex))
	}
	g.Tok = *lex.Next()
	return nil
}

// gStrategy is an after-match skip strategy, with the stage name of
// to_first and to_last.
type gStrategy struct {
	Pos      lexer.Position
	Strategy SkipStrategy
	Target   *Ident
}

func (g *gStrategy) Parse(lex *lexer.PeekingLexer) error {
	t := lex.Peek()
	if t.Type != tokIdent {
		return unexpected(t, "expected a skip strategy (no_skip, to_next, past_last_event, to_first NAME or to_last NAME) after 'skip'")
	}
	i := 0
	for i < len(skipNames) && skipNames[i] != t.Value {
		i++
	}
	if i == len(skipNames) {
		return errorf(posOf(t.Pos), "unknown skip strategy %q%s", t.Value, didYouMeanOr(t.Value, skipNames[:],
			": expected no_skip, to_next, past_last_event, to_first NAME or to_last NAME"))
	}
	lex.Next()
	g.Pos, g.Strategy = t.Pos, SkipStrategy(i)
	if g.Strategy == SkipToFirst || g.Strategy == SkipToLast {
		n := lex.Peek()
		if n.Type != tokIdent || startsLine(lex) {
			return unexpected(n, "expected a stage name after '"+t.Value+"'")
		}
		lex.Next()
		g.Target = &Ident{Pos: posOf(n.Pos), Name: n.Value}
	}
	return nil
}

// didYouMeanOr returns a suggestion among words, or otherwise.
func didYouMeanOr(s string, words []string, otherwise string) string {
	if m := didYouMeanWord(s, words); m != "" {
		return m
	}
	return otherwise
}

// gOperator is the operator that starts a stage line. An identifier that is
// not an operator but is followed by a name is taken as one, so that the
// rest of the line parses and the AST builder reports the unknown operator
// with a suggestion; any other word is reported here.
type gOperator struct {
	Pos  lexer.Position
	Word string
}

func (g *gOperator) Parse(lex *lexer.PeekingLexer) error {
	t := lex.Peek()
	if t.Type != tokIdent || isOneOf(t.Value, clauseWords) || isOneOf(t.Value, declWords) {
		return participle.NextMatch
	}
	switch {
	case isOneOf(t.Value, operatorWords):
	case t.Value == "where" || t.Value == "until":
		lex.Next()
		return errorf(posOf(t.Pos), "unexpected '%s': a stage takes at most one where and one until, in that order, combine conditions with 'and'", t.Value)
	case closestWord(t.Value, clauseWords) != "" && closestWord(t.Value, operatorWords) == "":
		lex.Next() // consumed, so that participle reports this error and no other
		return errorf(posOf(t.Pos), "unknown clause %q%s", t.Value, didYouMeanWord(t.Value, clauseWords))
	case peek2(lex).Type == tokIdent:
		// An unknown operator: the AST builder reports it, with the rest of
		// the line parsed.
	default:
		lex.Next()
		return errorf(posOf(t.Pos), "unknown operator %q%s", t.Value, didYouMeanOr(t.Value, operatorWords,
			": expected a clause, a stage ("+orList(operatorWords)+") or '}'"))
	}
	g.Pos, g.Word = t.Pos, t.Value
	lex.Next()
	return nil
}

// gQuant is a stage's quantifier.
type gQuant struct {
	Pos      lexer.Position
	Kind     QuantKind
	Min, Max int
}

func (g *gQuant) Parse(lex *lexer.PeekingLexer) error {
	t := lex.Peek()
	g.Pos = t.Pos
	switch {
	case isOp(t, "?"):
		g.Kind, g.Min, g.Max = QuantOptional, 0, 1
	case isOp(t, "+"):
		g.Kind, g.Min, g.Max = QuantPlus, 1, -1
	case isOp(t, "*"):
		g.Kind, g.Min, g.Max = QuantStar, 0, -1
	case isOp(t, "{"):
		lex.Next()
		return g.counts(lex)
	default:
		return participle.NextMatch
	}
	lex.Next()
	return nil
}

// counts parses the rest of {n}, {n,m} or {n,}.
func (g *gQuant) counts(lex *lexer.PeekingLexer) error {
	n, err := quantCount(lex, "expected a count after '{'")
	if err != nil {
		return err
	}
	g.Kind, g.Min, g.Max = QuantExact, n, n
	if isOp(lex.Peek(), ",") {
		lex.Next()
		g.Kind, g.Max = QuantAtLeast, -1
		if lex.Peek().Type == tokNumber {
			if g.Max, err = quantCount(lex, ""); err != nil {
				return err
			}
			g.Kind = QuantRange
		}
	}
	if t := lex.Peek(); !isOp(t, "}") {
		if g.Kind == QuantExact {
			return unexpected(t, "expected ',' or '}' after the count")
		}
		return unexpected(t, "expected a count or '}' after ','")
	}
	lex.Next()
	return nil
}

func quantCount(lex *lexer.PeekingLexer, msg string) (int, error) {
	t := lex.Peek()
	if t.Type != tokNumber {
		return 0, unexpected(t, msg)
	}
	n, err := strconv.ParseInt(t.Value, 10, 32)
	if err != nil || n < 0 {
		return 0, errorf(posOf(t.Pos), "expected a count such as 3 in the quantifier, found %q", t.Value)
	}
	lex.Next()
	return int(n), nil
}

// gModifier is a stage modifier keyword.
type gModifier struct {
	Pos  lexer.Position
	Kind ModifierKind
}

func (g *gModifier) Parse(lex *lexer.PeekingLexer) error {
	t := lex.Peek()
	if t.Type != tokIdent {
		return participle.NextMatch
	}
	for i, w := range modifierWords {
		if w == t.Value {
			g.Pos, g.Kind = t.Pos, ModifierKind(i)
			lex.Next()
			return nil
		}
	}
	if m := didYouMeanWord(t.Value, modifierWords); m != "" || isOp(peek2(lex), ":") {
		lex.Next()
		return errorf(posOf(t.Pos), "unknown modifier %q%s", t.Value, didYouMeanOr(t.Value, modifierWords,
			": expected a modifier ("+orList(modifierWords)+") or ':'"))
	}
	return participle.NextMatch
}

// gSeverity is the severity of an emit.
type gSeverity struct {
	Pos      lexer.Position
	Severity Severity
}

func (g *gSeverity) Parse(lex *lexer.PeekingLexer) error {
	t := lex.Peek()
	if t.Type != tokIdent {
		return participle.NextMatch
	}
	if s, ok := ParseSeverity(t.Value); ok {
		g.Pos, g.Severity = t.Pos, s
		lex.Next()
		return nil
	}
	if n := peek2(lex); n.Type == tokString || isOp(n, "{") || didYouMeanWord(t.Value, severityWords) != "" {
		lex.Next()
		return errorf(posOf(t.Pos), "unknown severity %q%s", t.Value, didYouMeanOr(t.Value, severityWords,
			": expected "+orList(severityWords)))
	}
	return participle.NextMatch
}

// gString is the message of an emit.
type gString struct{ Tok lexer.Token }

func (g *gString) Parse(lex *lexer.PeekingLexer) error {
	t := lex.Peek()
	switch t.Type {
	case tokString:
		g.Tok = *lex.Next()
		return nil
	case tokBadString:
		return unexpected(t, "")
	}
	return participle.NextMatch
}
