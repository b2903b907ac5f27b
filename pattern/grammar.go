package pattern

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// This file is the participle grammar of pattern files. parse.go turns what it
// captures into the AST of ast.go.
//
// The grammar is LL(1) and built with lookahead 0: a branch that consumed a
// token is committed, so an error is reported where it happens, not where
// participle gave up backtracking. Every token that must be present is a
// small Parseable leaf (gPunct, gName, gDuration, ..., in parse_leaves.go)
// that fails with a diagnostic in plain words ("expected ':' after stage
// name, found \"auth\""), and a leaf that starts an optional part returns
// participle.NextMatch without consuming anything when it does not apply. A
// leaf that starts an optional part and finds a mistake (an unknown
// modifier, say) consumes the word before failing: participle only reports
// an error from a branch that made progress. The leaves read the previous
// token to say "after what".
//
// In EBNF, with newlines insignificant:
//
//	decl      = event | pattern .
//	event     = "event" Ident "{" { field [","] } "}" .
//	field     = Ident ":" Ident ["?"] .
//	pattern   = "pattern" Ident "{" { item } "}" .
//	item      = "key" path {"," path} | "within" (Duration | "none")
//	          | ("gap" | "suppress") Duration | "skip" strategy
//	          | "emit" emitBody | "on_timeout" "emit" emitBody | stage .
//	stage     = Ident Ident [quant] {modifier} ":" (Ident | "(" {stage} ")")
//	            ["where" expr] ["until" expr] ["within" Duration] .
//	quant     = "?" | "+" | "*" | "{" Number ["," [Number]] "}" .
//	emitBody  = [severity] [String] ["{" {efield ("," | &"}")} "}"] .
//	efield    = Ident ":" expr .
//
// The order of the items of a pattern, and that each clause appears once, is
// checked when the AST is built, where the diagnostic can name the first one.

// declParser parses one declaration; Parse calls it once per declaration.
var declParser = participle.MustBuild[gDecl](
	participle.Lexer(lexDef),
	participle.UseLookahead(0),
)

type gDecl struct {
	Event   *gEvent   `parser:"  @@"`
	Pattern *gPattern `parser:"| @@"`
}

type gEvent struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	Name   gName               `parser:"'event' @@"`
	Open   gPunct[openEvent]   `parser:"@@"`
	Fields []*gField           `parser:"( @@ ','? )*"`
	Close  gPunct[closeFields] `parser:"@@"`
}

type gField struct {
	Pos      lexer.Position
	Tokens   []lexer.Token
	Name     string             `parser:"@Ident"`
	Colon    gPunct[colonField] `parser:"@@"`
	Type     gFieldType         `parser:"@@"`
	Optional bool               `parser:"@'?'?"`
}

type gPattern struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	Name   gName                `parser:"'pattern' @@"`
	Open   gPunct[openPattern]  `parser:"@@"`
	Items  []*gItem             `parser:"@@*"`
	Close  gPunct[closePattern] `parser:"@@"`
}

type gItem struct {
	Key       *gKey       `parser:"  @@"`
	Within    *gWithin    `parser:"| @@"`
	Dur       *gDurClause `parser:"| @@"`
	Skip      *gSkip      `parser:"| @@"`
	Emit      *gEmit      `parser:"| @@"`
	OnTimeout *gOnTimeout `parser:"| @@"`
	Stage     *gStage     `parser:"| @@"`
}

type gKey struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	Paths  []gPath `parser:"'key' @@ ( ',' @@ )*"`
}

type gWithin struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	Dur    gDurationOrNone `parser:"'within' @@"`
}

// gDurClause is gap or suppress.
type gDurClause struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	Kw     string    `parser:"@('gap' | 'suppress')"`
	Dur    gDuration `parser:"@@"`
}

type gSkip struct {
	Pos      lexer.Position
	Tokens   []lexer.Token
	Strategy gStrategy `parser:"'skip' @@"`
}

type gEmit struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	Body   gEmitBody `parser:"'emit' @@"`
}

type gOnTimeout struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	Emit   gPunct[emitWord] `parser:"'on_timeout' @@"`
	Body   gEmitBody        `parser:"@@"`
}

type gEmitBody struct {
	Severity *gSeverity   `parser:"@@?"`
	Message  *gString     `parser:"@@?"`
	Fields   *gEmitFields `parser:"@@?"`
}

type gEmitFields struct {
	Pos    lexer.Position
	Fields []*gEmitField           `parser:"'{' @@*"`
	Close  gPunct[closeEmitFields] `parser:"@@"`
}

type gEmitField struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	Name   string             `parser:"@Ident"`
	Colon  gPunct[colonField] `parser:"@@"`
	Value  gExpr              `parser:"@@"`
	Sep    gFieldSep          `parser:"@@"`
}

// gFieldSep ends an emit field: a comma, or nothing before the closing '}'.
type gFieldSep struct{ Comma bool }

func (g *gFieldSep) Parse(lex *lexer.PeekingLexer) error {
	switch t := lex.Peek(); {
	case isOp(t, ","):
		g.Comma = true
		lex.Next()
	case isOp(t, "}"):
	default:
		return unexpected(t, "expected ',' or '}' after the field")
	}
	return nil
}

type gStage struct {
	Pos    lexer.Position
	Tokens []lexer.Token
	Op     gOperator          `parser:"@@"`
	Name   gName              `parser:"@@"`
	Quant  *gQuant            `parser:"@@?"`
	Mods   []gModifier        `parser:"@@*"`
	Colon  gPunct[colonStage] `parser:"@@"`
	Body   gStageBody         `parser:"@@"`
	Where  *gExpr             `parser:"( 'where' @@ )?"`
	Until  *gExpr             `parser:"( 'until' @@ )?"`
	Within *gDuration         `parser:"( 'within' @@ )?"`
}

type gStageBody struct {
	Group *gGroup   `parser:"  @@"`
	Type  *gTypeRef `parser:"| @@"`
}

type gGroup struct {
	Pos    lexer.Position
	Stages []*gStage          `parser:"'(' @@*"`
	Close  gPunct[closeGroup] `parser:"@@"`
}
