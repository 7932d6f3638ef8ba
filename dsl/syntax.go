package dsl

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// yaml.v3 stops at the first thing it cannot read and says so in its own
// terms, on the line where the surrounding block began. When a file cannot
// be read, diagnoseSyntax looks for the mistakes people make, line by line,
// and says where each one is and how to write it; translateYAMLError is the
// fallback for anything else.

// syntaxProblem is one mistake found in the text of a file.
type syntaxProblem struct {
	pos Pos
	msg string
}

var (
	// keyLine is "key: value" or "- key: value", capturing the indent, the
	// dash, the key and what follows the colon.
	keyLine = regexp.MustCompile(`^(\s*)(- +)?([A-Za-z_][A-Za-z0-9_.:-]*?|"[^"]*"|'[^']*')\s*:(\s+|$)(.*)$`)
	// keyNoSpace is "key:value", which YAML reads as one word.
	keyNoSpace = regexp.MustCompile(`^(\s*)([a-z_][a-z0-9_]*):([^\s/:][^\s]*(?:\s.*)?)$`)
	// bareWord is a line holding a word or words and no colon.
	bareWord = regexp.MustCompile(`^(\s*)([a-z_][a-z0-9_]*)(\s+[^:#]*)?$`)
)

// knownKeys are the keys of process files and the directory, so that a line
// holding one of them without its colon is recognised.
var knownKeys = map[string]bool{}

func init() {
	for _, k := range append(append(append([]string{}, stepKinds...), stepLevelKeys...),
		"process", "title", "description", "severities", "initial_status", "fields", "roles", "signals", "on", "steps",
		"to", "message", "policy", "for", "signal", "timeout", "on_timeout", "within", "from", "count", "calendar",
		"day_ends", "remind_before", "notify", "done_when", "overdue", "status", "severity", "method", "url", "headers",
		"secret_headers", "body", "expect", "output", "owner", "due", "wait", "role", "attendees", "duration", "every",
		"until", "type", "default", "values", "required", "people", "teams", "schedules", "policies", "channels",
		"calendars", "default_channel", "smtp", "members", "rotation", "handoff", "overrides", "levels", "targets",
		"ack_within", "repeat", "timezone", "weekend", "holidays", "working_hours", "name", "email", "page_via", "when", "every_change") {
		knownKeys[k] = true
	}
}

// level is a block of the file the scan is inside: a key, or a list item.
type level struct {
	indent int  // the column of the key or of the -, from 0
	line   int  // where it is
	dash   bool // a list item
	opens  bool // a key whose value is on the lines below it
}

