// Package pattern is the Motif pattern language (docs: language.md): its
// syntax tree, parser, printer, checker and diagnostics. It turns the text of
// `*.motif` files into checked declarations and never runs them: it imports
// nothing from nfa, engine or any storage, and they import it.
//
// What lives here:
//
//   - ast.go: the syntax tree, a sealed Node interface with a position (file,
//     byte offset, 1-based line and column) on every node.
//   - lexer.go, grammar.go, parse_leaves.go: the participle lexer and
//     grammar. parse.go builds the AST from what the grammar captures;
//     parse_expr.go parses expressions by precedence climbing;
//     parse_template.go decodes strings and the {expr} holes of emit
//     messages; parse_duration.go is the duration syntax, also used for
//     command-line flags (ParseDuration).
//   - format.go, format_decl.go, format_expr.go: Format, the canonical
//     printer (`motif fmt`).
//   - check*.go, set.go, types.go: Check, the rules a parsed file must also
//     obey (names, types, Flink's restrictions on stages), over a Set of files.
//   - diag.go: Diagnostic, "file:line:col: message", the product of both.
//
// # Syntax decisions
//
// Where language.md is silent the parser decides as follows.
//
// Newlines are insignificant: they separate tokens like spaces. The grammar
// needs no line ends, since clauses and stages start with keywords and an
// expression never continues with a name or a literal, so a where condition
// may span lines anywhere, not only inside parentheses. The one place a line
// break could suggest otherwise: a `within D` after a stage belongs to that
// stage, because a pattern's clauses come before its stages (the parser
// reports a clause after the stages). Stage and clause keywords are not
// reserved: a field may be called next or key.
//
// Commas between the fields of an event are optional; between the fields of
// an emit they are required, a trailing one allowed. Lists and call
// arguments allow a trailing comma.
//
// A number literal is digits with an optional fraction and exponent (2.00,
// 1.5e3); digits followed by units are a duration (250ms, 1h30m, 7d; d is
// 24h); no fractions or signs in durations. Strings are on one line, with
// the escapes \" \\ \n \t \r and \uXXXX (a surrogate pair for characters
// beyond U+FFFF). In an emit message, escapes are decoded first, then "{{"
// and "}}" stand for braces and {expr} is a hole; a hole may hold strings
// (escaped, as in "{coalesce(a, \"none\")}") but no comment. Text parts of a
// Template are never empty and never adjacent.
//
// The words and, or, not, in, true, false and null cannot name a stage or an
// event field. A `##` comment is a pattern's Doc when it is alone on its line
// directly above the pattern, or above another such line.
//
// Parse reports syntax errors only: unknown field types, duplicate names,
// quantifier counts and the other rules of language.md are Check's.
package pattern
