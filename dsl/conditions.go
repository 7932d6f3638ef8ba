package dsl

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Conditions are written by people who do not program. Before a condition
// is compiled, conditionMistake looks for what they write from habit (=,
// and, or, not, is, & and |, typographic quotes, unbalanced brackets) and
// says how to write it; afterwards, literalMistake checks the words it
// compares with. Whatever CEL itself refuses is put in words by celMessage.

// exprAt is a position inside a condition's text: 1-based line and column.
type exprAt struct{ line, col int }

// offsetPos returns the position of byte offset i in expr.
func offsetPos(expr string, i int) exprAt {
	before := expr[:i]
	line := strings.Count(before, "\n") + 1
	if j := strings.LastIndex(before, "\n"); j >= 0 {
		before = before[j+1:]
	}
	return exprAt{line, len([]rune(before)) + 1}
}

// habitWords are words people write for operators, and what to write.
var habitWords = map[string]string{
	"and":    "write && for and: severity == \"critical\" && fields.personal_data",
	"or":     "write || for or: severity == \"critical\" || fields.personal_data",
	"not":    "write ! for not, right before what it negates: !fields.personal_data",
	"is":     "write == for is, with the word in quotes: status == \"resolved\"",
	"equals": "write == for equals, with the word in quotes: status == \"resolved\"",
	"AND":    "write && for AND", "OR": "write || for OR", "NOT": "write ! for NOT",
}

