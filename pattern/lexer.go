package pattern

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"
)

// lexDef is the lexer of pattern files. Rules are tried in order and the first
// that matches wins. Whitespace, newlines included, separates tokens and is
// otherwise insignificant (see doc.go). The lexer never fails: a character
// that starts no token is an Invalid token, and a string that does not end on
// its line is a BadString token, both reported by the parser in plain words.
//
// A Number token is deliberately broad (a digit followed by letters, digits,
// '_', ".digit" and "e+digit"): the parser decides whether `10`, `1.5e3`,
// `1h30m` or `10min` is a number, a duration or a mistake, and says which.
var lexDef = lexer.MustSimple([]lexer.SimpleRule{
	{Name: "Comment", Pattern: `(?:#|//)[^\n]*`},
	{Name: "String", Pattern: `"(?:[^"\\\n]|\\.)*"`},
	{Name: "BadString", Pattern: `"(?:[^"\\\n]|\\.)*`},
	{Name: "Number", Pattern: `[0-9](?:[eE][+-][0-9]|\.[0-9]|[0-9A-Za-z_])*`},
	{Name: "Ident", Pattern: `[A-Za-z_][A-Za-z0-9_]*`},
	{Name: "Op", Pattern: `==|!=|<=|>=|&&|\|\||[-+*/%<>=!?:,.(){}\[\]]`},
	{Name: "whitespace", Pattern: `[ \t\r\n\f\v\x{FEFF}]+`},
	{Name: "Invalid", Pattern: `.`},
})

// Token types of lexDef.
var (
	tokComment   = lexDef.Symbols()["Comment"]
	tokString    = lexDef.Symbols()["String"]
	tokBadString = lexDef.Symbols()["BadString"]
	tokNumber    = lexDef.Symbols()["Number"]
	tokIdent     = lexDef.Symbols()["Ident"]
	tokOp        = lexDef.Symbols()["Op"]
	tokInvalid   = lexDef.Symbols()["Invalid"]
)

// maxNesting bounds how deeply (), [] and {} may nest in one file, so that no
// input can exhaust the stack of the recursive parsers.
const maxNesting = 100

// lexed is a file split into the tokens the grammar sees and its comments.
type lexed struct {
	toks     []lexer.Token // significant tokens, ending with EOF
	comments []*Comment
	ownLine  []bool // ownLine[i]: comments[i] is the first token of its line
}

// lexFile tokenizes a whole file. It fails only for input nested deeper than
// maxNesting, or if the lexer itself reports an error (which its last rule
// should make impossible).
func lexFile(filename, src string) (*lexed, *syntaxError) {
	all, err := tokenize(filename, src)
	if err != nil {
		return nil, err
	}
	out := &lexed{toks: make([]lexer.Token, 0, len(all))}
	lastLine := 0 // line of the last significant token
	depth := 0
	for _, t := range all {
		if t.Type == tokComment {
			out.comments = append(out.comments, &Comment{
				Pos:  posOf(t.Pos),
				Text: strings.TrimRight(t.Value, " \t\r\f\v"),
			})
			out.ownLine = append(out.ownLine, t.Pos.Line != lastLine)
			continue
		}
		if err := nesting(&depth, t); err != nil {
			return nil, err
		}
		lastLine = t.Pos.Line
		out.toks = append(out.toks, t)
	}
	return out, nil
}

// nesting tracks the bracket depth through t and fails beyond maxNesting.
// Closing brackets never take the depth below 0, so it bounds the nesting the
// parser can reach whatever the input.
func nesting(depth *int, t lexer.Token) *syntaxError {
	if t.Type != tokOp {
		return nil
	}
	switch t.Value {
	case "(", "[", "{":
		*depth++
		if *depth > maxNesting {
			return errorf(posOf(t.Pos), "%q nested too deeply: at most %d levels of (), [] and {}", t.Value, maxNesting)
		}
	case ")", "]", "}":
		*depth = max(0, *depth-1)
	}
	return nil
}

// tokenize returns every token of src, comments included, ending with EOF.
func tokenize(filename, src string) ([]lexer.Token, *syntaxError) {
	l, err := lexDef.LexString(filename, src)
	if err == nil {
		var toks []lexer.Token
		if toks, err = lexer.ConsumeAll(l); err == nil {
			return toks, nil
		}
	}
	if le, ok := err.(interface{ Position() lexer.Position }); ok {
		return nil, errorf(posOf(le.Position()), "%s", err.Error())
	}
	return nil, errorf(Pos{File: filename, Line: 1, Col: 1}, "%s", err.Error())
}

// tokenSlice replays tokens as a lexer.Lexer. toks must end with EOF.
type tokenSlice struct {
	toks []lexer.Token
	i    int
}

func (s *tokenSlice) Next() (lexer.Token, error) {
	t := s.toks[s.i]
	if s.i < len(s.toks)-1 {
		s.i++
	}
	return t, nil
}

// peeking returns a participle PeekingLexer over toks, which must end with EOF.
func peeking(toks []lexer.Token) *lexer.PeekingLexer {
	pl, _ := lexer.Upgrade(&tokenSlice{toks: toks}) // tokenSlice never fails
	return pl
}

// posOf converts a participle position.
func posOf(p lexer.Position) Pos {
	return Pos{File: p.Filename, Offset: p.Offset, Line: p.Line, Col: p.Column}
}

// tokenEnd returns the position just past t. Tokens never span lines.
func tokenEnd(t lexer.Token) Pos {
	p := posOf(t.Pos)
	if t.EOF() {
		return p
	}
	p.Offset += len(t.Value)
	p.Col += utf8.RuneCountInString(t.Value)
	return p
}

// isOp reports whether t is the punctuation or operator s.
func isOp(t *lexer.Token, s string) bool { return t.Type == tokOp && t.Value == s }

// isWord reports whether t is the identifier or keyword s.
func isWord(t *lexer.Token, s string) bool { return t.Type == tokIdent && t.Value == s }

// describe names a token for a diagnostic's "found ..." part.
func describe(t *lexer.Token) string {
	switch t.Type {
	case lexer.EOF:
		if t.Value != "" {
			return fmt.Sprintf("%q", t.Value) // the end of a {} hole in a message
		}
		return "end of file"
	case tokString:
		return "string " + t.Value
	case tokBadString:
		return "an unterminated string"
	}
	return fmt.Sprintf("%q", t.Value)
}

// syntaxError is a positioned parse error. It satisfies participle.Error so
// that it travels through participle unchanged.
type syntaxError struct {
	pos Pos
	msg string
}

func errorf(pos Pos, format string, args ...any) *syntaxError {
	return &syntaxError{pos: pos, msg: fmt.Sprintf(format, args...)}
}

func (e *syntaxError) Error() string   { return e.pos.String() + ": " + e.msg }
func (e *syntaxError) Message() string { return e.msg }
func (e *syntaxError) Position() lexer.Position {
	return lexer.Position{Filename: e.pos.File, Offset: e.pos.Offset, Line: e.pos.Line, Column: e.pos.Col}
}

// unexpected reports that t is not what was expected: "expected X, found Y".
// An unterminated string or a stray character is reported as such, since
// that, not the grammar, is the mistake.
func unexpected(t *lexer.Token, expected string) *syntaxError {
	switch t.Type {
	case tokBadString:
		return errorf(posOf(t.Pos), "unterminated string: expected a closing '\"' before the end of the line")
	case tokInvalid:
		return errorf(posOf(t.Pos), "unexpected character %q", t.Value)
	}
	return errorf(posOf(t.Pos), "%s, found %s", expected, describe(t))
}
