package pattern

import (
	"sort"
	"strings"
)

// Format prints f in the canonical layout of pattern files, the output of
// `motif fmt`:
//
//   - 4 spaces of indentation per level, one clause, stage, field or emit
//     field per line, single spaces around binary operators;
//   - the clause keywords of a pattern, the operators and names of a list of
//     stages, and the names of fields are aligned in columns, as in
//     language.md §1; so are the names of consecutive one-line events, and
//     trailing comments on consecutive lines;
//   - an event written on one line stays on one line, with commas; an emit
//     with more than one field puts one per line with trailing commas;
//   - parentheses, and the text of numbers, durations, strings and messages,
//     are kept as written (an AST built by hand gets the parentheses its
//     operator precedence needs);
//   - every comment is kept, in order: a comment on the line of an element
//     stays at its end, a comment inside an element that Format prints on one
//     line moves above it; blank lines between elements are kept, at most one.
//
// Parse(Format(f)) gives f again, positions aside, and Format is idempotent.
func Format(f *File) []byte {
	if f == nil {
		return nil
	}
	p := &formatter{comments: append([]*Comment(nil), f.Comments...)}
	sort.SliceStable(p.comments, func(i, j int) bool { return p.comments[i].Pos.Offset < p.comments[j].Pos.Offset })
	p.file(f)
	return p.render()
}

// outLine is one line of output.
type outLine struct {
	indent  int
	code    string
	comment string // trailing comment
	blank   bool
}

// formatter prints a File. It walks the AST and places the comments, which
// the AST only knows by position, by comparing offsets.
type formatter struct {
	lines    []outLine
	comments []*Comment
	ci       int  // next comment to print
	lastLine int  // source line of what was printed last; 0 when unknown
	open     bool // just after an opening line: no blank line

	lastEvent bool // the last declaration printed is an event
}

// blankBefore adds a blank line if the source had one before line.
func (p *formatter) blankBefore(line int) {
	if !p.open && p.lastLine > 0 && line > p.lastLine+1 && len(p.lines) > 0 {
		p.lines = append(p.lines, outLine{blank: true})
	}
}

func (p *formatter) emit(l outLine, srcLine int) {
	p.lines = append(p.lines, l)
	p.open = false
	if srcLine > 0 {
		p.lastLine = srcLine
	}
}

// leading prints the comments before offset off on their own lines.
func (p *formatter) leading(off, indent int) {
	for p.ci < len(p.comments) && p.comments[p.ci].Pos.Offset < off {
		c := p.comments[p.ci]
		p.ci++
		p.blankBefore(c.Pos.Line)
		p.emit(outLine{indent: indent, code: c.Text}, c.Pos.Line)
	}
}

// trailing returns the comment on source line line before offset limit, if
// it is the next one, else "".
func (p *formatter) trailing(line, limit int) string {
	if p.ci < len(p.comments) {
		if c := p.comments[p.ci]; line > 0 && c.Pos.Line == line && c.Pos.Offset < limit {
			p.ci++
			return c.Text
		}
	}
	return ""
}

// item prints an element on one line: the comments before it and inside it
// above, then its code with the comment that follows it on its last line.
// limit is the offset where the next element starts.
func (p *formatter) item(indent int, pos, end Pos, limit int, code string) {
	p.leading(end.Offset, indent)
	p.blankBefore(pos.Line)
	l := outLine{indent: indent, code: code}
	l.comment = p.trailing(end.Line, limit)
	p.emit(l, end.Line)
}

// opening prints the first line of a multi-line element, with the comment at
// the end of line line before limit.
func (p *formatter) opening(indent int, pos Pos, line, limit int, code string) {
	p.leading(pos.Offset, indent)
	p.blankBefore(pos.Line)
	l := outLine{indent: indent, code: code}
	l.comment = p.trailing(line, limit)
	p.emit(l, line)
	p.open = true
}

// closing prints the last line of a multi-line element ending at end: the
// comments before it, indented as the element's content, then code.
func (p *formatter) closing(indent int, end Pos, limit int, code string) {
	p.leading(end.Offset-1, indent+1)
	p.open = false
	l := outLine{indent: indent, code: code}
	l.comment = p.trailing(end.Line, limit)
	p.emit(l, end.Line)
}

const maxOffset = int(^uint(0) >> 1)

func (p *formatter) file(f *File) {
	widths := p.eventWidths(f.Decls)
	for i, d := range f.Decls {
		pos, ok := declPos(d)
		if !ok {
			continue
		}
		limit := maxOffset
		for _, n := range f.Decls[i+1:] {
			if np, ok := declPos(n); ok {
				limit = np.Offset
				break
			}
		}
		if len(p.lines) > 0 && !(p.lastEvent && isEvent(d) && p.lastLine > 0 && pos.Line > 0) {
			// A blank line around each pattern; events keep the source's.
			p.lines = append(p.lines, outLine{blank: true})
			p.lastLine = 0
		}
		switch d := d.(type) {
		case *EventDecl:
			p.event(d, limit, widths[i])
		case *PatternDecl:
			p.pattern(d, limit)
		}
		p.lastEvent = isEvent(d)
	}
	p.leading(maxOffset, 0)
}

// declPos returns the position of d, false for a nil declaration.
func declPos(d Decl) (Pos, bool) {
	switch d := d.(type) {
	case *EventDecl:
		if d != nil {
			return d.Pos, true
		}
	case *PatternDecl:
		if d != nil {
			return d.Pos, true
		}
	}
	return Pos{}, false
}

func isEvent(d Decl) bool {
	_, ok := d.(*EventDecl)
	return ok
}

// render joins the lines, aligning the trailing comments of consecutive
// lines of the same indentation.
func (p *formatter) render() []byte {
	for i := 0; i < len(p.lines); {
		j := i
		w := 0
		for j < len(p.lines) && p.lines[j].comment != "" && p.lines[j].indent == p.lines[i].indent {
			w = max(w, len(p.lines[j].code))
			j++
		}
		for k := i; k < j; k++ {
			p.lines[k].code = pad(p.lines[k].code, w)
		}
		i = max(j, i+1)
	}
	var b strings.Builder
	for _, l := range p.lines {
		if !l.blank {
			b.WriteString(strings.Repeat("    ", l.indent))
			b.WriteString(l.code)
			if l.comment != "" {
				b.WriteString(" " + l.comment)
			}
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}
