package pattern

import (
	"fmt"
	"strings"
)

// This file holds the parser's did-you-mean for keywords. The checker has its
// own suggestions for names (suggest.go); the two are kept apart so that each
// side can change without the other.

// Keyword lists of the grammar, used for suggestions.
var (
	operatorWords = []string{"begin", "next", "followed_by", "followed_by_any", "not_next", "not_followed_by"}
	clauseWords   = []string{"key", "within", "gap", "skip", "suppress", "emit", "on_timeout"}
	modifierWords = []string{"optional", "greedy", "consecutive", "combinations"}
	severityWords = []string{"info", "low", "medium", "high", "critical"}
	declWords     = []string{"event", "pattern"}
	// exprWords are the words of expressions that cannot be names.
	exprWords = []string{"and", "or", "not", "in", "true", "false", "null"}
)

// closestWord returns the word of candidates nearest to s, or "" when none is
// near: at most one edit for short words, about a third of the length for
// longer ones.
func closestWord(s string, candidates ...[]string) string {
	limit := max(1, len(s)/3)
	best, bestDist := "", limit+1
	for _, list := range candidates {
		for _, c := range list {
			if c == s {
				continue
			}
			if d := levenshtein(s, c); d < bestDist {
				best, bestDist = c, d
			}
		}
	}
	return best
}

// didYouMeanWord returns ` (did you mean "w"?)` for the nearest word, or "".
func didYouMeanWord(s string, candidates ...[]string) string {
	if w := closestWord(s, candidates...); w != "" {
		return fmt.Sprintf(" (did you mean %q?)", w)
	}
	return ""
}

// levenshtein is the edit distance between a and b, in bytes (keywords are
// ASCII), counting the swap of two adjacent letters as one edit, as in
// "hihg" for "high" (the optimal string alignment distance).
func levenshtein(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// isOneOf reports whether s is in list.
func isOneOf(s string, list []string) bool {
	for _, w := range list {
		if w == s {
			return true
		}
	}
	return false
}
