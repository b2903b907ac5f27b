package pattern

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"
)

// This file decodes string literals and the messages of emit, whose {expr}
// holes are parsed as expressions at their exact file positions.

const escapeHelp = `expected \", \\, \n, \t, \r or \uXXXX`

// unescape decodes the body of a string literal (the text between the
// quotes). When off is non-nil it receives, for each byte of the result and
// one past its end, the offset in body of the source character the byte comes
// from. bad is the offset in body of a malformed escape, or -1.
func unescape(body string, off *[]int) (s string, bad int, msg string) {
	var b strings.Builder
	mark := func(i, n int) {
		if off != nil {
			for ; n > 0; n-- {
				*off = append(*off, i)
			}
		}
	}
	for i := 0; i < len(body); {
		c := body[i]
		if c != '\\' {
			b.WriteByte(c)
			mark(i, 1)
			i++
			continue
		}
		if i+1 >= len(body) {
			return "", i, "unfinished escape at the end of the string: " + escapeHelp
		}
		var r rune
		n := 2
		switch body[i+1] {
		case '"':
			r = '"'
		case '\\':
			r = '\\'
		case 'n':
			r = '\n'
		case 't':
			r = '\t'
		case 'r':
			r = '\r'
		case 'u':
			var ok bool
			if r, n, ok = unicodeEscape(body[i:]); !ok {
				return "", i, `malformed \u escape: expected four hex digits, as in \u00e9, and a surrogate only as the first half of a pair`
			}
		default:
			e, _ := utf8.DecodeRuneInString(body[i+1:])
			return "", i, "unknown escape \\" + string(e) + " in string: " + escapeHelp
		}
		w := utf8.RuneLen(r)
		b.WriteRune(r)
		mark(i, w)
		i += n
	}
	mark(len(body), 1)
	return b.String(), -1, ""
}

// unicodeEscape decodes \uXXXX at the start of s, or a surrogate pair
// \uXXXX\uXXXX, returning the rune and the bytes used.
func unicodeEscape(s string) (rune, int, bool) {
	hex4 := func(s string) (rune, bool) {
		if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(s[2:6], 16, 32)
		return rune(v), err == nil
	}
	r, ok := hex4(s)
	if !ok {
		return 0, 0, false
	}
	if !utf16.IsSurrogate(r) {
		return r, 6, true
	}
	r2, ok := hex4(s[6:])
	if !ok {
		return 0, 0, false
	}
	if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
		return d, 12, true
	}
	return 0, 0, false
}

// parseTemplate parses the message of an emit, a String token.
func parseTemplate(t lexer.Token) (*Template, *syntaxError) {
	tmpl := &Template{Pos: posOf(t.Pos), Raw: t.Value}
	body := t.Value[1 : len(t.Value)-1]
	var off []int
	val, bad, msg := unescape(body, &off)
	if bad >= 0 {
		return nil, errorf(advance(tmpl.Pos, t.Value[:1+bad]), "%s", msg)
	}
	// at returns the file position of byte k of val.
	cols := make([]int, len(t.Value)+1) // cols[i]: column of byte i of the token
	col := tmpl.Pos.Col
	for i := range t.Value { // each rune, as the lexer counts columns
		cols[i] = col
		col++
	}
	for i := 1; i < len(t.Value); i++ {
		if cols[i] == 0 { // inside a rune
			cols[i] = cols[i-1]
		}
	}
	cols[len(t.Value)] = col
	at := func(k int) Pos {
		i := 1 + off[k]
		return Pos{File: tmpl.Pos.File, Offset: tmpl.Pos.Offset + i, Line: tmpl.Pos.Line, Col: cols[i]}
	}
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			tmpl.Parts = append(tmpl.Parts, TemplatePart{Text: text.String()})
			text.Reset()
		}
	}
	for i := 0; i < len(val); {
		switch c := val[i]; {
		case c == '{' && strings.HasPrefix(val[i+1:], "{"):
			text.WriteByte('{')
			i += 2
		case c == '}' && strings.HasPrefix(val[i+1:], "}"):
			text.WriteByte('}')
			i += 2
		case c == '}':
			return nil, errorf(at(i), "unmatched '}' in message: write '}}' for a literal brace")
		case c == '{':
			end := holeEnd(val, i+1)
			if end < 0 {
				return nil, errorf(at(i), "unclosed '{' in message: expected an expression and '}', or '{{' for a literal brace")
			}
			if strings.TrimSpace(val[i+1:end]) == "" {
				return nil, errorf(at(i), "empty {} in message: expected an expression, or '{{' for a literal brace")
			}
			x, err := parseHole(val, i+1, end, at)
			if err != nil {
				return nil, err
			}
			flush()
			tmpl.Parts = append(tmpl.Parts, TemplatePart{Expr: x})
			i = end + 1
		default:
			text.WriteByte(c)
			i++
		}
	}
	flush()
	return tmpl, nil
}

// holeEnd returns the index of the '}' closing the hole that starts at i,
// skipping string literals inside it, or -1.
func holeEnd(val string, i int) int {
	for ; i < len(val); i++ {
		switch val[i] {
		case '}':
			return i
		case '"':
			for i++; i < len(val) && val[i] != '"'; i++ {
				if val[i] == '\\' {
					i++
				}
			}
		}
	}
	return -1
}

// parseHole parses val[start:end] as an expression, its tokens placed at
// their positions in the file.
func parseHole(val string, start, end int, at func(int) Pos) (Expr, *syntaxError) {
	toks, err := tokenize(at(start).File, val[start:end])
	if err != nil {
		return nil, err
	}
	depth := 0
	for i := range toks {
		p := at(start + toks[i].Pos.Offset)
		toks[i].Pos = lexer.Position{Filename: p.File, Offset: p.Offset, Line: p.Line, Column: p.Col}
		if toks[i].Type == tokComment {
			return nil, errorf(p, "a comment cannot appear inside {} in a message")
		}
		if err := nesting(&depth, toks[i]); err != nil {
			return nil, err
		}
	}
	toks[len(toks)-1].Value = "}" // the hole ends at '}': say so in diagnostics
	lex := peeking(toks)
	x, perr := (&exprParser{lex: lex}).parse()
	if perr != nil {
		return nil, asSyntaxError(perr)
	}
	if t := lex.Peek(); !t.EOF() {
		return nil, unexpected(t, "expected an operator or '}' after the expression in {}")
	}
	return x, nil
}

// asSyntaxError converts any error of the parsers to a syntaxError.
func asSyntaxError(err error) *syntaxError {
	switch e := err.(type) {
	case *syntaxError:
		return e
	case interface {
		Position() lexer.Position
		Message() string
	}:
		return &syntaxError{pos: posOf(e.Position()), msg: e.Message()}
	}
	return &syntaxError{msg: err.Error()}
}
