package runconfig

import (
	"fmt"
	"strings"

	"github.com/ferry-ml/ferry/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

// maxValueLen caps the rendering of a value in a warning.
const maxValueLen = 160

// ParseError is YAML that parses but has the wrong shape: Line says where.
type ParseError = yamlnode.ParseError

func pairs(m *yaml.Node) ([][2]*yaml.Node, error) { return yamlnode.Pairs(m) }

func resolve(n *yaml.Node) *yaml.Node { return yamlnode.Resolve(n) }

// isNull reports whether n is empty or null.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && kindOf(n) == kindNull
}

// isEmpty reports whether n is null, "", [] or {}: the values Azure ML
// writes for a field nobody set.
func isEmpty(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		return isNull(n) || n.Value == ""
	case yaml.SequenceNode, yaml.MappingNode:
		return len(n.Content) == 0
	}
	return false
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
	}
	return fmt.Sprintf("%q", n.Value)
}

// render writes n as one line of flow YAML, capped at maxValueLen.
func render(n *yaml.Node) string {
	var b strings.Builder
	renderTo(&b, n)
	s := b.String()
	if r := []rune(s); len(r) > maxValueLen {
		s = string(r[:maxValueLen]) + "..."
	}
	return s
}

func renderTo(b *strings.Builder, n *yaml.Node) {
	n = resolve(n)
	switch n.Kind {
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteString(", ")
			}
			renderTo(b, c)
		}
		b.WriteByte(']')
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteString(", ")
			}
			renderTo(b, n.Content[i])
			b.WriteString(": ")
			renderTo(b, n.Content[i+1])
		}
		b.WriteByte('}')
	default:
		renderScalar(b, n)
	}
}

func renderScalar(b *strings.Builder, n *yaml.Node) {
	switch {
	case isNull(n):
		b.WriteString("null")
	case kindOf(n) == kindStr && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		fmt.Fprintf(b, "%q", n.Value)
	default:
		b.WriteString(n.Value)
	}
}
