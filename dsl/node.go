package dsl

import (
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// walker decodes yaml.v3 nodes strictly: unknown and repeated keys are problems,
// and every value keeps its position. It never stops at the first problem.
type walker struct{ report }

func posOf(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

// field handles the value of one known key.
type field func(key, value *yaml.Node)

// mapping walks a mapping node, calling the handler of each known key in document
// order. It reports a node that is not a mapping, unknown keys (with the closest
// known one) and repeated keys. It returns false when n is not a mapping.
func (w walker) mapping(n *yaml.Node, what string, fields map[string]field) bool {
	if n.Kind != yaml.MappingNode {
		w.at(posOf(n), "%s must be a mapping of keys to values, not %s", what, describe(n))
		return false
	}
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	slices.Sort(known)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			w.at(posOf(k), "%s has a key that is not a plain name", what)
			continue
		}
		if seen[k.Value] {
			w.at(posOf(k), "%s repeats the key %q", what, k.Value)
			continue
		}
		seen[k.Value] = true
		h, ok := fields[k.Value]
		if !ok {
			if hint := DidYouMean(k.Value, known); hint != "" {
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
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		w.at(posOf(n), "%s must be a string, not %s", what, describe(n))
		return ""
	}
	return n.Value
}

func (w walker) boolean(n *yaml.Node, what string) bool {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		b, _ := strconv.ParseBool(strings.ToLower(n.Value))
		return b
	}
	w.at(posOf(n), "%s must be true or false, not %s", what, describe(n))
	return false
}

func (w walker) seq(n *yaml.Node, what string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		w.at(posOf(n), "%s must be a list, not %s", what, describe(n))
		return nil
	}
	return n.Content
}

// strList reads a list of strings, also accepting a single string as a list of one.
func (w walker) strList(n *yaml.Node, what string) []Located {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		return []Located{{Value: n.Value, Pos: posOf(n)}}
	}
	var out []Located
	for _, item := range w.seq(n, what) {
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

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.Tag {
	case "!!null":
		return "empty"
	case "!!bool":
		return "a boolean (" + n.Value + ")"
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
