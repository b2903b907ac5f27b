package pattern

import (
	"sort"
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Parse parses one pattern file. The returned File holds every declaration
// that parsed without error, in source order, and every comment of the file;
// Diagnostics holds the syntax errors, sorted by position. After an error the
// parser skips to the next line that starts with `event` or `pattern` in its
// first column, so one pass reports one error per broken declaration.
// Parse never panics, whatever src holds.
func Parse(filename string, src []byte) (*File, Diagnostics) {
	f := &File{Name: filename}
	lx, serr := lexFile(filename, string(src))
	if serr != nil {
		return f, Diagnostics{serr.diag()}
	}
	f.Comments = lx.comments
	b := &builder{}
	lex := peeking(lx.toks)
	for t := lex.Peek(); !t.EOF(); t = lex.Peek() {
		start := lex.MakeCheckpoint()
		if !isWord(t, "event") && !isWord(t, "pattern") {
			if t.Type == tokIdent && closestWord(t.Value, declWords) != "" {
				b.errorf(posOf(t.Pos), "unknown declaration %q%s", t.Value, didYouMeanWord(t.Value, declWords))
			} else {
				b.add(unexpected(t, "expected 'event' or 'pattern'"))
			}
			resync(lex, start, lx.toks)
			continue
		}
		g, err := declParser.ParseFromLexer(lex, participle.AllowTrailing(true))
		if err != nil {
			b.add(asSyntaxError(err))
			resync(lex, start, lx.toks)
			continue
		}
		before := len(b.diags)
		var d Decl
		if g.Event != nil {
			d = b.event(g.Event)
		} else {
			d = b.pattern(g.Pattern)
		}
		if len(b.diags) == before {
			f.Decls = append(f.Decls, d)
		}
	}
	setDocs(f, lx)
	b.diags.Sort()
	return f, b.diags
}

// resync moves lex from the checkpoint start of a broken declaration to the
// next token after it that is `event` or `pattern` in column 1, or the end.
func resync(lex *lexer.PeekingLexer, start lexer.Checkpoint, toks []lexer.Token) {
	lex.LoadCheckpoint(start)
	j := int(start.RawCursor()) + 1
	for j < len(toks)-1 && !(toks[j].Pos.Column == 1 && (isWord(&toks[j], "event") || isWord(&toks[j], "pattern"))) {
		j++
	}
	lex.FastForward(lexer.RawCursor(j - 1))
}

// ParseExpr parses an expression alone, as it would appear in a condition.
// Comments are allowed and dropped.
func ParseExpr(filename string, src string) (Expr, Diagnostics) {
	all, serr := tokenize(filename, src)
	if serr != nil {
		return nil, Diagnostics{serr.diag()}
	}
	toks := all[:0:0]
	depth := 0
	for _, t := range all {
		if t.Type == tokComment {
			continue
		}
		if serr := nesting(&depth, t); serr != nil {
			return nil, Diagnostics{serr.diag()}
		}
		toks = append(toks, t)
	}
	lex := peeking(toks)
	x, err := (&exprParser{lex: lex}).parse()
	if err != nil {
		return nil, Diagnostics{asSyntaxError(err).diag()}
	}
	if t := lex.Peek(); !t.EOF() {
		return nil, Diagnostics{unexpected(t, "expected an operator or the end of the expression").diag()}
	}
	return x, nil
}

func (e *syntaxError) diag() Diagnostic { return Diagnostic{Pos: e.pos, Severity: Error, Msg: e.msg} }

// setDocs sets the Doc of each pattern from the '##' comments directly above
// it: whole-line comments on the lines just before the line the pattern
// starts, with no blank line between. A pattern that does not start its line
// has no Doc: the comments above are about what does.
func setDocs(f *File, lx *lexed) {
	byLine := map[int]*Comment{}
	for i, c := range lx.comments {
		if lx.ownLine[i] {
			byLine[c.Pos.Line] = c
		}
	}
	for _, d := range f.Decls {
		p, ok := d.(*PatternDecl)
		if !ok {
			continue
		}
		i := sort.Search(len(lx.toks), func(i int) bool { return lx.toks[i].Pos.Offset >= p.Pos.Offset })
		if i > 0 && lx.toks[i-1].Pos.Line == p.Pos.Line {
			continue
		}
		var lines []string
		for l := p.Pos.Line - 1; ; l-- {
			c := byLine[l]
			if c == nil || !strings.HasPrefix(c.Text, "##") {
				break
			}
			lines = append(lines, strings.TrimPrefix(strings.TrimPrefix(c.Text, "##"), " "))
		}
		for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
			lines[i], lines[j] = lines[j], lines[i]
		}
		p.Doc = strings.Join(lines, "\n")
	}
}