// diagnoseSyntax finds the mistakes in a file that YAML cannot read.
func diagnoseSyntax(lines []string) []syntaxProblem {
	var out []syntaxProblem
	add := func(line, col int, format string, args ...any) {
		out = append(out, syntaxProblem{Pos{line, col}, fmt.Sprintf(format, args...)})
	}
	var stack []level
	blockIndent := -1 // inside a | or > block: the indent of its key
	// flow is a [ or { value that goes on over the lines after its key's.
	var flow struct {
		depth, indent int
		at            Pos
		opener        byte
	}
	for i, raw := range lines {
		n := i + 1
		line := strings.TrimRight(raw, "\r")
		trimmed := strings.TrimSpace(line)
		indent := len(line) - len(strings.TrimLeft(line, " \t"))
		if flow.depth > 0 && trimmed != "" && !strings.HasPrefix(trimmed, "#") {
			if indent > flow.indent {
				flow.depth += bracketDepth(stripComment(trimmed))
				continue
			}
			closer := map[byte]string{'[': "]", '{': "}"}[flow.opener]
			add(flow.at.Line, flow.at.Col, "the %c that opens this value is never closed with %s (or an item in it is missing a comma)", flow.opener, closer)
			flow.depth = 0
		}
		if blockIndent >= 0 {
			if trimmed == "" || indent > blockIndent {
				continue
			}
			blockIndent = -1
		}
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || trimmed == "---" {
			continue
		}
		if j := strings.IndexRune(line[:indent], '\t'); j >= 0 {
			add(n, j+1, "this line is indented with a tab; YAML allows only spaces for indenting, so replace the tab with spaces")
			continue
		}
		for j, r := range []rune(line) {
			if unicode.IsControl(r) && r != '\t' {
				add(n, j+1, "this line holds an invisible control character (%U), perhaps pasted with the text: delete it", r)
			}
		}
		m := keyLine.FindStringSubmatch(line)
		if m == nil {
			if m := keyNoSpace.FindStringSubmatch(line); m != nil && knownKeys[m[2]] {
				add(n, indent+len(m[2])+2, "put a space after the colon: %s: %s", m[2], m[3])
			} else if m := bareWord.FindStringSubmatch(line); m != nil && knownKeys[m[2]] && !continuesValue(lines, i) {
				add(n, indent+len(m[2])+1, "a colon is missing after %s: write %s:%s", m[2], m[2], m[3])
			} else if m := bareWord.FindStringSubmatch(strings.Replace(line, "- ", "  ", 1)); m != nil && strings.HasPrefix(trimmed, "- ") && knownKeys[m[2]] && nextIndent(lines, i) > indent+2 {
				add(n, len(m[1])+len(m[2])+1, "a colon is missing after %s: write - %s:", m[2], m[2])
			}
			if strings.HasPrefix(trimmed, "-") {
				for len(stack) > 0 && stack[len(stack)-1].indent > indent {
					stack = stack[:len(stack)-1]
				}
				stack = enter(stack, level{indent: indent, line: n, dash: true})
			}
			continue
		}
		dash, key, value := m[2], m[3], strings.TrimSpace(stripComment(m[5]))
		keyIndent := indent + len(dash)
		col := len([]rune(line[:len(line)-len(m[5])])) + 1
		// Indentation: a key lines up with the keys of its block, and is
		// further in than a key only when that key's value is under it.
		popped := false
		for len(stack) > 0 && stack[len(stack)-1].indent > indent {
			stack, popped = stack[:len(stack)-1], true
		}
		var top *level
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		switch {
		case top == nil:
		case dash == "" && top.indent == indent && top.dash && (len(stack) == 1 || stack[len(stack)-2].indent < indent):
			add(n, indent+1, "%s lines up with the list items above it, which start with -: begin a new item with \"- %s:\", or indent it further to belong to the item above", key, key)
		case dash != "" && top.indent == indent && !top.dash && !top.opens:
			add(n, indent+1, "this list item stands where a key should be: put the list under its key, on the lines below it and indented")
		case top.indent < indent && popped && !top.dash:
			add(n, indent+1, "%s is indented %d spaces, which lines up with nothing above it: indent it like the keys it belongs with", key, indent)
		case top.indent < indent && !top.opens && !top.dash && top.line == previousLine(lines, i)+1:
			add(n, indent+1, "%s is indented further than the line above it (line %d), which already has its value: line it up with the keys above it", key, top.line)
		case top.indent < indent && popped && top.dash && indent != top.indent+2:
			add(n, indent+1, "%s is indented %d spaces, which lines up with nothing above it: indent it like the keys it belongs with", key, indent)
		}
		if dash != "" {
			stack = enter(stack, level{indent: indent, line: n, dash: true})
		}
		stack = enter(stack, level{indent: keyIndent, line: n, opens: value == "" || !balanced(value)})
		out = append(out, valueProblems(n, col, key, value)...)
		if strings.HasPrefix(value, "|") || strings.HasPrefix(value, ">") {
			blockIndent = keyIndent
		}
		if value != "" && (value[0] == '[' || value[0] == '{') {
			if depth := bracketDepth(value); depth > 0 {
				flow.depth, flow.indent, flow.at, flow.opener = depth, indent, Pos{n, col}, value[0]
			}
		}
	}
	if flow.depth > 0 {
		closer := map[byte]string{'[': "]", '{': "}"}[flow.opener]
		add(flow.at.Line, flow.at.Col, "the %c that opens this value is never closed with %s (or an item in it is missing a comma)", flow.opener, closer)
	}
	return out
}

