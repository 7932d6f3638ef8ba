package dsl

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// walker decodes yaml.v3 nodes strictly: unknown and repeated keys are problems,
// and every value keeps its position. It never stops at the first problem.
type walker struct {
	report
	// lines are the source's lines, to show authors what they wrote.
	lines []string
}

// newWalker reports problems of file, whose source is data.
func newWalker(file string, data []byte, problems *Problems) walker {
	text := strings.TrimPrefix(string(data), "\ufeff")
	return walker{report: report{file: file, problems: problems}, lines: strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")}
}

func posOf(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

// written is the source text from n's position to the end of its line,
// without a trailing comment.
func (w walker) written(n *yaml.Node) string {
	if n.Line < 1 || n.Line > len(w.lines) {
		return ""
	}
	line := []rune(w.lines[n.Line-1]) // yaml.v3 counts columns in characters
	if n.Column < 1 || n.Column > len(line)+1 {
		return ""
	}
	text := string(line[n.Column-1:])
	if i := strings.Index(text, " #"); i >= 0 {
		text = text[:i]
	}
	return strings.TrimSpace(text)
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// keyBefore is the key written before n on its line ("message" in
// "message: x"), or "" when there is none to show.
func (w walker) keyBefore(n *yaml.Node) string {
	if n.Line < 1 || n.Line > len(w.lines) {
		return ""
	}
	line := []rune(w.lines[n.Line-1])
	if n.Column-1 > len(line) {
		return ""
	}
	before := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(line[:n.Column-1])), "- "))
	key, ok := strings.CutSuffix(before, ":")
	if !ok || !plainKey.MatchString(key) {
		return ""
	}
	return key
}

// secondDocument is where a second YAML document starts: the --- after
// the first document's content.
func (w walker) secondDocument() Pos {
	content := false
	for i, line := range w.lines {
		t := strings.TrimSpace(line)
		switch {
		case t == "---" || strings.HasPrefix(t, "--- "):
			if content {
				return Pos{Line: i + 1, Col: 1}
			}
		case t != "" && !strings.HasPrefix(t, "#"):
			content = true
		}
	}
	return Pos{Line: 1, Col: 1}
}

// stepLevelKeys are the keys every step takes beside its kind.
var stepLevelKeys = []string{"id", "name", "if", "background", "continue_on_error", "retry", "timeout"}

// field handles the value of one known key.
type field func(key, value *yaml.Node)

// mapping walks a mapping node, calling the handler of each known key in document
// order. It reports a node that is not a mapping, unknown keys (with the closest
// known one) and repeated keys. It returns false when n is not a mapping.
func (w walker) mapping(n *yaml.Node, what string, fields map[string]field) bool {
	if n.Kind != yaml.MappingNode {
		w.at(posOf(n), "%s must be written as keys with values (key: value, one a line), not %s", what, describe(n))
		return false
	}
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	slices.Sort(known)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			w.at(posOf(k), "%s has a key that is not a plain name: write name: value", what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.at(posOf(k), "%s has %q twice (first on line %d): write each key once", what, k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		h, ok := fields[k.Value]
		if !ok {
			if lower := strings.ToLower(k.Value); lower != k.Value && fields[lower] != nil {
				w.at(posOf(k), "keys are written in lower case: %s, not %s", lower, k.Value)
			} else if slices.Contains(stepLevelKeys, k.Value) && what != "a step" && fields["id"] == nil {
				w.at(posOf(k), "%s belongs to the step, not inside %s: move it out, in line with the step's kind (%s)", k.Value, what, strings.TrimPrefix(what, "a "))
			} else if hint := DidYouMean(k.Value, known); hint != "" {
				w.at(posOf(k), "unknown key %q in %s%s", k.Value, what, hint)
			} else {
				w.at(posOf(k), "unknown key %q in %s (known keys: %s)", k.Value, what, strings.Join(known, ", "))
			}
			continue
		}
		h(k, v)
	}
	return true
}

// keys returns the keys of a mapping node in document order.
func keys(n *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i])
	}
	return out
}

func (w walker) str(n *yaml.Node, what string) string {
	if text, ok := w.quoteHint(n); ok {
		w.at(posOf(n), "%s", text)
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		w.at(posOf(n), "%s must be one value, not %s", what, describe(n))
		return ""
	}
	return n.Value
}

