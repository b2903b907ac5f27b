package pattern

// FormatDecls prints some declarations of f as a file of their own, in
// canonical layout. Each keeps the comments inside it and the comment
// lines directly above it (its doc), so a pattern printed alone still says
// what it is for. A server uses it to store one pattern of a file that held
// several.
func FormatDecls(f *File, ds ...Decl) []byte {
	out := &File{Name: f.Name}
	for _, d := range ds {
		pos, end := declSpan(d)
		line, j := pos.Line, len(f.Comments)-1
		for ; j >= 0 && f.Comments[j].Pos.Offset >= pos.Offset; j-- {
		}
		first := j + 1
		for ; j >= 0 && f.Comments[j].Pos.Line == line-1; j-- {
			line = f.Comments[j].Pos.Line
		}
		out.Comments = append(out.Comments, f.Comments[j+1:first]...)
		for _, c := range f.Comments[first:] {
			if c.Pos.Offset >= end.Offset {
				break
			}
			out.Comments = append(out.Comments, c)
		}
		out.Decls = append(out.Decls, d)
	}
	return Format(out)
}

func declSpan(d Decl) (Pos, Pos) {
	switch d := d.(type) {
	case *PatternDecl:
		return d.Pos, d.EndPos
	case *EventDecl:
		return d.Pos, d.EndPos
	}
	return Pos{}, Pos{}
}