// builder turns what the grammar captured into the AST, reporting what the
// grammar leaves open: unknown operators, durations, clause order.
type builder struct {
	diags Diagnostics
}

func (b *builder) errorf(pos Pos, format string, args ...any) {
	b.add(errorf(pos, format, args...))
}

func (b *builder) add(e *syntaxError) { b.diags = append(b.diags, e.diag()) }

// endOf returns the position just past the last of toks.
func endOf(toks []lexer.Token) Pos {
	if len(toks) == 0 {
		return Pos{}
	}
	return tokenEnd(toks[len(toks)-1])
}

func ident(pos lexer.Position, name string) Ident { return Ident{Pos: posOf(pos), Name: name} }

// notKeyword reports a declared name that expressions could not refer to.
func (b *builder) notKeyword(id Ident, what string) {
	if isOneOf(id.Name, exprWords) {
		b.errorf(id.Pos, "%q is a keyword of expressions and cannot name %s", id.Name, what)
	}
}

func (b *builder) event(g *gEvent) *EventDecl {
	d := &EventDecl{Pos: posOf(g.Pos), EndPos: endOf(g.Tokens), Name: ident(g.Name.Pos, g.Name.Name)}
	for _, gf := range g.Fields {
		fd := &FieldDecl{
			Pos:      posOf(gf.Pos),
			EndPos:   endOf(gf.Tokens),
			Name:     ident(gf.Pos, gf.Name),
			Type:     ident(gf.Type.Pos, gf.Type.Name),
			Optional: gf.Optional,
		}
		b.notKeyword(fd.Name, "a field")
		d.Fields = append(d.Fields, fd)
	}
	return d
}

// Phases of a pattern body: the clauses, then the stages, then emit and
// on_timeout.
const (
	phaseClauses = iota
	phaseStages
	phaseEmit
)

// patternBuilder checks the order of a pattern's items and that each clause
// appears once.
type patternBuilder struct {
	*builder
	d     *PatternDecl
	phase int
	first map[string]Pos
}

// once reports whether the clause is the first of its kind, else reports it.
func (pb *patternBuilder) once(name string, pos Pos) bool {
	if prev, dup := pb.first[name]; dup {
		pb.errorf(pos, "duplicate %s in pattern %s: the first is on line %d", name, pb.d.Name.Name, prev.Line)
		return false
	}
	pb.first[name] = pos
	return true
}

// clause reports whether a header clause is in place and the first of its kind.
func (pb *patternBuilder) clause(name string, pos Pos) bool {
	if pb.phase != phaseClauses {
		pb.errorf(pos, "the %s clause must come before the stages", name)
		return false
	}
	return pb.once(name+" clause", pos)
}

