package conda

import (
	"fmt"
	"strings"

	"github.com/ferry-ml/ferry/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

// ParseError is YAML that parses but has the wrong shape: Line says where.
type ParseError = yamlnode.ParseError

// parseDocument parses data into its top-level mapping. A document that is
// empty or holds only comments is an error: conda refuses it too.
func parseDocument(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(data, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &ParseError{Line: 1, Msg: "empty environment file"}
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, &ParseError{Line: root.Line, Msg: "environment file must be a mapping, got " + describe(root)}
	}
	return root, nil
}

func pairs(m *yaml.Node) ([][2]*yaml.Node, error) { return yamlnode.Pairs(m) }

func resolve(n *yaml.Node) *yaml.Node { return yamlnode.Resolve(n) }

// isNull reports whether n is an empty value or an explicit null.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// scalarString returns the text of scalar n, "" for null.
func scalarString(n *yaml.Node, field string) (string, error) {
	if isNull(n) {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", &ParseError{Line: n.Line, Msg: field + " must be a string, got " + describe(n)}
	}
	return n.Value, nil
}

// stringList returns the trimmed scalars of sequence n (nil for null).
func stringList(n *yaml.Node, field string) ([]string, error) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, &ParseError{Line: n.Line, Msg: field + " must be a list, got " + describe(n)}
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		c = resolve(c)
		if c.Kind != yaml.ScalarNode || isNull(c) {
			return nil, &ParseError{Line: c.Line, Msg: field + " entries must be strings, got " + describe(c)}
		}
		out = append(out, strings.TrimSpace(c.Value))
	}
	return out, nil
}

// stringMap returns mapping n as strings (nil for null); scalar values keep
// their text as written, so "1" and "true" stay "1" and "true".
func stringMap(n *yaml.Node, field string) (map[string]string, error) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, &ParseError{Line: n.Line, Msg: field + " must be a mapping, got " + describe(n)}
	}
	kv, err := pairs(n)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(kv))
	for _, p := range kv {
		v, err := scalarString(p[1], field+"."+p[0].Value)
		if err != nil {
			return nil, err
		}
		out[p[0].Value] = v
	}
	return out, nil
}

// describe names the shape of n for error messages.
func describe(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "null"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unsupported node"
}