// enter puts l on the stack of blocks, in place of a block of the same
// indent it follows; a list item may stand at its key's indent.
func enter(stack []level, l level) []level {
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		if top.indent < l.indent || l.dash && top.indent == l.indent && !top.dash && top.opens {
			break
		}
		stack = stack[:len(stack)-1]
	}
	return append(stack, l)
}

// valueProblems finds mistakes in a value written after "key: " at line n, column col.
func valueProblems(n, col int, key, value string) []syntaxProblem {
	var out []syntaxProblem
	add := func(c int, format string, args ...any) {
		out = append(out, syntaxProblem{Pos{n, c}, fmt.Sprintf(format, args...)})
	}
	quoted := strconv.Quote(value)
	switch {
	case value == "":
		return nil
	case strings.HasPrefix(value, "{{"):
		add(col, "a value that starts with {{ must be in quotes, or YAML reads it as keys and values: write %s: %s", key, quoted)
		return out
	case strings.HasPrefix(value, "*"):
		add(col, "a value that starts with * must be in quotes, or YAML reads it as a reference: write %s: %s", key, quoted)
		return out
	case strings.HasPrefix(value, "!"):
		add(col, "a value that starts with ! must be in quotes, or YAML reads the ! as a type: write %s: %s", key, quoted)
		return out
	case strings.ContainsAny(value[:1], "@`%&?"):
		add(col, "a value cannot start with %s unless it is in quotes: write %s: %s", value[:1], key, quoted)
		return out
	case value[0] == '"' || value[0] == '\'':
		q := value[0]
		end := closingQuote(value, q)
		if end < 0 {
			add(col, "the quote %c that opens this value is never closed: end the value with %c on the same line", q, q)
			return out
		}
		if q == '"' {
			for i := 1; i < end; i++ {
				if value[i] == '\\' {
					if !strings.ContainsRune(`0abtnvfre "/\N_LPxuU`+"\t", rune(value[i+1])) {
						add(col+i, "in double quotes a backslash starts a special character; write \\\\ for a backslash, or use single quotes: '%s'", strings.Trim(value[:end+1], `"`))
						break
					}
					i++
				}
			}
		}
		return out
	case value[0] == '[' || value[0] == '{':
		return out // diagnoseSyntax follows brackets across lines
	}
	if i := strings.Index(value, ": "); i >= 0 || strings.HasSuffix(value, ":") {
		if i < 0 {
			i = len(value) - 1
		}
		add(col+len([]rune(value[:i])), "this value holds \": \", which YAML reads as the start of another key: put the whole value in quotes: %s: %s", key, quoted)
	}
	return out
}

// closingQuote is the index of the quote that closes value, which opens with q.
func closingQuote(value string, q byte) int {
	for i := 1; i < len(value); i++ {
		switch {
		case q == '"' && value[i] == '\\':
			i++
		case value[i] == q && q == '\'' && i+1 < len(value) && value[i+1] == '\'':
			i++ // '' is a quote inside single quotes
		case value[i] == q:
			return i
		}
	}
	return -1
}

// balanced reports whether the brackets of a one-line [ ] or { } value close.
func balanced(value string) bool { return bracketDepth(value) == 0 }

// bracketDepth is how many [ and { the text leaves open, outside quotes.
func bracketDepth(value string) int {
	depth := 0
	var quote byte
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case (c == '"' || c == '\'') && startsScalar(value, i):
			quote = c
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		}
	}
	return depth
}

// startsScalar reports whether a quote at i opens a quoted value: it
// follows the start, a bracket, a comma or a colon (an apostrophe inside a
// word does not).
func startsScalar(s string, i int) bool {
	before := strings.TrimRight(s[:i], " ")
	return before == "" || strings.ContainsAny(before[len(before)-1:], "[{,:")
}

// stripComment drops a trailing "# comment" outside quotes.
func stripComment(s string) string {
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			if i == 0 || s[i-1] == ' ' || s[i-1] == '[' || s[i-1] == '{' || s[i-1] == ',' {
				quote = r
			}
		case r == '#' && i > 0 && s[i-1] == ' ':
			return s[:i]
		}
	}
	return s
}

