package dsl

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Pos is a 1-based line and column in a source file.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// Problem is one mistake in a source file, reported as file:line:col: message.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
	// Warning problems are reported but do not make a catalog invalid.
	Warning bool `json:"warning,omitempty"`
}

func (p Problem) String() string {
	prefix := ""
	if p.Warning {
		prefix = "warning: "
	}
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s%s", p.File, prefix, p.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s%s", p.File, p.Line, p.Col, prefix, p.Message)
}

// Problems is every mistake found in a set of files, sorted by file and position.
// As an error it lists them one a line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Errors returns the problems that are not warnings.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

func (ps Problems) sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col), strings.Compare(a.Message, b.Message))
	})
}

// report collects problems for one file.
type report struct {
	file     string
	problems *Problems
}

func (r report) at(p Pos, format string, args ...any) {
	*r.problems = append(*r.problems, Problem{File: r.file, Line: p.Line, Col: p.Col, Message: fmt.Sprintf(format, args...)})
}

// failed says the file has an error so far.
func (r report) failed() bool {
	return slices.ContainsFunc(*r.problems, func(p Problem) bool { return p.File == r.file && !p.Warning })
}

func (r report) warnAt(p Pos, format string, args ...any) {
	*r.problems = append(*r.problems, Problem{File: r.file, Line: p.Line, Col: p.Col, Message: fmt.Sprintf(format, args...), Warning: true})
}

// DidYouMean suffixes a hint naming the closest candidate, if one is close enough.
func DidYouMean(got string, candidates []string) string {
	for _, c := range candidates {
		if c != got && strings.EqualFold(c, got) {
			return fmt.Sprintf("; did you mean %q?", c)
		}
	}
	best, bestDist := "", len(got)/2+2
	for _, c := range candidates {
		if d := editDistance(got, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance is the Levenshtein distance, counting a transposition as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
