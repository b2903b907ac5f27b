package pattern

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file prints expressions and literals for Format.

// formatExpr prints e with single spaces around binary operators. A parsed
// tree needs no parentheses but its ParenExprs; a tree built by hand gets
// those its precedence needs, so that it parses back to the same shape.
func formatExpr(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e)
	return b.String()
}

// exprPrec is how tightly e binds as an operand: its operator's precedence,
// 8 for postfix expressions and operands.
func exprPrec(e Expr) int {
	switch e := e.(type) {
	case *BinaryExpr:
		if e != nil {
			return e.Op.Precedence()
		}
	case *UnaryExpr:
		if e != nil && e.Op == UnaryNot {
			return 3
		}
		return 7
	}
	return 8
}

// writeOperand writes e, in parentheses if paren.
func writeOperand(b *strings.Builder, e Expr, paren bool) {
	if paren {
		b.WriteByte('(')
	}
	writeExpr(b, e)
	if paren {
		b.WriteByte(')')
	}
}

func writeExpr(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case *BinaryExpr:
		if e == nil {
			break
		}
		prec := e.Op.Precedence()
		l, r := exprPrec(e.L), exprPrec(e.R)
		// Comparisons do not associate: one as an operand of another needs
		// parentheses on either side.
		writeOperand(b, e.L, l < prec || prec == 4 && l == 4)
		b.WriteString(" " + e.Op.String() + " ")
		writeOperand(b, e.R, r <= prec)
		return
	case *UnaryExpr:
		if e == nil {
			break
		}
		if e.Op == UnaryNot {
			b.WriteString("not ")
			writeOperand(b, e.X, exprPrec(e.X) < 3)
		} else {
			b.WriteByte('-')
			writeOperand(b, e.X, exprPrec(e.X) < 7)
		}
		return
	case *ParenExpr:
		if e == nil {
			break
		}
		b.WriteByte('(')
		writeExpr(b, e.X)
		b.WriteByte(')')
		return
	case *SelectorExpr:
		if e == nil {
			break
		}
		writeOperand(b, e.X, exprPrec(e.X) < 8)
		b.WriteString("." + e.Sel.Name)
		return
	case *IndexExpr:
		if e == nil {
			break
		}
		writeOperand(b, e.X, exprPrec(e.X) < 8)
		b.WriteByte('[')
		writeExpr(b, e.Index)
		b.WriteByte(']')
		return
	case *CallExpr:
		if e == nil {
			break
		}
		b.WriteString(e.Fun.Name + "(")
		writeList(b, e.Args)
		b.WriteByte(')')
		return
	case *ListLit:
		if e == nil {
			break
		}
		b.WriteByte('[')
		writeList(b, e.Elems)
		b.WriteByte(']')
		return
	case *NameExpr:
		if e == nil {
			break
		}
		b.WriteString(e.Name)
		return
	case *NumberLit:
		if e == nil {
			break
		}
		if e.Text != "" {
			b.WriteString(e.Text)
		} else {
			b.WriteString(strconv.FormatFloat(e.Value, 'g', -1, 64))
		}
		return
	case *StringLit:
		if e == nil {
			break
		}
		if e.Raw != "" {
			b.WriteString(e.Raw)
		} else {
			b.WriteString(quoteString(e.Value))
		}
		return
	case *BoolLit:
		if e == nil {
			break
		}
		b.WriteString(strconv.FormatBool(e.Value))
		return
	case *NullLit:
		if e == nil {
			break
		}
		b.WriteString("null")
		return
	case *DurationLit:
		if e == nil {
			break
		}
		b.WriteString(durationText(e))
		return
	}
	b.WriteString("null") // a nil expression: not from Parse
}

func writeList(b *strings.Builder, list []Expr) {
	for i, x := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		writeExpr(b, x)
	}
}

func durationText(d *DurationLit) string {
	switch {
	case d == nil:
		return "0s"
	case d.Text != "":
		return d.Text
	}
	return formatDuration(d.Value)
}

// quoteString writes s as a string literal of the language.
func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	b.WriteString(escapeString(s))
	b.WriteByte('"')
	return b.String()
}

// escapeString escapes s for the inside of a string literal.
func escapeString(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n]) // invalid UTF-8 is kept as it is
		}
		i += n
	}
	return b.String()
}

// templateText prints a message: Raw as written, or, for a template built by
// hand, its parts with braces doubled in the text.
func templateText(t *Template) string {
	if t.Raw != "" {
		return t.Raw
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, part := range t.Parts {
		if part.Expr != nil {
			b.WriteString("{" + escapeString(formatExpr(part.Expr)) + "}")
			continue
		}
		text := escapeString(part.Text)
		text = strings.ReplaceAll(text, "{", "{{")
		b.WriteString(strings.ReplaceAll(text, "}", "}}"))
	}
	b.WriteByte('"')
	return b.String()
}