// previousLine is the index of the last line before i with content, or -1.
func previousLine(lines []string, i int) int {
	for j := i - 1; j >= 0; j-- {
		if t := strings.TrimSpace(lines[j]); t != "" && !strings.HasPrefix(t, "#") {
			return j
		}
	}
	return -1
}

// lineValue is what follows "key:" on a key line, "" when nothing does.
func lineValue(line string) string {
	if m := keyLine.FindStringSubmatch(line); m != nil {
		return strings.TrimSpace(stripComment(m[5]))
	}
	return "x" // not a key line: treat as having content
}

// continuesValue reports whether line i continues the value of the line
// above it (a plain value folded onto the next line, or an open bracket):
// then it is indented further than that line.
func continuesValue(lines []string, i int) bool {
	p := previousLine(lines, i)
	if p < 0 || indentOf(lines[i]) <= indentOf(lines[p]) {
		return false
	}
	v := lineValue(lines[p])
	return v != "" && (!balanced(v) || !strings.ContainsAny(v[:1], `"'[{|>`))
}

func indentOf(line string) int { return len(line) - len(strings.TrimLeft(line, " ")) }

// nextIndent is the indent of the first line after i with content, or -1.
func nextIndent(lines []string, i int) int {
	for _, l := range lines[i+1:] {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			return indentOf(l)
		}
	}
	return -1
}

// yamlMessages put yaml.v3's messages in words, for mistakes diagnoseSyntax
// did not find.
var yamlMessages = []struct{ prefix, words string }{
	{"found character that cannot start any token", "a value here starts with a character that needs quotes around the value (like @, ` or %)"},
	{"found a tab character", "a tab is used for indenting here; YAML allows only spaces"},
	{"did not find expected key", "the indentation here does not line up with the lines above: the keys of one thing must start in the same column"},
	{"did not find expected '-' indicator", "a list item here is missing its - or is indented differently from the items above it"},
	{"mapping values are not allowed in this context", "a \": \" here starts a key where none can be: put a value that contains \": \" in quotes, or fix the indentation"},
	{"could not find expected ':'", "a colon is missing after a key: write key: value, with a space after the colon"},
	{"found unexpected end of stream", "a quote opened here is never closed"},
	{"did not find expected ',' or ']'", "a [ list here is not closed with ], or its items are not separated by commas"},
	{"did not find expected ',' or '}'", "a { here is not closed with }, or its keys are not separated by commas (a value that contains \": \" needs quotes)"},
	{"did not find expected node content", "a value is missing here"},
	{"did not find expected alphabetic or numeric character", "a value that starts with *, & or ! must be in quotes"},
	{"found unknown escape character", "in double quotes a backslash starts a special character: write \\\\ for a backslash, or use single quotes"},
	{"control characters are not allowed", "the file holds an invisible control character: delete it"},
	{"mapping keys are not allowed in this context", "a value that starts with ? must be in quotes"},
	{"did not find expected comment or line break", "after | or > nothing may follow on the same line: start the text on the next line"},
	{"block sequence entries are not allowed in this context", "a - here cannot start a list: put the list on the lines under a key, indented"},
	{"unknown anchor", "a value that starts with * must be in quotes, or YAML reads it as a reference"},
	{"invalid leading UTF-8 octet", "the file is not saved as UTF-8 text: save it as UTF-8"},
	{"incomplete UTF-8 octet sequence", "the file is not saved as UTF-8 text: save it as UTF-8"},
	{"invalid trailing UTF-8 octet", "the file is not saved as UTF-8 text: save it as UTF-8"},
}

// translateYAMLError puts a yaml.v3 message in words.
func translateYAMLError(msg string) string {
	for _, m := range yamlMessages {
		if strings.Contains(msg, m.prefix) {
			return m.words
		}
	}
	return "the file cannot be read from here on: check the indentation, the colons and the quotes on this line and the ones above it"
}