// quoteHint explains a value that YAML read as something else because it
// starts with a character it gives a meaning to: {{ (keys and values), !
// (a type), & and * (references). ok is false when n is not one.
func (w walker) quoteHint(n *yaml.Node) (msg string, ok bool) {
	raw := w.written(n)
	written := strconv.Quote(raw)
	if key := w.keyBefore(n); key != "" {
		written = key + ": " + written
	}
	switch {
	case n.Kind == yaml.MappingNode && strings.HasPrefix(raw, "{{"):
		return fmt.Sprintf("a value that starts with {{ must be in quotes, or YAML reads it as keys and values: write %s", written), true
	case n.Kind == yaml.ScalarNode && strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!"):
		return fmt.Sprintf("a value that starts with ! must be in quotes, or YAML reads the ! as a type: write %s", written), true
	case n.Kind == yaml.AliasNode:
		return fmt.Sprintf("a value that starts with * must be in quotes, or YAML reads it as a reference: write %s", written), true
	}
	return "", false
}

// boolWords are the ways of writing true and false people use; YAML reads
// only true and false as such, so the rest arrive as text.
var boolWords = map[string]bool{"true": true, "yes": true, "on": true, "false": false, "no": false, "off": false}

// boolValue reads true, false, yes, no, on or off, quoted or not.
func boolValue(n *yaml.Node) (value, ok bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" && n.Tag != "!!str" {
		return false, false
	}
	value, ok = boolWords[strings.ToLower(strings.TrimSpace(n.Value))]
	return value, ok
}

func (w walker) boolean(n *yaml.Node, what string) bool {
	if b, ok := boolValue(n); ok {
		return b
	}
	w.at(posOf(n), "%s must be true or false, not %s", what, describe(n))
	return false
}

func (w walker) seq(n *yaml.Node, what string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		w.at(posOf(n), "%s must be a list (each item on its own line starting with -, or [a, b]), not %s", what, describe(n))
		return nil
	}
	return n.Content
}

// strList reads a list of strings, also accepting a single string as a list of one.
func (w walker) strList(n *yaml.Node, what string) []Located {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		return []Located{{Value: n.Value, Pos: posOf(n)}}
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[1].Kind == yaml.ScalarNode && slices.Contains(TargetKinds, n.Content[0].Value) {
		w.at(posOf(n), "write %s:%s as one word, without a space after the colon (with it, YAML reads a key and a value)", n.Content[0].Value, n.Content[1].Value)
		return nil
	}
	var out []Located
	for _, item := range w.seq(n, what) {
		if item.Kind == yaml.MappingNode && len(item.Content) == 2 && item.Content[1].Kind == yaml.ScalarNode {
			w.at(posOf(item), "write %s:%s as one word, without a space after the colon (with it, YAML reads a key and a value)", item.Content[0].Value, item.Content[1].Value)
			continue
		}
		if s := w.str(item, what+" entry"); s != "" {
			out = append(out, Located{Value: s, Pos: posOf(item)})
		}
	}
	return out
}

// scalarValue converts a scalar node to a JSON-compatible Go value.
func scalarValue(n *yaml.Node) any {
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool":
		b, _ := strconv.ParseBool(strings.ToLower(n.Value))
		return b
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return i
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f
		}
	}
	return n.Value
}

// value converts any node to a JSON-compatible Go value.
func value(n *yaml.Node) any {
	switch n.Kind {
	case yaml.ScalarNode:
		return scalarValue(n)
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			out[i] = value(c)
		}
		return out
	case yaml.MappingNode:
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			out[n.Content[i].Value] = value(n.Content[i+1])
		}
		return out
	case yaml.AliasNode:
		return value(n.Alias)
	}
	return nil
}

// describe says in words what a value is, for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "keys with values"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "a reference (*" + n.Value + ")"
	}
	switch n.Tag {
	case "!!null":
		return "empty"
	case "!!bool":
		return n.Value
	case "!!int", "!!float":
		return "a number (" + n.Value + ")"
	}
	return strconv.Quote(n.Value)
}

// Located is a string value with the position it was written at.
type Located struct {
	Value string `json:"value"`
	Pos   Pos    `json:"-"`
}
