package pattern

import (
	"fmt"
	"time"
)

// Pos is a position in a pattern file. Line and Col start at 1; Offset is the
// byte offset from the start of the file.
type Pos struct {
	File   string
	Offset int
	Line   int
	Col    int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// IsValid reports whether the position was set.
func (p Pos) IsValid() bool { return p.Line > 0 }

// Node is any node of the syntax tree. The set is sealed: only this package
// defines nodes.
type Node interface {
	Position() Pos
	node()
}

// File is one parsed pattern file.
type File struct {
	Name     string
	Decls    []Decl     // *EventDecl and *PatternDecl, in source order
	Comments []*Comment // every comment of the file, in source order
}

// Decl is a top-level declaration: *EventDecl or *PatternDecl.
type Decl interface {
	Node
	decl()
}

// Comment is one comment, Text including its marker ('#', '##' or '//').
type Comment struct {
	Pos  Pos
	Text string
}

// Ident is a name as written, with its position.
type Ident struct {
	Pos  Pos
	Name string
}

// EventDecl declares the shape of an event type.
type EventDecl struct {
	Pos    Pos
	EndPos Pos // just past the last token
	Name   Ident
	Fields []*FieldDecl
}

// FieldDecl is one field of an event declaration: `name: type` or `name: type?`.
type FieldDecl struct {
	Pos      Pos
	EndPos   Pos // just past the field's last token
	Name     Ident
	Type     Ident // one of TypeNames
	Optional bool  // written with '?': the field may be absent
}

// TypeNames are the field types of the language, in the order the spec lists them.
var TypeNames = []string{"string", "number", "int", "bool", "time", "duration", "list", "object", "any"}

// PatternDecl is one pattern.
type PatternDecl struct {
	Pos    Pos
	EndPos Pos    // just past the last token
	Doc    string // the '##' comment lines directly above, markers and one space stripped, joined by '\n'
	Name   Ident

	Key      *KeyClause      // nil: one key for all events
	Within   *WithinClause   // nil: the engine's default window
	Gap      *DurationClause // nil: no gap bound
	Skip     *SkipClause     // nil: no_skip
	Suppress *DurationClause // nil: no suppression

	Stages    []*Stage // at least one after a successful parse
	Emit      *Emit    // nil: no emit clause
	OnTimeout *Emit    // nil: timed-out partial matches are only counted
}

// KeyClause is `key PATH [, PATH ...]`. Each path is an *Ident or a chain of
// *SelectorExpr over one.
type KeyClause struct {
	Pos    Pos
	EndPos Pos // just past the clause's last token
	Paths  []Expr
}

// WithinClause is `within DURATION` or `within none`.
type WithinClause struct {
	Pos    Pos
	EndPos Pos // just past the clause's last token
	None   bool
	Dur    *DurationLit // nil when None
}

// DurationClause is a clause that takes one duration (gap, suppress).
type DurationClause struct {
	Pos    Pos
	EndPos Pos // just past the clause's last token
	Dur    *DurationLit
}

// SkipStrategy is an after-match skip strategy (language.md §3.3).
type SkipStrategy int

const (
	NoSkip SkipStrategy = iota
	SkipToNext
	SkipPastLastEvent
	SkipToFirst
	SkipToLast
)

var skipNames = [...]string{"no_skip", "to_next", "past_last_event", "to_first", "to_last"}

func (s SkipStrategy) String() string {
	if int(s) < len(skipNames) {
		return skipNames[s]
	}
	return fmt.Sprintf("SkipStrategy(%d)", int(s))
}

// SkipClause is `skip STRATEGY [NAME]`.
type SkipClause struct {
	Pos      Pos
	EndPos   Pos // just past the clause's last token
	Strategy SkipStrategy
	Target   *Ident // the stage name for to_first and to_last, else nil
}

// Op is a stage operator (language.md §3.1).
type Op int

const (
	OpBegin Op = iota
	OpNext
	OpFollowedBy
	OpFollowedByAny
	OpNotNext
	OpNotFollowedBy
)

var opNames = [...]string{"begin", "next", "followed_by", "followed_by_any", "not_next", "not_followed_by"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Negated reports whether the operator is not_next or not_followed_by.
func (o Op) Negated() bool { return o == OpNotNext || o == OpNotFollowedBy }

// QuantKind is the written form of a quantifier.
type QuantKind int

const (
	QuantOptional QuantKind = iota // ?
	QuantPlus                      // +
	QuantStar                      // *
	QuantExact                     // {n}
	QuantRange                     // {n,m}
	QuantAtLeast                   // {n,}
)

// Quantifier is a stage's quantifier as written. Min and Max give its meaning
// for every kind: ? is {0,1}, + is {1,}, * is {0,}; Max is -1 when unbounded.
type Quantifier struct {
	Pos  Pos
	Kind QuantKind
	Min  int
	Max  int
}

// ModifierKind is a stage modifier keyword.
type ModifierKind int

const (
	ModOptional ModifierKind = iota
	ModGreedy
	ModConsecutive
	ModCombinations
)

var modNames = [...]string{"optional", "greedy", "consecutive", "combinations"}

func (m ModifierKind) String() string {
	if int(m) < len(modNames) {
		return modNames[m]
	}
	return fmt.Sprintf("ModifierKind(%d)", int(m))
}

// Modifier is one modifier keyword after a stage's name and quantifier.
type Modifier struct {
	Pos  Pos
	Kind ModifierKind
}

// Stage is one stage line, or a group stage when Group is non-nil.
//
//	OPERATOR NAME[QUANTIFIER] [MODIFIER ...]: TYPE [where EXPR] [until EXPR] [within DURATION]
//	OPERATOR NAME[QUANTIFIER] [MODIFIER ...]: ( STAGE LINES ) [until EXPR] [within DURATION]
type Stage struct {
	Pos       Pos // of the operator
	EndPos    Pos // just past the last token
	Op        Op
	Name      Ident
	Quant     *Quantifier // nil: exactly once
	Modifiers []Modifier
	Type      *Ident   // event type name or "any"; nil for a group
	Group     []*Stage // the inner stages of a group stage; nil for a plain stage
	Where     Expr     // nil: no condition
	Until     Expr     // nil: no until
	Within    *DurationLit
}

// Has reports whether the stage carries the modifier.
func (s *Stage) Has(k ModifierKind) bool {
	for _, m := range s.Modifiers {
		if m.Kind == k {
			return true
		}
	}
	return false
}

// IsGroup reports whether the stage is a group stage.
func (s *Stage) IsGroup() bool { return s.Group != nil }

// Severity is an alert severity. SeverityUnset means the default (medium).
type Severity int

const (
	SeverityUnset Severity = iota
	SeverityInfo
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"", "info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s == SeverityUnset {
		return "medium"
	}
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// ParseSeverity returns the severity named s.
func ParseSeverity(s string) (Severity, bool) {
	for i, n := range severityNames {
		if i > 0 && n == s {
			return Severity(i), true
		}
	}
	return SeverityUnset, false
}

// Emit is `emit [SEVERITY] ["message"] [{ name: EXPR, ... }]`, also used for
// `on_timeout emit ...`.
type Emit struct {
	Pos      Pos // of 'emit' (or 'on_timeout')
	EndPos   Pos // just past the clause's last token
	Severity Severity
	Message  *Template
	Fields   []*EmitField
}

// Template is a message string with {expr} holes. Parts alternate text and
// holes in source order; "{{" and "}}" stand for literal braces.
type Template struct {
	Pos   Pos
	Raw   string // the literal as written, quotes included
	Parts []TemplatePart
}

// TemplatePart is literal text (Expr nil) or one hole.
type TemplatePart struct {
	Text string
	Expr Expr
}

// EmitField is one `name: EXPR` of an emit's fields.
type EmitField struct {
	Pos    Pos
	EndPos Pos // just past the field's last token
	Name   Ident
	Value  Expr
}

// Expr is an expression node.
type Expr interface {
	Node
	expr()
}

// BinOp is a binary operator.
type BinOp int

const (
	BinOr BinOp = iota
	BinAnd
	BinEq
	BinNe
	BinLt
	BinLe
	BinGt
	BinGe
	BinIn
	BinNotIn
	BinAdd
	BinSub
	BinMul
	BinDiv
	BinMod
)

var binNames = [...]string{"or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "+", "-", "*", "/", "%"}

func (o BinOp) String() string {
	if int(o) < len(binNames) {
		return binNames[o]
	}
	return fmt.Sprintf("BinOp(%d)", int(o))
}

// Precedence returns the binding strength of the operator: 1 for or (loosest),
// up to 6 for * / %. Unary not binds at 3, unary minus at 7.
func (o BinOp) Precedence() int {
	switch o {
	case BinOr:
		return 1
	case BinAnd:
		return 2
	case BinEq, BinNe, BinLt, BinLe, BinGt, BinGe, BinIn, BinNotIn:
		return 4
	case BinAdd, BinSub:
		return 5
	default:
		return 6
	}
}

// BinaryExpr is `L op R`.
type BinaryExpr struct {
	Pos   Pos // of L
	OpPos Pos
	Op    BinOp
	L, R  Expr
}

// UnaryOp is a unary operator.
type UnaryOp int

const (
	UnaryNot UnaryOp = iota
	UnaryNeg
)

// UnaryExpr is `not X` or `-X`.
type UnaryExpr struct {
	Pos Pos
	Op  UnaryOp
	X   Expr
}

// ParenExpr is `(X)`, kept so that the printer reproduces the source.
type ParenExpr struct {
	Pos Pos
	X   Expr
}

// NameExpr is a bare name: a field of the tested event, a stage, `key`, a key
// part, or one of the fixed attributes time, type and id.
type NameExpr struct {
	Pos  Pos
	Name string
}

// SelectorExpr is `X.Sel`.
type SelectorExpr struct {
	Pos Pos // of X
	X   Expr
	Sel Ident
}

// IndexExpr is `X[Index]`.
type IndexExpr struct {
	Pos   Pos // of X
	X     Expr
	Index Expr
}

// CallExpr is `Fun(Args...)`.
type CallExpr struct {
	Pos  Pos
	Fun  Ident
	Args []Expr
}

// NumberLit is a number literal. Text is as written.
type NumberLit struct {
	Pos   Pos
	Text  string
	Value float64
}

// StringLit is a string literal; Raw is as written (quotes included), Value unescaped.
type StringLit struct {
	Pos   Pos
	Raw   string
	Value string
}

// BoolLit is true or false.
type BoolLit struct {
	Pos   Pos
	Value bool
}

// NullLit is null.
type NullLit struct {
	Pos Pos
}

// DurationLit is a duration such as 250ms, 10m or 1h30m. Text is as written.
type DurationLit struct {
	Pos   Pos
	Text  string
	Value time.Duration
}

// ListLit is `[e1, e2, ...]`.
type ListLit struct {
	Pos   Pos
	Elems []Expr
}

func (n *File) Position() Pos           { return Pos{File: n.Name, Line: 1, Col: 1} }
func (n *Comment) Position() Pos        { return n.Pos }
func (n *Ident) Position() Pos          { return n.Pos }
func (n *EventDecl) Position() Pos      { return n.Pos }
func (n *FieldDecl) Position() Pos      { return n.Pos }
func (n *PatternDecl) Position() Pos    { return n.Pos }
func (n *KeyClause) Position() Pos      { return n.Pos }
func (n *WithinClause) Position() Pos   { return n.Pos }
func (n *DurationClause) Position() Pos { return n.Pos }
func (n *SkipClause) Position() Pos     { return n.Pos }
func (n *Stage) Position() Pos          { return n.Pos }
func (n *Quantifier) Position() Pos     { return n.Pos }
func (n *Emit) Position() Pos           { return n.Pos }
func (n *Template) Position() Pos       { return n.Pos }
func (n *EmitField) Position() Pos      { return n.Pos }
func (n *BinaryExpr) Position() Pos     { return n.Pos }
func (n *UnaryExpr) Position() Pos      { return n.Pos }
func (n *ParenExpr) Position() Pos      { return n.Pos }
func (n *NameExpr) Position() Pos       { return n.Pos }
func (n *SelectorExpr) Position() Pos   { return n.Pos }
func (n *IndexExpr) Position() Pos      { return n.Pos }
func (n *CallExpr) Position() Pos       { return n.Pos }
func (n *NumberLit) Position() Pos      { return n.Pos }
func (n *StringLit) Position() Pos      { return n.Pos }
func (n *BoolLit) Position() Pos        { return n.Pos }
func (n *NullLit) Position() Pos        { return n.Pos }
func (n *DurationLit) Position() Pos    { return n.Pos }
func (n *ListLit) Position() Pos        { return n.Pos }

func (*File) node()           {}
func (*Comment) node()        {}
func (*Ident) node()          {}
func (*EventDecl) node()      {}
func (*FieldDecl) node()      {}
func (*PatternDecl) node()    {}
func (*KeyClause) node()      {}
func (*WithinClause) node()   {}
func (*DurationClause) node() {}
func (*SkipClause) node()     {}
func (*Stage) node()          {}
func (*Quantifier) node()     {}
func (*Emit) node()           {}
func (*Template) node()       {}
func (*EmitField) node()      {}
func (*BinaryExpr) node()     {}
func (*UnaryExpr) node()      {}
func (*ParenExpr) node()      {}
func (*NameExpr) node()       {}
func (*SelectorExpr) node()   {}
func (*IndexExpr) node()      {}
func (*CallExpr) node()       {}
func (*NumberLit) node()      {}
func (*StringLit) node()      {}
func (*BoolLit) node()        {}
func (*NullLit) node()        {}
func (*DurationLit) node()    {}
func (*ListLit) node()        {}

func (*EventDecl) decl()   {}
func (*PatternDecl) decl() {}

func (*BinaryExpr) expr()   {}
func (*UnaryExpr) expr()    {}
func (*ParenExpr) expr()    {}
func (*NameExpr) expr()     {}
func (*SelectorExpr) expr() {}
func (*IndexExpr) expr()    {}
func (*CallExpr) expr()     {}
func (*NumberLit) expr()    {}
func (*StringLit) expr()    {}
func (*BoolLit) expr()      {}
func (*NullLit) expr()      {}
func (*DurationLit) expr()  {}
func (*ListLit) expr()      {}