func (b *builder) pattern(g *gPattern) *PatternDecl {
	d := &PatternDecl{Pos: posOf(g.Pos), EndPos: endOf(g.Tokens), Name: ident(g.Name.Pos, g.Name.Name)}
	pb := &patternBuilder{builder: b, d: d, first: map[string]Pos{}}
	for _, it := range g.Items {
		switch {
		case it.Key != nil:
			k := &KeyClause{Pos: posOf(it.Key.Pos), EndPos: endOf(it.Key.Tokens)}
			for _, p := range it.Key.Paths {
				k.Paths = append(k.Paths, p.X)
			}
			if pb.clause("key", k.Pos) {
				d.Key = k
			}
		case it.Within != nil:
			w := &WithinClause{Pos: posOf(it.Within.Pos), EndPos: endOf(it.Within.Tokens), None: it.Within.Dur.None}
			if !w.None {
				w.Dur = b.duration(it.Within.Dur.Tok)
			}
			if pb.clause("within", w.Pos) {
				d.Within = w
			}
		case it.Dur != nil:
			c := &DurationClause{Pos: posOf(it.Dur.Pos), EndPos: endOf(it.Dur.Tokens), Dur: b.duration(it.Dur.Dur.Tok)}
			if pb.clause(it.Dur.Kw, c.Pos) {
				if it.Dur.Kw == "gap" {
					d.Gap = c
				} else {
					d.Suppress = c
				}
			}
		case it.Skip != nil:
			s := &SkipClause{Pos: posOf(it.Skip.Pos), EndPos: endOf(it.Skip.Tokens),
				Strategy: it.Skip.Strategy.Strategy, Target: it.Skip.Strategy.Target}
			if pb.clause("skip", s.Pos) {
				d.Skip = s
			}
		case it.Stage != nil:
			s := b.stage(it.Stage)
			if pb.phase == phaseEmit {
				b.errorf(s.Pos, "stage %s must come before emit and on_timeout", s.Name.Name)
			} else {
				pb.phase = phaseStages
			}
			d.Stages = append(d.Stages, s)
		case it.Emit != nil:
			pb.phase = phaseEmit
			e := b.emit(it.Emit.Pos, it.Emit.Tokens, &it.Emit.Body)
			if pb.once("emit", e.Pos) {
				d.Emit = e
			}
		case it.OnTimeout != nil:
			pb.phase = phaseEmit
			e := b.emit(it.OnTimeout.Pos, it.OnTimeout.Tokens, &it.OnTimeout.Body)
			if pb.once("on_timeout emit", e.Pos) {
				d.OnTimeout = e
			}
		}
	}
	return d
}

// duration checks the text of a duration token.
func (b *builder) duration(t lexer.Token) *DurationLit {
	pos := posOf(t.Pos)
	if numberRE.MatchString(t.Value) {
		b.errorf(pos, "expected a duration such as 10m, found %q", t.Value)
		return nil
	}
	d, err := ParseDuration(t.Value)
	if err != nil {
		b.errorf(pos, "%s", err.Error())
		return nil
	}
	return &DurationLit{Pos: pos, Text: t.Value, Value: d}
}

func (b *builder) stage(g *gStage) *Stage {
	s := &Stage{Pos: posOf(g.Pos), EndPos: endOf(g.Tokens), Name: ident(g.Name.Pos, g.Name.Name)}
	op := 0
	for op < len(opNames) && opNames[op] != g.Op.Word {
		op++
	}
	if op == len(opNames) {
		b.errorf(s.Pos, "unknown operator %q%s", g.Op.Word, didYouMeanOr(g.Op.Word, operatorWords,
			": expected "+orList(operatorWords)))
	}
	s.Op = Op(op)
	b.notKeyword(s.Name, "a stage")
	if q := g.Quant; q != nil {
		s.Quant = &Quantifier{Pos: posOf(q.Pos), Kind: q.Kind, Min: q.Min, Max: q.Max}
	}
	for _, m := range g.Mods {
		s.Modifiers = append(s.Modifiers, Modifier{Pos: posOf(m.Pos), Kind: m.Kind})
	}
	if grp := g.Body.Group; grp != nil {
		s.Group = make([]*Stage, 0, len(grp.Stages))
		for _, inner := range grp.Stages {
			s.Group = append(s.Group, b.stage(inner))
		}
	} else if t := g.Body.Type; t != nil {
		id := ident(t.Pos, t.Name)
		s.Type = &id
	}
	if g.Where != nil {
		s.Where = g.Where.X
	}
	if g.Until != nil {
		s.Until = g.Until.X
	}
	if g.Within != nil {
		s.Within = b.duration(g.Within.Tok)
	}
	return s
}

func (b *builder) emit(pos lexer.Position, toks []lexer.Token, body *gEmitBody) *Emit {
	e := &Emit{Pos: posOf(pos), EndPos: endOf(toks)}
	if body.Severity != nil {
		e.Severity = body.Severity.Severity
	}
	if body.Message != nil {
		if t, err := parseTemplate(body.Message.Tok); err != nil {
			b.add(err)
		} else {
			e.Message = t
		}
	}
	if body.Fields != nil {
		for _, f := range body.Fields.Fields {
			toks := f.Tokens
			if f.Sep.Comma {
				toks = toks[:len(toks)-1]
			}
			e.Fields = append(e.Fields, &EmitField{
				Pos:    posOf(f.Pos),
				EndPos: endOf(toks),
				Name:   ident(f.Pos, f.Name),
				Value:  f.Value.X,
			})
		}
	}
	return e
}