// conditionMistake finds the first habit that is not a condition, with its
// offset in expr.
func conditionMistake(expr string) (int, string, bool) {
	var parens []int
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case strings.HasPrefix(expr[i:], "“") || strings.HasPrefix(expr[i:], "”") || strings.HasPrefix(expr[i:], "‘") || strings.HasPrefix(expr[i:], "’"):
			return i, "“ ” and ‘ ’ are typographic quotes, perhaps pasted from a document: write plain quotes, like \"critical\"", true
		case c == '"' || c == '\'':
			end := strings.IndexByte(expr[i+1:], c)
			if end < 0 {
				return i, fmt.Sprintf("the quote %c opened here is never closed: end the word with %c", c, c), true
			}
			i += end + 1
		case c == '(':
			parens = append(parens, i)
		case c == ')':
			if len(parens) == 0 {
				return i, "this ) closes nothing: remove it, or add the ( it belongs to", true
			}
			parens = parens[:len(parens)-1]
		case c == '=' && !strings.HasPrefix(expr[i:], "==") && (i == 0 || !strings.ContainsRune("=!<>", rune(expr[i-1]))):
			return i, "= does not compare: write == to compare, like severity == \"critical\"", true
		case c == '=' && strings.HasPrefix(expr[i:], "=="):
			i++
		case c == '&' && !strings.HasPrefix(expr[i:], "&&"):
			return i, "write && (two of them) for and", true
		case c == '&':
			i++
		case c == '|' && !strings.HasPrefix(expr[i:], "||"):
			return i, "write || (two of them) for or", true
		case c == '|':
			i++
		case isWordStart(expr, i):
			j := i
			for j < len(expr) && (isNameByte(expr[j]) || expr[j] == '.') {
				j++
			}
			if hint, ok := habitWords[expr[i:j]]; ok {
				return i, fmt.Sprintf("%q is not an operator in conditions: %s", expr[i:j], hint), true
			}
			i = j - 1
		}
	}
	if len(parens) > 0 {
		return parens[len(parens)-1], "this ( is never closed: add the ) that ends it", true
	}
	return 0, "", false
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isWordStart reports whether a name starts at i (not inside another).
func isWordStart(expr string, i int) bool {
	c := expr[i]
	return (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') && (i == 0 || !isNameByte(expr[i-1]) && expr[i-1] != '.')
}

var (
	// severityOrder is severity compared with <, <=, > or >=.
	severityOrder = regexp.MustCompile(`\b(?:incident\.)?severity\s*(<=|>=|<|>)\s*(?:"([^"]*)"|'([^']*)')?`)
	// comparedWord is NAME == "word" (or !=), in either order.
	comparedWord = regexp.MustCompile(`([a-z][a-z0-9_.]*)\s*(?:==|!=)\s*(?:"([^"]*)"|'([^']*)')|(?:"([^"]*)"|'([^']*)')\s*(?:==|!=)\s*([a-z][a-z0-9_.]*)`)
)

// literalMistake checks the words a condition compares with: a severity,
// a status, an enum field's value must be one the process knows, and
// severities compare by their order.
func (c *Conditions) literalMistake(expr string) (int, string, bool) {
	if m := severityOrder.FindStringSubmatchIndex(expr); m != nil {
		word := "major"
		if m[4] >= 0 {
			word = expr[m[4]:m[5]]
		} else if m[6] >= 0 {
			word = expr[m[6]:m[7]]
		}
		return m[0], fmt.Sprintf("severities are not compared with %s: write severity_at_least(%q), which is true for %s and every severity above it", expr[m[2]:m[3]], word, word), true
	}
	for _, m := range comparedWord.FindAllStringSubmatchIndex(expr, -1) {
		name, word, wordAt := "", "", 0
		for _, g := range [][2]int{{2, 4}, {2, 6}, {12, 8}, {12, 10}} {
			if m[g[0]] >= 0 && m[g[1]] >= 0 {
				name, word, wordAt = expr[m[g[0]]:m[g[0]+1]], expr[m[g[1]]:m[g[1]+1]], m[g[1]]
			}
		}
		var known []string
		what := ""
		switch name {
		case "status", "incident.status":
			known, what = Statuses, "status"
		case "severity", "incident.severity":
			known, what = c.process.Severities, "severity"
		default:
			if f, ok := c.process.Field(strings.TrimPrefix(name, "fields.")); ok && strings.HasPrefix(name, "fields.") && f.Type == "enum" {
				known, what = f.Values, "value of "+f.Name
			}
		}
		if known != nil && !slices.Contains(known, word) {
			return wordAt, fmt.Sprintf("unknown %s %q in condition%s (%s: %s)", what, word, DidYouMean(word, known), plural(what), strings.Join(known, ", ")), true
		}
	}
	return 0, "", false
}

func plural(what string) string {
	switch what {
	case "status":
		return "statuses"
	case "severity":
		return "severities"
	}
	return "values"
}

// typeWords name CEL's types in words.
var typeWords = map[string]string{
	"int": "a whole number", "uint": "a whole number", "double": "a number", "string": "text", "bool": "true or false",
	"google.protobuf.Timestamp": "a time", "timestamp": "a time", "list(string)": "a list", "dyn": "a value",
	"null_type": "nothing",
}

func inWords(typ string) string {
	if w, ok := typeWords[typ]; ok {
		return w
	}
	return "a value"
}

// unknownWord explains a bare word CEL does not know: usually a value that
// needs quotes, or a yes or no.
func (c *Conditions) unknownWord(name string) (string, bool) {
	switch strings.ToLower(name) {
	case "yes", "no", "on", "off":
		v := "true"
		if n := strings.ToLower(name); n == "no" || n == "off" {
			v = "false"
		}
		return fmt.Sprintf("write %s instead of %s: a yes-or-no field is true or false, without quotes (fields.personal_data == %s, or just fields.personal_data)", v, name, v), true
	case "true", "false":
		return fmt.Sprintf("write %s in lower case", strings.ToLower(name)), true
	}
	words := append(append([]string{}, Statuses...), c.process.Severities...)
	for _, f := range c.process.Fields {
		words = append(words, f.Values...)
	}
	if slices.Contains(words, name) {
		return fmt.Sprintf("%s is a word, not a name the condition knows: put it in quotes, \"%s\"", name, name), true
	}
	return "", false
}

// celMessage puts what CEL said about a condition in words.
func (c *Conditions) celMessage(expr, msg string, line, col int) string {
	switch {
	case strings.HasPrefix(msg, "undeclared reference to '"):
		name := dottedNameAt(expr, line, col)
		if hint, ok := c.unknownWord(name); ok {
			return "condition: " + hint
		}
		return "condition " + c.unknownName(name)
	case strings.HasPrefix(msg, "Syntax error: "):
		near := ""
		if lines := strings.Split(expr, "\n"); line >= 1 && line <= len(lines) && col < len(lines[line-1]) {
			near = fmt.Sprintf(" at %q", strings.TrimSpace(lines[line-1][max(col, 0):]))
		}
		if strings.Contains(msg, "<EOF>") && !strings.Contains(msg, "expecting <EOF>") {
			return "condition ends where more was expected: finish it, like severity == \"critical\""
		}
		return "condition cannot be read" + near + ": write names, words in quotes and the operators ==, !=, <, >, &&, || and !, like severity == \"critical\" && fields.personal_data"
	}
	if m := overloadError.FindStringSubmatch(msg); m != nil {
		op := strings.Trim(m[1], "_")
		types := strings.Split(m[2], ", ")
		if op == "!" || op == "-" || len(types) != 2 {
			return fmt.Sprintf("condition cannot apply %s to %s", op, inWords(types[0]))
		}
		if types[0] == "bool" && types[1] == "string" || types[0] == "string" && types[1] == "bool" {
			return "condition compares true or false with text: write true or false without quotes (== true), or use the yes-or-no value on its own"
		}
		if types[0] == "int" && types[1] == "double" || types[0] == "double" && types[1] == "int" {
			return fmt.Sprintf("condition cannot compare %s with %s using %s: a whole-number field compares with whole numbers (> 10), a number field with decimals (> 1.0, > 0.5)", inWords(types[0]), inWords(types[1]), op)
		}
		return fmt.Sprintf("condition cannot compare %s with %s using %s: compare like with like, a number with a number (> 100) and text with a word in quotes", inWords(types[0]), inWords(types[1]), op)
	}
	return "condition cannot be used: " + msg
}

// notTrueOrFalse says what to do with a condition whose value is another type.
func notTrueOrFalse(expr, typ string) string {
	how := map[string]string{
		"int":          fmt.Sprintf("compare it, like %s > 0", expr),
		"double":       fmt.Sprintf("compare it, like %s > 0", expr),
		"string":       fmt.Sprintf("compare it with a word in quotes, like %s == \"...\"", expr),
		"list(string)": fmt.Sprintf("ask about it, like \"word\" in %s or size(%s) > 0", expr, expr),
	}[typ]
	if how == "" {
		how = "compare it with something"
	}
	return fmt.Sprintf("condition must come out true or false, but %s is %s: %s", expr, inWords(typ), how)
}
